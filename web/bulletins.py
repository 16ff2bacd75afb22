"""通报 in the console: the bulletins built so far, their files, a build for any period, the day.

A bulletin is the whole network's (it is circulated to every unit), so the
office's roles read it whatever their unit; building one may also send each
liaison and member their figures (once a period). The day of the month the
scheduler builds last month's is the network administrators'.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from store.models import Bulletin, Role
from store.outputs import adoption, bulletin, period
from store.outputs.bulletin import BulletinError
from store.outputs.period import PeriodError
from web import edge
from web.i18n import _, said

bp = Blueprint("bulletins", __name__, url_prefix="/bulletins")
office_only = edge.roles_required(*edge.OFFICE)
MIME = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


@bp.route("")
@office_only
def index() -> Any:
    """The bulletins, newest period first; a build form and (admins) the monthly day."""
    return _page()


def _page(*, errors: dict[str, str] | None = None, values: Any = None, status: int = 200) -> Any:
    session = edge.db()
    return render_template(
        "bulletins.html", bulletins=bulletin.listing(session), day=bulletin.schedule(session),
        last_month=period.last_month(adoption.today()), errors=errors or {}, values=values,
        last_day=bulletin.LAST_DAY), status


@bp.route("/build", methods=["POST"])
@office_only
def build() -> Any:
    """生成通报: a period's bulletin now (again if asked), and its messages if asked."""
    form = request.form
    try:
        chosen = period.named(form.get("period", ""))
    except PeriodError as exc:
        return _page(errors={"period": str(exc).split(" / ")[0]}, values=form, status=422)
    send = form.get("send") == "1"
    done = bulletin.publish(edge.db(), chosen, user=edge.staff(), send=send,
                            rebuild=form.get("rebuild") == "1")
    edge.commit()
    if done.built:
        flash(_("已生成%(period)s通报。", period=said(chosen.label))
              + (_("已向 %(count)s 人发送本人数据。", count=done.messages) if send else ""),
              "success")
    else:
        flash(_("%(period)s通报此前已生成；如需按最新数据重新生成，请勾选“重新生成”。",
                period=said(chosen.label))
              + (_("已向 %(count)s 人发送本人数据。", count=done.messages) if done.messages else ""),
              "info")
    return redirect(url_for("bulletins.index"))


@bp.route("/schedule", methods=["POST"])
@edge.roles_required(Role.ADMIN)
def schedule() -> Any:
    """每月几日自动生成上月通报 (empty: not at all)."""
    if edge.staff().unit_id is not None:
        edge.refuse("自动生成通报的日期由全网管理员设置。")
    raw = request.form.get("day", "").strip()
    try:
        bulletin.set_schedule(edge.db(), int(raw) if raw else None)
    except (ValueError, BulletinError):
        edge.rollback()
        return _page(errors={"day": f"请填写 1～{bulletin.LAST_DAY} 的整数，或留空不自动生成。"},
                     status=422)
    edge.commit()
    flash(_("每月 %(day)s 日自动生成上月通报，并发送给各单位联络员和委员。", day=raw) if raw
          else "已关闭自动生成通报。", "success")
    return redirect(url_for("bulletins.index"))


@bp.route("/<int:bulletin_id>.<fmt>")
@office_only
def download(bulletin_id: int, fmt: str) -> Any:
    if fmt not in MIME:
        abort(404)
    row = edge.db().get(Bulletin, bulletin_id)
    if row is None:
        abort(404)
    resp = Response(row.xlsx if fmt == "xlsx" else row.docx, mimetype=MIME[fmt])
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"bulletin-{row.period}.{fmt}\"; "
        f"filename*=UTF-8''{quote(f'通报-{row.period}.{fmt}')}")
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
