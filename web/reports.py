"""The inbox, a report's detail, its attachments, and the decisions on it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import login_required

from store import access, files, forms, lifecycle
from store import reports as reports_mod
from store.conversation.summary import render_answer
from store.i18n import t
from store.lifecycle import Action, TransitionError
from store.models import Attachment, Report, ReportStatus, Role
from web import edge

bp = Blueprint("reports", __name__)

PER_PAGE = 20
# Browsers show these inline safely; anything else is a download.
INLINE_IMAGES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
DONE = {
    Action.ADOPT: "已采用，反馈已排队发送给反映人。",
    Action.DECLINE: "已标记为不采用，原因已排队反馈给反映人。",
    Action.RETURN: "已退回补充，问题已排队发送给反映人。",
}


@bp.route("/")
@login_required
def index() -> Any:
    return redirect(url_for("reports.inbox"))


@bp.route("/reports")
@login_required
def inbox() -> Any:
    """Reports newest first, one status or all, a page at a time."""
    raw_status = request.args.get("status") or None
    try:
        status = ReportStatus(raw_status) if raw_status else None
    except ValueError:
        status = None
    page = request.args.get("page", "1")
    page_no = int(page) if page.isdigit() and 0 < int(page) < 100000 else 1
    session = edge.db()
    rows, total = reports_mod.page(session, edge.staff(), status, page_no, PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    return render_template(
        "inbox.html", reports=rows, total=total, page=page_no, pages=pages, status=status,
        statuses=list(ReportStatus), counts=reports_mod.status_counts(session, edge.staff()),
        categories=_category_labels(),
    )


@bp.route("/reports/<int:report_id>")
@login_required
def detail(report_id: int) -> Any:
    report = _report(report_id)
    actions = lifecycle.allowed_actions(edge.db(), report, edge.staff())
    return render_template("report.html", report=report, answers=_answers(report),
                           actions=[a.value for a in actions], categories=_category_labels(),
                           inline_images=INLINE_IMAGES)


@bp.route("/reports/<int:report_id>/act", methods=["POST"])
@edge.roles_required(Role.ADMIN, Role.CLERK)
def act(report_id: int) -> Any:
    """Adopt, decline (with a reason) or return (with a question), via the lifecycle."""
    try:
        action = Action(request.form.get("action", ""))
        version = int(request.form.get("version", ""))
    except ValueError:
        abort(400)
    if action not in DONE:
        abort(400)
    report = _report(report_id)
    try:
        lifecycle.apply(edge.db(), report, action, user=edge.staff(),
                        note=request.form.get("note"), expected_version=version)
    except TransitionError as exc:
        edge.rollback()
        # Whatever the rule broken, a page older than the report is the real reason.
        stale = edge.db().get(Report, report_id)
        code = "error.conflict" if stale and stale.version != version else exc.code
        flash(t(code, **(exc.params if code == exc.code else {})), "error")
        return redirect(url_for("reports.detail", report_id=report_id))
    edge.commit()
    flash(DONE[action], "success")
    return redirect(url_for("reports.detail", report_id=report_id))


@bp.route("/files/<int:attachment_id>")
@login_required
def attachment(attachment_id: int) -> Any:
    """A report's file, to staff only: images inline, everything else as a download."""
    att = edge.db().get(Attachment, attachment_id)
    if att is None or att.report_id is None:
        abort(404)
    _report(att.report_id)  # the same access rule as the report itself
    try:
        path = files.open_path(edge.settings().upload_dir, att.storage_path)
    except FileNotFoundError:
        abort(404)
    if not path.is_file():
        abort(404)
    inline = att.content_type in INLINE_IMAGES and request.args.get("download") is None
    resp = send_file(path, mimetype=att.content_type if inline else "application/octet-stream",
                     as_attachment=not inline, download_name=att.filename, max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def _report(report_id: int) -> Report:
    report = edge.db().get(Report, report_id)
    # A report of a unit the user may not see does not exist for them.
    if report is None or not access.can_see(edge.db(), edge.staff(), report):
        abort(404)
    return report


def _role() -> str:
    return str(edge.staff().role.value)


def _category_labels() -> dict[str, str]:
    form = forms.load(edge.settings().form)
    try:
        step = form.step("category")
    except KeyError:
        return {}
    return {c.value: c.label.get("zh") or c.value for c in step.choices}


def _answers(report: Report) -> list[tuple[str, str]]:
    """Every answer the form collected, labelled as the reporter saw it."""
    try:
        form = forms.load(report.form)
    except forms.FormError:
        return [(k, _plain(v)) for k, v in report.answers.items()]
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for step in form.steps:
        if step.key not in report.answers:
            continue
        seen.add(step.key)
        out.append((step.name("zh"), render_answer(step, report.answers[step.key], "zh")))
    out += [(k, _plain(v)) for k, v in report.answers.items() if k not in seen]
    return out


def _plain(value: Any) -> str:
    if value is None or value == "":
        return "（未填写）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return f"{len(value)} 个文件" if value and isinstance(value[0], dict) else "、".join(
            _plain(v) for v in value) or "（无）"
    if isinstance(value, dict):
        if "latitude" in value and "longitude" in value:
            return f"位置 {value['latitude']:.5f}, {value['longitude']:.5f}"
        return "；".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return str(value)
