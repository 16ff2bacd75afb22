"""报送 in the console: destinations and unit chains, sending a report up, incoming items, outcomes.

The report page shows each report's adoptions and upward records (the panel
data come from `web.sidebar`); sending posts here. A record's page shows what
was sent (the version's text, the sending unit) to the sender's office and to
the receiving unit, and the outcome form to whoever may record it
(`store.outputs.upward.can_answer`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from store import access
from store.errors import DomainError
from store.models import AdoptionLevel, Report, Role, UpwardRecord, UpwardStatus
from store.network import units
from store.outputs import destinations, upward
from web import edge
from web.i18n import _, said
from web.reports import category_labels, visible_report

bp = Blueprint("upward", __name__)

office_only = edge.roles_required(*edge.OFFICE)
admin_only = edge.roles_required(Role.ADMIN)
OUTCOME_NAMES = {"adopted": "采用", "instructed": "领导批示", "declined": "不采用"}


@bp.route("/upward/destinations")
@office_only
def destination_list() -> Any:
    """报送去向: every destination, and each unit's chain (admins edit both)."""
    session, user = edge.db(), edge.staff()
    visible = access.visible_units(session, user)
    editable = units.unit_scope(session, user)
    rows = [(u, depth, destinations.chain(session, u.id), editable is not None and editable.covers(u.id))
            for u, depth in units.tree(session, include_retired=False)
            if visible is None or u.id in visible]
    return render_template("upward_destinations.html", rows=destinations.listed(session),
                           chains=rows, levels=list(AdoptionLevel),
                           unit_choices=units.tree(session, include_retired=False),
                           can_edit=user.role is Role.ADMIN)


def _int(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


@bp.route("/upward/destinations", methods=["POST"])
@admin_only
def save_destination() -> Any:
    """Add a destination, or change one (`id`)."""
    session, form = edge.db(), request.form
    unit_id = _int(form.get("unit_id"))
    try:
        dest_id = _int(form.get("id"))
        if dest_id is None:
            dest = destinations.create(session, form.get("name", ""), form.get("level"), unit_id)
            message = f"已添加报送去向「{dest.name}」。"
        else:
            found = destinations.get(session, dest_id)
            if found is None:
                abort(404)
            dest = destinations.update(session, found, name=form.get("name", ""),
                                       level=form.get("level"), unit_id=unit_id,
                                       active=form.get("active") == "1")
            message = f"已保存「{dest.name}」。"
    except DomainError as exc:
        edge.rollback()
        flash(str(exc), "error")
        return redirect(url_for("upward.destination_list"))
    edge.commit()
    flash(message, "success")
    return redirect(url_for("upward.destination_list"))


@bp.route("/upward/chains", methods=["POST"])
@admin_only
def save_chain() -> Any:
    """A unit's chain: destination ids in order, separated by commas or spaces."""
    session = edge.db()
    unit = units.get(session, _int(request.form.get("unit_id")) or 0)
    scope = units.unit_scope(session, edge.staff())
    if unit is None or scope is None or not scope.covers(unit.id):
        abort(404)
    raw = request.form.get("chain", "").replace("，", ",").replace(",", " ").split()
    ids = [int(x.lstrip("#")) for x in raw if x.lstrip("#").isdigit() and len(x) < 10]
    if len(ids) != len(raw):
        flash("请只填写报送去向的编号，用逗号分隔，例如 3,1。", "error")
        return redirect(url_for("upward.destination_list"))
    try:
        chain = destinations.set_chain(session, unit, ids)
    except DomainError as exc:
        edge.rollback()
        flash(str(exc), "error")
        return redirect(url_for("upward.destination_list"))
    edge.commit()
    names = " → ".join(d.name for d in chain) or _("（未设置：可报送全部去向）")
    flash(_("%(unit)s 的报送顺序：%(order)s", unit=unit.name, order=names), "success")
    return redirect(url_for("upward.destination_list"))


@bp.route("/reports/<int:report_id>/upward", methods=["POST"])
@office_only
def send(report_id: int) -> Any:
    """报送 the report (the chosen version) to one destination."""
    report = visible_report(report_id)
    session, user = edge.db(), edge.staff()
    dest = destinations.get(session, _int(request.form.get("destination_id")) or 0)
    back = redirect(url_for("reports.detail", report_id=report_id, _anchor="upward"))
    if dest is None or dest.id not in {d.id for d in destinations.offered(session, user)}:
        flash("请从列表中选择报送去向。", "error")
        return back
    try:
        record = upward.send(session, report, dest, user=user,
                             version_id=_int(request.form.get("version_id")))
    except upward.NotFound:
        abort(404)
    except DomainError as exc:
        edge.rollback()
        flash(str(exc), "error")
        return back
    edge.commit()
    flash(_("已报送「%(name)s」（第 %(version)s 版）。", name=dest.name, version=record.version.number),
          "success")
    return back


@bp.route("/upward/incoming")
@office_only
def incoming() -> Any:
    """What other units sent up to the user's unit: waiting ones first."""
    session, user = edge.db(), edge.staff()
    return render_template("upward_incoming.html", records=upward.incoming(session, user),
                           outcome_names=OUTCOME_NAMES)


@bp.route("/upward/records/<int:record_id>")
@office_only
def record(record_id: int) -> Any:
    """One record: what was sent, to whom, what came back; the outcome form if the user may."""
    return _render_record(_visible(record_id))


def _visible(record_id: int) -> UpwardRecord:
    found = upward.visible_record(edge.db(), edge.staff(), record_id)
    if found is None:
        abort(404)
    return found


def _render_record(rec: UpwardRecord, values: dict[str, str] | None = None,
                   error: str | None = None, status: int = 200) -> Any:
    session, user = edge.db(), edge.staff()
    report = session.get_one(Report, rec.report_id)
    return render_template(
        "upward_record.html", record=rec, report=report, categories=category_labels(),
        sender_side=access.can_see(session, user, report),
        can_answer=rec.status is UpwardStatus.SENT and upward.can_answer(session, user, rec),
        levels=list(AdoptionLevel), outcome_names=OUTCOME_NAMES, values=values or {},
        error=error), status


@bp.route("/upward/records/<int:record_id>/outcome", methods=["POST"])
@office_only
def outcome(record_id: int) -> Any:
    """Record what came back: adopted, a leader's 批示, or not adopted."""
    rec = _visible(record_id)
    session, user = edge.db(), edge.staff()
    if not upward.can_answer(session, user, rec):
        abort(403)
    form = request.form
    values = {k: form.get(k, "") for k in ("status", "level", "body", "publication", "leader",
                                            "on", "note")}
    on: date | None = None
    if values["on"].strip():
        try:
            on = date.fromisoformat(values["on"].strip())
        except ValueError:
            return _render_record(rec, values, "日期格式应为 2026-11-23。", 422)
    try:
        upward.record_outcome(session, rec, upward.Outcome(
            status=values["status"], level=values["level"] or None, body=values["body"],
            publication=values["publication"], leader=values["leader"], on=on,
            note=values["note"]), user=user)
    except upward.NotFound:
        abort(404)
    except DomainError as exc:
        edge.rollback()
        return _render_record(_visible(record_id), values, str(exc), 422)
    edge.commit()
    flash(_("已登记结果：%(outcome)s。", outcome=said(OUTCOME_NAMES[rec.status.value])), "success")
    return redirect(url_for("upward.record", record_id=record_id))
