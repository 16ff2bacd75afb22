"""After the decision: 批示落实 (instructions carried out) and 函送参考 (references to departments).

The office hands an instruction to a department with a deadline and sends a
report it did not adopt to a department for reference; the department's
staff answer here. Each page lists only what the user's unit may see; a row
of another unit, or one that does not exist, is a 404 alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from store import access
from store.errors import DomainError
from store.models import Role, Transfer
from store.network import units
from store.reports import lifecycle
from store.reports.lifecycle import Action
from store.review import followup, followup_steps, reference, transfers
from store.review.transfers import INSTRUCTION, REFERENCE
from web import edge
from web.i18n import _
from web.reports import render_detail, visible_report

bp = Blueprint("followup", __name__)

office_only = edge.roles_required(*edge.OFFICE)
answerers = edge.roles_required(Role.DEPARTMENT, Role.ADMIN)


@bp.route("/instructions")
@edge.roles_required(Role.DEPARTMENT, *edge.OFFICE)
def board() -> Any:
    """批示落实: open instructions per leader and per acting unit, overdue ones marked."""
    return _board_page({}, {})


def _board_page(errors: Mapping[int, str], values: Mapping[str, str], status: int = 200) -> Any:
    args = request.args
    raw_unit = args.get("unit", "")
    unit_id = int(raw_unit) if raw_unit.isdigit() else None
    leader = args.get("leader") or None
    include_done = args.get("all") is not None
    session, user = edge.db(), edge.staff()
    shown = followup.board(session, user, leader=leader, unit_id=unit_id,
                           include_done=include_done)
    office = user.role in access.OFFICE_ROLES
    today = followup.today()
    return render_template(
        "instructions.html", b=shown, leader=leader, unit_id=unit_id, include_done=include_done,
        steps=followup_steps.history(session, [f.row for f in shown.items if f.row is not None]),
        step_names=followup_steps.STEP_NAMES,
        departments=units.departments(session) if office else [], office=office,
        errors=errors, values=values, today=today,
        max_day=today + timedelta(days=followup.MAX_DAYS), text_limit=followup.TEXT_LIMIT), status


@bp.route("/instructions/<int:instruction_id>/assign", methods=["POST"])
@office_only
def assign(instruction_id: int) -> Any:
    """交办: which department carries the instruction out, and by when."""
    session, user = edge.db(), edge.staff()
    instruction = followup.visible_instruction(session, user, instruction_id)
    if instruction is None:
        abort(404)
    form = request.form
    raw = form.get("department_id", "")
    try:
        due = date.fromisoformat(form.get("due", ""))
    except ValueError:
        due = None
    problem = None
    if not raw.isdigit():
        problem = "请选择承办部门。"
    elif due is None:
        problem = "请填写办理期限（日期）。"
    else:
        try:
            followup.assign(session, instruction, user, department_id=int(raw), due=due,
                            note=form.get("note"))
        except DomainError as exc:
            problem = _sentence(exc)
    if problem is not None:
        edge.rollback()
        return _board_page({instruction_id: problem}, form, 422)
    edge.commit()
    flash("已交办，承办部门已收到通知。", "success")
    return redirect(url_for("followup.board", _anchor=f"instruction-{instruction_id}"))


@bp.route("/instructions/work/<int:row_id>/reassign", methods=["POST"])
@office_only
def reassign(row_id: int) -> Any:
    """改派: another department carries the instruction out, perhaps by a new date."""
    session, user = edge.db(), edge.staff()
    row = session.get(Transfer, row_id)
    if row is None or row.kind != INSTRUCTION or row.instruction_id is None \
            or followup.visible_instruction(session, user, row.instruction_id) is None:
        abort(404)
    form = request.form
    raw, raw_due = form.get("department_id", ""), form.get("due", "").strip()
    due: date | None = None
    problem = None
    if raw_due:
        try:
            due = date.fromisoformat(raw_due)
        except ValueError:
            problem = "办理期限应为日期，例如 2026-12-31。"
    if not raw.isdigit():
        problem = "请选择改由哪个部门落实。"
    if problem is None:
        try:
            followup_steps.reassign(session, row, user, department_id=int(raw), due=due,
                                    note=form.get("note"))
        except DomainError as exc:
            problem = _sentence(exc)
    if problem is not None:
        edge.rollback()
        return _board_page({row.instruction_id: problem}, {**form, "reassign": "1"}, 422)
    edge.commit()
    flash(_("已改派%(name)s落实，新旧承办部门都已收到通知。", name=row.department.name), "success")
    return redirect(url_for("followup.board", _anchor=f"instruction-{row.instruction_id}"))


@bp.route("/instructions/work/<int:row_id>/report", methods=["POST"])
@answerers
def report_back(row_id: int) -> Any:
    """The acting department reports how the instruction was carried out."""
    session, user = edge.db(), edge.staff()
    row = transfers.answerable(session, user, row_id, INSTRUCTION)
    if row is None or row.instruction_id is None:
        abort(404)
    try:
        followup.report_back(session, row, user, request.form.get("text", ""))
    except DomainError as exc:
        edge.rollback()
        return _board_page({row.instruction_id: _sentence(exc)}, request.form, 422)
    edge.commit()
    flash("落实情况已报送：政协办公室会报领导，反映人会收到办结告知。", "success")
    return redirect(url_for("followup.board"))


@bp.route("/references")
@edge.roles_required(Role.DEPARTMENT, *edge.OFFICE)
def references() -> Any:
    """函送参考: reports sent to a department for reference, and their replies."""
    return _references_page({}, {})


def _references_page(errors: Mapping[int, str], values: Mapping[str, str],
                     status: int = 200) -> Any:
    open_only = request.args.get("all") is None
    rows = reference.for_user(edge.db(), edge.staff(), open_only=open_only)
    return render_template("references.html", rows=rows, open_only=open_only, errors=errors,
                           values=values, text_limit=reference.TEXT_LIMIT), status


@bp.route("/reports/<int:report_id>/refer", methods=["POST"])
@office_only
def refer(report_id: int) -> Any:
    """函送参考 from the report page: a report not adopted, to a department."""
    report = visible_report(report_id)
    form = request.form
    raw_version, raw = form.get("version", ""), form.get("department_id", "")
    if not raw_version.isdigit():
        abort(400)
    if not raw.isdigit():
        return _refer_again(report_id, {"department_id": "请选择函送的部门。"})
    session = edge.db()
    try:
        row = reference.send(session, report, edge.staff(), department_id=int(raw),
                             note=form.get("note"), expected_version=int(raw_version))
    except DomainError as exc:
        return _refer_again(report_id, {"refer": _sentence(exc)})
    name = row.department.name
    edge.commit()
    flash(_("已函送%(name)s参考，反映人会收到告知。", name=name), "success")
    return redirect(url_for("reports.detail", report_id=report_id, _anchor="references"))


def _refer_again(report_id: int, errors: dict[str, str]) -> Any:
    """The 函送参考 form again, as typed, with the reason; or the reason alone if the form is gone."""
    edge.rollback()
    report = visible_report(report_id)
    if Action.REFER not in lifecycle.allowed_actions(edge.db(), report, edge.staff()):
        flash(" ".join(errors.values()), "error")
        return redirect(url_for("reports.detail", report_id=report_id))
    return render_detail(report, chosen="refer", values=request.form, errors=errors, status=422)


@bp.route("/references/<int:row_id>/reply", methods=["POST"])
@answerers
def reply(row_id: int) -> Any:
    """The department's answer to a reference; it is passed on to the reporter."""
    session, user = edge.db(), edge.staff()
    row = transfers.answerable(session, user, row_id, REFERENCE)
    if row is None:
        abort(404)
    try:
        reference.reply(session, row, user, request.form.get("text", ""))
    except DomainError as exc:
        edge.rollback()
        return _references_page({row_id: _sentence(exc)}, request.form, 422)
    edge.commit()
    flash("回复已提交，并已排队告知反映人。", "success")
    return redirect(url_for("followup.references"))


def _sentence(exc: DomainError) -> str:
    # Console readers read Chinese; the English half is for the command line.
    return str(exc).split(" / ")[0]
