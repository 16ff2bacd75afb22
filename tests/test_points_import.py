"""Bulk import and export of collection points: CSV (UTF-8, BOM, GBK) and XLSX, all or nothing;
an office's own sheet (Chinese headers, no codes, parents and units by name), scope per line."""

from __future__ import annotations

import io
import re
import threading

import openpyxl
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from minyi.cli import main
from store.models import CollectionPoint, PointKind, Role, User
from store.network import pointio, points, units
from tests.conftest import Network, staff
from tests.test_cli import env as cli_env  # noqa: F401  (the clean CLI environment)
from tests.web_support import csrf, login

HEADER = "code,name,kind,parent_code,unit,address,contact\n"
GOOD = (HEADER
        + "X01,城关县,county,,,人民路1号,王主任\n"
        + "X02,城关镇,乡镇,X01,,城关镇政府,\n"
        + "X03,人民路社区,community,X02,,人民路8号,李书记 13800000000\n"
        + "X04,张委员工作室,member_studio,X01,,,\n")


def all_points(session: Session) -> dict[str, CollectionPoint]:
    return {p.code or "": p for p in session.scalars(sa.select(CollectionPoint))}


def test_it_imports_a_hierarchy_from_utf8_csv(session: Session) -> None:
    result = pointio.import_points(session, "points.csv", GOOD.encode())
    assert result.ok and (result.created, result.updated) == (4, 0)
    session.commit()
    got = all_points(session)
    assert got["X02"].kind == PointKind.TOWNSHIP and got["X02"].parent_id == got["X01"].id
    assert got["X03"].parent_id == got["X02"].id and got["X03"].contact == "李书记 13800000000"
    assert got["X04"].kind == PointKind.MEMBER_STUDIO and got["X01"].address == "人民路1号"
    tree = [(p.code, depth) for p, depth in points.tree(list(got.values()))]
    assert tree.index(("X01", 0)) < tree.index(("X02", 1)) < tree.index(("X03", 2))


def test_it_reads_gbk_and_bom_csvs_and_chinese_headers(session: Session) -> None:
    assert pointio.import_points(session, "a.csv", GOOD.encode("gbk")).ok
    zh = "编号,名称,类型,上级编号\nY01,东城街道,街道,\nY02,东城民生议事堂,民生议事堂,Y01\n"
    assert pointio.import_points(session, "b.csv", zh.encode("utf-8-sig")).ok
    session.commit()
    got = all_points(session)
    assert got["X03"].name == "人民路社区"
    assert got["Y02"].kind == PointKind.COUNCIL_HALL and got["Y02"].parent_id == got["Y01"].id


def test_it_reports_every_bad_row_and_imports_nothing(session: Session) -> None:
    bad = (HEADER
           + "A1,好的一行,community,,,,\n"
           + "A2,,community,,,,\n"               # line 3: no name
           + "A1,重复,community,,,,\n"            # line 4: duplicate code
           + "A3,类型错,village,,,,\n"           # line 5: unknown kind
           + "A4,上级不存在,community,ZZ,,,\n"    # line 6: unknown parent
           + "A5,单位不存在,community,,某某局,,\n"  # line 7: unknown unit
           + "A6,环一,community,A7,,,\nA7,环二,community,A6,,,\n")  # lines 8-9: a cycle
    result = pointio.import_points(session, "bad.csv", bad.encode())
    assert not result.ok
    lines = {e.line: e.reason for e in result.errors}
    assert set(lines) == {3, 4, 5, 6, 7, 8, 9}
    assert "name" in lines[3] and "重复" in lines[4] and "village" in lines[5]
    assert "ZZ" in lines[6] and "某某局" in lines[7] and "成环" in lines[8]
    assert str(result.errors[0]).startswith("第 3 行")
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(CollectionPoint.id))) == 0


def test_it_names_missing_columns_and_empty_files(session: Session) -> None:
    result = pointio.import_points(session, "x.csv", b"code,kind\nA,county\n")
    assert [(e.line, "name" in e.reason) for e in result.errors] == [(1, True)]
    assert pointio.import_points(session, "x.csv", b"").errors[0].reason.startswith("文件是空的")
    junk = pointio.import_points(session, "x.xlsx", b"not a workbook")
    assert "无法读取" in junk.errors[0].reason


