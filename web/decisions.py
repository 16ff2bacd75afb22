"""Everything staff do to a report: decide, merge, transfer, record a 批示, note, edit.

Every form carries the version the user saw; a report that moved since, or a
move the rules refuse, comes back as the Chinese reason and nothing is written.
A field left empty or wrong comes back on the same form, the reason beside it
and everything typed kept. Declining and merging cannot be undone: the first
post only shows what will happen and what the reporter will be told; a second
post with `confirm=1` decides (see `web.decision_forms`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from store import access
from store.i18n import t
from store.models import Report, Urgency
from store.network import units
from store.outputs import adoption
from store.reports import editing, lifecycle, merging, notes
from store.reports import queries as reports_mod
from store.reports.lifecycle import Action, TransitionError
from store.review import deadlines, instructions, templates, transfers
from web import confirming, edge
from web import decision_forms as forms
from web.i18n import _, said
from web.reports import render_detail, visible_report

bp = Blueprint("decisions", __name__)

DONE = {
    Action.SIGN_OFF: "本级已通过，已报送下一级审核。",
    Action.ADOPT: "已采用，反馈已排队发送给反映人。",
    Action.DECLINE: "已标记为不采用，原因已排队反馈给反映人。",
    Action.RETURN: "已退回补充，问题已排队发送给反映人。",
    Action.RAISE: "已提高采用级别，好消息已排队告知反映人。",
    Action.CLOSE: "已办结，满意度评价已排队发送给反映人。",
}
EDIT_FIELDS = editing.FIELDS
TITLE_LIMIT, TEXT_LIMIT = 200, 10_000
office_only = edge.roles_required(*edge.OFFICE)


@bp.route("/reports/<int:report_id>/act", methods=["POST"])
@office_only
def act(report_id: int) -> Any:
    """通过本级 / 采用 / 不采用 / 退回补充 / 提高采用级别 / 办结, via the lifecycle."""
    try:
        action = Action(request.form.get("action", ""))
    except ValueError:
        abort(400)
    if action not in DONE:
        abort(400)
    version = _version()
    report = visible_report(report_id)
    session, user = edge.db(), edge.staff()
    try:
        move = lifecycle.permit(session, report, action, user=user, expected_version=version)
    except TransitionError as exc:
        return _refused(exc, report_id, version)
    choice = _choice(action)
    if request.form.get("revise"):
        return _again(report, choice, {}, 200)
    typed = _decline_reason() if action is Action.DECLINE else request.form.get("note")
    note, errors = forms.read_note(action, move, typed)
    values: dict[str, Any] = {}
    if action in (Action.ADOPT, Action.RAISE):
        level, level_errors = forms.read_level(
            request.form, "adoption_level", "请选择采用级别。",
            above=adoption.highest(session, report) if action is Action.RAISE else None)
        values["adoption_level"] = level
        errors |= level_errors
    if errors:
        return _again(report, choice, errors)
    try:
        if choice.confirm and not confirming.confirmed():
            lifecycle.check(session, report, action, user=user, note=note,
                            expected_version=version, values=values)
            return _confirm(report, choice, lifecycle.preview(session, report, action, note=note),
                            _decline_lines(report, choice, note))
        lifecycle.apply(session, report, action, user=user, note=note,
                        expected_version=version, values=values)
    except TransitionError as exc:
        return _refused(exc, report_id, version, choice)
    return _done(report_id, DONE[action])


@bp.route("/reports/<int:report_id>/merge", methods=["POST"])
@office_only
def merge(report_id: int) -> Any:
    """合并 into a main report, picked from the similar list or typed as a tracking number."""
    version = _version()
    report = visible_report(report_id)
    session, user = edge.db(), edge.staff()
    choice = forms.BY_KEY["merge"]
    try:
        lifecycle.permit(session, report, Action.MERGE, user=user, expected_version=version)
    except TransitionError as exc:
        return _refused(exc, report_id, version)
    if request.form.get("revise"):
        return _again(report, choice, {}, 200)
    into = _merge_target()
    if into is None or into.id == report.id:
        return _again(report, choice, {
            "into": "找不到要合并到的主信息，请从相似信息中选择，或填写正确的主信息编号。"})
    try:
        if not confirming.confirmed():
            merging.check(session, report, into, user, expected_version=version)
            preview = lifecycle.preview(session, report, Action.MERGE)
            return _confirm(report, choice, preview, _merge_lines(report, into))
        merging.merge(session, report, into, user, expected_version=version)
    except TransitionError as exc:
        return _refused(exc, report_id, version, choice)
    return _done(report_id, f"已合并到 {into.tracking_no}，反映人会收到该信息的后续进展。")


@bp.route("/reports/<int:report_id>/transfer", methods=["POST"])
@office_only
def transfer(report_id: int) -> Any:
    """转办 to a department with a deadline and an escalation date (working days; hours if urgent)."""
    version = _version()
    report = visible_report(report_id)
    session, user = edge.db(), edge.staff()
    choice = forms.BY_KEY["transfer"]
    try:
        lifecycle.permit(session, report, Action.TRANSFER, user=user, expected_version=version)
    except TransitionError as exc:
        return _refused(exc, report_id, version)
    raw = request.form.get("department_id", "")
    department = next((d for d in units.departments(session) if str(d.id) == raw), None)
    # An urgent report's limits are in hours, the rest in working days (`store.review.deadlines`).
    unit = "hours" if report.urgency is Urgency.URGENT else "days"
    limit = transfers.MAX_HOURS if unit == "hours" else transfers.MAX_DAYS
    words = "小时" if unit == "hours" else "个工作日"
    # A field left empty takes the office's limit.
    due, due_bad = forms.days(request.form, f"due_{unit}", limit)
    escalate, escalate_bad = forms.days(request.form, f"escalate_{unit}", limit)
    errors = {}
    if department is None:
        errors["department_id"] = "请选择承办部门。"
    if due_bad:
        errors[f"due_{unit}"] = f"办理期限请填写 1～{limit} {words}。"
    if escalate_bad:
        errors[f"escalate_{unit}"] = f"督办期限请填写 1～{limit} {words}。"
    if department is None or errors:
        return _again(report, choice, errors)
    try:
        days, hours = ((due, escalate), (None, None)) if unit == "days" else ((None, None), (due, escalate))
        row = transfers.transfer(session, report, user, department=department,
                                 due_days=days[0], escalate_days=days[1], due_hours=hours[0],
                                 escalate_hours=hours[1], note=request.form.get("note") or None,
                                 expected_version=version)
    except TransitionError as exc:
        return _refused(exc, report_id, version, choice)
    return _done(report_id, f"已转交{department.name}办理，期限 {deadlines.shown(row.due_at)}。")


@bp.route("/reports/<int:report_id>/instruct", methods=["POST"])
@office_only
def instruct(report_id: int) -> Any:
    """Record a 领导批示: who, their title, the level, the date and the words."""
    version = _version()
    report = visible_report(report_id)
    session, user = edge.db(), edge.staff()
    choice = forms.BY_KEY["instruct"]
    try:
        lifecycle.permit(session, report, Action.INSTRUCT, user=user, expected_version=version)
    except TransitionError as exc:
        return _refused(exc, report_id, version)
    form = request.form
    leader, title, text = (form.get(k, "").strip() for k in ("leader_name", "leader_title", "text"))
    level, errors = forms.read_level(form, "level", "请选择作出批示的领导属于哪一级。")
    try:
        on: date | None = date.fromisoformat(form.get("instructed_on", ""))
    except ValueError:
        on = None
    for field, value, missing in (("leader_name", leader, "请填写批示领导的姓名。"),
                                  ("leader_title", title, "请填写批示领导的职务。"),
                                  ("instructed_on", on, "请填写批示日期。"),
                                  ("text", text, "请填写批示内容。")):
        if not value:
            errors[field] = missing
    if errors or level is None or on is None:
        return _again(report, choice, errors)
    try:
        instructions.record(session, report, user, leader_name=leader, leader_title=title,
                            level=level, text=text, instructed_on=on, expected_version=version)
    except TransitionError as exc:
        return _refused(exc, report_id, version, choice)
    return _done(report_id, f"已记录{title}{leader}的批示。")


@bp.route("/reports/<int:report_id>/notes", methods=["POST"])
@office_only
def add_note(report_id: int) -> Any:
    """An internal note: office staff only, never sent to the reporter."""
    report = visible_report(report_id)
    text = (request.form.get("text") or "").strip()
    if not text:
        return _back(report_id, "请填写备注内容。")
    try:
        notes.add(edge.db(), report, edge.staff(), text)
    except (TransitionError, ValueError) as exc:
        edge.rollback()
        return _back(report_id, _reason(exc))
    return _done(report_id, "已添加内部备注。", anchor="notes")


@bp.route("/reports/<int:report_id>/edit", methods=["GET", "POST"])
@office_only
def edit(report_id: int) -> Any:
    """Edit the text (and 信息摘要); the reporter's original is kept as version 1."""
    report = visible_report(report_id)
    if "edit" not in {a.value for a in lifecycle.allowed_actions(edge.db(), report, edge.staff())}:
        abort(403)
    if request.method == "GET":
        return _edit_page(report, {f: getattr(report, f) or "" for f in EDIT_FIELDS},
                          report.version)
    version = _version()
    text = {f: request.form.get(f, "") for f in EDIT_FIELDS}
    # Say which field is too long before anything else looks at it.
    for field, value in text.items():
        limit = TITLE_LIMIT if field == "title" else TEXT_LIMIT
        if len(value) > limit:
            flash(_("「%(field)s」太长了：%(length)s 字，最多 %(limit)s 字。请删减后再保存，内容未保存。",
                    field=said(FIELD_NAMES[field]), length=len(value), limit=limit), "error")
            return _edit_page(report, text, version, 422)
    try:
        saved = editing.edit(edge.db(), report, edge.staff(), **text, expected_version=version)
    except TransitionError as exc:
        edge.rollback()
        flash(_conflict_or(exc, report_id, version), "error")
        return _edit_page(visible_report(report_id), text, version, 409)
    if saved is None:
        flash("内容没有变化，未保存新版本。", "info")
        return redirect(url_for("reports.detail", report_id=report_id))
    return _done(report_id, f"已保存为第 {saved.number} 版，原始内容保留在版本记录中。")


