"""Units in the console and on the command line: ids shown, rename, move, retire, restore."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from minyi.cli import main
from store.models import CollectionPoint, Role, Unit, User
from store.network import points, units
from store.network import staff as staff_mod
from store.network.units import UnitError
from tests.conftest import Network, staff
from tests.test_cli import env  # noqa: F401  (the clean CLI environment)
from tests.web_support import csrf, login, post_page


def _unit(session: Session, unit: Unit) -> Unit:
    session.rollback()
    session.expire_all()
    got = session.get(Unit, unit.id)
    assert got is not None
    return got


def test_the_units_page_shows_ids_for_the_command_line(
    client: FlaskClient, admin: User, network: Network
) -> None:
    login(client, "alice")
    page = client.get("/admin/units").get_data(as_text=True)
    assert f'<span class="muted">#{network.county.id}</span>' in page
    assert f"#{network.township.id} 城关镇政协联络组</option>" in page
    assert "minyi point add 名称 --unit ID" in page
    users_page = client.get("/admin/users").get_data(as_text=True)
    assert f"#{network.roads.id} 县住建局" in users_page


def test_it_renames_a_unit_and_refuses_a_name_its_siblings_have(
    client: FlaskClient, admin: User, session: Session, network: Network
) -> None:
    login(client, "alice")
    page = post_page(client, f"/admin/units/{network.roads.id}", action="rename", name="县住房和城乡建设局")
    assert "已改名为「县住房和城乡建设局」" in page
    assert _unit(session, network.roads).name == "县住房和城乡建设局"

    page = post_page(client, f"/admin/units/{network.roads.id}", action="rename", name="县水利局")
    assert "同一上级下已有单位「县水利局」" in page
    assert _unit(session, network.roads).name == "县住房和城乡建设局"


def test_it_moves_a_unit_but_never_under_itself_or_below_it(
    client: FlaskClient, admin: User, session: Session, network: Network
) -> None:
    login(client, "alice")
    page = client.get(f"/admin/units/{network.county.id}").get_data(as_text=True)
    # The move menu leaves out the unit and the units below it.
    menu = page[page.index('name="parent_id"'):page.index("</select>", page.index('name="parent_id"'))]
    assert "东山县政协" in menu and "城关镇政协联络组" not in menu and "县住建局" not in menu

    page = post_page(client, f"/admin/units/{network.county.id}", action="move",
                 parent_id=str(network.township.id))
    assert "不能把单位「城关县政协」移到它自己或它的下级单位之下" in page
    assert _unit(session, network.county).parent_id is None

    page = post_page(client, f"/admin/units/{network.township.id}", action="move",
                 parent_id=str(network.other_county.id))
    assert "已移到新的上级单位" in page
    assert _unit(session, network.township).parent_id == network.other_county.id
    page = post_page(client, f"/admin/units/{network.township.id}", action="move", parent_id="")
    assert "已设为顶级单位" in page
    assert _unit(session, network.township).parent_id is None


def test_it_refuses_to_retire_a_unit_in_use_and_says_what_to_move_first(
    client: FlaskClient, admin: User, session: Session, network: Network
) -> None:
    points.create_point(session, "城关镇便民服务中心", unit_id=network.township.id)
    staff(session, "town-clerk", Role.CLERK, network.township)
    sub = units.create(session, "城关镇第一联络小组", "cppcc", network.township.id)
    session.commit()
    login(client, "alice")

    page = post_page(client, f"/admin/units/{network.township.id}", action="retire")

    assert "单位「城关镇政协联络组」还有" in page
    assert "1 个下级单位（城关镇第一联络小组）" in page
    assert "1 个在用的采集点（城关镇便民服务中心）" in page
    assert "1 名在职工作人员（town-clerk）" in page
    assert _unit(session, network.township).retired_at is None

    # Moved or switched off first, it retires, and keeps its history.
    session.execute(sa.update(CollectionPoint).values(unit_id=network.county.id))
    session.execute(sa.update(User).where(User.username == "town-clerk").values(active=False))
    session.execute(sa.update(Unit).where(Unit.id == sub.id).values(parent_id=network.county.id))
    session.commit()
    page = post_page(client, f"/admin/units/{network.township.id}", action="retire", confirm="1")
    assert "已撤销单位「城关镇政协联络组」" in page
    assert _unit(session, network.township).retired_at is not None
    listing = client.get("/admin/units").get_data(as_text=True)
    assert "城关镇政协联络组</a>" in listing and "已撤销" in listing

    # No longer offered for new points, users, members or parent units ...
    for path in ("/points", "/members"):
        assert f"#{network.township.id} 城关镇政协联络组</option>" not in \
            client.get(path).get_data(as_text=True)
    add_form = listing[:listing.index("</form>")]
    assert "城关镇政协联络组" not in add_form
    # ... but still there to filter the points list by (history).
    assert "城关镇政协联络组（已撤销）" in client.get("/points").get_data(as_text=True)

    page = post_page(client, f"/admin/units/{network.township.id}", action="restore")
    assert "已恢复单位「城关镇政协联络组」" in page
    assert _unit(session, network.township).retired_at is None


def test_an_administrator_of_a_county_changes_only_that_countys_units(
    client: FlaskClient, session: Session, network: Network
) -> None:
    staff(session, "county-admin", Role.ADMIN, network.county)
    login(client, "county-admin")

    page = post_page(client, f"/admin/units/{network.other_county.id}", action="rename", name="被改名")
    assert "不在您管理的范围内" in page
    page = post_page(client, f"/admin/units/{network.township.id}", action="move",
                 parent_id=str(network.other_county.id))
    assert "「东山县政协」" in page and "不在您管理的范围内" in page
    page = post_page(client, "/admin/units", name="东山县新单位", kind="cppcc",
                 parent_id=str(network.other_county.id))
    assert "不在您管理的范围内" in page
    page = post_page(client, "/admin/units", name="城关县新单位", kind="cppcc", parent_id="")
    assert "顶级单位不在您管理的范围内" in page
    assert _unit(session, network.other_county).name == "东山县政协"
    assert _unit(session, network.township).parent_id == network.county.id
    assert session.scalar(sa.select(sa.func.count(Unit.id))) == 5

    page = post_page(client, "/admin/units", name="城关县新单位", kind="cppcc",
                 parent_id=str(network.county.id))
    assert "已添加单位「城关县新单位」" in page
    view = client.get(f"/admin/units/{network.other_county.id}").get_data(as_text=True)
    assert "不在您管理的范围内，只能查看" in view and 'value="rename"' not in view


def test_clerks_cannot_change_units(client: FlaskClient, session: Session, network: Network) -> None:
    staff(session, "county-clerk", Role.CLERK, network.county)
    login(client, "county-clerk")
    resp = client.post(f"/admin/units/{network.township.id}",
                       data={"csrf_token": csrf(client, "/reports"), "action": "retire"})
    assert resp.status_code == 403
    assert _unit(session, network.township).retired_at is None


def test_a_retired_unit_takes_no_new_staff_or_transfers(session: Session, network: Network) -> None:
    units.retire(session, network.water)
    assert network.water not in units.departments(session)
    user = staff(session, "new-clerk", Role.CLERK)
    with pytest.raises(staff_mod.StaffError, match="已撤销"):
        staff_mod.update_user(session, user, role=Role.DEPARTMENT, unit_id=network.water.id,
                              active=True)
    with pytest.raises(UnitError, match="已撤销"):
        units.create(session, "水利站", "department", network.water.id)


# -- the command line ----------------------------------------------------------------------


def _units(url: str) -> dict[str, tuple[int | None, bool]]:
    from store.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            return {u.name: (u.parent_id, u.retired_at is not None) for u in s.scalars(sa.select(Unit))}
    finally:
        engine.dispose()


def test_it_renames_moves_retires_and_restores_units_from_the_command_line(
    env: str, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    main(["init"])
    for name, parent in (("城关县政协", None), ("东山县政协", None), ("城关镇联络组", "1")):
        main(["unit", "add", name, "--kind", "cppcc", *(["--parent", parent] if parent else [])])
    capsys.readouterr()

    assert main(["unit", "rename", "3", "城关镇政协联络组"]) == 0
    assert main(["unit", "move", "3", "--parent", "2"]) == 0
    assert main(["unit", "move", "2", "--parent", "3"]) == 1
    assert "不能把单位「东山县政协」移到它自己或它的下级单位之下" in capsys.readouterr().err
    assert main(["point", "add", "城关镇便民服务中心", "--unit", "城关镇政协联络组"]) == 0
    assert main(["unit", "retire", "3"]) == 1
    assert "1 个在用的采集点（城关镇便民服务中心）" in capsys.readouterr().err
    assert main(["point", "move", "1", "--unit", "1"]) == 0
    assert main(["unit", "retire", "3"]) == 0
    assert main(["unit", "list"]) == 0
    out = capsys.readouterr().out
    assert "#2 东山县政协 (cppcc)\n  #3 城关镇政协联络组 (cppcc)  [retired / 已撤销]" in out
    assert _units(env)["城关镇政协联络组"] == (2, True)
    assert main(["unit", "restore", "3"]) == 0
    assert main(["unit", "move", "3", "--top"]) == 0
    assert _units(env)["城关镇政协联络组"] == (None, False)
    assert main(["unit", "rename", "9", "x"]) == 1
    assert "no unit #9" in capsys.readouterr().err


def test_it_asks_before_retiring_a_unit(
    client: FlaskClient, admin: User, session: Session, network: Network
) -> None:
    login(client, "alice")

    page = post_page(client, f"/admin/units/{network.township.id}", action="retire")

    assert 'id="confirm-page"' in page and "撤销单位「城关镇政协联络组」" in page
    assert '<input type="hidden" name="action" value="retire">' in page
    assert _unit(session, network.township).retired_at is None

    page = post_page(client, f"/admin/units/{network.township.id}", action="retire", confirm="1")

    assert "已撤销单位「城关镇政协联络组」" in page
    assert _unit(session, network.township).retired_at is not None
