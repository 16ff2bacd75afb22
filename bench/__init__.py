"""Benchmarks: each reports ratios against a baseline measured in the same run."""


def install_data_key() -> None:
    """The data key reporters' details are sealed with, as `minyi` installs it at start-up: the
    configured one (a database `minyi seed` filled was sealed with it), else a fresh one for a
    benchmark's own temporary database."""
    from minyi.settings import Settings
    from store import sealing

    if sealing.installed():  # a caller (a test) has its own
        return
    keys = Settings.from_env().data_keys or (sealing.new_key(),)
    sealing.install(sealing.Keyring.of(keys))
