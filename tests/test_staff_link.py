"""Staff accounts: linking Telegram with a one-time code, and role/unit/active changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.delivery import notices
from store.models import OutboxMessage, Role, User, utcnow
from store.network import staff
from tests.conftest import Network


def test_a_code_links_telegram_once(session: Session, clerk: User) -> None:
    code = staff.issue_link_code(session, clerk)
    session.commit()
    assert len(code) == 8 and set(code) <= set(staff.ALPHABET)
    assert clerk.link_code_expires_at is not None
    assert clerk.link_code_expires_at - utcnow() > timedelta(hours=23)

    linked = staff.link_telegram(session, f" {code.lower()} ", "4242")
    session.commit()

    assert linked == clerk and clerk.telegram_chat_id == "4242" and clerk.link_code is None
    assert staff.link_telegram(session, code, "5555") is None
    notices.notify(session, clerk, "test", "测试提醒")
    session.commit()
    [msg] = session.scalars(sa.select(OutboxMessage)).all()
    assert (msg.user_id, msg.chat_id, msg.text) == (clerk.id, "4242", "测试提醒")


def test_a_stale_or_unknown_code_links_nothing(session: Session, clerk: User) -> None:
    code = staff.issue_link_code(session, clerk)
    clerk.link_code_expires_at = utcnow() - timedelta(minutes=1)
    session.commit()

    assert staff.link_telegram(session, code, "4242") is None
    assert staff.link_telegram(session, "ZZZZZZZZ", "4242") is None
    assert staff.link_telegram(session, "", "4242") is None
    assert clerk.telegram_chat_id is None and clerk.link_code is None


def test_a_new_code_replaces_the_old_one(session: Session, clerk: User) -> None:
    old = staff.issue_link_code(session, clerk)
    new = staff.issue_link_code(session, clerk)

    assert staff.link_telegram(session, old, "1") is None
    assert staff.link_telegram(session, new, "1") == clerk


def test_a_chat_serves_one_staff_member(session: Session, clerk: User, director: User) -> None:
    staff.link_telegram(session, staff.issue_link_code(session, clerk), "4242")
    staff.link_telegram(session, staff.issue_link_code(session, director), "4242")
    session.commit()

    assert (clerk.telegram_chat_id, director.telegram_chat_id) == (None, "4242")
    staff.unlink(session, director)
    assert director.telegram_chat_id is None


def test_it_changes_role_unit_and_active(session: Session, clerk: User, network: Network) -> None:
    staff.link_telegram(session, staff.issue_link_code(session, clerk), "4242")

    staff.update_user(session, clerk, role="director", unit_id=network.county.id, active=True)
    assert (clerk.role, clerk.unit_id, clerk.telegram_chat_id) == (Role.DIRECTOR, network.county.id,
                                                                    "4242")
    staff.update_user(session, clerk, role=Role.DIRECTOR, unit_id=None, active=False)
    session.commit()

    session.rollback()
    stored = session.get_one(User, clerk.id)
    assert (stored.active, stored.unit_id, stored.telegram_chat_id) == (False, None, None)
    for kw in ({"role": "mayor", "unit_id": None}, {"role": "clerk", "unit_id": 9999},
               {"role": "department", "unit_id": None}):
        with pytest.raises(ValueError):
            staff.update_user(session, stored, active=True, **kw)
