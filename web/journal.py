"""期刊: the office's journals — issues (draft, signed off, published), composing one, its items,
the 专报, the documents, and the series' settings.

Views parse the form, call `store.outputs.journal`, and say what happened;
every rule (who signs off, what may be carried, numbering) is the store's.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for

from store import audit
from store.errors import DomainError
from store.models import IssueStatus, JournalIssue, Report, Role, utcnow
from store.outputs import exports, journal
from store.outputs.journal import document, issues, listing, numbering, publishing, series, source, word
from store.reports import marks
from web import edge
from web.i18n import _

bp = Blueprint("journal", __name__, url_prefix="/journal")

STATUS_NAMES = {IssueStatus.DRAFT: "草稿", IssueStatus.SIGNED_OFF: "已签发",
                IssueStatus.PUBLISHED: "已发布"}
TEMPLATE_LIMIT = 5 * 1024 * 1024
STEPS = {"sign_off": "签发", "revise": "退回修改", "publish": "发布", "discard": "删除草稿"}


def _issue(issue_id: int) -> JournalIssue:
    try:
        return listing.issue(edge.db(), issue_id)
    except listing.NotFound:
        abort(404)


def _version() -> int | None:
    raw = request.form.get("version", "")
    return int(raw) if raw.isdigit() else None


def _refused(exc: DomainError, target: str) -> Any:
    edge.rollback()
    flash(str(exc), "error")
    return redirect(target)


@bp.app_template_filter("issue_label")
def issue_label(issue: JournalIssue) -> str:
    if issue.number is None:
        number = _("草稿（未编号）")
    else:
        number = _("%(year)s年第%(number)s期", year=issue.year, number=issue.number)
    return f"{series.titled(issue.series)}{number}"


@bp.route("")
@edge.roles_required(*edge.OFFICE)
def index() -> Any:
    """Issues newest first, by state (草稿 / 已签发 / 已发布)."""
    raw = request.args.get("status") or ""
    status = IssueStatus(raw) if raw in IssueStatus.__members__.values() else None
    session = edge.db()
    return render_template("journal_index.html", issues=listing.issues(session, status),
                           status=status, counts=listing.counts(session), names=STATUS_NAMES,
                           numbering=numbering)


@bp.route("/new")
@edge.roles_required(*edge.OFFICE)
def new() -> Any:
    """Pick adopted reports for a new issue; a final-level user may send one as a 专报."""
    session, user = edge.db(), edge.staff()
    return render_template("journal_new.html", series_list=series.all_series(session, active_only=True),
                           reports=listing.carriable(session, user),
                           may_sign=user.role in issues.sign_off_roles(session))


@bp.route("/new", methods=["POST"])
@edge.roles_required(*edge.OFFICE)
def compose() -> Any:
    session, user = edge.db(), edge.staff()
    ids = [int(x) for x in request.form.getlist("report") if x.isdigit()]
    try:
        chosen = series.get(session, int(request.form.get("series", "0") or 0))
        issue = issues.compose(session, chosen, _reports(ids), user)
    except DomainError as exc:
        return _refused(exc, url_for("journal.new"))
    edge.commit()
    flash(_("已建立%(issue)s草稿，共 %(count)s 条信息。", issue=series.titled(chosen),
            count=len(issue.items)), "success")
    return redirect(url_for("journal.issue", issue_id=issue.id))


def _reports(ids: list[int]) -> list[Report]:
    return listing.visible_reports(edge.db(), edge.staff(), ids)


@bp.route("/special", methods=["POST"])
@edge.roles_required(*edge.OFFICE)
def special() -> Any:
    """专报: one report as a 《信息专报》 issue, signed off and published at once."""
    raw = request.form.get("report", "")
    reports = _reports([int(raw)] if raw.isdigit() else [])
    if not reports:
        abort(404)
    try:
        issue = publishing.special_report(edge.db(), reports[0], edge.staff())
    except DomainError as exc:
        return _refused(exc, url_for("journal.new"))
    edge.commit()
    flash(_("专报已签发并发布：%(issue)s，已通知反映人。", issue=issue_label(issue)), "success")
    return redirect(url_for("journal.issue", issue_id=issue.id))


@bp.route("/issues/<int:issue_id>")
@edge.roles_required(*edge.OFFICE)
def issue(issue_id: int) -> Any:
    session, user = edge.db(), edge.staff()
    found = _issue(issue_id)
    draft = found.status is IssueStatus.DRAFT
    steps = [s for s in STEPS if _may(found, issues.Step(s))]
    return render_template(
        "journal_issue.html", issue=found, names=STATUS_NAMES, steps=steps, step_names=STEPS,
        flagged=issues.flagged(session, found), numbering=numbering, draft=draft,
        may_edit=draft and _may(found, issues.Step.EDIT),
        addable=listing.carriable(session, user) if draft else [],
        events=listing.events(session, found), distribution=found.distribution or {},
        lists=issues.DISTRIBUTION,
    )


def _may(issue: JournalIssue, step: issues.Step) -> bool:
    try:
        issues.permit(edge.db(), issue, step, edge.staff())
    except DomainError:
        return False
    return True


@bp.route("/issues/<int:issue_id>/edit", methods=["POST"])
@edge.roles_required(*edge.OFFICE)
def edit(issue_id: int) -> Any:
    """The issue's 编者按 and 报 / 送 / 发."""
    found = _issue(issue_id)
    target = url_for("journal.issue", issue_id=issue_id)
    try:
        issues.edit_issue(edge.db(), found, edge.staff(), note=request.form.get("note", ""),
                          distribution={k: request.form.get(k, "") for k in issues.DISTRIBUTION},
                          expected_version=_version())
    except DomainError as exc:
        return _refused(exc, target)
    edge.commit()
    flash("已保存编者按和报送范围。", "success")
    return redirect(target)


