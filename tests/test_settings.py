"""Settings: read once from the environment, loud about anything wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from minyi.settings import DEV_SECRET, ConfigError, Settings

GOOD_SECRET = "s" * 32
DATA_KEY = "k" * 43 + "="  # 32 bytes in URL-safe base64: the shape of a data key


def _prod(**extra: str) -> dict[str, str]:
    return {"MINYI_ENV": "production", "PUBLIC_URL": "https://minyi.example.gov.cn",
            "SECRET_KEY": GOOD_SECRET, "MINYI_DATA_KEY": DATA_KEY, **extra}


def test_it_works_out_of_the_box_for_development(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    s = Settings.from_env({})

    assert s.env == "development" and not s.is_production
    assert s.secret_key == DEV_SECRET
    assert s.instance_dir == tmp_path / "instance"
    assert s.database_url == f"sqlite:///{tmp_path / 'instance' / 'minyi.sqlite3'}"
    assert s.upload_dir == tmp_path / "instance" / "uploads"
    assert (s.host, s.port, s.public_url) == ("127.0.0.1", 8000, "http://127.0.0.1:8000")
    assert s.telegram_bot_token is None


def test_it_refuses_production_without_a_secret_key() -> None:
    env = _prod()
    del env["SECRET_KEY"]

    with pytest.raises(ConfigError) as exc:
        Settings.from_env(env)

    message = str(exc.value)
    assert "SECRET_KEY is not set" in message
    assert "production" in message and "secrets.token_urlsafe" in message


def test_it_refuses_production_without_a_public_url() -> None:
    env = _prod()
    del env["PUBLIC_URL"]

    with pytest.raises(ConfigError, match="PUBLIC_URL is not set"):
        Settings.from_env(env)


def test_it_starts_in_production_with_both() -> None:
    s = Settings.from_env(_prod())

    assert s.is_production and s.secret_key == GOOD_SECRET
    assert s.public_url == "https://minyi.example.gov.cn"


def test_it_refuses_a_short_secret_key() -> None:
    with pytest.raises(ConfigError, match="too short"):
        Settings.from_env({"SECRET_KEY": "short"})


def test_it_reads_a_secret_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text(f"  {GOOD_SECRET}\n", encoding="utf-8")
    (tmp_path / "token").write_text("123:ABC\n", encoding="utf-8")

    s = Settings.from_env(_prod(SECRET_KEY_FILE=str(tmp_path / "secret"),
                                TELEGRAM_BOT_TOKEN_FILE=str(tmp_path / "token"))
                          | {"SECRET_KEY": ""})

    assert s.secret_key == GOOD_SECRET
    assert s.telegram_bot_token == "123:ABC"


def test_it_prefers_the_variable_to_its_file(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("f" * 32, encoding="utf-8")

    s = Settings.from_env(_prod(SECRET_KEY_FILE=str(tmp_path / "secret")))

    assert s.secret_key == GOOD_SECRET


def test_it_names_a_secret_file_it_cannot_read(tmp_path: Path) -> None:
    env = _prod(SECRET_KEY_FILE=str(tmp_path / "missing"))
    del env["SECRET_KEY"]

    with pytest.raises(ConfigError) as exc:
        Settings.from_env(env)

    assert "SECRET_KEY_FILE" in str(exc.value) and "missing" in str(exc.value)


@pytest.mark.parametrize("name", ["PORT", "TELEGRAM_POLL_TIMEOUT", "MAX_UPLOAD_MB",
                                  "TELEGRAM_GLOBAL_RATE"])
@pytest.mark.parametrize("value", ["eighty", "80.5", "8o"])
def test_it_refuses_a_number_that_is_not_a_whole_number(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as exc:
        Settings.from_env({name: value})

    assert str(exc.value) == f"{name} must be a whole number, got {value!r}"


def test_it_reads_numbers_and_uses_the_port_in_the_default_public_url() -> None:
    s = Settings.from_env({"PORT": " 8080 ", "MAX_UPLOAD_MB": "5", "TELEGRAM_POLL_TIMEOUT": "2"})

    assert (s.port, s.max_upload_mb, s.telegram_poll_timeout) == (8080, 5, 2)
    assert s.public_url == "http://127.0.0.1:8080"


def test_it_refuses_an_unknown_mode() -> None:
    with pytest.raises(ConfigError, match="MINYI_ENV must be"):
        Settings.from_env({"MINYI_ENV": "staging"})


@pytest.mark.parametrize(("given", "expected"), [
    ("postgres://u:p@db:5432/minyi", "postgresql+psycopg://u:p@db:5432/minyi"),
    ("postgresql://u@db/minyi", "postgresql+psycopg://u@db/minyi"),
    ("postgresql+psycopg://u@db/minyi", "postgresql+psycopg://u@db/minyi"),
    ("sqlite:////var/lib/minyi/db.sqlite3", "sqlite:////var/lib/minyi/db.sqlite3"),
])
def test_it_normalises_database_urls_to_the_installed_driver(given: str, expected: str) -> None:
    assert Settings.from_env({"DATABASE_URL": given}).database_url == expected


def test_it_treats_blank_values_as_unset() -> None:
    s = Settings.from_env({"TELEGRAM_BOT_TOKEN": "  ", "PUBLIC_URL": "", "DATABASE_URL": " "})

    assert s.telegram_bot_token is None
    assert s.public_url == "http://127.0.0.1:8000"
    assert s.database_url.startswith("sqlite:///")


def test_it_tidies_telegram_settings() -> None:
    s = Settings.from_env({"TELEGRAM_BOT_USERNAME": "@minyi_bot",
                           "TELEGRAM_BASE_URL": "http://127.0.0.1:8081/bot",
                           "PUBLIC_URL": "https://minyi.example.gov.cn/"})

    assert s.telegram_bot_username == "minyi_bot"
    assert s.telegram_base_file_url == "http://127.0.0.1:8081/file/bot"
    assert s.public_url == "https://minyi.example.gov.cn"