FIELD_NAMES = {"title": "标题", "situation": "具体情况", "analysis": "原因分析",
               "suggestion": "意见建议", "summary": "信息摘要"}


@bp.route("/reports/<int:report_id>/versions")
@login_required
def versions(report_id: int) -> Any:
    """Original and current text side by side, differences marked; then every version."""
    report = visible_report(report_id)
    history = editing.versions(edge.db(), report)
    original, current = (history[0], history[-1]) if history else (None, None)
    fields = []
    for field in EDIT_FIELDS:
        old = (getattr(original, field) or "") if original else ""
        new = getattr(report, field) or ""
        fields.append((FIELD_NAMES[field], old, new, editing.diff(old, new)))
    return render_template("versions.html", report=report, history=history, fields=fields,
                           original=original, current=current)


def _edit_page(report: Report, text: dict[str, str], version: int, status: int = 200) -> Any:
    return render_template("edit.html", report=report, text=text, version=version,
                           names=FIELD_NAMES, title_limit=TITLE_LIMIT,
                           text_limit=TEXT_LIMIT), status


def _version() -> int:
    raw = request.form.get("version", "")
    if not raw.isdigit():
        abort(400)
    return int(raw)


def _choice(action: Action) -> forms.Choice:
    """The choice whose form was posted: 不采用 comes from two (a reason, or 已在办理)."""
    posted = forms.BY_KEY.get(request.form.get("choice", ""))
    return posted if posted is not None and posted.needs is action else forms.BY_KEY[action.value]


