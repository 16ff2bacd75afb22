"""The inbox (all, by status, 待我审核), a report's page, its attachments, the reporter's identity."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import login_required

from store import access, audit, forms, search
from store.conversation.summary import answer_rows
from store.models import AdoptionLevel, Attachment, Report, ReportStatus, utcnow
from store.outputs import adoption, upward, watermarks
from store.reports import files, lifecycle, marks
from store.reports import queries as reports_mod
from store.review import chain as review
from store.review import overdue
from web import decision_forms, edge, i18n, sidebar

bp = Blueprint("reports", __name__)

PER_PAGE = 20
# Browsers show these inline safely; anything else is a download.
INLINE_IMAGES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})


@bp.route("/")
@login_required
def index() -> Any:
    return redirect(url_for("reports.inbox"))


@bp.route("/reports")
@login_required
def inbox() -> Any:
    """Reports urgent-pending first, then newest; one status, all, 待我审核 (`?tab=mine`) or
    逾期 (`?tab=late`: past a review level's, the answer's or a transfer's deadline)."""
    raw_status = request.args.get("status") or None
    try:
        status = ReportStatus(raw_status) if raw_status else None
    except ValueError:
        status = None
    mine = request.args.get("tab") == "mine"
    late = request.args.get("tab") == "late"
    page = request.args.get("page", "1")
    page_no = int(page) if page.isdigit() and 0 < int(page) < 100000 else 1
    session, user = edge.db(), edge.staff()
    # The status counts are on the page anyway; the inbox's total is one of them.
    counts = reports_mod.status_counts(session, user)
    late_total = overdue.count(session, user)
    if mine:
        status = None
        rows, total = reports_mod.my_queue(session, user, page_no, PER_PAGE)
    elif late:
        status = None
        rows, total = overdue.page(session, user, page_no, PER_PAGE)
    else:
        known = counts[status] if status is not None else sum(counts.values())
        rows, total = reports_mod.page(session, user, status, page_no, PER_PAGE, total=known)
    pages = max(1, -(-total // PER_PAGE))
    levels = review.chain(session)
    return render_template(
        "inbox.html", reports=rows, total=total, page=page_no, pages=pages, status=status,
        mine=mine, late=late, late_total=late_total, statuses=list(ReportStatus), counts=counts,
        queue_total=reports_mod.queue_count(session, user) if not mine else total,
        categories=category_labels(), pending=frozenset(lifecycle.PENDING),
        level_names={i: lv.label() for i, lv in enumerate(levels)}, last_level=len(levels) - 1,
        overdue=overdue.late_among(session, rows, lang=i18n.lang()),
        adopted_levels=adoption.highest_levels(session, [r.id for r in rows]),
        incoming=upward.incoming(session, user, open_only=True, limit=5),
        incoming_open=upward.incoming_open_count(session, user),
    )


@bp.route("/reports/<int:report_id>")
@login_required
def detail(report_id: int) -> Any:
    """The report; `?q=` (from a search) marks the words searched for.

    `?action=` opens one decision's form in place of the list of choices.
    """
    return render_detail(visible_report(report_id), q=request.args.get("q", "")[:200],
                         chosen=request.args.get("action") or None)


@bp.route("/reports/<int:report_id>/identity", methods=["POST"])
@login_required
def identity(report_id: int) -> Any:
    """查看反映人信息: only roles that may, and every look is logged."""
    report = visible_report(report_id)
    user = edge.staff()
    if report.anonymous and access.can_see_identity(user):
        flash("该信息为匿名反映，没有反映人信息。", "info")
        return redirect(url_for("reports.detail", report_id=report_id))
    identity = access.reveal_identity(edge.db(), user, report, "identity")
    if identity is None:
        abort(403)
    edge.commit()
    resp = make_response(render_detail(report, identity=identity))
    # Not kept by the browser: the back button or the next user of the computer would see it.
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def render_detail(report: Report, *, identity: access.Identity | None = None, status: int = 200,
                  q: str = "", chosen: str | None = None, values: Mapping[str, str] | None = None,
                  errors: Mapping[str, str] | None = None) -> Any:
    """The report page with every panel the user's actions need.

    `identity` is the reporter as `access.reveal_identity` handed them (the
    logged step), `chosen` names the one decision whose form is shown
    (`web.decision_forms`), `values` what was typed into it and `errors` what
    is wrong, by field.
    """
    session, user = edge.db(), edge.staff()
    actions = {a.value for a in lifecycle.allowed_actions(session, report, user)}
    levels = review.chain(session)
    office = user.role in access.OFFICE_ROLES
    panels = sidebar.panels(session, report, user, actions, office)
    choices = decision_forms.offered(actions, panels["already_handled"] is not None) \
        if office else []
    choice = next((c for c in choices if c.key == chosen and c.key != "edit"), None)
    at = min(report.review_level, len(levels) - 1)
    in_review = report.status in lifecycle.PENDING
    adopted_level = adoption.highest(session, report)
    chain_state = [(lv.label(), "done" if (i < at if in_review else adopted_level is not None)
                    else "current" if in_review and i == at else "todo")
                   for i, lv in enumerate(levels)]
    return render_template(
        "report.html", report=report, answers=_answers(report), actions=actions,
        categories=category_labels(), inline_images=INLINE_IMAGES, identity=identity,
        can_identity=access.can_see_identity(user) and access.can_handle(session, user, report),
        office=office,
        levels=[lv.label() for lv in levels], at_level=at, in_review=in_review,
        chain_state=chain_state,
        adoption_levels=list(AdoptionLevel), settings=edge.settings(),
        choices=choices, chosen=choice, unavailable=chosen is not None and choice is None,
        values=values or {}, errors=errors or {}, office_level=review.office_level(session),
        raise_levels=decision_forms.levels_above(adopted_level), adopted_level=adopted_level,
        level_names={key: lv.label() for key, lv in review.LEVELS.items()},
        withheld=lifecycle.withheld(session, report, user) if office else None,
        hl=search.highlighted(session, report, q), q=q,
        late=overdue.late_among(session, [report], lang=i18n.lang()).get(report.id, []), **panels,
    ), status


@bp.route("/files/<int:attachment_id>")
@login_required
def attachment(attachment_id: int) -> Any:
    """A report's file, to staff only: images inline, everything else as a download."""
    att = edge.db().get(Attachment, attachment_id)
    if att is None or att.report_id is None:
        abort(404)
    visible_report(att.report_id)  # the same access rule as the report itself
    try:
        path = files.open_path(edge.settings().upload_dir, att.storage_path)
    except FileNotFoundError:
        abort(404)
    if not path.is_file():
        abort(404)
    inline = att.content_type in INLINE_IMAGES and request.args.get("download") is None
    # Audit trail (issue 14): every file handed out, shown or saved.
    audit.record(edge.db(), "file.downloaded", report_id=att.report_id,
                 object=f"attachments:{att.id}", detail={"filename": att.filename, "inline": inline})
    edge.commit()
    mimetype = att.content_type if inline else "application/octet-stream"
    report = att.report
    assert report is not None
    if report.mark:
        # A marked report's file leaves with the viewer's name and time on it, and is logged.
        user = edge.staff()
        access.log_access(edge.db(), user, report, f"file:{att.id}")
        edge.commit()
        stamped = watermarks.stamp(path.read_bytes(), att.content_type,
                                   marks.watermark(user, utcnow()))
        if stamped is not None:
            resp = send_file(io.BytesIO(stamped), mimetype=mimetype, as_attachment=not inline,
                             download_name=att.filename, max_age=0)
            resp.headers["Cache-Control"] = "private, no-store"
            return resp
    resp = send_file(path, mimetype=mimetype,
                     as_attachment=not inline, download_name=att.filename, max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def visible_report(report_id: int) -> Report:
    """The report, or 404 (logged) when it does not exist or is not the user's to see."""
    report = access.visible_report(edge.db(), edge.staff(), report_id)
    if report is None:
        abort(404)
    return report


def category_labels() -> dict[str, str]:
    """The office form's categories, value -> Chinese label (the inbox, a report, 检索)."""
    return forms.load(edge.settings().form).choice_labels("category", i18n.lang())


def _answers(report: Report) -> list[tuple[str, str]]:
    """Every answer the form collected, labelled as the reporter saw it, identity left out."""
    try:
        form = forms.load(report.form)
    except forms.FormError:
        # Only the form can say which answers name the reporter: show none.
        return []
    return answer_rows(form, report.answers, i18n.lang())
