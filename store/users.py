"""Staff accounts and their passwords (scrypt, from the standard library)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import Role, User, utcnow

_N, _R, _P = 2**14, 8, 1
MIN_PASSWORD = 8


class UserError(ValueError):
    pass


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(stored: str, password: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    calc = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                          p=int(p), dklen=32)
    return hmac.compare_digest(calc, base64.b64decode(digest))


def create_user(session: Session, username: str, password: str, role: Role | str,
                display_name: str | None = None) -> User:
    username = username.strip()
    if not username or len(username) > 64:
        raise UserError("用户名不能为空，且不超过 64 个字符 / username must be 1-64 characters")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"密码至少 {MIN_PASSWORD} 位 / password needs at least {MIN_PASSWORD} characters")
    try:
        role = Role(role)
    except ValueError:
        raise UserError(f"unknown role {role!r}; choose one of: "
                        + ", ".join(r.value for r in Role)) from None
    if session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise UserError(f"用户 {username} 已存在 / user {username} already exists")
    user = User(username=username, password_hash=hash_password(password), role=role,
                display_name=display_name or username)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(sa.select(User).where(User.username == username.strip()))
    if user is None or not user.active or not check_password(user.password_hash, password):
        return None
    user.last_login_at = utcnow()
    return user


def list_users(session: Session) -> list[User]:
    """Every staff account, active ones first, by username."""
    return list(session.scalars(sa.select(User).order_by(User.active.desc(), User.username)))
