"""Filing writes its rows with prepared statements (issue 16, P1), and they are the rows the
ORM's unit of work wrote: the report, its files, version 1, its SUBMIT event, the audit
entry, the search index, the staff alerts of an urgent report and the tracking number's
counter, every column of every table alike, sealed values sealed.

The ORM's way is kept here as the reference (`_file_through_the_orm`): the report, its
files and its event added to the session and written by one flush, whose hooks wrote the
audit entry and the index, as `drafts.file_as_is` did before.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from store import forms, sealing
from store.conversation.types import EngineConfig, IncomingFile
from store.models import (
    Base,
    Channel,
    CollectionPoint,
    ProcessedUpdate,
    Report,
    Reporter,
    ReportEvent,
    ReportVersion,
    Role,
    StaffNotice,
    User,
)
from store.network import topics
from store.reports import drafts, files, lifecycle
from store.search import index as search_index
from tests.chat_driver import Chat
from tests.conftest import Network, staff
from tests.form_walk import JPEG, Answer, walk

# When the report is filed: in the past, so no clock reading of the test can equal it.
NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
CLOCK = "<clock>"


def _as_words(a: Answer) -> str:
    return a.label if a.skip or a.kind in ("choice", "yesno") else a.value


@pytest.fixture
def world(session: Session, point: CollectionPoint, network: Network) -> dict[str, int]:
    """A county's point, reviewers who hear of an urgent report, a topic call, a clerk."""
    point.unit_id = network.county.id
    session.commit()
    clerk = staff(session, "carol", Role.CLERK, network.county)
    staff(session, "david", Role.DIRECTOR, network.county)
    staff(session, "alice", Role.ADMIN)
    topic = topics.new_topic(session, title="加装电梯", description="请反映加装电梯的问题。",
                             deadline=datetime(2099, 1, 1, tzinfo=UTC), created_by_id=clerk.id)
    someone = Reporter(channel=Channel.TELEGRAM, external_id="7001", chat_id="7001", language="zh")
    session.add(someone)
    session.commit()
    return {"point": point.id, "clerk": clerk.id, "topic": topic.id, "reporter": someone.id}


def _draft(session: Session, world: dict[str, int], photo: files.StoredFile, *, urgent: bool,
           anonymous: bool) -> tuple[drafts.Draft, dict[str, Any]]:
    walked = walk(choose={"urgent": urgent, "anonymous": anonymous}, skip={"analysis"})
    draft = drafts.Draft(
        form=forms.load("report"), answers={a.key: _as_words(a) for a in walked if a.kind != "file"},
        files={"photos": [photo]}, reporter=session.get(Reporter, world["reporter"]),
        point_id=world["point"], topic_id=world["topic"],
        entered_by=session.get(User, world["clerk"]), source_ref="提案 2026-17")
    checked = draft.checked()
    assert not checked.errors
    return draft, checked.answers


def _file_through_the_orm(session: Session, draft: drafts.Draft, answers: dict[str, Any]) -> Report:
    """Filing as the ORM's unit of work did it: one flush wrote the report, its files and
    its event, and its hooks the audit entry and the index; then version 1."""
    report = drafts.report_of(session, draft, answers, NOW)
    session.add(report)
    session.add_all(stored.attachment(report=report)
                    for step_files in draft.files.values() for stored in step_files)
    with session.no_autoflush:
        lifecycle.apply(session, report, lifecycle.Action.SUBMIT, reporter=draft.reporter, now=NOW)
    session.add(ReportVersion(report_id=report.id, number=1, title=report.title,
                              situation=report.situation, analysis=report.analysis,
                              suggestion=report.suggestion, created_at=NOW))
    session.flush()
    return report


def _plain(value: Any, began: datetime) -> Any:
    """`value` as the comparison takes it: a sealed value opened (sealing the same text twice
    gives two texts), a reading of the clock during the filing as `CLOCK`."""
    if isinstance(value, str) and sealing.is_sealed(value):
        return ("sealed", sealing.open_value(value))
    if isinstance(value, dict):
        return {k: _plain(v, began) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, began) for v in value]
    if isinstance(value, datetime) and value.astimezone(UTC) >= began:
        return CLOCK
    return value


def _every_row(conn: sa.Connection, began: datetime) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table and of the search index, in key order, through the columns'
    own types (a sealed column opened)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for table in Base.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.columns)
        out[table.name] = [tuple(_plain(v, began) for v in row)
                           for row in conn.execute(sa.select(table).order_by(*order))]
    if conn.dialect.name == "sqlite":
        index = f"SELECT rowid, * FROM {search_index.FTS_TABLE} ORDER BY rowid"
    else:
        index = (f"SELECT report_id, unit_id, doc::text, grams::text FROM {search_index.PG_TABLE} "
                 "ORDER BY report_id")
    out["(search index)"] = [tuple(row) for row in conn.exec_driver_sql(index)]
    if conn.dialect.name == "postgresql":
        out["(long runs)"] = [tuple(row) for row in conn.exec_driver_sql(
            f"SELECT * FROM {search_index.PG_RUNS} ORDER BY report_id")]
    return out