@bp.route("/issues/<int:issue_id>/add", methods=["POST"])
@edge.roles_required(*edge.OFFICE)
def add(issue_id: int) -> Any:
    found = _issue(issue_id)
    target = url_for("journal.issue", issue_id=issue_id)
    ids = [int(x) for x in request.form.getlist("report") if x.isdigit()]
    try:
        issues.add_reports(edge.db(), found, _reports(ids), edge.staff(), expected_version=_version())
    except DomainError as exc:
        return _refused(exc, target)
    edge.commit()
    flash(_("已加入 %(count)s 条信息。", count=len(ids)), "success")
    return redirect(target)


@bp.route("/issues/<int:issue_id>/items/<int:item_id>")
@edge.roles_required(*edge.OFFICE)
def item(issue_id: int, item_id: int) -> Any:
    """One item's title, text and 按语, as the issue will print them."""
    found = _issue(issue_id)
    chosen = next((i for i in found.items if i.id == item_id), None)
    if chosen is None:
        abort(404)
    return render_template("journal_item.html", issue=found, item=chosen, values=None, error=None,
                           limits=issues)


@bp.route("/issues/<int:issue_id>/items/<int:item_id>", methods=["POST"])
@edge.roles_required(*edge.OFFICE)
def save_item(issue_id: int, item_id: int) -> Any:
    found = _issue(issue_id)
    chosen = next((i for i in found.items if i.id == item_id), None)
    if chosen is None:
        abort(404)
    form = request.form
    try:
        issues.edit_item(edge.db(), found, item_id, edge.staff(), title=form.get("title", ""),
                         body=form.get("body", ""), note=form.get("note", ""),
                         expected_version=_version())
    except DomainError as exc:
        edge.rollback()
        found = _issue(issue_id)
        chosen = next(i for i in found.items if i.id == item_id)
        # Everything typed comes back beside the reason.
        return render_template("journal_item.html", issue=found, item=chosen, values=form,
                               error=str(exc), limits=issues), 422
    edge.commit()
    flash("已保存。", "success")
    return redirect(url_for("journal.issue", issue_id=issue_id, _anchor=f"item-{item_id}"))


@bp.route("/issues/<int:issue_id>/items/<int:item_id>/<any(up, down, remove):how>", methods=["POST"])
@edge.roles_required(*edge.OFFICE)
def arrange(issue_id: int, item_id: int, how: str) -> Any:
    found = _issue(issue_id)
    target = url_for("journal.issue", issue_id=issue_id)
    try:
        if how == "remove":
            issues.remove_item(edge.db(), found, item_id, edge.staff(), expected_version=_version())
        else:
            issues.move_item(edge.db(), found, item_id, -1 if how == "up" else 1, edge.staff(),
                             expected_version=_version())
    except DomainError as exc:
        return _refused(exc, target)
    edge.commit()
    return redirect(target)


@bp.route("/issues/<int:issue_id>/<any(sign_off, revise, publish, discard):step>", methods=["POST"])
@edge.roles_required(*edge.OFFICE)
def move(issue_id: int, step: str) -> Any:
    """签发, 退回修改, 发布 or 删除草稿."""
    session, user = edge.db(), edge.staff()
    found = _issue(issue_id)
    target = url_for("journal.issue", issue_id=issue_id)
    try:
        if step == "sign_off":
            publishing.sign_off(session, found, user, expected_version=_version())
            message = f"已签发：{issue_label(found)}。"
        elif step == "revise":
            publishing.revise(session, found, user, request.form.get("note"), expected_version=_version())
            message = f"已退回修改；期号 {numbering.label(found)} 保留。"
        elif step == "publish":
            told = publishing.publish(session, found, user, expected_version=_version())
            message = f"已发布：{issue_label(found)}，已通知 {told} 位反映人。"
        else:
            issues.discard(session, found, user)
            message, target = "草稿已删除。", url_for("journal.index")
    except DomainError as exc:
        return _refused(exc, target)
    edge.commit()
    flash(message, "success")
    return redirect(target)


