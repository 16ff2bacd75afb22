"""A refused export of marked reports (issue 14) is kept in the audit trail, not only the log."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from minyi.cli import main
from store.models import AuditEntry, ExportLog, Role, User
from store.reports import marks
from tests.conftest import staff
from tests.domain_support import make_report
from tests.test_cli import env  # noqa: F401  (the command line's clean environment)
from tests.web_support import login


def _mark_livelihood(session: Session) -> None:
    marks.save(session, by_category={"livelihood": marks.Mark.INTERNAL}, strict_label="秘密",
               no_content_external=False)


def _refusals(session: Session) -> list[tuple[int | None, dict[str, object]]]:
    return [(e.user_id, e.detail) for e in session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "export.refused").order_by(AuditEntry.id))]


def test_it_records_a_refused_console_export_in_the_audit_trail(
        client: FlaskClient, session: Session, clerk: User) -> None:
    _mark_livelihood(session)
    make_report(session, title="内部的信息", category="livelihood")
    login(client, "carol")

    resp = client.get("/reports/export.xlsx?q=内部")

    assert resp.status_code == 403
    assert "只有管理员" in resp.get_data(as_text=True)
    session.rollback()
    [(user_id, detail)] = _refusals(session)
    assert user_id == clerk.id
    assert detail["via"] == "console" and detail["format"] == "xlsx" and detail["reason"] == "marked"
    assert detail["filters"]["q"] == "内部"  # type: ignore[index]
    assert session.scalar(sa.select(sa.func.count()).select_from(ExportLog)) == 0


def test_an_allowed_export_records_no_refusal(
        client: FlaskClient, session: Session, director: User) -> None:
    _mark_livelihood(session)
    make_report(session, title="内部的信息", category="livelihood")
    login(client, "david")

    assert client.get("/reports/export.csv").status_code == 200

    session.rollback()
    assert _refusals(session) == []


def test_it_records_a_refused_command_line_export(
        env: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:  # noqa: F811
    assert main(["init", "--admin-user", "boss", "--admin-password", "correct horse battery"]) == 0
    from minyi.cli.common import sessions
    from minyi.settings import Settings

    engine, Session = sessions(Settings.from_env())  # noqa: N806
    try:
        with Session() as s:
            _mark_livelihood(s)
            make_report(s, title="内部的信息", category="livelihood")
            clerk_id = staff(s, "carol", Role.CLERK).id
        out = tmp_path / "out.csv"

        assert main(["export", "reports", "--user", "carol", "-o", str(out)]) == 1

        assert "只有管理员" in capsys.readouterr().err
        assert not out.exists()
        with Session() as s:
            [(user_id, detail)] = _refusals(s)
            assert user_id == clerk_id and detail["via"] == "cli" and detail["format"] == "csv"
    finally:
        engine.dispose()