def _decline_reason() -> str | None:
    """The typed reason, else the chosen template's words (one click for 已在政府部门处理中)."""
    typed = request.form.get("note")
    if typed and typed.strip():
        return typed
    chosen = request.form.get("template_id", "")
    if not chosen.isdigit():
        return typed
    offered = templates.active(edge.db())
    picked = next((x for x in offered if x.id == int(chosen)), None)
    return picked.text if picked else typed


def _merge_target() -> Report | None:
    """The main report picked from the similar list or typed, if the user may see it."""
    session, user = edge.db(), edge.staff()
    raw_id = request.form.get("into_id", "")
    number = (request.form.get("tracking_no") or "").strip()
    if raw_id.isdigit():
        into = session.get(Report, int(raw_id))
        return into if into is not None and access.can_see(session, user, into) else None
    return reports_mod.find(session, user, number) if number else None


def _decline_lines(report: Report, choice: forms.Choice, note: str | None) -> list[str]:
    lines = [f"信息 {report.tracking_no}《{report.title}》将标记为“不采用”。",
             "不采用是最终决定：之后不能再采用、退回或合并这条信息。"]
    if choice.key == "already_handled":
        lines.insert(1, "理由：该问题已在政府有关部门研究处理中（办公室统一的“已在办理”答复）。")
    return lines


