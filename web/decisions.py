"""Everything staff do to a report: decide, merge, transfer, record a 批示, note, edit.

Every form carries the version the user saw; a report that moved since, or a
move the rules refuse, comes back as the Chinese reason and nothing is written.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from store import editing, instructions, lifecycle, merging, notes, templates, transfers, units
from store import reports as reports_mod
from store.i18n import t
from store.lifecycle import Action, TransitionError
from store.models import AdoptionLevel, Report
from web import edge
from web.reports import visible_report

bp = Blueprint("decisions", __name__)

DONE = {
    Action.SIGN_OFF: "本级已通过，已报送下一级审核。",
    Action.ADOPT: "已采用，反馈已排队发送给反映人。",
    Action.DECLINE: "已标记为不采用，原因已排队反馈给反映人。",
    Action.RETURN: "已退回补充，问题已排队发送给反映人。",
    Action.RAISE: "已提高采用级别，好消息已排队告知反映人。",
    Action.CLOSE: "已办结，满意度评价已排队发送给反映人。",
}
EDIT_FIELDS = ("title", "situation", "analysis", "suggestion", "summary")
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
    note = request.form.get("note")
    values: dict[str, Any] = {}
    if action in (Action.ADOPT, Action.RAISE):
        values["adoption_level"] = _adoption_level()
    if action is Action.DECLINE:
        note = _decline_reason(note)
    try:
        lifecycle.apply(edge.db(), report, action, user=edge.staff(), note=note,
                        expected_version=version, values=values)
    except TransitionError as exc:
        return _refused(exc, report_id, version)
    return _done(report_id, DONE[action])


@bp.route("/reports/<int:report_id>/merge", methods=["POST"])
@office_only
def merge(report_id: int) -> Any:
    """合并 into a main report, picked from the similar list or typed as a tracking number."""
    version = _version()
    report = visible_report(report_id)
    session, user = edge.db(), edge.staff()
    into: Report | None = None
    raw_id = request.form.get("into_id", "")
    number = (request.form.get("tracking_no") or "").strip()
    if raw_id.isdigit():
        into = session.get(Report, int(raw_id))
    elif number:
        into = reports_mod.find(session, user, number)
    if into is None or into.id == report.id:
        return _back(report_id, "找不到要合并到的主信息，请从相似信息中选择或填写正确的编号。")
    visible_report(into.id)
    try:
        merging.merge(session, report, into, user, expected_version=version)
    except TransitionError as exc:
        return _refused(exc, report_id, version)
    return _done(report_id, f"已合并到 {into.tracking_no}，反映人会收到该信息的后续进展。")


@bp.route("/reports/<int:report_id>/transfer", methods=["POST"])
@office_only
def transfer(report_id: int) -> Any:
    """转办 to a department with a deadline and an escalation date."""
    version = _version()
    report = visible_report(report_id)
    session = edge.db()
    raw = request.form.get("department_id", "")
    department = next((d for d in units.departments(session) if str(d.id) == raw), None)
    cfg = edge.settings()
    due = _days("due_days", cfg.transfer_due_days)
    escalate = _days("escalate_days", cfg.transfer_escalate_days)
    if department is None or due is None or escalate is None:
        return _back(report_id, "请选择承办部门，并填写 1～365 天的办理期限和督办期限。")
    try:
        transfers.transfer(session, report, edge.staff(), department=department, due_days=due,
                           escalate_days=escalate, note=request.form.get("note") or None,
                           expected_version=version)
    except TransitionError as exc:
        return _refused(exc, report_id, version)
    return _done(report_id, f"已转交{department.name}办理，期限 {due} 天。")


@bp.route("/reports/<int:report_id>/instruct", methods=["POST"])
@office_only
def instruct(report_id: int) -> Any:
    """Record a 领导批示: who, their title, the level, the date and the words."""
    version = _version()
    report = visible_report(report_id)
    form = request.form
    try:
        on = date.fromisoformat(form.get("instructed_on", ""))
    except ValueError:
        on = None
    leader, title, text = (form.get(k, "").strip() for k in ("leader_name", "leader_title", "text"))
    if on is None or not leader or not title or not text:
        return _back(report_id, "请完整填写批示领导、职务、批示日期和批示内容。")
    try:
        instructions.record(edge.db(), report, edge.staff(), leader_name=leader, leader_title=title,
                            level=_adoption_level(), text=text, instructed_on=on,
                            expected_version=version)
    except TransitionError as exc:
        return _refused(exc, report_id, version)
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
            flash(f"「{FIELD_NAMES[field]}」太长了：{len(value)} 字，最多 {limit} 字。"
                  "请删减后再保存，内容未保存。", "error")
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


def _adoption_level() -> AdoptionLevel:
    try:
        return AdoptionLevel(request.form.get("adoption_level") or AdoptionLevel.COUNTY.value)
    except ValueError:
        abort(400)


def _days(name: str, default: int) -> int | None:
    raw = (request.form.get(name) or str(default)).strip()
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= 365 else None


def _decline_reason(typed: str | None) -> str | None:
    """The typed reason, else the chosen template's words (one click for 已在政府部门处理中)."""
    if typed and typed.strip():
        return typed
    chosen = request.form.get("template_id", "")
    if not chosen.isdigit():
        return typed
    offered = templates.active(edge.db())
    picked = next((x for x in offered if x.id == int(chosen)), None)
    return picked.text if picked else typed


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


def _refused(exc: TransitionError, report_id: int, version: int) -> Any:
    return _back(report_id, _conflict_or(exc, report_id, version))


def _conflict_or(exc: TransitionError, report_id: int, version: int) -> str:
    # Whatever the rule broken, a page older than the report is the real reason.
    now = edge.db().get(Report, report_id)
    if now is not None and now.version != version:
        return t("error.conflict")
    return t(exc.code, **exc.params)


def _reason(exc: Exception) -> str:
    if isinstance(exc, TransitionError):
        return t(exc.code, **exc.params)
    return str(exc).split(" / ")[0] or "操作未完成。"