def test_it_round_trips_through_xlsx_and_updates_by_code(session: Session) -> None:
    assert pointio.import_points(session, "p.csv", GOOD.encode()).ok
    unit = units.create(session, "城关县政协", "cppcc", None)
    all_points(session)["X03"].unit_id = unit.id
    legacy = points.create_point(session, "无编号的老采集点")
    session.commit()
    data = pointio.export_xlsx(session)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    rows = [[c or "" for c in r] for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["编码", "名称", "类型", "上级", "单位", "地址", "联系人"]
    assert ["X03", "人民路社区", "社区（村）", "X02", "城关县政协", "人民路8号",
            "李书记 13800000000"] in rows
    assert [f"#{legacy.id}", "无编号的老采集点", "社区（村）", "", "", "", ""] in rows
    for r in rows:
        if r[0] == "X03":
            r[1] = "人民路社区（新址）"
    book = openpyxl.Workbook()
    for r in rows:
        book.active.append(r)
    buf = io.BytesIO()
    book.save(buf)
    result = pointio.import_points(session, "back.xlsx", buf.getvalue())
    assert result.ok and (result.created, result.updated) == (0, 5)
    session.commit()
    assert all_points(session)["X03"].name == "人民路社区（新址）"
    assert session.scalar(sa.select(sa.func.count(CollectionPoint.id))) == 5
    csv_text = pointio.export_csv(session)
    assert csv_text.startswith(b"\xef\xbb\xbf") and "人民路社区（新址）" in csv_text.decode("utf-8-sig")


def test_it_imports_a_50000_row_file(session: Session) -> None:
    lines = [HEADER, "C0,城关县,county,,,,\n"]
    lines += [f"C{i},第{i}社区,community,C0,,第{i}号,\n" for i in range(1, 50_000)]
    result = pointio.import_points(session, "big.csv", "".join(lines).encode("gbk"))
    assert result.ok and result.created == 50_000
    session.commit()
    assert session.scalar(sa.select(sa.func.count(CollectionPoint.id))) == 50_000
    last = session.scalar(sa.select(CollectionPoint).where(CollectionPoint.code == "C49999"))
    assert last is not None and last.name == "第49999社区" and last.parent_id is not None


def test_it_imports_and_exports_from_the_command_line(cli_env, tmp_path, capsys) -> None:  # noqa: F811
    assert main(["init", "--admin-user", "zhang", "--admin-password", "s3cret-enough"]) == 0
    bad = tmp_path / "bad.csv"
    bad.write_bytes((HEADER + "A1,一,county,,,,\nA1,二,county,,,,\n").encode("gbk"))
    capsys.readouterr()
    assert main(["point", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "第 3 行" in err and "重复" in err and "nothing imported" in err
    good = tmp_path / "good.csv"
    good.write_bytes(GOOD.encode("utf-8-sig"))
    assert main(["point", "import", str(good)]) == 0
    assert "新增 4 个" in capsys.readouterr().out
    out = tmp_path / "out.xlsx"
    assert main(["point", "export", str(out)]) == 0
    rows = list(openpyxl.load_workbook(out).worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 5 and rows[1][:3] == ("X01", "城关县", "县（区）")
    assert main(["point", "import", str(tmp_path / "missing.csv")]) == 1


def test_it_imports_from_the_console_or_lists_the_bad_rows(
    client: FlaskClient, admin: User, session: Session
) -> None:
    login(client, "alice")
    token = csrf(client, "/points")
    bad = (HEADER + "A1,一,county,,,,\nA2,二,镇,,,,\n").encode("gbk")
    resp = client.post("/points/import", data={"csrf_token": token,
                                               "file": (io.BytesIO(bad), "网点.csv")})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "未导入任何数据" in page and "「镇」" in page
    assert session.scalar(sa.select(sa.func.count(CollectionPoint.id))) == 0
    resp = client.post("/points/import", data={"csrf_token": token,
                                               "file": (io.BytesIO(GOOD.encode()), "ok.csv")},
                       follow_redirects=True)
    assert "新增 4 个" in resp.get_data(as_text=True)
    export = client.get("/points/export.csv")
    assert export.status_code == 200 and "人民路社区" in export.data.decode("utf-8-sig")


def test_it_keeps_clerks_from_importing(client: FlaskClient, clerk: User, session: Session) -> None:
    login(client, "carol")
    token = csrf(client, "/points")
    resp = client.post("/points/import", data={"csrf_token": token,
                                               "file": (io.BytesIO(GOOD.encode()), "ok.csv")})
    assert resp.status_code == 403
    assert session.scalar(sa.select(sa.func.count(CollectionPoint.id))) == 0


def test_it_adds_a_point_with_kind_and_parent_in_the_console(
    client: FlaskClient, admin: User, session: Session
) -> None:
    parent = points.create_point(session, "城关县", kind="county")
    parent.code = "X01"
    session.commit()
    login(client, "alice")
    token = csrf(client, "/points")
    client.post("/points", data={"csrf_token": token, "name": "张委员工作室",
                                 "kind": "member_studio", "parent": "X01"})
    page = client.get("/points").get_data(as_text=True)
    assert "委员工作室" in page and "└ </span>张委员工作室" in page and "上级：城关县" in page
    studio = session.scalar(sa.select(CollectionPoint).where(CollectionPoint.name == "张委员工作室"))
    assert studio is not None and studio.parent_id == parent.id
    assert studio.kind == PointKind.MEMBER_STUDIO
    resp = client.post("/points", data={"csrf_token": token, "name": "孤点", "parent": "nope"},
                       follow_redirects=True)
    assert "找不到上级采集点「nope」" in resp.get_data(as_text=True)


# -- an office's own spreadsheet: Chinese headers, no codes, parents and units by name --------

OFFICE_SHEET = [
    ["城关县采集点名单（2026年）"],
    ["序号", "联系人", "名称", "地址", "上级", "单位", "备注"],
    ["1", "王主任", "城关县", "人民路1号", "", "城关县政协", ""],
    ["2", "", "幸福社区", "幸福路2号", "第一镇", "", "上级在后面"],
    ["3", "李镇长", "第一镇", "", "城关县", "城关镇政协联络组", ""],
    ["4", "", "第二镇", "", "城关县", "", ""],
    ["5", "", "幸福社区", "二镇路5号", "第二镇", "", "与第 4 行同名"],
]


def sheet_file(rows: list[list[str]], fmt: str) -> tuple[str, bytes]:
    """The rows as an office would save them: CSV in UTF-8 or GBK, or an XLSX workbook."""
    if fmt == "xlsx":
        book = openpyxl.Workbook()
        for row in rows:
            book.active.append(row)
        buf = io.BytesIO()
        book.save(buf)
        return "网点.xlsx", buf.getvalue()
    text = "".join(",".join(row) + "\n" for row in rows)
    return "网点.csv", text.encode("gbk" if fmt == "gbk" else "utf-8")


def by_name(session: Session) -> dict[str, list[CollectionPoint]]:
    session.expire_all()
    out: dict[str, list[CollectionPoint]] = {}
    for p in session.scalars(sa.select(CollectionPoint).order_by(CollectionPoint.id)):
        out.setdefault(p.name, []).append(p)
    return out


@pytest.mark.parametrize("fmt", ["utf8", "gbk", "xlsx"])
def test_it_imports_an_offices_sheet_with_chinese_headers_in_any_order_and_no_codes(
    session: Session, network: Network, fmt: str
) -> None:
    name, data = sheet_file(OFFICE_SHEET, fmt)

    result = pointio.import_points(session, name, data)

    assert result.errors == []
    assert (result.created, result.updated, result.generated) == (5, 0, 5)
    assert result.ignored == ["序号", "备注"]
    session.commit()
    got = by_name(session)
    county, town1, town2 = got["城关县"][0], got["第一镇"][0], got["第二镇"][0]
    first, second = sorted(got["幸福社区"], key=lambda p: p.id)
    assert (town1.parent_id, town2.parent_id) == (county.id, county.id)
    assert first.address == "幸福路2号" and first.parent_id == town1.id  # its parent came later
    assert second.address == "二镇路5号" and second.parent_id == town2.id
    # Units: as given, else the parent's.
    assert county.unit_id == network.county.id and town1.unit_id == network.township.id
    assert first.unit_id == network.township.id
    assert town2.unit_id == second.unit_id == network.county.id
    assert county.contact == "王主任" and town1.contact == "李镇长"
    codes = {p.id: p.code for ps in got.values() for p in ps}
    assert all(c and re.fullmatch(r"P-[2-9A-HJKMNP-Z]{12}", c) for c in codes.values())
    assert len(set(codes.values())) == 5

    # The same sheet again, one address changed: the same points, updated, the same codes.
    again = [row[:] for row in OFFICE_SHEET]
    again[3][3] = "幸福路2号（新址）"
    name, data = sheet_file(again, fmt)
    result = pointio.import_points(session, name, data)
    assert result.ok and (result.created, result.updated) == (0, 5)
    session.commit()
    got = by_name(session)
    assert {p.id: p.code for ps in got.values() for p in ps} == codes
    assert "幸福路2号（新址）" in {p.address for p in got["幸福社区"]}


def test_it_reports_a_parent_name_that_two_points_share_and_writes_nothing(
    session: Session, network: Network
) -> None:
    sheet = [["名称", "上级", "单位"],
             ["城关县", "", "城关县政协"],
             ["第一镇", "城关县", ""],
             ["第二镇", "城关县", ""],
             ["幸福社区", "第一镇", ""],
             ["幸福社区", "第二镇", ""],         # the same name under another parent: fine
             ["幸福社区议事点", "幸福社区", ""],  # line 7: which 幸福社区?
             ["第一镇", "城关县", ""]]           # line 8: line 3 again
    name, data = sheet_file(sheet, "utf8")

    result = pointio.import_points(session, name, data)

    assert [e.line for e in result.errors] == [7, 8]
    ambiguous, again = result.errors[0].reason, result.errors[1].reason
    assert "上级「幸福社区」不明确，有 2 个同名采集点" in ambiguous
    assert "第 5 行（上级：第一镇）" in ambiguous and "第 6 行（上级：第二镇）" in ambiguous
    assert "请改填上级的编码" in ambiguous
    assert "与第 3 行是同一个采集点" in again
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(CollectionPoint.id))) == 0

    # Once the points are in, a later file is told where each candidate is, and a code settles it.
    name, data = sheet_file(sheet[:6], "utf8")
    assert pointio.import_points(session, name, data).ok
    session.commit()
    name, data = sheet_file([["名称", "上级"], ["幸福社区议事点", "幸福社区"]], "utf8")
    result = pointio.import_points(session, name, data)
    [error] = result.errors
    assert error.line == 2
    assert "城关县 › 第一镇 › 幸福社区（P-" in error.reason
    assert "城关县 › 第二镇 › 幸福社区（P-" in error.reason
    session.rollback()
    wanted = next(p for p in by_name(session)["幸福社区"] if p.address is None
                  and p.parent_id == by_name(session)["第二镇"][0].id)
    name, data = sheet_file([["名称", "上级"], ["幸福社区议事点", str(wanted.code)]], "gbk")
    assert pointio.import_points(session, name, data).ok
    session.commit()
    hall = by_name(session)["幸福社区议事点"][0]
    assert hall.parent_id == wanted.id and hall.unit_id == network.county.id


def test_it_reports_a_unit_name_two_units_share_and_takes_a_unit_id(
    session: Session, network: Network
) -> None:
    twin = units.create(session, "城关镇政协联络组", "cppcc", network.other_county.id)
    retired = units.create(session, "老城区联络组", "cppcc", network.county.id)
    units.retire(session, retired)
    session.commit()
    sheet = [["name", "unit"], ["甲社区", "城关镇政协联络组"], ["乙社区", "老城区联络组"],
             ["丙社区", "不存在的单位"]]

    result = pointio.import_points(session, *sheet_file(sheet, "xlsx"))

    reasons = {e.line: e.reason for e in result.errors}
    assert set(reasons) == {2, 3, 4}
    assert "单位「城关镇政协联络组」有 2 个同名" in reasons[2]
    assert f"城关县政协 › 城关镇政协联络组（#{network.township.id}）" in reasons[2]
    assert f"东山县政协 › 城关镇政协联络组（#{twin.id}）" in reasons[2]
    assert "已撤销" in reasons[3] and "不存在" in reasons[4]
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(CollectionPoint.id))) == 0

    fixed = [["name", "unit"], ["甲社区", f"#{twin.id}"], ["乙社区", str(network.township.id)]]
    assert pointio.import_points(session, *sheet_file(fixed, "utf8")).ok
    session.commit()
    got = by_name(session)
    assert got["甲社区"][0].unit_id == twin.id and got["乙社区"][0].unit_id == network.township.id


