"""The read API's bad input: every wrong parameter is a 400 in JSON (never a 500), an empty
period an empty answer, a range that ends before it starts a 400; and a fuzz of the query
parameters (hypothesis) that finds no 500 and no answer that is not JSON.

A token for another unit (403, logged), a revoked token and an unknown one (401) are in
tests/test_api.py; here they are fuzzed with the rest.
"""

from __future__ import annotations

import string
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from store.models import ApiCall
from tests.conftest import Network
from tests.test_api import SPEC, World, call, world  # noqa: F401  (the fixture)

ENDPOINTS = ("/reports", "/units", "/points", "/stats")
# Every parameter the file names, and a few it does not.
PARAMETERS = sorted({p["name"] for item in SPEC["paths"].values()
                     for p in item["get"].get("parameters", [])} | {"tab", "sort", "x"})


def get(client: FlaskClient, token: str | None, url: str) -> tuple[int, Any]:
    """GET /api/v1`url`: the status and the JSON body (every answer is JSON)."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    resp = client.get("/api/v1" + url, headers=headers)
    assert resp.mimetype == "application/json", (url, resp.status_code, resp.get_data()[:200])
    body = resp.get_json()
    if resp.status_code != 200:
        assert body["ok"] is False and isinstance(body["error"], str) and body["error"], url
    return resp.status_code, body


@pytest.mark.parametrize(("url", "template"), [
    ("/reports?page=abc", "/reports"),
    ("/reports?page=-1", "/reports"),
    ("/reports?page=²", "/reports"),  # a digit to str.isdigit, not to int()
    ("/reports?per_page=" + "9" * 40, "/reports"),
    ("/reports?point=-3", "/reports"),
    ("/reports?unit=" + "1" * 30, "/reports"),
    ("/reports?topic=1.5", "/reports"),
    ("/reports?status=nonsense", "/reports"),
    ("/reports?adopted=galaxy", "/reports"),
    ("/reports?from=2026-02-30", "/reports"),
    ("/reports?from=0001-01-01", "/reports"),  # before the calendar the times can be kept in
    ("/reports?to=9999-12-31", "/reports"),
    ("/reports?from=2026-05-02&to=2026-05-01", "/reports"),
    ("/units?per_page=abc", "/units"),
    ("/units?page=١", "/units"),  # an Arabic-Indic one
    ("/points?unit=abc", "/points"),
    ("/points?unit=" + "7" * 25, "/points"),
    ("/stats?from=2026-5-1", "/stats"),
    ("/stats?to=9999-12-31", "/stats"),
    ("/stats?from=0001-01-01", "/stats"),
    ("/stats?from=2026-05-02&to=2026-05-01", "/stats"),
])
def test_it_answers_a_parameter_it_cannot_read_with_400_in_json(
        client: FlaskClient, world: World, url: str, template: str) -> None:  # noqa: F811
    body = call(client, world.all_token, url, template, 400)
    assert body["ok"] is False and body["error"]


def test_a_range_that_ends_before_it_starts_says_so(client: FlaskClient, world: World) -> None:  # noqa: F811
    for url in ("/reports?from=2026-05-02&to=2026-05-01", "/stats?from=2026-05-02&to=2026-05-01"):
        status, body = get(client, world.all_token, url)
        assert status == 400 and "ends before it starts" in body["error"], url


def test_an_id_no_report_can_have_is_not_found(client: FlaskClient, world: World) -> None:  # noqa: F811
    for report_id in (0, 2**31, 2**63, 10**30):
        body = call(client, world.all_token, f"/reports/{report_id}", "/reports/{report_id}", 404)
        assert str(report_id) in body["error"]


def test_an_empty_period_is_an_empty_answer(client: FlaskClient, world: World) -> None:  # noqa: F811
    page = call(client, world.all_token, "/reports?from=2001-01-01&to=2001-01-31", "/reports", 200)
    assert page["items"] == [] and page["total"] == 0 and page["pages"] == 1
    one_day = call(client, world.all_token, "/stats?from=2001-01-01&to=2001-01-01", "/stats", 200)
    assert one_day["total"] == 0 and one_day["adopted"] == 0 and one_day["per_unit"] == []
    # A page past the last is empty too, not an error.
    assert call(client, world.all_token, "/reports?page=50", "/reports", 200)["items"] == []


def test_every_refusal_is_logged_with_what_was_asked(client: FlaskClient, session: Session,
                                                    world: World, network: Network) -> None:  # noqa: F811
    get(client, world.township_token, f"/reports?unit={network.other_county.id}")
    get(client, world.township_token, "/stats?from=yesterday")
    get(client, "mny_" + "x" * 43, "/units")
    rows = session.execute(sa.select(ApiCall.path, ApiCall.query, ApiCall.status)
                           .order_by(ApiCall.id)).all()
    assert rows[-3:] == [("/api/v1/reports", f"unit={network.other_county.id}", 403),
                         ("/api/v1/stats", "from=yesterday", 400),
                         ("/api/v1/units", "", 401)]


# What a fuzzed parameter may hold: numbers of every size and sign, dates good and bad,
# other digits, and any text at all.
_values = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.dates().map(str),
    st.sampled_from(["", " ", "0", "1", "²", "١٢", "１２", "2026-02-30", "20260101", "1e3",
                     "true", "on", "city", "adopted", "submitted,adopted", "NaN", "%", "'", "\x00"]),
    st.text(max_size=30),
)
_queries = st.lists(st.tuples(st.sampled_from(PARAMETERS), _values), max_size=6)
_tokens = st.sampled_from(["all", "township", "none", "unknown", "garbled"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=st.sampled_from(ENDPOINTS + ("/reports/{id}",)), query=_queries, who=_tokens,
       report_id=st.integers(-5, 2**64))
def test_fuzzed_parameters_never_get_a_500_and_always_json(
        client: FlaskClient, world: World, endpoint: str,  # noqa: F811
        query: list[tuple[str, str]], who: str, report_id: int) -> None:
    token = {"all": world.all_token, "township": world.township_token, "none": None,
             "unknown": "mny_" + "A" * 43, "garbled": "".join(string.printable[:60])}[who]
    url = endpoint.replace("{id}", str(report_id)) + "?" + urlencode(query)
    status, body = get(client, token, url)
    assert status in (200, 400, 403, 404) if token in (world.all_token, world.township_token) \
        else status == 401, (url, status, body)
    if status == 200:
        assert isinstance(body, dict) and body


@pytest.mark.parametrize("q", ["\x00", "电梯\x00", '"', '"电梯', "*", "OR", "NEAR(", "a:b", "-- ;",
                               "'); DROP TABLE reports; --", "(((", "^", "电梯 -停车", "　"])
def test_search_words_of_any_shape_are_read_not_run(client: FlaskClient, world: World, q: str) -> None:  # noqa: F811
    status, body = get(client, world.all_token, "/reports?" + urlencode({"q": q}))
    assert status == 200 and body["total"] in (0, 1, 2, 3), (q, body)
