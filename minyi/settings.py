"""Settings, read once from the environment (and `.env`) at start-up.

Each entry point builds one `Settings` and passes it down; nothing reads the
environment at import time. Secrets may also come from `NAME_FILE` (a path),
as container secrets usually do.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from store.conversation.types import EngineConfig

DEV_SECRET = "dev-only-secret-do-not-use-in-production"
WECHAT_API_BASE = "https://api.weixin.qq.com"


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _read(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    # A blank variable counts as unset (compose files often leave `NAME=`).
    if not (value or "").strip() and env.get(f"{name}_FILE"):
        path = Path(env[f"{name}_FILE"])
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE points to {path}, which cannot be read: {exc}") from exc
    if value is not None:
        value = value.strip()
    return value or None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = _read(env, name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 0:
        raise ConfigError(f"{name} must be 0 or more, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _read(env, name)
    if raw is None:
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    """Everything minyi needs to know about its surroundings."""

    env: str = "development"
    instance_dir: Path = field(default_factory=lambda: Path("instance"))
    database_url: str = ""
    secret_key: str = DEV_SECRET
    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    telegram_bot_token: str | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    telegram_bot_username: str | None = None
    telegram_poll_timeout: int = 30
    max_upload_mb: int = 20
    notifier_interval: float = 1.0
    # A worker that claimed an outbox row and died: after this long another sends it (OUTBOX_LEASE_SECONDS).
    outbox_lease_seconds: int = 300
    global_rate: int = 30
    per_chat_interval: float = 1.0
    form: str = "report"
    # WeChat Official Account (issue 11): on when the app id, secret and token are all set.
    wechat_app_id: str | None = None
    wechat_app_secret: str | None = None
    wechat_token: str | None = None
    # Set for the encrypted ("safe") mode; 43 characters from the account's console.
    wechat_aes_key: str | None = None
    # A private gateway, or a test double, in place of WeChat's own API host.
    wechat_api_base: str = WECHAT_API_BASE
    # The template message sent instead when a reporter is outside the 48-hour window.
    wechat_template_id: str | None = None
    # How many reverse proxies in front of the app set X-Forwarded-For/-Proto (0: none, the
    # client's own address counts); only those headers' last N entries are believed.
    trusted_proxies: int = 0
    # Console sessions end after this long without a request, and this long after login.
    session_idle_minutes: int = 120
    session_max_hours: int = 12
    # Login throttling: this many refused logins of one account (of one address) within
    # the lock time lock it (that address) for the lock time.
    login_account_failures: int = 5
    login_address_failures: int = 20
    login_lock_minutes: int = 15
    # Files sent into a draft that is never submitted are deleted after this many days;
    # one chat holds at most this many MB of files not yet submitted.
    draft_files_days: int = 7
    chat_files_mb: int = 100
    # The keys reporters' details are sealed with (store.sealing), newest first: the first
    # seals, all of them open (MINYI_DATA_KEY="new,old" while `minyi keys rotate` runs).
    data_keys: tuple[str, ...] = ()
    # Log lines as key=value ("kv") or JSON ("json"), one per event (minyi.logs).
    log_format: str = "kv"
    # /metrics answers a request bearing this token; without one, only a direct request from
    # this machine (loopback, no proxy header) -- see web/health.py.
    metrics_token: str | None = None
    # Processes apart (`minyi web`, `minyi bot`, `minyi worker`; docs/DEPLOY.md).
    web_workers: int = 2
    web_threads: int = 4
    # Webhook mode of `minyi bot` when set (the public https address Telegram posts to);
    # long polling otherwise. The secret is what Telegram sends back in its header.
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    bot_host: str = "127.0.0.1"
    bot_port: int = 8081
    # Rate limits shared by every process through Redis when set; in-process otherwise.
    redis_url: str | None = None

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def https(self) -> bool:
        """Whether the console is reached over HTTPS (cookies are then marked Secure)."""
        return self.is_production or self.public_url.startswith("https://")

    @property
    def wechat_enabled(self) -> bool:
        return bool(self.wechat_app_id and self.wechat_app_secret and self.wechat_token)

    @property
    def data_key_file(self) -> Path:
        """Where `minyi init` keeps a generated key outside production (not in production)."""
        return self.instance_dir / "data.key"

    @property
    def upload_dir(self) -> Path:
        return self.instance_dir / "uploads"

    def engine_config(self) -> EngineConfig:
        """What the conversation engine needs, for every channel alike."""
        from store.conversation.types import EngineConfig

        return EngineConfig(secret_key=self.secret_key, upload_dir=self.upload_dir,
                            form=self.form, public_url=self.public_url, max_file_mb=self.max_upload_mb,
                            chat_files_mb=self.chat_files_mb)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
        """Build settings from `env` (default: the process environment plus `.env`)."""
        if env is None:
            if dotenv:
                from dotenv import load_dotenv

                load_dotenv(override=False)
            env = os.environ
        mode = (_read(env, "MINYI_ENV") or "development").lower()
        if mode not in {"development", "production", "test"}:
            raise ConfigError(f"MINYI_ENV must be development, production or test, got {mode!r}")
        instance = Path(_read(env, "MINYI_INSTANCE") or "instance").resolve()
        secret = _read(env, "SECRET_KEY")
        if secret is None:
            if mode == "production":
                raise ConfigError(
                    "SECRET_KEY is not set. In production minyi refuses to start without it: "
                    "it signs console sessions and every collection point's QR code. "
                    "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
                )
            secret = DEV_SECRET
        elif len(secret) < 16:
            raise ConfigError("SECRET_KEY is too short: use at least 16 random characters")
        database_url = _read(env, "DATABASE_URL") or f"sqlite:///{instance / 'minyi.sqlite3'}"
        if database_url.startswith("postgres://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgres://"):]
        elif database_url.startswith("postgresql://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
        port = _int(env, "PORT", 8000)
        public_url = (_read(env, "PUBLIC_URL") or f"http://127.0.0.1:{port}").rstrip("/")
        if mode == "production" and public_url.startswith("http://127.0.0.1"):
            raise ConfigError(
                "PUBLIC_URL is not set. In production the QR codes must point at the address "
                "citizens can reach, e.g. PUBLIC_URL=https://minyi.example.gov.cn"
            )
        base_url = _read(env, "TELEGRAM_BASE_URL") or "https://api.telegram.org/bot"
        file_url = _read(env, "TELEGRAM_BASE_FILE_URL") or base_url.replace("/bot", "/file/bot", 1)
        moved = [name for name in MOVED_TO_CONSOLE if _read(env, name) is not None]
        if moved:
            raise ConfigError(
                f"{', '.join(moved)} {'is' if len(moved) == 1 else 'are'} no longer read: deadlines "
                "are counted in working days and set by the office in the console "
                "(系统管理 → 办理时限). Remove the setting from the environment or .env")
        data_keys = _data_keys(env, mode, instance)
        return cls(
            env=mode,
            instance_dir=instance,
            database_url=database_url,
            secret_key=secret,
            public_url=public_url,
            host=_read(env, "HOST") or "127.0.0.1",
            port=port,
            telegram_bot_token=_read(env, "TELEGRAM_BOT_TOKEN"),
            telegram_base_url=base_url,
            telegram_base_file_url=file_url,
            telegram_bot_username=(_read(env, "TELEGRAM_BOT_USERNAME") or "").lstrip("@") or None,
            telegram_poll_timeout=_int(env, "TELEGRAM_POLL_TIMEOUT", 30),
            max_upload_mb=_int(env, "MAX_UPLOAD_MB", 20),
            global_rate=_int(env, "TELEGRAM_GLOBAL_RATE", 30),
            form=_read(env, "MINYI_FORM") or "report",
            trusted_proxies=_count(env, "TRUSTED_PROXIES", 0),
            session_idle_minutes=_positive(env, "SESSION_IDLE_MINUTES", 120),
            session_max_hours=_positive(env, "SESSION_MAX_HOURS", 12),
            login_account_failures=_positive(env, "LOGIN_ACCOUNT_FAILURES", 5),
            login_address_failures=_positive(env, "LOGIN_ADDRESS_FAILURES", 20),
            login_lock_minutes=_positive(env, "LOGIN_LOCK_MINUTES", 15),
            draft_files_days=_positive(env, "DRAFT_FILES_DAYS", 7),
            chat_files_mb=_positive(env, "CHAT_FILES_MB", 100),
            data_keys=data_keys,
            log_format=_log_format(env),
            metrics_token=_read(env, "METRICS_TOKEN"),
            web_workers=_positive(env, "WEB_WORKERS", 2),
            web_threads=_positive(env, "WEB_THREADS", 4),
            telegram_webhook_url=_read(env, "TELEGRAM_WEBHOOK_URL"),
            telegram_webhook_secret=_webhook_secret(env),
            bot_host=_read(env, "BOT_HOST") or "127.0.0.1",
            bot_port=_int(env, "BOT_PORT", 8081),
            redis_url=_read(env, "REDIS_URL"),
            outbox_lease_seconds=_positive(env, "OUTBOX_LEASE_SECONDS", 300),
            **_wechat(env),
        )


def _webhook_secret(env: Mapping[str, str]) -> str | None:
    """TELEGRAM_WEBHOOK_SECRET: required with TELEGRAM_WEBHOOK_URL, 1-256 of A-Z a-z 0-9 _ -."""
    secret = _read(env, "TELEGRAM_WEBHOOK_SECRET")
    if _read(env, "TELEGRAM_WEBHOOK_URL") is None:
        return secret
    if not secret or not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise ConfigError(
            "TELEGRAM_WEBHOOK_URL is set, so TELEGRAM_WEBHOOK_SECRET must be too: 1-256 letters, "
            "digits, _ or - (Telegram sends it back with every update, and updates without it "
            "are refused). Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return secret


def _data_keys(env: Mapping[str, str], mode: str, instance: Path) -> tuple[str, ...]:
    """MINYI_DATA_KEY (or _FILE): comma-separated keys, newest first; outside production a
    missing one is the key `minyi init` generated in the instance folder, if any."""
    raw = _read(env, "MINYI_DATA_KEY")
    if raw is None:
        if mode == "production":
            raise ConfigError(
                "MINYI_DATA_KEY is not set. In production minyi refuses to start without it: it "
                "encrypts reporters' names and contact details in the database. Generate one with "
                "`minyi keys new`, keep a copy somewhere safe (without it the data cannot be read), "
                "and set MINYI_DATA_KEY or MINYI_DATA_KEY_FILE")
        generated = instance / "data.key"
        if not generated.is_file():
            return ()
        raw = generated.read_text(encoding="ascii").strip()
        if not raw:
            raise ConfigError(f"{generated} is empty: put the data key back in it (or set "
                              "MINYI_DATA_KEY); without it reporters' details cannot be read")
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    for n, key in enumerate(keys, 1):
        try:
            ok = len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32 and len(key) == 44
        except (binascii.Error, ValueError, UnicodeEncodeError):
            ok = False
        if not ok:
            raise ConfigError(
                f"MINYI_DATA_KEY: key {n} is not a data key (44 characters of URL-safe base64, as "
                "`minyi keys new` prints); several keys are separated by commas, newest first")
    if len(set(keys)) != len(keys):
        raise ConfigError("MINYI_DATA_KEY names the same key twice")
    return keys
def _log_format(env: Mapping[str, str]) -> str:
    fmt = (_read(env, "LOG_FORMAT") or "kv").lower()
    if fmt not in ("kv", "json"):
        raise ConfigError(f"LOG_FORMAT must be kv (key=value lines) or json, got {fmt!r}")
    return fmt


# Deadlines in calendar days, from before the office set them in working days (issue 14).
MOVED_TO_CONSOLE = ("RETURN_REMIND_DAYS", "RETURN_EXPIRE_DAYS", "TRANSFER_DUE_DAYS",
                    "TRANSFER_ESCALATE_DAYS")
_WECHAT_REQUIRED = ("WECHAT_APP_ID", "WECHAT_APP_SECRET", "WECHAT_TOKEN")
_WECHAT_OPTIONAL = ("WECHAT_AES_KEY", "WECHAT_API_BASE", "WECHAT_TEMPLATE_ID")


class _WeChatFields(TypedDict):
    wechat_app_id: str | None
    wechat_app_secret: str | None
    wechat_token: str | None
    wechat_aes_key: str | None
    wechat_api_base: str
    wechat_template_id: str | None


def _wechat(env: Mapping[str, str]) -> _WeChatFields:
    """The WECHAT_* settings, checked: all three of id, secret and token, or none of them."""
    values = {name: _read(env, name) for name in _WECHAT_REQUIRED + _WECHAT_OPTIONAL}
    given = [name for name, value in values.items() if value is not None]
    missing = [name for name in _WECHAT_REQUIRED if values[name] is None]
    if given and missing:
        raise ConfigError(
            f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} set but "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not: the WeChat channel "
            "needs WECHAT_APP_ID, WECHAT_APP_SECRET and WECHAT_TOKEN from the account's console "
            "(开发 → 基本配置), or none of the WECHAT_* settings to stay off")
    token = values["WECHAT_TOKEN"]
    if token is not None and not re.fullmatch(r"[A-Za-z0-9]{3,32}", token):
        raise ConfigError("WECHAT_TOKEN must be 3 to 32 letters or digits, as the account's "
                          "console (基本配置 → 令牌 Token) requires")
    aes_key = values["WECHAT_AES_KEY"]
    if aes_key is not None:
        _check_aes_key(aes_key)
    base = (values["WECHAT_API_BASE"] or WECHAT_API_BASE).rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise ConfigError(f"WECHAT_API_BASE must be an http(s) URL, got {base!r}")
    return {"wechat_app_id": values["WECHAT_APP_ID"], "wechat_app_secret": values["WECHAT_APP_SECRET"],
            "wechat_token": token, "wechat_aes_key": aes_key, "wechat_api_base": base,
            "wechat_template_id": values["WECHAT_TEMPLATE_ID"]}


def _check_aes_key(key: str) -> None:
    """An EncodingAESKey is 43 base64 characters that decode (with one `=`) to 32 bytes."""
    if len(key) != 43:
        raise ConfigError(
            f"WECHAT_AES_KEY must be exactly 43 characters (the EncodingAESKey from 基本配置), "
            f"got {len(key)}")
    try:
        raw = base64.b64decode(key + "=", validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ConfigError("WECHAT_AES_KEY is not a valid EncodingAESKey: use the 43 letters and "
                          "digits shown in 基本配置, without spaces")