def test_it_refuses_lines_in_units_the_importer_does_not_keep(
    session: Session, network: Network
) -> None:
    theirs = points.create_point(session, "东山县便民中心", unit_id=network.other_county.id)
    theirs.code = "DS01"
    session.commit()
    county = units.subtree_scope(session, network.county.id)
    sheet = [["编码", "名称", "单位"],
             ["CG01", "城关县便民中心", "城关县政协"],
             ["CG02", "东山县新点", "东山县政协"],      # another county's unit
             ["DS01", "改名的东山县便民中心", ""],       # another county's point
             ["CG03", "没有单位的点", ""]]

    result = pointio.import_points(session, *sheet_file(sheet, "utf8"), scope=county)

    reasons = {e.line: e.reason for e in result.errors}
    assert set(reasons) == {3, 4, 5}
    assert "东山县政协" in reasons[3] and "不在您管理的范围内" in reasons[3]
    assert "东山县便民中心" in reasons[4] and "不在您管理的范围内" in reasons[4]
    assert "请填写单位" in reasons[5]
    session.rollback()
    assert [p.name for p in session.scalars(sa.select(CollectionPoint))] == ["东山县便民中心"]


def test_it_needs_a_unit_for_a_new_point_once_the_network_has_units(
    session: Session, network: Network
) -> None:
    result = pointio.import_points(session, *sheet_file([["名称"], ["孤点"]], "utf8"))
    assert [(e.line, "请填写单位" in e.reason) for e in result.errors] == [(2, True)]


