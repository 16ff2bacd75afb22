"""Staff accounts beyond passwords: role, unit, and linking chats for alerts.

A staff member links a chat by sending `/link CODE` from it, on any channel
that takes staff links, with a code the console shows them once; alerts then
reach that chat (`store.network.addresses`, `store.delivery.notices`).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.delivery import notices
from store.errors import DomainError
from store.models import Channel, Role, Unit, User, utcnow
from store.network import addresses, users

# No 0/O, 1/I/L: the code is read off a screen and typed on a phone.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_LIFETIME = timedelta(hours=24)
# Roles that see through their unit: without one a department would see nothing
# and a liaison every unit's reports (store.access).
UNIT_REQUIRED = frozenset({Role.DEPARTMENT, Role.UNIT_LIAISON})


class StaffError(DomainError):
    """A staff change cannot be made; the message says why (Chinese / English)."""


LANGUAGES = ("zh", "en")


def set_language(user: User, language: str) -> None:
    """The console's language for `user`: "zh" or "en"."""
    if language not in LANGUAGES:
        raise StaffError("请选择中文或 English。")
    user.language = language


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


class LinkRefused(StaffError):
    """A /link code that links nothing; `reason` (a key of `REFUSALS`) picks the chat's answer."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


REFUSALS = {
    "unknown": "没有这个绑定码，或它已用过 / no such link code, or it was used",
    "expired": "绑定码已过期 / the link code has expired",
    "disabled": "该账号已停用 / the account is disabled",
}


def link_chat(session: Session, code: str, channel: Channel, chat_id: str) -> User:
    """Link the staff member whose code this is to `chat_id` on `channel` (store.network.addresses).

    The code is taken in one statement, so it works once even when sent from
    two chats at the same moment. `LinkRefused` when it is unknown or used,
    expired, or its account is disabled.
    """
    code = (code or "").strip().upper()
    if len(code) != CODE_LENGTH or not code.isalnum():
        raise LinkRefused("unknown", REFUSALS["unknown"])
    user_id = session.scalar(
        sa.update(User)
        .where(User.link_code == code, User.link_code_expires_at > utcnow(), User.active.is_(True))
        .values(link_code=None, link_code_expires_at=None)
        .returning(User.id)
        .execution_options(synchronize_session=False))
    if user_id is None:
        active = session.scalar(sa.select(User.active).where(User.link_code == code))
        reason = "unknown" if active is None else "expired" if active else "disabled"
        raise LinkRefused(reason, REFUSALS[reason])
    user = session.get_one(User, user_id)
    session.refresh(user)
    addresses.link(session, user, channel, chat_id)
    return user


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
        # A disabled account must not keep receiving alerts in any chat, nor stay signed in.
        users.end_sessions(session, user)
        addresses.unlink(session, user)
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
    (console, and every linked chat) is the record that it happened.
    """
    password = password if password is not None else users.random_password()
    users.set_password(session, user, password)
    notices.notify(session, user, "password_reset",
                   f"管理员 {by.display_name or by.username}（{by.username}）重设了您的登录密码。"
                   "如非您本人要求，请立即联系管理员。")
    return password
