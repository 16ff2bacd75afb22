"""Staff accounts and their passwords (scrypt, from the standard library)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

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
    _check_password(password, username)
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


@functools.cache
def _stand_in() -> str:
    """A hash of a password nobody knows, checked when there is no account to check."""
    return hash_password(secrets.token_urlsafe(24))


def authenticate(session: Session, username: str, password: str, *,
                 stamp: bool = True) -> User | None:
    """The active user with this name and password, or None.

    Exactly one scrypt is computed either way, so how long a refusal takes does
    not tell whether the username exists or is disabled. `stamp=False` leaves the
    login unrecorded (a second factor is still to come: `stamp_login` then).
    """
    user = session.scalar(sa.select(User).where(User.username == username.strip()))
    usable = user if user is not None and user.active else None
    matches = check_password(usable.password_hash if usable else _stand_in(), password)
    if usable is None or not matches:
        return None
    if stamp:
        stamp_login(usable)
    return usable


def stamp_login(user: User) -> None:
    """Record that `user` logged in (the audit trail's login.succeeded)."""
    user.last_login_at = utcnow()


def list_users(session: Session) -> list[User]:
    """Every staff account, active ones first, by username."""
    return list(session.scalars(sa.select(User).order_by(User.active.desc(), User.username)))


def random_password() -> str:
    """A one-time password to hand over in person: 3 groups of 4, about 59 bits."""
    return "-".join("".join(secrets.choice(_READABLE) for _ in range(4)) for _ in range(3))


_PROBLEMS = {
    "short": (f"密码至少 {MIN_PASSWORD} 位。", f"password needs at least {MIN_PASSWORD} characters"),
    "long": (f"密码不能超过 {MAX_PASSWORD} 位。", f"password may have at most {MAX_PASSWORD} characters"),
    "username": ("密码不能包含用户名。", "password must not contain the username"),
    "common": ("这个密码太常见，容易被猜中，请换一个。", "this password is too common; choose another"),
    "simple": ("密码不能是同一个字符重复或连续的字母、数字（如 12345678、abcdefgh）。",
               "password must not be one character repeated or a run like 12345678"),
}
# Guessed first by anyone trying passwords (lower case; a password equal to one of
# these, or to one with a year or "!" after it, is refused).
COMMON = frozenset({
    "password", "passw0rd", "p@ssw0rd", "password1", "qwerty", "qwertyui", "qwerty123",
    "qwertyuiop", "asdfghjk", "zxcvbnm", "zxcvbnm123", "iloveyou", "woaini", "woaini1314",
    "woaini520", "1qaz2wsx", "1q2w3e4r", "1q2w3e4r5t", "qazwsxedc", "admin", "admin123",
    "admin888", "administrator", "root1234", "welcome", "welcome1", "letmein", "changeme",
    "secret", "a1234567", "a12345678", "abc12345", "abc123456", "aa123456", "aa12345678",
    "zhang123", "wang1234", "li123456", "88888888", "66666666", "11111111", "00000000",
    "12341234", "11223344", "123123123", "147258369", "5201314", "1314520", "minyi",
    "minyi123", "zhengxie", "zhengxie123", "cppcc", "cppcc123", "sheqing", "minyizhitongche",
})


def _simple(password: str) -> bool:
    """One character repeated, or a run going up or down by one (12345678, hgfedcba)."""
    if len(set(password)) == 1:
        return True
    steps = {ord(b) - ord(a) for a, b in zip(password, password[1:], strict=False)}
    return steps in ({1}, {-1})


def _common(password: str) -> bool:
    low = password.lower()
    stem = low.rstrip("!.@#0123456789")
    return low in COMMON or (len(stem) >= 5 and stem in COMMON)


def _problem(password: str, username: str | None) -> tuple[str, str] | None:
    if len(password) < MIN_PASSWORD:
        return _PROBLEMS["short"]
    if len(password) > MAX_PASSWORD:
        return _PROBLEMS["long"]
    name = (username or "").strip().lower()
    if len(name) >= 3 and name in password.lower():
        return _PROBLEMS["username"]
    if _common(password):
        return _PROBLEMS["common"]
    if _simple(password):
        return _PROBLEMS["simple"]
    return None


def password_problem(password: str, username: str | None = None) -> str | None:
    """Why `password` cannot be used (Chinese), or None; `username` is the account's."""
    problem = _problem(password, username)
    return problem[0] if problem else None


def password_problem_bilingual(password: str, username: str | None = None) -> str | None:
    """The same, "中文 / English", for the command line."""
    problem = _problem(password, username)
    return f"{problem[0]} / {problem[1]}" if problem else None


def _check_password(password: str, username: str | None) -> None:
    problem = password_problem_bilingual(password, username)
    if problem:
        raise UserError(problem)


def set_password(session: Session, user: User, password: str) -> None:
    """Give `user` a new password (an admin's reset, the CLI); the old one stops working,
    and so does every console session opened with it."""
    _check_password(password, user.username)
    user.password_hash = hash_password(password)
    end_sessions(session, user)


def end_sessions(session: Session, user: User) -> None:
    """End every console session of `user` (cookies copied anywhere included)."""
    generation = session.scalar(
        sa.update(User).where(User.id == user.id)
        .values(session_generation=User.session_generation + 1)
        .returning(User.session_generation))
    # The UPDATE bypassed the identity map; keep the object in step with the row.
    set_committed_value(user, "session_generation", int(generation or 0))


def change_own_password(session: Session, user: User, current: str, new: str) -> None:
    """The staff member's own change: only with the current password."""
    if not check_password(user.password_hash, current):
        raise UserError("当前密码不正确。 / the current password is wrong")
    if new == current:
        raise UserError("新密码不能与当前密码相同。 / the new password equals the current one")
    set_password(session, user, new)
