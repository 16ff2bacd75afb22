"""Staff accounts: linking a chat per channel with a one-time code, and role/unit/active changes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from store.delivery import notices
from store.models import Channel, OutboxMessage, Role, StaffAddress, User, utcnow
from store.network import addresses, staff
from tests.conftest import Network

TG, WX = Channel.TELEGRAM, Channel.WECHAT


def _chats(session: Session) -> set[tuple[int, Channel, str, bool]]:
    """(user, channel, chat, live) of every stored address, as committed."""
    session.rollback()
    return {(a.user_id, a.channel, a.chat_id, a.gone_at is None)
            for a in session.scalars(sa.select(StaffAddress))}


def _code(session: Session, user: User) -> str:
    code = staff.issue_link_code(session, user)
    session.commit()
    return code


def test_a_code_links_the_chat_it_is_sent_from_once(session: Session, clerk: User) -> None:
    code = staff.issue_link_code(session, clerk)
    session.commit()
    assert len(code) == 8 and set(code) <= set(staff.ALPHABET)
    assert clerk.link_code_expires_at is not None
    assert clerk.link_code_expires_at - utcnow() > timedelta(hours=23)

    linked = staff.link_chat(session, f" {code.lower()} ", TG, "4242")
    session.commit()

    assert linked == clerk and clerk.link_code is None
    assert _chats(session) == {(clerk.id, TG, "4242", True)}
    with pytest.raises(staff.LinkRefused) as refused:
        staff.link_chat(session, code, WX, "oCarol")
    assert refused.value.reason == "unknown" and "没有这个绑定码" in str(refused.value)
    assert _chats(session) == {(clerk.id, TG, "4242", True)}


def test_it_refuses_a_forged_expired_or_disabled_code_and_links_nothing(
    session: Session, clerk: User, director: User
) -> None:
    code = staff.issue_link_code(session, clerk)
    clerk.link_code_expires_at = utcnow() - timedelta(minutes=1)
    disabled = staff.issue_link_code(session, director)
    director.active = False
    session.commit()

    for typed, reason in ((code, "expired"), (disabled, "disabled"), ("ZZZZZZZZ", "unknown"),
                          ("", "unknown"), ("A' OR '1", "unknown"), (code + "X", "unknown")):
        with pytest.raises(staff.LinkRefused) as refused:
            staff.link_chat(session, typed, TG, "4242")
        assert refused.value.reason == reason, typed
        assert str(refused.value) == staff.REFUSALS[reason]
    assert _chats(session) == set()


def test_a_new_code_replaces_the_old_one(session: Session, clerk: User) -> None:
    old = staff.issue_link_code(session, clerk)
    new = staff.issue_link_code(session, clerk)

    with pytest.raises(staff.LinkRefused):
        staff.link_chat(session, old, TG, "1")
    assert staff.link_chat(session, new, TG, "1") == clerk


def test_one_chat_per_channel_and_a_relink_replaces_it(session: Session, clerk: User) -> None:
    staff.link_chat(session, _code(session, clerk), TG, "4242")
    staff.link_chat(session, _code(session, clerk), WX, "oCarol")
    session.commit()
    assert _chats(session) == {(clerk.id, TG, "4242", True), (clerk.id, WX, "oCarol", True)}

    addresses.mark_gone(session, TG, "4242")
    session.commit()
    assert _chats(session) == {(clerk.id, TG, "4242", False), (clerk.id, WX, "oCarol", True)}

    # A new phone on Telegram: the old chat stops getting alerts; WeChat is untouched.
    staff.link_chat(session, _code(session, clerk), TG, "5151")
    session.commit()
    assert _chats(session) == {(clerk.id, TG, "5151", True), (clerk.id, WX, "oCarol", True)}


def test_linking_a_gone_chat_again_makes_it_live(session: Session, clerk: User) -> None:
    staff.link_chat(session, _code(session, clerk), TG, "4242")
    addresses.mark_gone(session, TG, "4242")
    session.commit()

    staff.link_chat(session, _code(session, clerk), TG, "4242")
    session.commit()

    assert _chats(session) == {(clerk.id, TG, "4242", True)}


def test_a_chat_linked_to_another_account_moves_to_the_new_one(
    session: Session, clerk: User, director: User
) -> None:
    staff.link_chat(session, _code(session, clerk), TG, "4242")
    staff.link_chat(session, _code(session, director), WX, "oDavid")
    staff.link_chat(session, _code(session, director), TG, "4242")
    session.commit()

    assert _chats(session) == {(director.id, TG, "4242", True), (director.id, WX, "oDavid", True)}
    notices.notify(session, clerk, "test", "给 Carol")
    notices.notify(session, director, "test", "给 David")
    session.commit()
    sent = {(m.user_id, m.channel, m.chat_id, m.text) for m in session.scalars(sa.select(OutboxMessage))}
    assert sent == {(director.id, TG, "4242", "给 David"), (director.id, WX, "oDavid", "给 David")}


def test_alerts_go_to_each_live_chat_and_skip_a_gone_one(session: Session, clerk: User) -> None:
    staff.link_chat(session, _code(session, clerk), TG, "4242")
    staff.link_chat(session, _code(session, clerk), WX, "oCarol")
    addresses.mark_gone(session, WX, "oCarol")

    notices.notify(session, clerk, "urgent", "【紧急】一")
    session.commit()

    [msg] = session.scalars(sa.select(OutboxMessage)).all()
    assert (msg.user_id, msg.channel, msg.chat_id) == (clerk.id, TG, "4242")


def test_it_unlinks_one_channel(session: Session, clerk: User) -> None:
    staff.link_chat(session, _code(session, clerk), TG, "4242")
    staff.link_chat(session, _code(session, clerk), WX, "oCarol")

    assert addresses.unlink(session, clerk, WX) is True
    assert addresses.unlink(session, clerk, WX) is False
    session.commit()

    assert _chats(session) == {(clerk.id, TG, "4242", True)}


def test_it_changes_role_unit_and_active(session: Session, clerk: User, network: Network) -> None:
    staff.link_chat(session, _code(session, clerk), TG, "4242")
    staff.link_chat(session, _code(session, clerk), WX, "oCarol")

    staff.update_user(session, clerk, role="director", unit_id=network.county.id, active=True)
    session.commit()
    assert (clerk.role, clerk.unit_id) == (Role.DIRECTOR, network.county.id)
    assert {c for _, c, _, _ in _chats(session)} == {TG, WX}
    stored = session.get_one(User, clerk.id)
    # A disabled account is unlinked everywhere.
    staff.update_user(session, stored, role=Role.DIRECTOR, unit_id=None, active=False)
    session.commit()

    stored = session.get_one(User, clerk.id)
    assert (stored.active, stored.unit_id) == (False, None) and _chats(session) == set()
    for kw in ({"role": "mayor", "unit_id": None}, {"role": "clerk", "unit_id": 9999},
               {"role": "department", "unit_id": None}):
        with pytest.raises(ValueError):
            staff.update_user(session, stored, active=True, **kw)


# -- races: one statement each, with real concurrency --------------------------------------


def _while_open(Session_: sessionmaker[Session], first: Session,  # noqa: N803
                second: Callable[[Session], object]) -> list[object]:
    """Run `second` in another thread on its own session while `first` holds its transaction,
    then commit `first`; returns what `second` returned or raised."""
    results: list[object] = []

    def run() -> None:
        with Session_() as s:
            try:
                results.append(second(s))
                s.commit()
            except Exception as exc:  # the test looks at it
                results.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=1)  # on PostgreSQL it now waits on the first one's row
    first.commit()
    thread.join(timeout=30)
    assert not thread.is_alive()
    return results


def test_two_accounts_linking_one_chat_at_once_leave_it_with_one(
    Session_: sessionmaker[Session], session: Session, clerk: User, director: User,  # noqa: N803
) -> None:
    carol, david = _code(session, clerk), _code(session, director)
    with Session_() as first:
        staff.link_chat(first, carol, TG, "9000")  # written, not yet committed
        [second] = _while_open(Session_, first, lambda s: staff.link_chat(s, david, TG, "9000"))

    assert isinstance(second, User) and second.id == director.id
    # Whoever linked last holds the chat; nobody got an error.
    assert _chats(session) == {(director.id, TG, "9000", True)}


def test_one_code_sent_from_two_chats_at_once_links_one(
    Session_: sessionmaker[Session], session: Session, clerk: User,  # noqa: N803
) -> None:
    code = _code(session, clerk)
    with Session_() as first:
        staff.link_chat(first, code, TG, "9001")
        [second] = _while_open(Session_, first, lambda s: staff.link_chat(s, code, WX, "oOther"))

    assert isinstance(second, staff.LinkRefused) and second.reason == "unknown"
    assert _chats(session) == {(clerk.id, TG, "9001", True)}
