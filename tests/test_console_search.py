"""检索 in the console: search page, filters in the URL, saved views, highlighting."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from store.models import CollectionPoint, Role, SavedView, User
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.web_support import csrf, login


def _page(client: FlaskClient, url: str) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def test_it_shows_the_total_and_highlighted_results(client: FlaskClient, session: Session,
                                                    admin: User) -> None:
    hit = make_report(session, title="老旧小区加装电梯", situation="城关镇 12 个小区没有<b>电梯</b>，老人上下楼难。")
    make_report(session, title="人民路停车难", situation="每天 300 辆车乱停。")
    session.commit()
    login(client, "alice")
    html = _page(client, "/search?q=电梯")
    assert "共找到 <strong>1</strong> 条信息" in html
    assert "老旧小区加装<mark>电梯</mark>" in html
    assert "没有&lt;b&gt;<mark>电梯</mark>&lt;/b&gt;" in html  # escaped, then marked
    assert "人民路停车难" not in html
    # The result links to the report page with the words marked there too.
    detail = _page(client, f"/reports/{hit.id}?q=电梯")
    assert "老旧小区加装<mark>电梯</mark>" in detail and 'id="searched"' in detail


def test_every_filter_is_in_the_url(client: FlaskClient, session: Session, admin: User) -> None:
    make_report(session, title="加装电梯一", category="livelihood", urgent=True)
    make_report(session, title="加装电梯二", category="economy")
    session.commit()
    login(client, "alice")
    html = _page(client, "/search?q=电梯&category=economy&sort=relevance")
    assert "共找到 <strong>1</strong> 条信息" in html and "加装<mark>电梯</mark>二" in html
    html = _page(client, "/search?urgency=urgent")
    assert "共找到 <strong>1</strong> 条信息" in html and "加装电梯一" in html


def test_bad_input_gets_a_clear_message_not_an_error(client: FlaskClient, session: Session,
                                                     admin: User) -> None:
    make_report(session)
    session.commit()
    login(client, "alice")
    for url in ("/search?q=%22", "/search?q=NEAR(", "/search?q=*", "/search?q=%27%3B+DROP+TABLE+reports",
                "/search?page=-3", "/search?from=2026-99-99", "/search?status=bogus",
                "/search?point=1%20OR%201=1", "/search?q=" + "电" * 5000):
        assert client.get(url).status_code == 200, url
    assert "没有可以搜索的文字" in _page(client, "/search?q=，。！")
    assert "太长" in _page(client, "/search?q=" + "电" * 5000)
    assert "无法识别的条件" in _page(client, "/search?from=2026-99-99")


def test_saved_views_are_tabs_with_live_counts(client: FlaskClient, session: Session,
                                              admin: User) -> None:
    make_report(session, title="加装电梯", urgent=True)
    session.commit()
    login(client, "alice")
    token = csrf(client, "/search?urgency=urgent")
    resp = client.post("/search/views", data={"csrf_token": token, "name": "紧急",
                                              "urgency": "urgent"}, follow_redirects=True)
    assert resp.status_code == 200 and "已保存视图「紧急」" in resp.get_data(as_text=True)
    session.rollback()
    view = session.scalars(sa.select(SavedView)).one()
    assert view.args == {"urgency": "urgent"}
    assert f'data-view="{view.id}">紧急 <b>1</b>' in _page(client, "/search")
    make_report(session, title="又一部电梯坏了", urgent=True)
    session.commit()
    assert f'data-view="{view.id}">紧急 <b>2</b>' in _page(client, "/search")  # live
    # A name that is too long is refused clearly; nothing is saved.
    resp = client.post("/search/views", data={"csrf_token": token, "name": "长" * 30, "q": "电梯"},
                       follow_redirects=True)
    assert "最多 20 个字" in resp.get_data(as_text=True)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(SavedView)) == 1


def test_views_belong_to_their_owner(client: FlaskClient, session: Session, admin: User,
                                     clerk: User) -> None:
    session.add(SavedView(user_id=clerk.id, name="卡罗的视图", args={"q": "电梯"}))
    session.commit()
    view_id = session.scalars(sa.select(SavedView.id)).one()
    login(client, "alice")
    assert "卡罗的视图" not in _page(client, "/search")
    client.post(f"/search/views/{view_id}/delete", data={"csrf_token": csrf(client, "/search")})
    session.rollback()
    assert session.get(SavedView, view_id) is not None


def test_search_never_reveals_another_units_report(client: FlaskClient, session: Session,
                                                   network: Network) -> None:
    here = CollectionPoint(name="城关镇", unit_id=network.township.id)
    there = CollectionPoint(name="东山乡", unit_id=network.other_county.id)
    session.add_all([here, there])
    session.flush()
    make_report(session, point=here, title="城关加装电梯")
    secret = make_report(session, point=there, title="东山加装电梯", situation="机密的细节 3 条。")
    session.commit()
    staff(session, "towny", Role.CLERK, network.township)
    login(client, "towny")
    html = _page(client, "/search?q=电梯")
    assert "共找到 <strong>1</strong> 条信息" in html and "东山" not in html
    html = _page(client, f"/search?q=机密&unit={network.other_county.id}&point={there.id}")
    assert "共找到 <strong>0</strong> 条信息" in html and "机密的细节" not in html
    # Nor does the filter form offer the other unit or its point.
    assert "东山县政协" not in html and "东山乡" not in html
    assert client.get(f"/reports/{secret.id}?q=机密").status_code == 404


def test_the_admin_turns_on_traditional_folding(client: FlaskClient, session: Session,
                                                admin: User) -> None:
    make_report(session, title="加装电梯")
    session.commit()
    login(client, "alice")
    assert "共找到 <strong>0</strong>" in _page(client, "/search?q=電梯")
    resp = client.post("/admin/search", data={"csrf_token": csrf(client, "/admin/chain"),
                                              "fold_traditional": "1"}, follow_redirects=True)
    assert "已开启繁简通搜，重建了 1 条" in resp.get_data(as_text=True)
    assert "共找到 <strong>1</strong>" in _page(client, "/search?q=電梯")


def test_only_admins_change_search_settings(client: FlaskClient, session: Session,
                                            clerk: User) -> None:
    login(client, "carol")
    resp = client.post("/admin/search", data={"csrf_token": csrf(client, "/search"),
                                              "fold_traditional": "1"})
    assert resp.status_code == 403  # an administrator's page: the role gate answers
