"""The one convention for a request the domain refuses.

A domain function that will not do what it was asked raises a subclass of
`DomainError` and changes nothing. `str(exc)` is a sentence for the person
who asked, Chinese first (then English, where the caller may be at a command
line); an error that refuses several things at once also carries them, keyed
by what they are about (`DraftError.errors`). The edge catches it, shows the
sentence, and keeps what was typed: the console on its page, the command
line as `minyi: <sentence>` with exit status 1.

`lifecycle.TransitionError` is the one exception to the sentence rule: it
carries an i18n key and its parameters, because its reason is worded for a
reporter or a staff member in their own language.
"""

from __future__ import annotations


class DomainError(ValueError):
    """A request the domain refuses; the message says why, for the person who asked."""
