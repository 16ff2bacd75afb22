"""Staff accounts and their passwords (scrypt, from the standard library)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.errors import DomainError
from store.models import Role, User, utcnow

_N, _R, _P = 2**14, 8, 1
MIN_PASSWORD = 8
MAX_PASSWORD = 200
# A made-up password is read off a screen and typed: no 0/o, 1/l/i.
_READABLE = "abcdefghjkmnpqrstuvwxyz23456789"


class UserError(DomainError):
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
    _check_length(password)
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


def random_password() -> str:
    """A one-time password to hand over in person: 3 groups of 4, about 59 bits."""
    return "-".join("".join(secrets.choice(_READABLE) for _ in range(4)) for _ in range(3))


_PROBLEMS = {
    "short": (f"密码至少 {MIN_PASSWORD} 位。", f"password needs at least {MIN_PASSWORD} characters"),
    "long": (f"密码不能超过 {MAX_PASSWORD} 位。", f"password may have at most {MAX_PASSWORD} characters"),
}


def _problem(password: str) -> tuple[str, str] | None:
    if len(password) < MIN_PASSWORD:
        return _PROBLEMS["short"]
    if len(password) > MAX_PASSWORD:
        return _PROBLEMS["long"]
    return None


def password_problem(password: str) -> str | None:
    """Why `password` cannot be used (Chinese), or None."""
    problem = _problem(password)
    return problem[0] if problem else None


def password_problem_bilingual(password: str) -> str | None:
    """The same, "中文 / English", for the command line."""
    problem = _problem(password)
    return f"{problem[0]} / {problem[1]}" if problem else None


def _check_length(password: str) -> None:
    problem = password_problem_bilingual(password)
    if problem:
        raise UserError(problem)


def set_password(session: Session, user: User, password: str) -> None:
    """Give `user` a new password (an admin's reset, the CLI); the old one stops working."""
    _check_length(password)
    user.password_hash = hash_password(password)
    session.flush()


def change_own_password(session: Session, user: User, current: str, new: str) -> None:
    """The staff member's own change: only with the current password."""
    if not check_password(user.password_hash, current):
        raise UserError("当前密码不正确。 / the current password is wrong")
    if new == current:
        raise UserError("新密码不能与当前密码相同。 / the new password equals the current one")
    set_password(session, user, new)