def test_it_takes_over_a_point_added_by_hand_instead_of_doubling_it(
    session: Session, network: Network
) -> None:
    by_hand = points.create_point(session, "城关县", kind="county", unit_id=network.county.id)
    session.commit()
    sheet = [["名称", "类型", "上级", "单位"], ["城关县", "县（区）", "", "城关县政协"],
             ["第一镇", "乡镇", "城关县", ""]]

    result = pointio.import_points(session, *sheet_file(sheet, "utf8"))

    assert result.ok and (result.created, result.updated) == (1, 1)
    session.commit()
    got = by_name(session)
    assert [p.id for p in got["城关县"]] == [by_hand.id]
    assert got["城关县"][0].code is not None and got["城关县"][0].code.startswith("P-")
    assert got["第一镇"][0].parent_id == by_hand.id


def test_two_imports_of_one_sheet_at_once_make_one_set_of_points(
    Session_: sessionmaker[Session], session: Session, network: Network, db_url: str,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second import's INSERT waits for the first's codes, then updates them (no error)."""
    name, data = sheet_file(OFFICE_SHEET, "utf8")
    results: list[pointio.ImportResult] = []
    inserts: list[tuple[int, int]] = []  # (rows offered, rows added) per import
    real_insert = pointio._insert

    def counted(s: Session, rows: list[dict[str, object]]) -> dict[str, int]:
        added = real_insert(s, rows)
        inserts.append((len(rows), len(added)))
        return added

    monkeypatch.setattr(pointio, "_insert", counted)
    with Session_() as first:
        assert pointio.import_points(first, name, data).ok  # written, not yet committed

        def second() -> None:
            with Session_() as s:
                results.append(pointio.import_points(s, name, data))
                s.commit()

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=1)  # on PostgreSQL it is now waiting on the first one's rows
        first.commit()
    thread.join(timeout=30)
    assert not thread.is_alive()
    [result] = results
    assert result.errors == [] and (result.created, result.updated) == (0, 5)
    assert session.scalar(sa.select(sa.func.count(CollectionPoint.id))) == 5
    if db_url.startswith("postgresql"):
        # Both read an empty table and both inserted; the second's conflicts became updates.
        assert inserts == [(5, 5), (5, 0)]
    else:
        # SQLite lets one writer in at a time: the second read the first's points.
        assert inserts == [(5, 5), (0, 0)]


def test_it_tells_a_county_clerk_which_lines_are_not_theirs_in_the_console(
    client: FlaskClient, session: Session, network: Network
) -> None:
    staff(session, "county-clerk", Role.CLERK, network.county)
    login(client, "county-clerk")
    token = csrf(client, "/points")
    sheet = [["名称", "单位", "电话"], ["城关县便民中心", "城关县政协", "1"], ["东山县新点", "东山县政协", "2"]]
    name, data = sheet_file(sheet, "xlsx")

    resp = client.post("/points/import", data={"csrf_token": token,
                                               "file": (io.BytesIO(data), name)})

    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "未导入任何数据" in page
    assert "<td>3</td>" in page and "不在您管理的范围内" in page and "未使用的列：电话" in page
    assert session.scalar(sa.select(sa.func.count(CollectionPoint.id))) == 0

    name, data = sheet_file(sheet[:2], "xlsx")
    resp = client.post("/points/import", data={"csrf_token": token,
                                               "file": (io.BytesIO(data), name)},
                       follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "新增 1 个" in page and "1 行没有编码，已自动生成" in page and "未使用的列：电话" in page
    session.rollback()
    [added] = session.scalars(sa.select(CollectionPoint)).all()
    assert added.unit_id == network.county.id


def test_it_keeps_viewers_from_importing(client: FlaskClient, session: Session,
                                         network: Network) -> None:
    staff(session, "county-viewer", Role.VIEWER, network.county)
    login(client, "county-viewer")
    name, data = sheet_file([["名称", "单位"], ["城关县便民中心", "城关县政协"]], "utf8")
    resp = client.post("/points/import", data={"csrf_token": csrf(client, "/points"),
                                               "file": (io.BytesIO(data), name)})
    assert resp.status_code == 403
    assert session.scalar(sa.select(sa.func.count(CollectionPoint.id))) == 0


def test_it_points_a_line_to_its_parents_bad_line_rather_than_calling_it_unknown(
    session: Session, network: Network
) -> None:
    sheet = [["名称", "上级", "单位"], ["第一镇", "不存在的县", "城关县政协"],
             ["幸福社区", "第一镇", ""], ["甲", "乙", "城关县政协"], ["乙", "甲", ""]]
    result = pointio.import_points(session, *sheet_file(sheet, "utf8"))
    reasons = {e.line: e.reason for e in result.errors}
    assert "上级「不存在的县」不存在" in reasons[2]
    assert "上级「第一镇」在第 2 行，那一行有误" in reasons[3]
    assert "上级关系成环" in reasons[4] and "上级关系成环" in reasons[5]


def test_an_export_with_a_retired_units_old_point_imports_back(
    session: Session, network: Network
) -> None:
    old = points.create_point(session, "老城区服务站", unit_id=network.township.id)
    old.code, old.active = "LC01", False
    session.flush()
    units.retire(session, network.township)
    session.commit()
    data = pointio.export_xlsx(session)

    result = pointio.import_points(session, "back.xlsx", data)

    assert result.ok and (result.created, result.updated) == (0, 1)
    session.commit()
    assert by_name(session)["老城区服务站"][0].unit_id == network.township.id
    # A new point cannot go there.
    sheet = [["名称", "单位"], ["新服务站", "城关镇政协联络组"]]
    [error] = pointio.import_points(session, *sheet_file(sheet, "utf8")).errors
    assert "已撤销" in error.reason
