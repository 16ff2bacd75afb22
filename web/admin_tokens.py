"""系统管理 → API 令牌: issue a read API token for a unit's subtree (shown once), see when each
was last used, revoke one. The routes hang on the admin blueprint."""

from __future__ import annotations

import logging
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from store.models import ApiToken
from store.network import units
from store.network.units import Scope
from store.outputs import apitokens
from web import edge
from web.admin import admin_only, bp
from web.i18n import _

log = logging.getLogger(__name__)
ALL_UNITS = "all"


def _scope() -> Scope:
    scope = units.unit_scope(edge.db(), edge.staff())
    if scope is None:  # admin_only lets only administrators in
        abort(403)
    return scope


@bp.route("/api-tokens", methods=["GET", "POST"])
@admin_only
def token_list() -> Any:
    """The tokens of the admin's units; POST issues one and shows it this once."""
    if request.method == "GET":
        return _page()
    session, form, scope = edge.db(), request.form, _scope()
    raw_unit = form.get("unit_id", "").strip()
    if not raw_unit:
        return _page(values=form, errors={"unit_id": "请选择令牌可以读取的单位。"}, status=422)
    unit_id = None if raw_unit == ALL_UNITS else int(raw_unit) if raw_unit.isdigit() else -1
    try:
        token, raw = apitokens.issue(session, form.get("name", ""), unit_id, edge.staff(), scope,
                                     marked=form.get("marked") == "1")
    except apitokens.TokenError as exc:
        edge.rollback()
        field = "name" if "名字" in str(exc) else "unit_id"
        return _page(values=form, errors={field: str(exc).split(" / ")[0]}, status=422)
    edge.commit()
    log.info("API token %d (%s) issued by %s", token.id, token.prefix, edge.staff().username)
    return _page(issued=(token, raw))


@bp.route("/api-tokens/<int:token_id>/revoke", methods=["POST"])
@admin_only
def token_revoke(token_id: int) -> Any:
    """Revoke a token: the next call with it is refused."""
    try:
        token = apitokens.revoke(edge.db(), token_id, edge.staff(), _scope())
    except apitokens.TokenError:
        abort(404)
    edge.commit()
    log.info("API token %d revoked by %s", token.id, edge.staff().username)
    flash(_("已吊销令牌「%(name)s」，此后用它的请求一律拒绝。", name=token.name), "success")
    return redirect(url_for("admin.token_list"))


def _page(*, values: Any = None, errors: dict[str, str] | None = None,
          issued: tuple[ApiToken, str] | None = None, status: int = 200) -> Any:
    session, scope = edge.db(), _scope()
    tokens = apitokens.listing(session, scope)
    body = render_template(
        "admin_tokens.html", tokens=tokens, names={t.id: apitokens.unit_name(session, t) for t in tokens},
        units=units.offered(session, scope), everything=scope.everything, all_units=ALL_UNITS,
        values=values or {}, errors=errors or {}, issued=issued,
        api_url=edge.settings().public_url.rstrip("/") + "/api/v1/")
    # A page with a token on it is not kept by the browser.
    return body, status, {"Cache-Control": "private, no-store"}
