"""`minyi journal compile|publish|export` (issue 12, point 7): what it prints and what it stores."""

from __future__ import annotations

import re
from pathlib import Path

import docx
import pypdf
import pytest
import sqlalchemy as sa

from minyi.cli import main
from store.db import make_engine, make_sessionmaker
from store.models import IssueStatus, JournalIssue, OutboxMessage, Role
from store.network import users
from tests.domain_support import make_report
from tests.review_support import adopt
from tests.test_cli import env  # noqa: F401  (the fixture: a clean environment on an empty database)


def _seed(url: str, adopted: int = 2, pending: int = 1) -> list[str]:
    """Adopted reports (and pending ones after them); their tracking numbers."""
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            admin = users.create_user(s, "alice", "correct horse battery", Role.ADMIN)
            numbers = []
            for i in range(adopted + pending):
                report = make_report(s, title=f"第{i + 1}条信息😀𠀾")
                if i < adopted:
                    adopt(s, report, admin)
                numbers.append(report.tracking_no)
            s.commit()
            return numbers
    finally:
        engine.dispose()


def _issues(url: str) -> list[tuple[IssueStatus, int | None, int]]:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            return [(i.status, i.number, len(i.items)) for i in s.scalars(sa.select(JournalIssue))]
    finally:
        engine.dispose()


def test_it_compiles_publishes_and_exports_an_issue(env: str, capsys: pytest.CaptureFixture[str],  # noqa: F811
                                                    tmp_path: Path) -> None:
    assert main(["init", "--admin-user", "root", "--admin-password", "correct horse battery"]) == 0
    first, second, _ = _seed(env)
    capsys.readouterr()
    assert main(["journal", "compile", "--series", "社情民意", "--reports", f"{second},{first}"]) == 0
    out = capsys.readouterr().out
    found = re.search(r"《社情民意》(\d{4})年第1期（总第1期） id=(\d+)", out)
    assert found and "signed off / 已签发" in out, out
    issue_id = found[2]
    assert _issues(env) == [(IssueStatus.SIGNED_OFF, 1, 2)]

    assert main(["journal", "export", issue_id, "-o", str(tmp_path / "issue.docx")]) == 0
    lines = [p.text for p in docx.Document(str(tmp_path / "issue.docx")).paragraphs]
    assert lines.index("第2条信息😀𠀾") < lines.index("第1条信息😀𠀾")
    assert main(["journal", "export", issue_id, "-o", str(tmp_path / "issue.pdf")]) == 0
    text = "".join(p.extract_text() for p in pypdf.PdfReader(str(tmp_path / "issue.pdf")).pages)
    assert "第1条信息😀𠀾" in text
    assert main(["journal", "export", issue_id, "-o", str(tmp_path / "issue.txt")]) == 1
    assert "must end in .docx or .pdf" in capsys.readouterr().err

    assert main(["journal", "publish", issue_id]) == 0
    assert "2 message(s) to reporters queued" in capsys.readouterr().out
    assert main(["journal", "publish", issue_id]) == 1
    assert "不能重复发布" in capsys.readouterr().err
    engine = make_engine(env)
    with make_sessionmaker(engine)() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                        .where(OutboxMessage.text.contains("已编入《社情民意》"))) == 2
    engine.dispose()


def test_it_refuses_bad_input_and_stores_nothing(env: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    assert main(["init", "--admin-user", "root", "--admin-password", "correct horse battery"]) == 0
    first, _, pending = _seed(env)
    capsys.readouterr()
    assert main(["journal", "compile", "--series", "内参", "--reports", first]) == 1
    assert "没有期刊「内参」，现有：《社情民意》、《信息专报》" in capsys.readouterr().err
    assert main(["journal", "compile", "--series", "《社情民意》", "--reports", f"{first},{pending}"]) == 1
    assert f"{pending}：尚未采用" in capsys.readouterr().err
    assert main(["journal", "compile", "--series", "社情民意", "--reports", "2026-999999"]) == 1
    assert "找不到信息：2026-999999" in capsys.readouterr().err
    assert main(["journal", "compile", "--series", "社情民意", "--reports", ","]) == 1
    assert "至少要有一条信息" in capsys.readouterr().err
    assert main(["journal", "publish", "999"]) == 1
    assert _issues(env) == []
    assert main(["journal", "compile", "--series", "信息专报", "--reports", first, "--draft"]) == 0
    assert "draft / 草稿: 《信息专报》草稿（未编号） id=" in capsys.readouterr().out
    assert main(["journal", "special", first]) == 0  # a draft elsewhere does not hold it back
    assert "published / 已发布: 《信息专报》" in capsys.readouterr().out