def _restart_sequences(conn: sa.Connection) -> None:
    """PostgreSQL: a rollback leaves sequences where they were; set them back, so both ways
    get the same ids."""
    if conn.dialect.name != "postgresql":
        return
    for table in Base.metadata.sorted_tables:
        for col in table.primary_key.columns:
            seq = conn.scalar(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                              {"t": table.name, "c": col.name})
            if seq is not None:
                conn.execute(sa.text(f"SELECT setval(:s, COALESCE((SELECT MAX({col.name}) "
                                     f"FROM {table.name}), 0) + 1, false)"), {"s": seq})


def _filed(sessions: sessionmaker[Session], world: dict[str, int], photo: files.StoredFile, *,
           urgent: bool, anonymous: bool, orm: bool) -> tuple[dict[str, list[tuple[Any, ...]]], list[str]]:
    """Every row after filing one way, and each report's contact as stored; rolled back."""
    with sessions() as s:
        draft, answers = _draft(s, world, photo, urgent=urgent, anonymous=anonymous)
        began = datetime.now(UTC)
        if orm:
            _file_through_the_orm(s, draft, answers)
        else:
            drafts.file_as_is(s, draft, answers, now=NOW)
            s.flush()
        conn = s.connection()
        rows = _every_row(conn, began)
        stored = [c for (c,) in conn.exec_driver_sql("SELECT contact FROM reports") if c is not None]
        s.rollback()
    with sessions.begin() as s:
        _restart_sequences(s.connection())
    return rows, stored


@pytest.mark.parametrize(("urgent", "anonymous"), [(True, False), (False, True)],
                         ids=["urgent-with-contact", "anonymous"])
def test_filing_writes_every_row_the_orms_flush_wrote(
        Session_: sessionmaker[Session], world: dict[str, int], engine_config: EngineConfig,
        urgent: bool, anonymous: bool) -> None:
    photo = files.keep(engine_config.upload_dir,
                       IncomingFile("photo", "photo.jpg", "image/jpeg", len(JPEG), JPEG))
    by_orm, orm_contacts = _filed(Session_, world, photo, urgent=urgent, anonymous=anonymous,
                                  orm=True)
    by_statements, contacts = _filed(Session_, world, photo, urgent=urgent, anonymous=anonymous,
                                     orm=False)

    assert by_statements.keys() == by_orm.keys()
    for table, rows in by_orm.items():
        assert by_statements[table] == rows, table
    # Something was written, and what the filing owes was among it.
    written = {t for t, rows in by_orm.items() if rows}
    assert {"reports", "report_events", "report_versions", "attachments", "audit_entries",
            "counters", "(search index)"} <= written
    assert bool(by_orm["staff_notices"]) == urgent
    # The contact stays sealed at rest either way.
    assert len(contacts) == len(orm_contacts) == (0 if anonymous else 1)
    assert all(sealing.is_sealed(c) for c in contacts)


def test_filing_from_the_chat_flushes_no_report_or_event(chat: Chat, point_token: str,
                                                         session: Session) -> None:
    """The report and its event are written by statements: the ORM's flush (several times the
    statements' cost, issue 16) never sees them."""
    flushed: list[str] = []

    def note(s: Session, _context: Any, _instances: Any) -> None:
        flushed.extend(type(o).__name__ for o in s.new if isinstance(o, (Report, ReportEvent)))

    chat.command("start", point_token)
    chat.fill_report(photo=True, urgent=True)
    sa.event.listen(Session, "before_flush", note)
    try:
        chat.press("确认提交")
    finally:
        sa.event.remove(Session, "before_flush", note)
    assert "提交成功" in chat.log[-1].text
    assert flushed == []
    session.rollback()
    (report,) = session.scalars(sa.select(Report))
    assert [e.action for e in report.events] == ["submit"] and len(report.attachments) == 1


@pytest.fixture
def crash_after_the_report(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The index writer fails once, after the report and its event were inserted."""
    calls: list[int] = []
    index_new = search_index.index_new

    def crash(session: Session, reports: Any) -> None:
        calls.append(len(reports))
        if len(calls) == 1:
            raise RuntimeError("killed between statements")
        index_new(session, reports)

    monkeypatch.setattr(search_index, "index_new", crash)
    yield calls


def test_a_filing_that_fails_between_its_statements_leaves_nothing_and_files_once_when_sent_again(
        chat: Chat, point_token: str, session: Session, crash_after_the_report: list[int]) -> None:
    chat.command("start", point_token)
    chat.fill_report(photo=True)
    confirm = chat.button("确认提交")
    with pytest.raises(RuntimeError):
        chat.send(callback=confirm, update_id="9901")
    session.rollback()
    for model in (Report, ReportEvent, ReportVersion, StaffNotice):
        assert session.scalar(sa.select(sa.func.count()).select_from(model)) == 0, model
    assert session.scalar(sa.select(sa.func.count()).select_from(ProcessedUpdate)
                          .where(ProcessedUpdate.update_id == "9901")) == 0
    assert session.execute(sa.text("SELECT count(*) FROM audit_entries WHERE action = 'report.submit'")
                           ).scalar() == 0

    first = chat.send(callback=confirm, update_id="9901")
    again = chat.send(callback=confirm, update_id="9901")
    session.rollback()
    (report,) = session.scalars(sa.select(Report))
    assert report.tracking_no in first[0].text and report.tracking_no in again[0].text
    assert [e.action for e in report.events] == ["submit"] and len(report.attachments) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(ReportVersion)) == 1
    # Numbered once: the failed attempt's number went with its rollback.
    assert report.tracking_no.endswith("-000001")
    assert crash_after_the_report == [1, 1]
