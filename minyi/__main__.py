"""`python -m minyi` is the `minyi` command."""

import sys

from minyi.cli import main

sys.exit(main())
