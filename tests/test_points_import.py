"""Bulk import and export of collection points: CSV (UTF-8, BOM, GBK) and XLSX, all or nothing."""

from __future__ import annotations

import io

import openpyxl
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from minyi.cli import main
from store import pointio, points, units
from store.models import CollectionPoint, PointKind, User
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
    unit = units.create(session, "城关县政协", "cppcc", None)
    assert pointio.import_points(session, "p.csv", GOOD.encode()).ok
    all_points(session)["X03"].unit_id = unit.id
    legacy = points.create_point(session, "无编号的老采集点")
    session.commit()
    data = pointio.export_xlsx(session)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    rows = [[c or "" for c in r] for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == list(pointio.COLUMNS)
    assert ["X03", "人民路社区", "community", "X02", "城关县政协", "人民路8号",
            "李书记 13800000000"] in rows
    assert [f"#{legacy.id}", "无编号的老采集点", "community", "", "", "", ""] in rows
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
    assert len(rows) == 5 and rows[1][:3] == ("X01", "城关县", "county")
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
