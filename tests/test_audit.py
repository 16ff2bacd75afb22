"""The audit trail (issue 14 point 3): one append-only, hash-chained record, its page, its CSV,
and `minyi audit verify`."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from minyi.cli import main
from minyi.settings import Settings
from store import access, audit, migrate
from store.audit import chain, trail
from store.db import make_engine, make_sessionmaker
from store.models import Attachment, AuditEntry, ReportEvent, ReportStatus, Role, User, utcnow
from store.network import logins
from store.outputs import apitokens, exports
from store.outputs.journal import issues as journal_issues
from store.outputs.journal import series as journal_series
from store.reports import files, lifecycle
from store.reports.lifecycle import Action
from store.review import chain as review
from store.review import followup, instructions, transfers
from store.search.query import Filters
from tests.conftest import SECRET, Network
from tests.domain_support import make_report
from tests.test_cli import ENV_NAMES
from tests.web_support import login

ROOT = Path(__file__).resolve().parent.parent


def _entries(session: Session) -> list[AuditEntry]:
    session.rollback()
    return list(session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)))


def _tamper(session: Session, sql: str) -> None:
    """Run `sql` on the trail with its guard switched off, as someone with the database would."""
    session.rollback()
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DROP TRIGGER audit_entries_no_update")
        conn.exec_driver_sql("DROP TRIGGER audit_entries_no_delete")
    else:
        conn.exec_driver_sql("ALTER TABLE audit_entries DISABLE TRIGGER USER")
    conn.exec_driver_sql(sql)
    session.commit()


def test_it_chains_every_kind_of_fact_with_who_did_it(
    session: Session, clerk: User, admin: User
) -> None:
    audit.act_as(session, admin.id)  # as the console says who is acting
    report = make_report(session)
    lifecycle.apply(session, report, Action.SIGN_OFF, user=clerk, note="事实清楚")
    access.reveal_identity(session, admin, report, "查看反映人信息")
    logins.record(session, "mallory", "203.0.113.9")
    exports.begin(session, admin, "csv", Filters(), "console")
    apitokens.log_call(session, None, "GET", "/api/v1/reports", "", 401)
    review.set_chain(session, "two")
    clerk.role = Role.DIRECTOR  # as store.network.staff.update_user changes it
    session.commit()

    found = [(e.action, e.actor, e.user_id, e.report_id) for e in _entries(session)]
    assert found[:2] == [("user.created", "system", None, None)] * 2  # the fixtures' accounts
    assert found[2:4] == [("report.submit", "reporter", None, report.id),
                          ("report.sign_off", "user", clerk.id, report.id)]
    assert ("identity.viewed", "user", admin.id, report.id) in found
    assert ("login.failed", "system", None, None) in found
    assert ("export", "user", admin.id, None) in found
    assert ("api.call", "system", None, None) in found
    assert ("setting.changed", "user", admin.id, None) in found
    assert ("user.changed", "user", admin.id, None) in found
    changed = next(e for e in _entries(session) if e.action == "user.changed")
    assert changed.detail == {"role": ["clerk", "director"]} and changed.object == f"users:{clerk.id}"
    assert audit.verify(session) == (len(found), None)


def test_it_refuses_to_update_or_delete_a_row(session: Session) -> None:
    audit.record(session, "test.entry", detail={"n": 1})
    session.commit()
    for sql in ("UPDATE audit_entries SET action = 'x'", "DELETE FROM audit_entries"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            session.execute(sa.text(sql))
        session.rollback()
    assert [e.action for e in _entries(session)] == ["test.entry"]


def test_verify_names_the_first_edited_row(session: Session) -> None:
    for n in range(5):
        audit.record(session, f"test.{n}", detail={"n": n})
    session.commit()
    third = _entries(session)[2]
    _tamper(session, f"UPDATE audit_entries SET detail = '{{\"n\": 9}}' WHERE id = {third.id}")

    good, broken = audit.verify(session)
    assert good == 2 and broken is not None
    assert (broken.id, broken.action, broken.at) == (third.id, "test.2", third.at)
    assert "#3" in str(broken) and "content does not match" in str(broken)


def test_verify_names_a_removed_row_and_a_reordered_one(session: Session) -> None:
    for n in range(4):
        audit.record(session, f"test.{n}")
    session.commit()
    _tamper(session, "DELETE FROM audit_entries WHERE id = 2")
    _, broken = audit.verify(session)
    assert broken is not None and broken.id == 3 and "missing" in broken.reason


def test_twenty_writers_at_once_make_one_valid_chain(Session_: sessionmaker[Session]) -> None:
    start, errors = threading.Barrier(20), []

    def write(n: int) -> None:
        try:
            with Session_() as s, s.begin():
                start.wait()
                audit.record(s, "test.concurrent", detail={"writer": n})
                logins.record(s, f"user{n}", "198.51.100.1")  # and one through the flush hook
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Session_() as s:
        rows = list(s.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)))
        assert [r.id for r in rows] == list(range(1, 41))
        assert sorted(r.detail["writer"] for r in rows if r.action == "test.concurrent") == \
            list(range(20))
        assert audit.verify(s) == (40, None)


def test_no_code_path_updates_or_deletes_the_trail() -> None:
    """The model is named in no UPDATE or DELETE, and the table in no such SQL, anywhere."""
    pattern = re.compile(
        r"(sa\.)?(update|delete)\(\s*AuditEntry|session\.delete\(|"
        r"(UPDATE|DELETE\s+FROM|TRUNCATE)\s+audit_entries", re.IGNORECASE)
    offenders = []
    for folder in ("store", "web", "bot", "minyi"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for m in pattern.finditer(text):
                if m.group(0).lower().startswith("session.delete("):
                    # Deleting other rows is fine; only a line naming the trail is not.
                    line = text[text.rfind("\n", 0, m.start()) + 1:text.find("\n", m.end())]
                    if "audit" not in line.lower():
                        continue
                if "BEFORE UPDATE" in text[max(0, m.start() - 20):m.end()].upper() or \
                        "BEFORE TRUNCATE" in text[max(0, m.start() - 20):m.end()].upper():
                    continue  # the guard's own trigger DDL
                offenders.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
    assert offenders == []
    # The check finds what it looks for.
    assert pattern.search("session.execute(sa.delete(AuditEntry))")


def test_the_page_filters_by_person_report_action_and_period(
    client: FlaskClient, session: Session, admin: User, clerk: User
) -> None:
    one, two = make_report(session), make_report(session)
    lifecycle.apply(session, one, Action.RETURN, user=clerk, note="请补充地点")
    session.commit()
    login(client, "alice")

    def shown(query: str = "") -> list[str]:
        page = client.get(f"/admin/audit{query}").get_data(as_text=True)
        return re.findall(r"<code>([a-z_.]+)</code>", page)

    assert {"report.return", "report.submit", "login.succeeded"} <= set(shown())
    assert shown("?person=carol") == ["report.return"]
    of_two = client.get(f"/admin/audit?report={two.tracking_no}").get_data(as_text=True)
    assert shown(f"?report={two.tracking_no}") == ["report.submit"] and two.tracking_no in of_two
    assert shown("?action=report") == ["report.return", "report.submit", "report.submit"]
    tomorrow = (utcnow() + timedelta(days=2)).date().isoformat()
    later = client.get(f"/admin/audit?since={tomorrow}").get_data(as_text=True)
    assert "没有符合条件的记录" in later
    bad = client.get("/admin/audit?since=yesterday").get_data(as_text=True)
    assert "无法识别的条件：开始日期" in bad


def test_it_pages_fifty_at_a_time(client: FlaskClient, session: Session, admin: User) -> None:
    for n in range(60):
        audit.record(session, "test.many", detail={"n": n})
    session.commit()
    login(client, "alice")
    first = client.get("/admin/audit?action=test.many").get_data(as_text=True)
    assert first.count("<code>test.many</code>") == 50 and "第 1 / 2 页" in first
    second = client.get("/admin/audit?action=test.many&page=2").get_data(as_text=True)
    assert second.count("<code>test.many</code>") == 10


def test_the_csv_is_formula_safe_and_its_export_is_an_entry(
    client: FlaskClient, session: Session, admin: User, clerk: User
) -> None:
    report = make_report(session)
    lifecycle.apply(session, report, Action.RETURN, user=clerk, note="=HYPERLINK(\"x\")")
    session.commit()
    login(client, "alice")
    resp = client.get(f"/admin/audit.csv?report={report.tracking_no}")
    body = resp.get_data().decode("utf-8")
    assert resp.status_code == 200 and body.startswith("\ufeff序号,")
    assert "report.return" in body and ",\"'=HYPERLINK" not in body  # the note is inside a cell
    assert "note: =HYPERLINK" in body  # the detail cell starts with "note", not "="
    exported = [e for e in _entries(session) if e.action == "audit.exported"]
    assert len(exported) == 1 and exported[0].user_id == admin.id
    assert exported[0].detail["filters"] == {"report": report.tracking_no}


def test_a_cell_that_starts_with_a_formula_is_defused(session: Session, admin: User) -> None:
    audit.act_as(session, admin.id)
    admin.display_name = "=cmd|' /C calc'!A0"
    session.commit()
    body = b"".join(trail.csv_file(session, admin, trail.Filters(action="user"))).decode()
    assert "'=cmd" in body


def test_who_may_read_the_trail(
    client: FlaskClient, session: Session, secretary: User, clerk: User
) -> None:
    login(client, "carol")
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403
    client.post("/logout")
    login(client, secretary.username)
    page = client.get("/admin/audit")
    assert page.status_code == 200 and "审计日志" in page.get_data(as_text=True)


def test_logins_good_and_bad_are_entries(client: FlaskClient, session: Session, admin: User) -> None:
    login(client, "alice", "wrong password")
    login(client, "alice")
    found = [(e.action, e.user_id, e.detail.get("username")) for e in _entries(session)]
    assert ("login.failed", None, "alice") in found
    assert ("login.succeeded", admin.id, "alice") in found


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> str:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("dotenv.load_dotenv", lambda *a, **k: False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("MINYI_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv("PUBLIC_URL", "https://minyi.example.test")
    return db_url


def test_minyi_audit_verify_names_the_edited_row(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    migrate.upgrade(env)
    engine = make_engine(env)
    with make_sessionmaker(engine)() as s:
        [genesis] = _entries(s)
        assert (genesis.id, genesis.action, genesis.prev_hash) == (1, "audit.started", chain.GENESIS)
        assert genesis.detail["earlier_rows"]["report_events"] == 0
        for n in range(3):
            audit.record(s, f"test.{n}")
        s.commit()
    assert main(["audit", "verify"]) == 0
    assert "4 rows" in capsys.readouterr().out

    with make_sessionmaker(engine)() as s:
        _tamper(s, "UPDATE audit_entries SET action = 'test.hidden' WHERE id = 3")
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "entry #3" in err and "test.hidden" in err
    engine.dispose()


def test_the_report_events_table_stays_the_report_history(session: Session, clerk: User) -> None:
    report = make_report(session)
    lifecycle.apply(session, report, Action.SIGN_OFF, user=clerk)
    session.commit()
    events = session.scalars(sa.select(ReportEvent.id).where(ReportEvent.report_id == report.id))
    objects = {e.object for e in _entries(session)}
    assert {f"report_events:{i}" for i in events} <= objects


def test_every_file_handed_out_is_an_entry(
    client: FlaskClient, session: Session, clerk: User, settings: Settings
) -> None:
    report = make_report(session)
    rel, digest = files.save(settings.upload_dir, b"%PDF-1.4 test", "application/pdf")
    doc = Attachment(report_id=report.id, kind="photo", filename="情况说明.pdf",
                     content_type="application/pdf", size=13, sha256=digest, storage_path=rel)
    session.add(doc)
    session.commit()
    login(client, "carol")
    assert client.get(f"/files/{doc.id}").data == b"%PDF-1.4 test"
    [entry] = [e for e in _entries(session) if e.action == "file.downloaded"]
    assert (entry.user_id, entry.report_id, entry.object) == (clerk.id, report.id,
                                                               f"attachments:{doc.id}")
    assert entry.detail == {"filename": "情况说明.pdf", "inline": False}


def test_transfers_instructions_and_journal_steps_are_entries(
    session: Session, admin: User, network: Network
) -> None:
    report = make_report(session, status=ReportStatus.ADOPTED, by=admin)
    transfers.transfer(session, report, admin, department=network.roads, note="请一周内办理")
    instruction = instructions.record(
        session, report, admin, leader_name="王明", leader_title="县长", level="county",
        text="请住建局一周内修复。", instructed_on=followup.today())
    issue = journal_issues.compose(session, journal_series.find(session, "社情民意"), [report],
                                   admin)
    session.commit()

    found = {(e.action, e.user_id, e.report_id, e.object) for e in _entries(session)}
    assert ("report.transfer", admin.id, report.id) in {f[:3] for f in found}
    assert any(f[0] == "transfer.transfer" and f[1:3] == (admin.id, report.id) for f in found)
    assert ("instruction.recorded", admin.id, report.id, f"instructions:{instruction.id}") in found
    assert any(f[0].startswith("journal.") and f[3] == f"journal_issues:{issue.id}" for f in found)
    assert audit.verify(session)[1] is None
