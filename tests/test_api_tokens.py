"""系统管理 → API 令牌 and `minyi token`: issue (shown once, kept hashed), last used, revoke."""

from __future__ import annotations

import hashlib
import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from minyi.cli import main
from store.models import ApiToken, Role, User
from tests.conftest import Network, staff
from tests.test_cli import env  # noqa: F401  (the command line's clean environment)
from tests.web_support import csrf, login

TOKEN = re.compile(r"mny_[A-Za-z0-9_-]{43}")


def _issue(client: FlaskClient, name: str, unit: str) -> tuple[int, str]:
    resp = client.post("/admin/api-tokens", data={"name": name, "unit_id": unit,
                                                  "csrf_token": csrf(client, "/admin/api-tokens")})
    return resp.status_code, resp.get_data(as_text=True)


def test_an_admin_issues_a_token_shown_once_and_kept_hashed(client: FlaskClient, session: Session,
                                                            admin: User, network: Network) -> None:
    login(client, "alice")
    page = client.get("/admin/api-tokens").get_data(as_text=True)
    assert "还没有签发过令牌" in page and "全部单位" in page
    status, html = _issue(client, "县大数据中心", str(network.county.id))
    assert status == 200
    raw = TOKEN.search(html)
    assert raw is not None and "只显示这一次" in html
    token = session.scalars(sa.select(ApiToken)).one()
    assert token.token_hash == hashlib.sha256(raw[0].encode()).hexdigest()
    assert token.unit_id == network.county.id and token.created_by_id == admin.id
    assert token.prefix == raw[0][:10] and token.last_used_at is None

    again = client.get("/admin/api-tokens")
    text = again.get_data(as_text=True)
    assert raw[0] not in text, "never shown again"
    assert "县大数据中心" in text and "城关县政协" in text and "从未使用" in text
    client.get("/api/v1/units", headers={"Authorization": f"Bearer {raw[0]}"})
    assert "从未使用" not in client.get("/admin/api-tokens").get_data(as_text=True)

    resp = client.post(f"/admin/api-tokens/{token.id}/revoke",
                       data={"csrf_token": csrf(client, "/admin/api-tokens")})
    assert resp.status_code == 302
    session.rollback()
    assert session.get(ApiToken, token.id).revoked_at is not None  # type: ignore[union-attr]
    assert "已吊销" in client.get("/admin/api-tokens").get_data(as_text=True)
    assert client.get("/api/v1/units", headers={"Authorization": f"Bearer {raw[0]}"}).status_code == 401


def test_a_token_needs_a_name_and_a_unit_chosen_on_purpose(client: FlaskClient, session: Session,
                                                           admin: User) -> None:
    login(client, "alice")
    status, html = _issue(client, "", "all")
    assert status == 422 and "起个名字" in html
    status, html = _issue(client, "大屏", "")
    assert status == 422 and "请选择" in html and 'value="大屏"' in html
    status, html = _issue(client, "大屏", "99999")
    assert status == 422 and "不存在" in html
    assert session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_a_units_admin_issues_only_for_their_units(client: FlaskClient, session: Session,
                                                   network: Network) -> None:
    staff(session, "townadmin", Role.ADMIN, network.township)
    login(client, "townadmin")
    page = client.get("/admin/api-tokens").get_data(as_text=True)
    assert "城关镇政协联络组" in page and "东山县政协" not in page
    assert 'value="all"' not in page
    status, html = _issue(client, "越权", "all")
    assert status == 422 and "本单位" in html
    status, html = _issue(client, "越权", str(network.other_county.id))
    assert status == 422 and "不在您管理的范围内" in html
    status, _ = _issue(client, "镇里的系统", str(network.township.id))
    assert status == 200
    assert session.scalars(sa.select(ApiToken.name)).all() == ["镇里的系统"]


def test_only_administrators_manage_tokens(client: FlaskClient, session: Session, clerk: User) -> None:
    login(client, "carol")
    assert client.get("/admin/api-tokens").status_code == 403


def test_the_command_line_issues_lists_and_revokes(env: str,  # noqa: F811
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--admin-user", "boss", "--admin-password", "correct horse battery"]) == 0
    assert main(["token", "issue", "大屏", "--all"]) == 0
    out = capsys.readouterr().out
    raw = TOKEN.search(out)
    assert raw is not None and "全部单位" in out
    assert main(["token", "list"]) == 0
    listed = capsys.readouterr().out
    assert "大屏" in listed and raw[0] not in listed and "从未使用" in listed
    assert main(["token", "revoke", "1"]) == 0
    assert "已吊销" in capsys.readouterr().out
    assert main(["token", "revoke", "7"]) == 1
    assert main(["token", "issue", "x", "--unit", "42"]) == 1
    err = capsys.readouterr().err
    assert "#7" in err and "#42" in err
