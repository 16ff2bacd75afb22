"""`python -m bench.crash_drill --conversations 1000 [--postgres URL]`."""

import sys

from bench.crash_drill.cli import main

if __name__ == "__main__":
    sys.exit(main())
