"""Composition root: settings, the `minyi` command and the one-process runner."""
