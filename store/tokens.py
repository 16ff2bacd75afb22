"""Signed collection-point tokens for QR codes and Telegram deep links.

Format: `p<id>_<version>_<signature>`. The signature is an HMAC of the id and
version under the secret key, so a token cannot be forged or moved to another
point; bumping the version retires every code printed before. The whole token
stays within Telegram's deep-link limit (64 characters of A-Za-z0-9_-).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
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
