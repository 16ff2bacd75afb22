"""Points belong to units: adding, editing and moving points within the units one keeps.

Personas: an administrator of the whole network (alice), a county clerk (城关县政协),
and outsiders (a clerk of the neighbouring county, a viewer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from minyi.cli import main
from store.models import CollectionPoint, PointKind, Report, Role, User
from store.network import pointedit, points, units
from store.network.points import PointError
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.test_cli import env  # noqa: F401  (the clean CLI environment)
from tests.web_support import csrf, login, post_page


@dataclass
class Points:
    county: CollectionPoint  # 城关县便民中心, code CG, unit 城关县政协
    town: CollectionPoint  # 城关镇服务站 under it, unit 城关镇政协联络组
    studio: CollectionPoint  # 张委员工作室 under the town, unit 城关县政协
    theirs: CollectionPoint  # 东山县便民中心, code DS, unit 东山县政协
    loose: CollectionPoint  # 无单位的老点, no unit


@pytest.fixture
def pts(session: Session, network: Network) -> Points:
    county = points.create_point(session, "城关县便民中心", kind="county", unit_id=network.county.id)
    county.code = "CG"
    town = points.create_point(session, "城关镇服务站", kind="township", parent=county,
                               unit_id=network.township.id)
    studio = points.create_point(session, "张委员工作室", kind="member_studio", parent=town,
                                 unit_id=network.county.id)
    theirs = points.create_point(session, "东山县便民中心", kind="county",
                                 unit_id=network.other_county.id)
    theirs.code = "DS"
    loose = points.create_point(session, "无单位的老点")
    session.commit()
    return Points(county, town, studio, theirs, loose)


@pytest.fixture
def county_clerk(session: Session, network: Network) -> User:
    return staff(session, "county-clerk", Role.CLERK, network.county)


@pytest.fixture
def other_clerk(session: Session, network: Network) -> User:
    return staff(session, "other-clerk", Role.CLERK, network.other_county)


def _fresh(session: Session, point: CollectionPoint) -> CollectionPoint:
    session.rollback()
    session.expire_all()
    got = session.get(CollectionPoint, point.id)
    assert got is not None
    return got


# -- adding --------------------------------------------------------------------------------


def test_it_adds_a_point_to_a_unit_and_the_county_clerk_sees_what_is_filed_there(
    client: FlaskClient, admin: User, county_clerk: User, other_clerk: User,
    session: Session, network: Network
) -> None:
    login(client, "alice")
    page = post_page(client, "/points", name="城关县东街社区", kind="community",
                 unit=str(network.county.id))

    assert "已添加采集点「城关县东街社区」，属于「城关县政协」" in page
    added = session.scalar(sa.select(CollectionPoint).where(CollectionPoint.name == "城关县东街社区"))
    assert added is not None and added.unit_id == network.county.id
    make_report(session, point=added, title="东街路灯不亮")
    session.commit()

    login(client, "county-clerk")
    assert "东街路灯不亮" in client.get("/reports").get_data(as_text=True)
    login(client, "other-clerk")
    assert "东街路灯不亮" not in client.get("/reports").get_data(as_text=True)


def test_it_offers_a_county_clerk_only_their_own_units_and_parent_points(
    client: FlaskClient, county_clerk: User, session: Session, network: Network, pts: Points
) -> None:
    login(client, "county-clerk")
    page = client.get("/points").get_data(as_text=True)

    form = page[page.index('id="add-point"'):page.index("</form>", page.index('id="add-point"'))]
    assert f'<option value="{network.county.id}" >#{network.county.id} 城关县政协</option>' in form
    assert f"#{network.township.id} 城关镇政协联络组" in form
    assert "东山县政协" not in form
    choices = re.findall(r'<option value="([^"]+)">([^<]+)</option>', form)
    assert ("CG", "城关县便民中心（CG）") in choices
    assert all("东山县" not in label for _, label in choices)


def test_it_puts_a_new_point_in_its_parents_unit_when_none_is_chosen(
    client: FlaskClient, county_clerk: User, session: Session, network: Network, pts: Points
) -> None:
    login(client, "county-clerk")
    page = post_page(client, "/points", name="城关镇幸福社区", parent=str(pts.town.id), unit="")

    assert "已添加采集点「城关镇幸福社区」，属于「城关镇政协联络组」" in page
    added = session.scalar(sa.select(CollectionPoint).where(CollectionPoint.name == "城关镇幸福社区"))
    assert added is not None
    assert (added.parent_id, added.unit_id) == (pts.town.id, network.township.id)


@pytest.mark.parametrize("form, message", [
    ({"unit": "other"}, "「东山县政协」"),
    ({"parent": "DS"}, "上级采集点「东山县便民中心」"),
    ({}, "请选择采集点所属的单位"),
])
def test_it_refuses_a_county_clerk_a_point_outside_their_units(
    client: FlaskClient, county_clerk: User, session: Session, network: Network, pts: Points,
    form: dict[str, str], message: str
) -> None:
    login(client, "county-clerk")
    if form.get("unit") == "other":
        form = {"unit": str(network.other_county.id)}

    resp = client.post("/points", data={"csrf_token": csrf(client, "/points"), "name": "越界的点",
                                        "address": "东街1号", **form})

    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and message in page
    # The form comes back as it was filled in.
    assert 'value="越界的点"' in page and 'value="东街1号"' in page
    assert session.scalar(sa.select(CollectionPoint).where(CollectionPoint.name == "越界的点")) is None


def test_it_keeps_viewers_and_clerks_without_a_unit_from_changing_points(
    client: FlaskClient, viewer: User, clerk: User, session: Session, network: Network, pts: Points
) -> None:
    for who in ("victor", "carol"):
        login(client, who)
        token = csrf(client, "/points")
        page = client.get("/points").get_data(as_text=True)
        assert "添加采集点" not in page and 'form="move-form"' not in page and "编辑采集点</a>" not in page
        for path, data in (("/points", {"name": "x", "unit": str(network.county.id)}),
                           (f"/points/{pts.county.id}/edit", {"name": "改名"}),
                           ("/points/move", {"point": str(pts.county.id),
                                             "unit": str(network.township.id)})):
            assert client.post(path, data={"csrf_token": token, **data}).status_code == 403
        assert client.get(f"/points/{pts.county.id}/edit").status_code == 403
    assert _fresh(session, pts.county).name == "城关县便民中心"
    assert session.scalar(sa.select(sa.func.count(CollectionPoint.id))) == 5


# -- editing -------------------------------------------------------------------------------


def test_it_edits_a_points_name_kind_address_contact_parent_and_unit(
    client: FlaskClient, county_clerk: User, session: Session, network: Network, pts: Points
) -> None:
    login(client, "county-clerk")
    form = client.get(f"/points/{pts.studio.id}/edit").get_data(as_text=True)
    assert 'value="张委员工作室"' in form and f'value="{pts.town.id}"' in form

    page = post_page(client, f"/points/{pts.studio.id}/edit", name="张委员工作室（新址）",
                 kind="council_hall", address="东街9号", contact="张委员 13900000000",
                 parent="CG", unit=str(network.township.id))

    assert "已保存采集点「张委员工作室（新址）」" in page
    got = _fresh(session, pts.studio)
    assert (got.name, got.kind, got.address, got.contact) == (
        "张委员工作室（新址）", PointKind.COUNCIL_HALL, "东街9号", "张委员 13900000000")
    assert (got.parent_id, got.unit_id) == (pts.county.id, network.township.id)


def test_it_refuses_to_put_a_point_under_itself_or_a_point_below_it(
    client: FlaskClient, admin: User, session: Session, pts: Points
) -> None:
    login(client, "alice")
    token = csrf(client, "/points")
    for parent in (str(pts.studio.id), "CG"):
        resp = client.post(f"/points/{pts.county.id}/edit", data={
            "csrf_token": token, "name": "城关县便民中心（改）", "kind": "county",
            "address": "新地址1号", "parent": parent, "unit": ""})
        page = resp.get_data(as_text=True)
        assert resp.status_code == 422
        assert "不能把「城关县便民中心」" in page and "放到它自己或它的下级采集点之下" in page
        # What was typed is still there to correct.
        assert 'value="城关县便民中心（改）"' in page and 'value="新地址1号"' in page
        assert f'name="parent" size="12" value="{parent}"' in page
    got = _fresh(session, pts.county)
    assert got.parent_id is None and got.name == "城关县便民中心" and got.address is None


def test_it_refuses_an_outsider_editing_a_county_point(
    client: FlaskClient, other_clerk: User, session: Session, pts: Points
) -> None:
    login(client, "other-clerk")
    # Another unit's point is not there for them at all (issue 15): 404, as for no point.
    assert client.get(f"/points/{pts.county.id}/edit").status_code == 404
    resp = client.post(f"/points/{pts.county.id}/edit", data={
        "csrf_token": csrf(client, "/points"), "name": "被改名", "kind": "county"})
    assert resp.status_code == 404
    assert _fresh(session, pts.county).name == "城关县便民中心"


# -- moving in bulk ------------------------------------------------------------------------


def test_it_moves_ticked_points_to_a_unit_all_or_none(
    client: FlaskClient, county_clerk: User, session: Session, network: Network, pts: Points
) -> None:
    login(client, "county-clerk")
    page = client.get("/points").get_data(as_text=True)
    assert f'name="point" value="{pts.studio.id}" form="move-form"' in page
    assert f'name="point" value="{pts.theirs.id}"' not in page  # not theirs to tick
    assert f'href="/points/{pts.studio.id}/edit">编辑采集点</a>' in page
    assert f'href="/points/{pts.theirs.id}/edit"' not in page

    page = post_page(client, "/points/move", point=[str(pts.studio.id), str(pts.theirs.id)],
                 unit=str(network.township.id))

    assert f"「东山县便民中心」（#{pts.theirs.id}）属于「东山县政协」，不在您管理的范围内" in page
    assert "未移动任何采集点" in page
    assert _fresh(session, pts.studio).unit_id == network.county.id

    page = post_page(client, "/points/move", point=[str(pts.studio.id), str(pts.county.id)],
                 unit=str(network.township.id))

    assert "已把 2 个采集点移到「城关镇政协联络组」" in page
    assert _fresh(session, pts.studio).unit_id == network.township.id
    assert _fresh(session, pts.county).unit_id == network.township.id


def test_it_refuses_a_move_to_a_unit_the_mover_does_not_keep(
    client: FlaskClient, county_clerk: User, session: Session, network: Network, pts: Points
) -> None:
    login(client, "county-clerk")
    page = post_page(client, "/points/move", point=[str(pts.studio.id)],
                 unit=str(network.other_county.id))
    assert f"单位「东山县政协」（#{network.other_county.id}）不在您管理的范围内" in page
    page = post_page(client, "/points/move", point=[str(pts.studio.id)], unit="")
    assert "请选择要移入的单位" in page
    page = post_page(client, "/points/move", unit=str(network.township.id))
    assert "请先勾选要移动的采集点" in page
    assert _fresh(session, pts.studio).unit_id == network.county.id


def test_moving_a_point_without_a_unit_brings_its_unassigned_reports_along(
    client: FlaskClient, admin: User, session: Session, network: Network, pts: Points
) -> None:
    old = make_report(session, point=pts.loose, title="无单位时提交的信息")
    handled = make_report(session, point=pts.county, title="城关县已在办理的信息")
    session.commit()
    assert old.unit_id is None
    login(client, "alice")

    page = post_page(client, "/points/move", point=[str(pts.loose.id), str(pts.county.id)],
                 unit=str(network.township.id))

    assert "已把 2 个采集点移到「城关镇政协联络组」" in page
    assert "其中 1 条原先未指定单位的信息一并归入新单位" in page
    session.rollback()
    session.expire_all()
    assert session.get(Report, old.id).unit_id == network.township.id  # type: ignore[union-attr]
    # A report a unit already handles stays with that unit.
    assert session.get(Report, handled.id).unit_id == network.county.id  # type: ignore[union-attr]


# -- the rules themselves ------------------------------------------------------------------


def test_a_new_point_needs_a_unit_once_the_network_has_units(session: Session) -> None:
    lonely = pointedit.add_point(session, units.EVERYTHING, "第一个采集点")
    assert lonely.unit_id is None  # no units yet: a fresh office can start with points
    unit = units.create(session, "城关县政协", "cppcc")
    with pytest.raises(PointError, match="请选择采集点所属的单位"):
        pointedit.add_point(session, units.EVERYTHING, "第二个采集点")
    with pytest.raises(PointError, match="请选择采集点所属的单位"):
        pointedit.add_point(session, units.EVERYTHING, "挂在无单位上级下", parent=lonely)
    placed = pointedit.add_point(session, units.EVERYTHING, "第三个采集点", unit_id=unit.id)
    child = pointedit.add_point(session, units.EVERYTHING, "下级", parent=placed)
    assert placed.unit_id == child.unit_id == unit.id


def test_a_retired_unit_takes_no_new_points(session: Session, network: Network) -> None:
    units.retire(session, network.water)
    with pytest.raises(PointError, match="已撤销"):
        pointedit.add_point(session, units.EVERYTHING, "水利站", unit_id=network.water.id)


def test_a_bulk_move_names_missing_points_and_moves_nothing(
    session: Session, network: Network, pts: Points
) -> None:
    with pytest.raises(PointError, match="没有 #9999 号采集点"):
        pointedit.move_points(session, units.EVERYTHING, [pts.county.id, 9999], network.township.id)
    session.rollback()
    assert _fresh(session, pts.county).unit_id == network.county.id


def test_the_points_page_shows_each_points_unit_and_id(
    client: FlaskClient, viewer: User, network: Network, pts: Points
) -> None:
    login(client, "victor")
    page = client.get("/points").get_data(as_text=True)
    assert f"ID {pts.county.id} · 单位：城关县政协（#{network.county.id}）" in page
    assert f"ID {pts.loose.id} · 未指定单位" in page


# -- the command line ----------------------------------------------------------------------


def _cli_points(url: str) -> dict[str, tuple[int | None, int | None]]:
    from store.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            return {p.name: (p.unit_id, p.parent_id) for p in s.scalars(sa.select(CollectionPoint))}
    finally:
        engine.dispose()


def test_it_adds_a_point_to_a_unit_from_the_command_line(
    env: str, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    main(["init"])
    main(["unit", "add", "城关县政协", "--kind", "cppcc"])
    main(["unit", "add", "东山县政协", "--kind", "cppcc"])
    main(["unit", "add", "城关镇联络组", "--kind", "cppcc", "--parent", "1"])
    main(["unit", "add", "城关镇联络组", "--kind", "cppcc", "--parent", "2"])
    capsys.readouterr()

    assert main(["point", "add", "城关县便民中心", "--unit", "城关县政协", "--kind", "county"]) == 0
    out = capsys.readouterr().out
    assert "Collection point #1 created / 已创建采集点: 城关县便民中心 — unit #1 城关县政协" in out
    assert main(["point", "add", "城关镇服务站", "--parent", "1", "--unit", "#3"]) == 0
    assert main(["point", "add", "幸福社区", "--parent", "1"]) == 0  # the parent's unit
    assert _cli_points(env) == {"城关县便民中心": (1, None), "城关镇服务站": (3, 1),
                                "幸福社区": (1, 1)}
    capsys.readouterr()

    assert main(["point", "add", "孤点"]) == 1
    assert "请选择采集点所属的单位" in capsys.readouterr().err
    assert main(["point", "add", "重名", "--unit", "城关镇联络组"]) == 1
    err = capsys.readouterr().err
    assert "单位「城关镇联络组」有 2 个同名" in err
    assert "城关县政协 › 城关镇联络组（#3）" in err and "东山县政协 › 城关镇联络组（#4）" in err
    assert main(["point", "add", "无上级", "--parent", "X99", "--unit", "1"]) == 1
    assert "找不到上级采集点「X99」" in capsys.readouterr().err
    assert main(["point", "move", "2", "3", "--unit", "2"]) == 0
    assert main(["point", "move", "2", "99", "--unit", "1"]) == 1
    assert "没有 #99 号采集点" in capsys.readouterr().err
    assert _cli_points(env)["城关镇服务站"] == (2, 1)
    assert main(["point", "list"]) == 0
    assert "#2 城关镇服务站  [unit #2]" in capsys.readouterr().out
