"""Staff accounts beyond passwords: role, unit, and the Telegram link for alerts.

A staff member links Telegram by sending the bot `/link CODE`, with a code
the console shows them once; alerts then reach that chat (`store.delivery.notices`).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.delivery import notices
from store.errors import DomainError
from store.models import Role, Unit, User, utcnow
from store.network import users

# No 0/O, 1/I/L: the code is read off a screen and typed on a phone.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_LIFETIME = timedelta(hours=24)
# Roles that see through their unit: without one a department would see nothing
# and a liaison every unit's reports (store.access).
UNIT_REQUIRED = frozenset({Role.DEPARTMENT, Role.UNIT_LIAISON})


class StaffError(DomainError):
    """A staff change cannot be made; the message says why (Chinese / English)."""


def issue_link_code(session: Session, user: User) -> str:
    """A fresh one-time code for `user` (the previous one stops working); valid 24 hours."""
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        if session.scalar(sa.select(User.id).where(User.link_code == code)) is None:
            break
    user.link_code = code
    user.link_code_expires_at = utcnow() + CODE_LIFETIME
    session.flush()
    return code


def link_telegram(session: Session, code: str, chat_id: str) -> User | None:
    """Link the staff member whose code this is to `chat_id`; None if the code is unknown or stale.

    The code works once. A chat serves one staff member: whoever had it before is unlinked.
    """
    code = (code or "").strip().upper()
    if len(code) != CODE_LENGTH:
        return None
    user = session.scalar(sa.select(User).where(User.link_code == code))
    if user is None or not user.active:
        return None
    expires = user.link_code_expires_at
    user.link_code = None
    user.link_code_expires_at = None
    if expires is None or expires <= utcnow():
        session.flush()
        return None
    session.execute(sa.update(User).where(User.telegram_chat_id == str(chat_id), User.id != user.id)
                    .values(telegram_chat_id=None))
    user.telegram_chat_id = str(chat_id)
    session.flush()
    return user


def unlink(session: Session, user: User) -> None:
    """Stop Telegram alerts for `user` (console notices go on)."""
    user.telegram_chat_id = None
    user.link_code = None
    user.link_code_expires_at = None
    session.flush()


def update_user(session: Session, user: User, *, role: Role | str, unit_id: int | None,
                active: bool) -> User:
    """Set `user`'s role, unit (None: the whole network) and whether they may sign in."""
    try:
        role = Role(role)
    except ValueError:
        raise StaffError(f"未知角色 {role!r} / unknown role {role!r}") from None
    unit = session.get(Unit, unit_id) if unit_id is not None else None
    if unit_id is not None and unit is None:
        raise StaffError(f"单位 #{unit_id} 不存在 / no unit #{unit_id}")
    if unit is not None and unit.retired_at is not None and unit.id != user.unit_id:
        raise StaffError(f"单位「{unit.name}」已撤销 / unit #{unit.id} is retired")
    if role in UNIT_REQUIRED and unit_id is None:
        raise StaffError(f"{unit_rule(role)} / a {role.value} account needs a unit")
    user.role = role
    user.unit_id = unit_id
    user.active = active
    if not active:
        # A disabled account must not keep receiving alerts on Telegram, nor stay signed in.
        users.end_sessions(session, user)
        user.telegram_chat_id = None
        user.link_code = None
        user.link_code_expires_at = None
    session.flush()
    return user


def unit_rule(role: Role) -> str:
    """Why `role` must have a unit (Chinese), for the form that forgot one."""
    if role is Role.DEPARTMENT:
        return "有关部门的账号必须选择所属部门，不能选“全部单位”。"
    return "单位联络员必须选择所联络的单位，不能选“全部单位”。"


def reset_password(session: Session, user: User, by: User, password: str | None = None) -> str:
    """An admin sets `user`'s password (typed, or made up when None) and `user` is told.

    Returns the new password, for the admin to hand over once. The notice
    (console, and Telegram if linked) is the record that it happened.
    """
    password = password if password is not None else users.random_password()
    users.set_password(session, user, password)
    notices.notify(session, user, "password_reset",
                   f"管理员 {by.display_name or by.username}（{by.username}）重设了您的登录密码。"
                   "如非您本人要求，请立即联系管理员。")
    return password
