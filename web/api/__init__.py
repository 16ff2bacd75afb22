"""The read-only JSON API under /api/v1/, for other systems, one bearer token per system.

Every call shows a token (`Authorization: Bearer mny_...`); an administrator
issues it for a unit's subtree (系统管理 → API 令牌, or `minyi token issue`).
No token, an unknown one or a revoked one: 401. A token asking for a unit
outside its subtree: 403. Every call, answered or refused, is a row in
`api_calls` (`store.outputs.apitokens.log_call`). What each call answers is
built in `store.outputs.readapi`; the views only read the request.

One module per resource, each adding its routes to `bp` (listed in
`RESOURCES`): `reports`, `network` (units and points), `stats`, `journal`
(published 《社情民意》 issues and their items); `tests/test_api.py` checks
every answer against `openapi.json`.
The API is described by `openapi.json` beside this file (OpenAPI 3.1).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from store.errors import DomainError
from store.outputs import apitokens, readapi
from web import edge

bp = Blueprint("api", __name__, url_prefix="/api/v1")
STATUS = {readapi.BadRequest: 400, readapi.Refused: 403, readapi.NotFound: 404}


def error(status: int, message: str) -> Response:
    resp = jsonify(ok=False, error=message)
    resp.status_code = status
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="minyi"'
    return resp


@bp.before_request
def authenticate() -> Response | None:
    """Find the call's token; refuse the call (401) without a live one."""
    header = request.headers.get("Authorization", "")
    raw = header[7:].strip() if header[:7].lower() == "bearer " else ""
    caller, g.api_token_id = apitokens.authenticate(edge.db(), raw)
    if caller is None:
        return error(401, "a valid API token is needed: Authorization: Bearer <token> "
                          "/ 需要有效的 API 令牌")
    g.api_caller = caller
    return None


@bp.after_request
def log_call(resp: Response) -> Response:
    """Every call leaves a row, whatever its answer."""
    if resp.status_code >= 500:
        edge.rollback()
    apitokens.log_call(edge.db(), g.get("api_token_id"), request.method, request.path,
                       request.query_string.decode("utf-8", "replace"), resp.status_code)
    edge.commit()
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.errorhandler(DomainError)
def refused(exc: DomainError) -> Response:
    return error(STATUS.get(type(exc), 400), str(exc))


@bp.route("/<path:rest>")
def unknown(rest: str) -> Response:
    """A path the API does not have: 404 in JSON (and logged, like every call)."""
    return error(404, f"no such API path: /api/v1/{rest[:100]}")


def caller() -> apitokens.Caller:
    """The calling token, as `authenticate` found it."""
    return g.api_caller  # type: ignore[no-any-return]


def answer(body: dict[str, Any]) -> Response:
    return jsonify(body)


from web.api import journal, network, reports, stats  # noqa: E402  (they add their routes to bp)

RESOURCES = (reports, network, stats, journal)
