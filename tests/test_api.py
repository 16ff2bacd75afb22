"""The read API (/api/v1/): tokens scoped to a unit's subtree, every call logged, answers as
web/api/openapi.json describes them (each real answer is validated against the file)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec
from sqlalchemy.orm import Session

from store.models import (
    AdoptionLevel,
    ApiCall,
    ApiToken,
    CollectionPoint,
    JournalIssue,
    Report,
    Reporter,
    User,
)
from store.network import units
from store.outputs import apitokens, dashboard, period
from store.outputs.journal import issues, publishing, series
from tests.conftest import Network
from tests.domain_support import make_report
from tests.review_support import adopt

SPEC_PATH = Path(__file__).resolve().parent.parent / "web" / "api" / "openapi.json"
SPEC = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
PHONE = "13912345678"
NAME = "王秘密"


def _resolved(node: Any) -> Any:
    """A schema with every `$ref` into components replaced by what it names."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _resolved(SPEC["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]])
        return {k: _resolved(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolved(v) for v in node]
    return node


def _schema(template: str, status: int) -> dict[str, Any]:
    responses = SPEC["paths"][template]["get"]["responses"]
    assert str(status) in responses, f"{template} answered {status}, which the file does not describe"
    return _resolved(responses[str(status)]["content"]["application/json"]["schema"])  # type: ignore[no-any-return]


checked: set[tuple[str, int]] = set()


def call(client: FlaskClient, token: str | None, url: str, template: str, status: int) -> Any:
    """GET `url` with `token`, check the status, and the body against the file's schema."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    resp = client.get("/api/v1" + url, headers=headers)
    assert resp.status_code == status, (url, resp.status_code, resp.get_data(as_text=True)[:300])
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    OAS31Validator(_schema(template, status)).validate(body)
    checked.add((template, status))
    # Never who filed a report, nor how to reach them.
    text = resp.get_data(as_text=True)
    assert PHONE not in json.dumps(body, ensure_ascii=False) and PHONE not in text
    assert NAME not in json.dumps(body, ensure_ascii=False)
    return body


@dataclass
class World:
    here: Report  # in the township, adopted
    county: Report  # in the county itself
    there: Report  # in the other county
    here_point: CollectionPoint
    there_point: CollectionPoint
    all_token: str
    township_token: str
    county_token: str


@pytest.fixture
def world(session: Session, network: Network, admin: User) -> World:
    here_point = CollectionPoint(name="城关镇便民点", unit_id=network.township.id, code="CG-1")
    county_point = CollectionPoint(name="县政协工作室", unit_id=network.county.id)
    there_point = CollectionPoint(name="东山乡便民点", unit_id=network.other_county.id)
    session.add_all([here_point, county_point, there_point])
    session.flush()
    who = Reporter(channel="telegram", external_id="tg-9", chat_id="tg-9", display_name=NAME,
                   contact=PHONE, member_name=NAME)
    session.add(who)
    session.flush()
    here = make_report(session, who=who, point=here_point, title="城关加装电梯", urgent=True)
    here.contact = PHONE
    county = make_report(session, point=county_point, title="县城停车难")
    there = make_report(session, point=there_point, title="东山道路塌陷")
    adopt(session, here, admin, AdoptionLevel.CITY)
    session.commit()
    _, everything = apitokens.issue(session, "全网大屏", None, admin, units.EVERYTHING)
    _, township = apitokens.issue(session, "城关镇系统", network.township.id, admin, units.EVERYTHING)
    _, county_t = apitokens.issue(session, "城关县系统", network.county.id, admin, units.EVERYTHING)
    session.commit()
    return World(here, county, there, here_point, there_point, everything, township, county_t)


def test_the_openapi_file_is_valid_and_names_every_api_route(app: Flask) -> None:
    validate_spec(SPEC)
    routes = {re.sub(r"<int:(\w+)>", r"{\1}", r.rule.removeprefix("/api/v1"))
              for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")
              and r.endpoint != "api.unknown"}
    assert routes == set(SPEC["paths"])


@dataclass
class Journal:
    both: JournalIssue  # carries the township's report and the other county's
    there_only: JournalIssue
    draft: JournalIssue


def _issues(session: Session, world: World, admin: User) -> Journal:
    adopt(session, world.there, admin)
    journal = series.find(session, "社情民意")
    both = issues.compose(session, journal, [world.here, world.there], admin)
    issues.edit_item(session, both, both.items[0].id, admin, title="城关加装电梯（编辑稿）",
                     body=world.here.situation, note="")
    special = series.find(session, "信息专报")
    there_only = issues.compose(session, special, [world.there], admin)
    for issue in (both, there_only):
        publishing.sign_off(session, issue, admin)
        publishing.publish(session, issue, admin)
    draft = issues.compose(session, special, [world.here], admin)
    session.commit()
    return Journal(both, there_only, draft)


def test_every_answer_matches_the_openapi_file(client: FlaskClient, session: Session, world: World,
                                              network: Network, admin: User) -> None:
    checked.clear()
    t = world.all_token
    page = call(client, t, "/reports", "/reports", 200)
    assert page["total"] == 3 and [r["title"] for r in page["items"]][0] == "东山道路塌陷"
    page = call(client, t, "/reports?q=电梯&status=adopted&per_page=1", "/reports", 200)
    assert [r["tracking_no"] for r in page["items"]] == [world.here.tracking_no]
    item = page["items"][0]
    assert item["adoption_level"] == "city" and item["urgency"] == "urgent"
    assert item["point_name"] == "城关镇便民点" and item["category_label"] != ""
    assert page["pages"] == 1 and page["per_page"] == 1
    detail = call(client, t, f"/reports/{world.here.id}", "/reports/{report_id}", 200)
    assert detail["situation"] == world.here.situation and "contact" not in detail
    call(client, t, "/reports/999999", "/reports/{report_id}", 404)
    call(client, t, "/reports?per_page=1000", "/reports", 400)
    call(client, t, "/reports?mine=1", "/reports", 400)
    call(client, t, "/reports?from=2026-99-01", "/reports", 400)

    units_page = call(client, t, "/units", "/units", 200)
    assert units_page["total"] == 5
    call(client, t, "/units?page=0", "/units", 400)
    points_page = call(client, t, "/points?per_page=2", "/points", 200)
    assert points_page["total"] == 3 and points_page["pages"] == 2
    call(client, t, "/points?per_page=0", "/points", 400)
    assert call(client, t, f"/points?unit={network.township.id}", "/points", 200)["items"][0]["code"] == "CG-1"

    stats = call(client, t, "/stats", "/stats", 200)
    assert stats["total"] == 3 and stats["adopted_by_level"]["city"] == 1
    assert {r["name"] for r in stats["per_unit"]} >= {"城关镇政协联络组", "东山县政协"}
    empty = call(client, t, "/stats?from=2001-01-01&to=2001-12-31", "/stats", 200)
    assert empty["total"] == 0 and empty["median_hours_to_decision"] is None
    call(client, t, "/stats?from=2026-05-02&to=2026-05-01", "/stats", 400)
    call(client, t, "/stats?from=yesterday", "/stats", 400)
    journal = _issues(session, world, admin)
    page = call(client, t, "/journal/issues", "/journal/issues", 200)
    assert {i["id"] for i in page["items"]} == {journal.both.id, journal.there_only.id}
    assert {(i["series"], i["total_number"]) for i in page["items"]} == {("社情民意", 1), ("信息专报", 1)}
    assert all(i["label"] == f"{i['year']}年第{i['number']}期" for i in page["items"])
    detail = call(client, t, f"/journal/issues/{journal.both.id}", "/journal/issues/{issue_id}", 200)
    assert [x["title"] for x in detail["items"]] == ["城关加装电梯（编辑稿）", "东山道路塌陷"]
    assert detail["items"][0]["position"] == 1 and detail["series"] == "社情民意"
    call(client, t, f"/journal/issues/{journal.draft.id}", "/journal/issues/{issue_id}", 404)
    call(client, t, "/journal/issues/999999", "/journal/issues/{issue_id}", 404)
    call(client, t, "/journal/issues?year=1999", "/journal/issues", 400)
    for template in SPEC["paths"]:
        url = template.replace("{report_id}", str(world.here.id)).replace(
            "{issue_id}", str(journal.both.id))
        call(client, None, url, template, 401)

    township = world.township_token
    call(client, township, f"/reports?unit={network.other_county.id}", "/reports", 403)
    call(client, township, f"/reports/{world.there.id}", "/reports/{report_id}", 403)
    call(client, township, f"/points?unit={network.other_county.id}", "/points", 403)
    # The township reads the issue carrying its report, and only that item; not the other one.
    page = call(client, township, "/journal/issues", "/journal/issues", 200)
    assert [(i["id"], i["items_total"], i["items_visible"]) for i in page["items"]] == [
        (journal.both.id, 2, 1)]
    detail = call(client, township, f"/journal/issues/{journal.both.id}",
                  "/journal/issues/{issue_id}", 200)
    assert [x["tracking_no"] for x in detail["items"]] == [world.here.tracking_no]
    assert "东山道路塌陷" not in json.dumps(detail, ensure_ascii=False)
    body = call(client, township, f"/journal/issues/{journal.there_only.id}",
                "/journal/issues/{issue_id}", 403)
    assert "东山" not in json.dumps(body, ensure_ascii=False)
    described = {(p, int(s)) for p, item in SPEC["paths"].items()
                 for s in item["get"]["responses"]}
    assert described == checked, "every answer the file describes was met and checked"


def test_a_token_reads_only_its_units_subtree(client: FlaskClient, session: Session, world: World,
                                              network: Network) -> None:
    t = world.township_token
    page = call(client, t, "/reports", "/reports", 200)
    assert [r["title"] for r in page["items"]] == ["城关加装电梯"]
    # The county's token sees its township too, never the other county.
    page = call(client, world.county_token, "/reports", "/reports", 200)
    assert {r["title"] for r in page["items"]} == {"城关加装电梯", "县城停车难"}
    units_page = call(client, t, "/units", "/units", 200)
    assert [u["name"] for u in units_page["items"]] == ["城关镇政协联络组"]
    assert [p["name"] for p in call(client, t, "/points", "/points", 200)["items"]] == ["城关镇便民点"]
    stats = call(client, t, "/stats", "/stats", 200)
    assert stats["total"] == 1
    for url, template in ((f"/reports?unit={network.other_county.id}", "/reports"),
                          (f"/reports?point={world.there_point.id}", "/reports"),
                          (f"/reports/{world.there.id}", "/reports/{report_id}"),
                          (f"/points?unit={network.county.id}", "/points")):
        body = call(client, t, url, template, 403)
        assert "东山道路塌陷" not in json.dumps(body, ensure_ascii=False)
    token_id = session.scalar(sa.select(ApiToken.id).where(ApiToken.name == "城关镇系统"))
    logged = session.execute(sa.select(ApiCall.path, ApiCall.query, ApiCall.status)
                             .where(ApiCall.token_id == token_id).order_by(ApiCall.id)).all()
    assert [s for _, _, s in logged] == [200, 200, 200, 200, 403, 403, 403, 403]
    assert logged[4] == ("/api/v1/reports", f"unit={network.other_county.id}", 403)


def test_revoked_and_unknown_tokens_are_refused_and_logged(client: FlaskClient, session: Session,
                                                           world: World, admin: User) -> None:
    token = session.scalar(sa.select(ApiToken).where(ApiToken.name == "城关镇系统"))
    assert token is not None and token.last_used_at is None
    # Only a hash is kept.
    assert token.token_hash == hashlib.sha256(world.township_token.encode()).hexdigest()
    assert world.township_token not in json.dumps([token.token_hash, token.prefix])
    call(client, world.township_token, "/units", "/units", 200)
    session.rollback()  # end the test's read, to see what the call wrote
    assert token.last_used_at is not None
    apitokens.revoke(session, token.id, admin, units.EVERYTHING)
    session.commit()
    call(client, world.township_token, "/units", "/units", 401)
    call(client, "mny_not-a-real-token", "/reports", "/reports", 401)
    resp = client.get("/api/v1/reports", headers={"Authorization": "Basic YWxpY2U6eA=="})
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    # A console login is no token.
    assert client.get("/api/v1/nothing-here").status_code == 401
    unknown = client.get("/api/v1/nothing-here", headers={"Authorization": f"Bearer {world.all_token}"})
    assert unknown.status_code == 404 and unknown.get_json()["ok"] is False
    rows = session.execute(sa.select(ApiCall.token_id, ApiCall.path, ApiCall.status)
                           .order_by(ApiCall.id)).all()
    assert rows[-5:-2] == [(token.id, "/api/v1/units", 401), (None, "/api/v1/reports", 401),
                           (None, "/api/v1/reports", 401)]
    assert rows[-1][2] == 404


def test_the_api_answers_only_reads(client: FlaskClient, world: World) -> None:
    headers = {"Authorization": f"Bearer {world.all_token}"}
    for method in ("post", "put", "delete"):
        resp = getattr(client, method)("/api/v1/reports", headers=headers)
        assert resp.status_code in (400, 405), method
    session_count = client.get("/api/v1/reports", headers=headers).get_json()["total"]
    assert session_count == 3


def test_it_counts_adoptions_at_each_level_or_above_as_the_dashboard_does(
        client: FlaskClient, session: Session, world: World, admin: User) -> None:
    # `here` was adopted by the city: it counts under county and city, as on the dashboard.
    stats = call(client, world.all_token, "/stats", "/stats", 200)
    assert stats["adopted_by_level"] == {"county": 1, "city": 1, "province": 0, "national": 0}
    assert stats["adopted"] == 1
    today = datetime.now(UTC).astimezone(timezone(timedelta(hours=8))).date()
    board = dashboard.build(session, admin, period.between(today - timedelta(days=1), today))
    assert [stats["adopted_by_level"][lv.value] for lv in dashboard.LEVELS] == board.total.adopted_at
    assert "or above" in SPEC["components"]["schemas"]["Stats"]["properties"]["adopted_by_level"][
        "description"]