@bp.route("/issues/<int:issue_id>/export.<any(docx, pdf):fmt>")
@edge.roles_required(*edge.OFFICE)
def export(issue_id: int, fmt: str) -> Any:
    """The issue as a Word file or a PDF, for printing and sending."""
    session, user = edge.db(), edge.staff()
    found = _issue(issue_id)
    watermark = None
    if journal.marked(found):
        # A marked report among the items: for the roles cleared for it, watermarked, logged.
        if user.role not in marks.CLEARED:
            edge.refuse("本期有内部或更高密级的信息，只有管理员、办公室主任或秘书长可以导出。")
        watermark = marks.watermark(user, utcnow())
        exports.log_document(session, user, fmt, {"issue": str(issue_id)}, len(found.items),
                             marked=True)
    try:
        data = journal.export(session, found, fmt, edge.settings().instance_dir,
                              watermark=watermark)
    except word.TemplateError as exc:
        return _refused(exc, url_for("journal.issue", issue_id=issue_id))
    edge.commit()
    name = f"{document.of(session, found).filename}.{fmt}"
    # Audit trail (issue 14): every issue taken out as a file.
    audit.record(session, "journal.exported", object=f"journal_issues:{issue_id}",
                 detail={"format": fmt})
    edge.commit()
    kind = "application/pdf" if fmt == "pdf" else \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    resp = send_file(io.BytesIO(data), mimetype=kind, as_attachment=True, download_name=name)
    resp.headers["Content-Disposition"] = f"attachment; filename=issue-{issue_id}.{fmt}; " \
                                          f"filename*=UTF-8''{quote(name)}"
    return resp


# -- the series and their settings ---------------------------------------------------------


@bp.route("/series")
@edge.roles_required(*edge.OFFICE)
def series_list() -> Any:
    session = edge.db()
    return render_template("journal_series.html", series_list=series.all_series(session),
                           source_mode=source.mode(session), source_labels=source.LABELS,
                           placeholders=(word.REQUIRED, word.OPTIONAL))


@bp.route("/series", methods=["POST"])
@edge.roles_required(Role.ADMIN)
def series_add() -> Any:
    try:
        added = series.add(edge.db(), request.form.get("name", ""),
                           publisher=request.form.get("publisher", ""),
                           single_item=request.form.get("single_item") == "1")
    except DomainError as exc:
        return _refused(exc, url_for("journal.series_list"))
    edge.commit()
    flash(_("已添加期刊%(series)s。", series=series.titled(added)), "success")
    return redirect(url_for("journal.series_list"))


@bp.route("/series/<int:series_id>", methods=["POST"])
@edge.roles_required(Role.ADMIN)
def series_save(series_id: int) -> Any:
    session = edge.db()
    try:
        found = series.get(session, series_id)
        series.update(session, found, publisher=request.form.get("publisher", ""),
                      active=request.form.get("active") == "1")
    except DomainError as exc:
        return _refused(exc, url_for("journal.series_list"))
    edge.commit()
    flash(_("已保存%(series)s的设置。", series=series.titled(found)), "success")
    return redirect(url_for("journal.series_list"))


@bp.route("/series/<int:series_id>/template", methods=["POST"])
@edge.roles_required(Role.ADMIN)
def series_template(series_id: int) -> Any:
    """Upload the office's own .docx template (checked first), or go back to the default."""
    session = edge.db()
    target = url_for("journal.series_list")
    try:
        found = series.get(session, series_id)
        if request.form.get("reset") == "1":
            series.set_template(session, found, None)
        else:
            upload = request.files.get("template")
            data = upload.read(TEMPLATE_LIMIT + 1) if upload else b""
            if not data:
                raise word.TemplateError("请选择一个 .docx 模板文件 / choose a .docx template file")
            if len(data) > TEMPLATE_LIMIT:
                raise word.TemplateError("模板文件不能超过 5 MB / the template is larger than 5 MB")
            word.check_file(data)
            relative = f"journal/templates/series-{found.id}.docx"
            path = edge.settings().instance_dir / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            series.set_template(session, found, relative)
    except DomainError as exc:
        return _refused(exc, target)
    edge.commit()
    flash(_("%(series)s的模板已更新。", series=series.titled(found)), "success")
    return redirect(target)


@bp.route("/source", methods=["POST"])
@edge.roles_required(Role.ADMIN)
def source_save() -> Any:
    try:
        source.set_mode(edge.db(), request.form.get("mode", ""))
    except DomainError as exc:
        return _refused(exc, url_for("journal.series_list"))
    edge.commit()
    flash("已保存来源署名方式；之后编入的信息按新方式署名。", "success")
    return redirect(url_for("journal.series_list"))
