"""Members and special informants: staff issue one-time binding codes and see who is bound."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for

from store import access
from store.models import Role, utcnow
from store.network import members, units
from web import edge
from web.i18n import _

bp = Blueprint("members", __name__)

ISSUERS = (Role.ADMIN, Role.CLERK)
ROLE_NAMES = {"member": "政协委员", "informant": "特邀信息员"}
TTL_DAYS = (1, 3, 7, 14, 30)


@bp.route("/members")
@edge.roles_required(*ISSUERS)
def index() -> Any:
    session, user = edge.db(), edge.staff()
    bound = members.members(session, user)
    # The names are identity: read through the logged reader, and the look kept.
    names = access.reveal_bound_names(session, user, bound, "bound_members")
    edge.commit()
    resp = make_response(render_template(
        "members.html", codes=members.recent_codes(session), bound=bound, names=names,
        units=units.tree(session), role_names=ROLE_NAMES, ttl_days=TTL_DAYS, now=utcnow()))
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.route("/members/codes", methods=["POST"])
@edge.roles_required(*ISSUERS)
def issue() -> Any:
    """Issue a code; it is shown on the page for staff to pass on (it works once)."""
    form = request.form
    raw_unit = form.get("unit_id") or ""
    days = int(form["days"]) if (form.get("days") or "").isdigit() else 7
    try:
        if days not in TTL_DAYS:
            raise ValueError("days")
        code = members.issue_code(
            edge.db(), name=form.get("name", ""), role=form.get("role", ""),
            unit_id=int(raw_unit) if raw_unit.isdigit() else None,
            created_by_id=edge.staff().id, ttl=timedelta(days=days))
    except ValueError as exc:
        edge.rollback()
        flash({"name": "请填写姓名（不超过 100 字）。", "role": "请选择身份。",
               "days": "请选择有效期。"}.get(str(exc), "填写有误。"), "error")
        return redirect(url_for("members.index"))
    edge.commit()
    flash(_("已为「%(name)s」生成绑定码 %(code)s，%(days)s 天内有效，只能使用一次。"
            "请告知本人在 Telegram 机器人或网页反映页面发送：/bind %(code)s",
            name=code.name, code=code.code, days=days), "success")
    return redirect(url_for("members.index"))
