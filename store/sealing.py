"""Reporters' identity at rest: sealed with the office's data key (保密, issue 14).

A sealed value is `enc1:<key id>:<Fernet token>`: Fernet (AES-128-CBC with
an HMAC) from `cryptography`, and the id (8 hex digits of the key's SHA-256)
says which key sealed it, so a rotation finds what is left to redo with a
plain `LIKE` and a rerun after an interruption picks up where it stopped.

The keyring is installed once at start-up from the settings (`install`); the
column types `Sealed` (text) and `SealedJSON` (a chat's draft answers, which
hold the contact before it is filed) seal on the way in and open on the way out, so the
one reader (`store.access`) reads plain text and the database never holds it.
With no keyring installed, writing a sealed column raises: minyi refuses
rather than store plain text. A value that is not sealed yet (written before
0024, before `minyi init` or `minyi keys rotate` sealed it) reads as it is.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken

from store.errors import DomainError

PREFIX = "enc1:"
# What the canary row holds, sealed: opening it at start-up proves the key is the right one.
CANARY = "minyi data key canary"
CANARY_KEY = "data_key_canary"
# Values a keyring sealed or opened lately, kept opened: a chat's draft is read at every input
# and written at most inputs, and a reporter's name is read at every one of theirs. Bounded,
# and per keyring, so a key that was never able to open a value never finds it here.
OPENED_MAX = 2048


class SealingError(DomainError):
    """The data key is missing, wrong, or does not open a stored value."""


def new_key() -> str:
    """A fresh data key, as MINYI_DATA_KEY takes it."""
    return Fernet.generate_key().decode("ascii")


def key_id(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()[:8]


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def sealed_by(value: str) -> str | None:
    """The id of the key that sealed `value`; None for plain text."""
    if not is_sealed(value):
        return None
    return value[len(PREFIX):].split(":", 1)[0]


@dataclass(frozen=True)
class Keyring:
    """The data keys: the first seals, every one opens (old ones stay during a rotation)."""

    keys: tuple[tuple[str, Fernet], ...]
    _opened: OrderedDict[str, str] = field(default_factory=OrderedDict, compare=False, repr=False)

    @classmethod
    def of(cls, keys: Sequence[str]) -> Keyring:
        if not keys:
            raise SealingError("没有配置数据密钥 / no data key is configured (MINYI_DATA_KEY)")
        out = []
        for key in keys:
            try:
                out.append((key_id(key), Fernet(key.encode("ascii"))))
            except (ValueError, UnicodeEncodeError):
                raise SealingError(
                    "数据密钥格式不正确 / a data key is not valid: a key is 44 characters of "
                    "URL-safe base64, as `minyi keys new` prints") from None
        return cls(tuple(out))

    @property
    def primary(self) -> str:
        """The id of the key new values are sealed with."""
        return self.keys[0][0]

    def seal(self, text: str) -> str:
        kid, fernet = self.keys[0]
        sealed = f"{PREFIX}{kid}:{fernet.encrypt(text.encode('utf-8')).decode('ascii')}"
        self._keep(sealed, text)
        return sealed

    def _keep(self, sealed: str, text: str) -> None:
        # First in, first out (each step atomic under threads): no reordering on a read.
        self._opened[sealed] = text
        if len(self._opened) > OPENED_MAX:
            self._opened.popitem(last=False)

    def open(self, value: str) -> str:
        """The plain text of a sealed value; plain text as it is."""
        kid = sealed_by(value)
        if kid is None:
            return value
        known = self._opened.get(value)
        if known is not None:
            return known
        token = value[len(PREFIX) + len(kid) + 1:]
        for candidate, fernet in self.keys:
            if candidate == kid:
                try:
                    text = fernet.decrypt(token.encode("ascii")).decode("utf-8")
                except InvalidToken:
                    break
                self._keep(value, text)
                return text
        raise SealingError(
            f"无法解密：数据由密钥 {kid} 加密，但该密钥未配置。"
            f" / A stored value was sealed with data key {kid}, which is not among the configured "
            f"keys ({', '.join(k for k, _ in self.keys)}): put that key back in MINYI_DATA_KEY "
            "(after the new one, comma-separated) and run `minyi keys rotate`")

    def reseal(self, value: str) -> str:
        """`value` sealed with the primary key (plain text sealed, an older key's redone)."""
        return value if sealed_by(value) == self.primary else self.seal(self.open(value))


_keyring: Keyring | None = None


def install(keyring: Keyring | None) -> None:
    """Make `keyring` the process's data keys (start-up, once; tests swap it)."""
    global _keyring
    _keyring = keyring


def installed() -> bool:
    return _keyring is not None


def keyring() -> Keyring:
    if _keyring is None:
        raise SealingError("没有数据密钥，拒绝以明文保存反映人信息。 / No data key is installed: "
                           "minyi refuses to store reporters' details unencrypted "
                           "(set MINYI_DATA_KEY, or run `minyi init`)")
    return _keyring


def seal(text: str) -> str:
    return keyring().seal(text)


def open_value(value: str) -> str:
    return value if not is_sealed(value) else keyring().open(value)


def seal_json(value: Any) -> str:
    """Any JSON value sealed (an identity answer kept inside a report's answers)."""
    return seal(json.dumps(value, ensure_ascii=False))


def open_json(value: Any) -> Any:
    """What `seal_json` sealed; a value from before sealing as it is."""
    if isinstance(value, str) and is_sealed(value):
        return json.loads(keyring().open(value))
    return value


def reseal_json(value: Any) -> Any:
    """An identity answer sealed with the primary key, whatever it was (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str) and is_sealed(value):
        return keyring().reseal(value)
    return seal_json(value)


class Sealed(sa.types.TypeDecorator[str]):
    """A text column stored sealed; reads and writes plain text in Python."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        # Always sealed, even text that looks sealed (a reporter may type anything);
        # the rotation writes what it resealed as raw text, past this type.
        return None if value is None else seal(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else open_value(value)


class SealedJSON(sa.types.TypeDecorator[Any]):
    """A JSON value stored sealed as a whole (a chat's draft answers, contact included)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else seal(json.dumps(value, ensure_ascii=False))

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        # Plain JSON text is what the column held before it was sealed.
        return None if value is None else json.loads(open_value(value))