def _merge_lines(report: Report, into: Report) -> list[str]:
    return [f"信息 {report.tracking_no}《{report.title}》将合并到主信息 "
            f"{into.tracking_no}《{into.title}》（{t(f'status.{into.status.value}')}）。",
            "合并后本信息不再单独审核、采用或不采用，此操作不能撤销。",
            "主信息以后的每一步进展（采用、转办、办理结果）都会同时通知本信息的反映人。"]


def _again(report: Report, choice: forms.Choice, errors: dict[str, str],
           status: int = 422) -> Any:
    """The chosen form again, as typed, with each problem beside its field; nothing written."""
    edge.rollback()
    return render_detail(visible_report(report.id), chosen=choice.key, values=request.form,
                         errors=errors, status=status)


def _confirm(report: Report, choice: forms.Choice, preview: lifecycle.Preview,
             lines: list[str]) -> Any:
    """What will happen and what the reporter will be told; the decision waits for `confirm=1`."""
    edge.rollback()
    return render_template(
        "decision_confirm.html", report=visible_report(report.id), choice=choice,
        preview=preview, lines=lines, fields=forms.kept(request.form.items(multi=True)),
        target=url_for(request.endpoint or "reports.detail", report_id=report.id))


def _done(report_id: int, message: str, anchor: str | None = None) -> Any:
    """Commit what the action wrote, say so, and show the report again."""
    edge.commit()
    flash(message, "success")
    return redirect(url_for("reports.detail", report_id=report_id, _anchor=anchor))


def _back(report_id: int, message: str) -> Any:
    """Nothing was written: say why on the report's page."""
    edge.rollback()
    flash(message, "error")
    return redirect(url_for("reports.detail", report_id=report_id))


def _refused(exc: TransitionError, report_id: int, version: int,
             choice: forms.Choice | None = None) -> Any:
    """The lifecycle said no: beside the field it is about, else on the report's page.

    Not this person's to do (`error.forbidden`) is no mistake on the page: 403.
    """
    _forbidden(exc)
    edge.rollback()
    message = _conflict_or(exc, report_id, version)
    field = forms.FIELD_OF.get(exc.code)
    if choice is not None and field is not None and message != t("error.conflict"):
        return _again(visible_report(report_id), choice, {field: message})
    return _back(report_id, message)


def _conflict_or(exc: TransitionError, report_id: int, version: int) -> str:
    # Whatever the rule broken, a page older than the report is the real reason.
    now = edge.db().get(Report, report_id)
    if now is not None and now.version != version:
        return t("error.conflict")
    return t(exc.code, **exc.params)


def _forbidden(exc: Exception) -> None:
    """403 when the refusal is who is asking, not what was asked (see `edge.refuse`)."""
    if isinstance(exc, TransitionError) and exc.code == "error.forbidden":
        edge.refuse(t(exc.code))
    if isinstance(exc, lifecycle.DutyConflict):  # separation of duties: who, not what
        edge.refuse(t(exc.code, **exc.params))


def _reason(exc: Exception) -> str:
    _forbidden(exc)
    if isinstance(exc, TransitionError):
        return t(exc.code, **exc.params)
    return str(exc).split(" / ")[0] or "操作未完成。"
