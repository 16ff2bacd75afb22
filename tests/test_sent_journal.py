"""The notifier's journal of accepted sends: a notifier killed after a channel accepted a
message and before the database recorded it does not send that message again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot

from bot.channels import registry
from minyi.notifier import JOURNAL_FOLDER, Notifier
from minyi.sent_journal import SentJournal
from minyi.settings import Settings
from store.delivery import outbox
from store.models import Channel, OutboxMessage, OutboxStatus, Reporter, utcnow
from tests.botapi_emulator import TOKEN, BotAPIEmulator


@pytest.fixture
def emu() -> Iterator[BotAPIEmulator]:
    with BotAPIEmulator(hang_seconds=2) as e:
        yield e


def _owe(session: Session, emu: BotAPIEmulator, *chats: int) -> list[int]:
    rows = []
    for chat in chats:
        emu.user_sends_text(chat, "你好")
        reporter = Reporter(channel=Channel.TELEGRAM, external_id=str(chat), chat_id=str(chat))
        session.add(reporter)
        session.flush()
        rows.append(outbox.enqueue(session, reporter, f"已采用 {chat}"))
    session.commit()
    return [r.id for r in rows if r is not None]


def _status(session: Session, row_id: int) -> tuple[OutboxStatus, int]:
    session.commit()
    row = session.get(OutboxMessage, row_id)
    assert row is not None
    session.refresh(row)
    return row.status, row.attempts


def _run_until(settings: Settings, Session_: sessionmaker[Session], emu: BotAPIEmulator,  # noqa: N803
               done: object) -> None:
    async def run() -> None:
        async with Bot(TOKEN, base_url=emu.base_url) as bot:
            stop = asyncio.Event()
            notifier = Notifier(settings, Session_, registry(settings, Session_, telegram_bot=bot))
            task = asyncio.create_task(notifier.run(stop))
            for _ in range(200):
                if done():  # type: ignore[operator]
                    break
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.wait_for(task, 20)

    asyncio.run(run())


def _journal_files(settings: Settings) -> list[Path]:
    return sorted((settings.instance_dir / JOURNAL_FOLDER).glob("*.sent"))


def test_it_does_not_send_again_what_a_killed_notifier_noted_as_sent(
    settings: Settings, Session_: sessionmaker[Session], session: Session,  # noqa: N803
    emu: BotAPIEmulator,
) -> None:
    """A notifier was killed after Telegram accepted row `sent` and before its write: the row
    is still `sending` on that claim, the claim's lease is over, and only its journal says it
    went. The next notifier marks it sent without sending it, and sends the one it had not."""
    sent, unsent = _owe(session, emu, 61, 62)
    outbox.claim_due(session, [Channel.TELEGRAM], now=utcnow())
    session.commit()
    folder = settings.instance_dir / JOURNAL_FOLDER
    folder.mkdir(parents=True)
    # Written by a process that is gone: no lock on it; its last line was cut by the kill.
    (folder / "4242-dead-1.sent").write_text(f"{sent} 1\n{unsent}")
    settings = replace(settings, outbox_lease_seconds=0, notifier_interval=0.05)

    _run_until(settings, Session_, emu, lambda: _status(session, unsent)[0] == OutboxStatus.SENT)

    assert _status(session, sent) == (OutboxStatus.SENT, 1)  # recorded, not claimed again
    assert emu.texts(61) == []  # not again: the killed notifier's copy is the one the user has
    assert emu.texts(62) == ["已采用 62"]
    assert _journal_files(settings) == []  # replayed and gone; a clean stop leaves none


def test_a_write_that_fails_after_the_sends_leaves_them_noted_and_they_go_once(
    settings: Settings, Session_: sessionmaker[Session], session: Session,  # noqa: N803
    emu: BotAPIEmulator, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database refuses the write recording two accepted sends (as a kill before it
    would lose it): the journal keeps them, the next round records them, nothing goes twice."""
    rows = _owe(session, emu, 63, 64)
    settings = replace(settings, outbox_lease_seconds=0, notifier_interval=0.05)
    real = Notifier.write
    failed: list[int] = []

    def write(self: Notifier, settled: list, *args: object, **kwargs: object) -> object:  # type: ignore[type-arg]
        if settled and not failed:
            failed.append(len(settled))
            raise sa.exc.OperationalError("UPDATE outbox", {}, Exception("database is locked"))
        return real(self, settled, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Notifier, "write", write)

    _run_until(settings, Session_, emu,
               lambda: all(_status(session, r)[0] == OutboxStatus.SENT for r in rows))

    assert failed  # the failing write did happen
    assert all(_status(session, r)[0] == OutboxStatus.SENT for r in rows)
    assert emu.texts(63) == ["已采用 63"] and emu.texts(64) == ["已采用 64"]
    assert _journal_files(settings) == []


def test_a_live_notifiers_journal_is_not_replayed(
    tmp_path: Path, Session_: sessionmaker[Session], session: Session,  # noqa: N803
    emu: BotAPIEmulator,
) -> None:
    [row] = _owe(session, emu, 65)
    outbox.claim_due(session, [Channel.TELEGRAM], now=utcnow())
    session.commit()
    folder = tmp_path / "journal"
    live = SentJournal(folder)
    live.open()
    live.note(row, 1)

    assert SentJournal(folder).replay(Session_) == 0  # its owner still records it itself
    assert _status(session, row)[0] == OutboxStatus.SENDING

    (folder / "1-dead-1.new").touch()  # a process killed while making a file: nothing in it
    live.close()  # it notes a send, so it is kept for a replay
    assert SentJournal(folder).replay(Session_) == 1
    assert _status(session, row)[0] == OutboxStatus.SENT
    assert list(folder.iterdir()) == []


def test_a_row_claimed_again_since_is_left_to_the_claim_that_holds_it(
    tmp_path: Path, Session_: sessionmaker[Session], session: Session,  # noqa: N803
    emu: BotAPIEmulator,
) -> None:
    [row] = _owe(session, emu, 66)
    outbox.claim_due(session, [Channel.TELEGRAM], now=utcnow())
    session.commit()
    outbox.claim_due(session, [Channel.TELEGRAM], now=utcnow(), lease=outbox.LEASE * 0)
    session.commit()
    assert _status(session, row) == (OutboxStatus.SENDING, 2)
    (tmp_path / "1-x-1.sent").write_text(f"{row} 1\n")  # the first claim's note

    assert SentJournal(tmp_path).replay(Session_) == 0
    assert _status(session, row) == (OutboxStatus.SENDING, 2)
