"""Signed collection-point tokens for QR codes and Telegram deep links.

Format: `p<id>_<version>_<signature>`. The signature is an HMAC of the id and
version under the secret key, so a token cannot be forged or moved to another
point; bumping the version retires every code printed before. The whole token
stays within Telegram's deep-link limit (64 characters of A-Za-z0-9_-).

A poster also prints a short code a person can type, `<id>-<signature>` (say
`3-K7M2QX9`), in an alphabet without 0/O/1/I/L and read without regard to
case, spaces or dashes. Its signature covers the same id and version under
the same secret, so it cannot be forged either and rotation retires it too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass

TOKEN_RE = re.compile(r"^p([1-9][0-9]{0,11})_([1-9][0-9]{0,5})_([A-Za-z0-9_-]{22})$")
MAX_LEN = 64


@dataclass(frozen=True)
class PointToken:
    point_id: int
    version: int


def _sign(secret: str, point_id: int, version: int) -> str:
    mac = hmac.new(secret.encode(), f"point:{point_id}:{version}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:16]).decode().rstrip("=")


def make(secret: str, point_id: int, version: int) -> str:
    token = f"p{point_id}_{version}_{_sign(secret, point_id, version)}"
    assert len(token) <= MAX_LEN
    return token


def parse(secret: str, token: str | None) -> PointToken | None:
    """The point a token names, or None if it is malformed or its signature is wrong.

    Whether the point exists and the version is current is the caller's check.
    """
    if not token or len(token) > MAX_LEN:
        return None
    m = TOKEN_RE.fullmatch(token)  # `$` alone would let a trailing newline through
    if m is None:
        return None
    point_id, version, sig = int(m.group(1)), int(m.group(2)), m.group(3)
    if not hmac.compare_digest(sig, _sign(secret, point_id, version)):
        return None
    return PointToken(point_id, version)


# No 0/O, 1/I/L: short codes are read off paper and typed on phones.
SHORT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# 31**7 ≈ 2.8e10 signatures per point: out of reach of guessing over HTTP.
SHORT_SIG_LEN = 7
_SHORT_MAX_ID = 10**12


@dataclass(frozen=True)
class ShortCode:
    """A typed short code, normalised; whether its signature holds is `short_matches`."""

    point_id: int
    signature: str


def _b31(n: int, width: int = 1) -> str:
    out = ""
    while n or len(out) < width:
        n, digit = divmod(n, len(SHORT_ALPHABET))
        out = SHORT_ALPHABET[digit] + out
    return out


def _short_sign(secret: str, point_id: int, version: int) -> str:
    mac = hmac.new(secret.encode(), f"short:{point_id}:{version}".encode(), hashlib.sha256)
    # 64 bits folded onto 31**7: the bias is below one part in 10**8.
    return _b31(int.from_bytes(mac.digest()[:8], "big") % len(SHORT_ALPHABET) ** SHORT_SIG_LEN,
                SHORT_SIG_LEN)


def make_short(secret: str, point_id: int, version: int) -> str:
    return f"{_b31(point_id)}-{_short_sign(secret, point_id, version)}"


def parse_short(code: str | None) -> ShortCode | None:
    """What a person typed, or None if it cannot be a short code.

    Full-width letters (a Chinese input method's), case, spaces and dashes do
    not matter; the last SHORT_SIG_LEN characters are the signature.
    """
    if not code or len(code) > 40:
        return None
    text = "".join(ch for ch in unicodedata.normalize("NFKC", code).upper()
                   if ch not in " -_./")
    if not SHORT_SIG_LEN < len(text) <= SHORT_SIG_LEN + 8:
        return None
    if any(ch not in SHORT_ALPHABET for ch in text):
        return None
    point_id = 0
    for ch in text[:-SHORT_SIG_LEN]:
        point_id = point_id * len(SHORT_ALPHABET) + SHORT_ALPHABET.index(ch)
    if not 0 < point_id < _SHORT_MAX_ID:
        return None
    return ShortCode(point_id, text[-SHORT_SIG_LEN:])


def short_matches(secret: str, code: ShortCode, version: int) -> bool:
    return hmac.compare_digest(code.signature, _short_sign(secret, code.point_id, version))
