"""Migration 0011: users.telegram_chat_id becomes rows of staff_addresses, and goes back."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from store import migrate
from store.db import make_engine


def _user(conn: sa.Connection, username: str, chat: str | None, active: bool = True) -> int:
    return int(conn.execute(sa.text(
        "INSERT INTO users (username, password_hash, role, telegram_chat_id, active, created_at) "
        "VALUES (:u, 'x', 'clerk', :chat, :active, CURRENT_TIMESTAMP) RETURNING id"),
        {"u": username, "chat": chat, "active": active}).scalar_one())


def _addresses(conn: sa.Connection) -> set[tuple[int, str, str, bool]]:
    rows = conn.execute(sa.text("SELECT user_id, channel, chat_id, linked_at, gone_at "
                                "FROM staff_addresses"))
    return {(r.user_id, r.channel, r.chat_id, r.gone_at is None and r.linked_at is not None)
            for r in rows}


def test_it_copies_every_linked_telegram_chat_and_drops_the_column(db_url: str) -> None:
    migrate.upgrade(db_url, "0010")
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            carol = _user(conn, "carol", "4242")
            dave = _user(conn, "dave", None)
            erin = _user(conn, "erin", "5151")
            # Two accounts on one chat (nothing in the old schema forbade it): the active one keeps it.
            _user(conn, "old-frank", "6161", active=False)
            frank = _user(conn, "frank", "6161")
    finally:
        engine.dispose()

    migrate.upgrade(db_url)

    engine = make_engine(db_url)
    try:
        assert "telegram_chat_id" not in {c["name"] for c in sa.inspect(engine).get_columns("users")}
        with engine.begin() as conn:
            assert _addresses(conn) == {(carol, "telegram", "4242", True),
                                        (erin, "telegram", "5151", True),
                                        (frank, "telegram", "6161", True)}
            conn.execute(sa.text("INSERT INTO staff_addresses (user_id, channel, chat_id, linked_at) "
                                 "VALUES (:u, 'wechat', 'oDave', CURRENT_TIMESTAMP)"), {"u": dave})
        # A chat belongs to one account; an account has one chat per channel.
        for user_id, channel, chat in ((dave, "telegram", "4242"), (carol, "telegram", "7777")):
            with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO staff_addresses (user_id, channel, chat_id, "
                                     "linked_at) VALUES (:u, :c, :chat, CURRENT_TIMESTAMP)"),
                             {"u": user_id, "c": channel, "chat": chat})
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO staff_addresses (user_id, channel, chat_id, linked_at) "
                                 "VALUES (:u, 'fax', '1', CURRENT_TIMESTAMP)"), {"u": dave})
    finally:
        engine.dispose()


def test_it_copies_the_live_telegram_chats_back_on_downgrade(db_url: str) -> None:
    migrate.upgrade(db_url, "0010")
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            carol, erin = _user(conn, "carol", "4242"), _user(conn, "erin", "5151")
            dave = _user(conn, "dave", None)
    finally:
        engine.dispose()
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE staff_addresses SET gone_at = CURRENT_TIMESTAMP "
                                 "WHERE chat_id = '5151'"))
            conn.execute(sa.text("INSERT INTO staff_addresses (user_id, channel, chat_id, linked_at) "
                                 "VALUES (:u, 'wechat', 'oDave', CURRENT_TIMESTAMP)"), {"u": dave})
        with engine.connect() as conn:
            command.downgrade(migrate._config(conn), "0010")
            conn.commit()
        assert migrate.current(engine) == "0010"
        assert "staff_addresses" not in sa.inspect(engine).get_table_names()
        with engine.connect() as conn:
            chats = {r.id: r.telegram_chat_id
                     for r in conn.execute(sa.text("SELECT id, telegram_chat_id FROM users"))}
        # The old column held Telegram only; a chat found gone had been unlinked.
        assert chats == {carol: "4242", erin: None, dave: None}
    finally:
        engine.dispose()

    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            assert _addresses(conn) == {(carol, "telegram", "4242", True)}
    finally:
        engine.dispose()
