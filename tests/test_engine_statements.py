"""What one chat input costs the database: a regression here is CPU on every message.

An ordinary input is answered in one transaction of four statements at most:
BEGIN (SQLite's), recording the update id, reading the reporter with their
conversation, and saving the conversation. Rows that did not change are not written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import db, upsert
from store.models import OfficeSetting
from tests.chat_driver import Chat

_updates = count(1)


@contextmanager
def statements(db_engine: sa.Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    sa.event.listen(db_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(db_engine, "before_cursor_execute", note)


def send(chat: Chat, **kw: Any) -> None:
    chat.send(update_id=str(next(_updates)), display_name="张三", **kw)


def test_an_ordinary_text_input_takes_four_statements_at_most(chat: Chat, point_token: str,
                                                              db_engine: sa.Engine) -> None:
    send(chat, command="start", args=point_token)
    chat.send(callback=chat.button("民生保障"), update_id=str(next(_updates)))
    with statements(db_engine) as seen:
        send(chat, text="城关镇人民路路灯长期不亮")
    assert "标题" not in chat.last.text  # the title was taken: the next question is asked
    assert len(seen) <= 4, seen
    writes = [s for s in seen if s.startswith(("INSERT", "UPDATE", "DELETE"))]
    assert [w.split()[:3] for w in writes] == [["INSERT", "INTO", "processed_updates"],
                                               ["UPDATE", "conversations", "SET"]]


def _sessions_made(monkeypatch: Any) -> list[db.Unit]:
    """The units of work that make an ORM Session from now on (each time one is asked for)."""
    made: list[db.Unit] = []
    session = db.Unit.session

    def noted(self: db.Unit) -> Session:
        made.append(self)
        return session.fget(self)  # type: ignore[no-any-return, attr-defined]

    monkeypatch.setattr(db.Unit, "session", property(noted))
    return made


def test_an_ordinary_input_makes_no_orm_session(chat: Chat, point_token: str,
                                                 monkeypatch: Any) -> None:
    """Its statements run on the unit of work's connection; a Session's begin, flush and commit
    would cost more than they do (issue 16). Filing needs one, and gets it."""
    send(chat, command="start", args=point_token)
    send(chat, callback=chat.button("民生保障"))
    made = _sessions_made(monkeypatch)
    send(chat, text="城关镇人民路路灯长期不亮")
    assert "标题" not in chat.last.text and not made
    chat.fill_report(photo=False, since="situation")
    chat.press("确认提交")
    assert "提交成功" in chat.log[-1].text and made


def test_skipping_the_photos_makes_no_orm_session(chat: Chat, point_token: str,
                                                   db_engine: sa.Engine, monkeypatch: Any) -> None:
    """The files the draft holds are counted on the unit of work's connection: a step that
    ends without a file costs what an ordinary input does."""
    send(chat, command="start", args=point_token)
    chat.fill_report(until="photos")
    made = _sessions_made(monkeypatch)
    with statements(db_engine) as seen:
        send(chat, text="跳过")
    assert "照片" not in chat.last.text  # the next question was asked
    assert not made
    assert len(seen) <= 5, seen


def _filing(chat: Chat, point_token: str, db_engine: sa.Engine) -> list[str]:
    """The statements 确认提交 runs, for a report filled in without a photo."""
    chat.command("start", point_token)
    chat.fill_report(photo=False)
    with statements(db_engine) as seen:
        chat.press("确认提交")
    assert "提交成功" in chat.log[-1].text
    return seen


def test_a_first_start_takes_ten_statements_at_most(chat: Chat, point_token: str,
                                                   db_engine: sa.Engine) -> None:
    with statements(db_engine) as seen:
        send(chat, command="start", args=point_token)
    assert "标题" not in chat.last.text and chat.button("民生保障")  # the form began
    # The reporter was made by this input: they have no reports to give news of.
    assert not [s for s in seen if s.startswith("SELECT reports.")], seen
    assert len(seen) <= 10, seen


def test_a_button_press_takes_four_statements_at_most(chat: Chat, point_token: str,
                                                       db_engine: sa.Engine) -> None:
    send(chat, command="start", args=point_token)
    with statements(db_engine) as seen:
        send(chat, callback=chat.button("民生保障"))
    assert len(seen) <= 4, seen


def test_filing_reads_each_office_setting_once(chat: Chat, point_token: str,
                                               db_engine: sa.Engine) -> None:
    seen = _filing(chat, point_token, db_engine)
    reads = [s for s in seen if "FROM office_settings" in s]
    # Every setting row at the first read (marks, the review chain, deadlines, the search
    # index's folding: none set); the index's flush hook takes its own from that read.
    assert len(reads) == 1, reads


def test_a_setting_written_after_it_was_found_missing_is_read(session: Session) -> None:
    assert upsert.read_setting(session, "review_chain") is None
    upsert.put_setting(session, "review_chain", {"chain": "two"})
    assert upsert.read_setting(session, "review_chain").value == {"chain": "two"}  # type: ignore[union-attr]
    assert upsert.read_setting(session, "marks") is None
    session.add(OfficeSetting(key="marks", value={"strict_label": "机密"}))
    assert upsert.read_setting(session, "marks").value == {"strict_label": "机密"}  # type: ignore[union-attr]
    session.rollback()
    assert upsert.read_setting(session, "marks") is None



def test_filing_a_report_takes_fourteen_statements_at_most(chat: Chat, point_token: str,
                                                          db_engine: sa.Engine) -> None:
    seen = _filing(chat, point_token, db_engine)
    # The search index takes the new report's text from the object: nothing to read back
    # and nothing to drop under an id that was never used.
    assert not [s for s in seen if s.startswith("SELECT reports.")], seen
    assert not [s for s in seen if s.startswith("DELETE FROM report_fts")], seen
    # The report was inserted in this transaction: it has no events to look up.
    assert not [s for s in seen if s.startswith("SELECT report_events.")], seen
    # Its status and deadlines are settled before its INSERT: the row is not written twice.
    assert not [s for s in seen if s.startswith("UPDATE reports")], seen
    # No file was sent: there are no held files to read.
    assert not [s for s in seen if s.startswith("SELECT attachments.")], seen
    assert len(seen) <= 14, seen


def test_filing_checks_the_draft_once(chat: Chat, point_token: str, monkeypatch: Any) -> None:
    from store.reports import drafts

    calls: list[None] = []
    checked = drafts.Draft.checked

    def counted(self: drafts.Draft) -> drafts.Checked:
        calls.append(None)
        return checked(self)

    chat.command("start", point_token)
    chat.fill_report(photo=False)
    monkeypatch.setattr(drafts.Draft, "checked", counted)
    chat.press("确认提交")
    assert "提交成功" in chat.log[-1].text
    assert len(calls) == 1
