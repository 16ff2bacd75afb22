"""代录 (counter intake): staff file a walk-in citizen's report with the chat's form, then print a slip.

The page is drawn from the form file; `store.reports.intake` checks it with the
chat's checkers and files it as the chat would. A page shown again after a
mistake keeps everything typed, and files already chosen stay (ticked boxes).
"""

from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask import session as cookie
from sqlalchemy.exc import IntegrityError

import qr
from store import access, forms
from store.i18n import t
from store.models import CollectionPoint, Report
from store.network import roster
from store.reports import intake, origins
from store.reports.files import StoredFile
from web import edge, i18n
from web.chat import incoming_file
from web.i18n import _
from web.reports import visible_report

bp = Blueprint("intake", __name__, url_prefix="/intake")

FIELD = "a_"  # a step's answer is posted as a_<step key>
KEEP = "keep_"  # a file saved by an earlier try, kept while its box stays ticked
LAST_POINT = "intake_point"  # the point this browser took its last report at


@bp.route("/new")
@edge.roles_required(*edge.OFFICE)
def new() -> Any:
    """An empty form, at the point used last (or the only one there is)."""
    available = intake.points_for(edge.db(), edge.staff())
    return _page(available, point_id=intake.default_point(available, cookie.get(LAST_POINT)),
                 values={}, answers={}, kept={}, errors={},
                 citizen=intake.new_citizen_id(), origin={})


@bp.route("/new", methods=["POST"])
@edge.roles_required(*edge.OFFICE)
def create() -> Any:
    """Check the form as the chat would; file it, or show it again with the reasons."""
    settings, session, user = edge.settings(), edge.db(), edge.staff()
    citizen = intake.citizen_from(settings.secret_key, request.form.get("citizen", ""))
    if citizen is None:
        abort(400)
    if (done := intake.filed_for(session, citizen)) is not None:
        return _already(done)
    form = forms.load(settings.form)
    available = intake.points_for(session, user)
    point = _chosen_point(available)
    values = {s.key: request.form.get(FIELD + s.key, "") for s in form.steps if s.kind != "file"}
    uploads = {s.key: [incoming_file(f, settings.max_upload_mb * 1024 * 1024)
                   for f in request.files.getlist(FIELD + s.key) if f.filename]
               for s in form.steps if s.kind == "file"}
    kept = {s.key: [f for ref in request.form.getlist(KEEP + s.key)
                    if (f := intake.file_from(settings.secret_key, user, ref)) is not None]
            for s in form.steps if s.kind == "file"}
    draft = intake.check(form, values, uploads, kept, settings.upload_dir, settings.max_upload_mb)
    picked = {key: request.form.get(key, "") for key in (origins.SOURCE, origins.REF, origins.MEMBER)}
    origin, wrong = origins.origin(session, user, source=picked[origins.SOURCE],
                                   ref=picked[origins.REF], member_id=picked[origins.MEMBER])
    draft.errors.update(wrong)
    raw = request.form.get("point_id", "")
    if point is None and (raw or origin.needs_point):
        draft.errors[intake.POINT] = t("intake.point.outside" if raw else "intake.point.missing")
    if not draft.ok:
        flash(_("有 %(n)s 处需要修改，请查看标红的说明；已填写的内容都还在。", n=len(draft.errors)), "error")
        refs = {key: [(intake.file_ref(settings.secret_key, user, f), f) for f in stored]
                for key, stored in draft.files.items()}
        return _page(available, point_id=point.id if point else None, values=values,
                     answers=draft.answers, kept=refs, errors=draft.errors, citizen=citizen,
                     origin=picked, status=422)
    try:
        report = intake.submit(session, user, point, settings.form, draft, citizen, origin)
        edge.commit()
    except IntegrityError:
        # The same form sent twice at once: the first one filed it.
        edge.rollback()
        if (done := intake.filed_for(session, citizen)) is None:
            raise
        return _already(done)
    if point is not None:
        cookie[LAST_POINT] = point.id
    flash(_("已代录并提交，信息编号 %(no)s。请打印回执交给群众。", no=report.tracking_no), "success")
    return redirect(url_for("intake.slip", report_id=report.id))


@bp.route("/<int:report_id>/slip")
@edge.roles_required(*edge.OFFICE)
def slip(report_id: int) -> Any:
    """The printable slip: tracking number and the QR code of the citizen's follow link.

    The link lets its holder act in the citizen's chat, so each print is logged.
    """
    report = visible_report(report_id)
    if report.entered_by_id is None:
        abort(404)  # only counter reports: a citizen's own chat is theirs alone
    settings, session = edge.settings(), edge.db()
    link = settings.public_url.rstrip("/") + url_for(
        "chat.follow", token=intake.follow_token(settings.secret_key, report.reporter))
    access.log_access(session, edge.staff(), report, "slip")
    edge.commit()
    image = "data:image/svg+xml;base64," + base64.b64encode(qr.svg(link, scale=4)).decode()
    return render_template("slip.html", report=report, link=link, qr=image,
                           office=intake.office_name(session, report),
                           category=_category_label(report))


def _page(available: list[CollectionPoint], *, point_id: int | None, values: dict[str, str],
          answers: dict[str, Any], kept: dict[str, list[tuple[str, StoredFile]]],
          errors: dict[str, str], citizen: str, origin: dict[str, str],
          status: int = 200) -> Any:
    settings = edge.settings()
    form = forms.load(settings.form)
    steps = [{"step": s, "shown": form.applies(s, answers),
              "condition": intake.condition_text(form, s, i18n.lang()) if s.when else "",
              "max_mb": min(s.max_mb, settings.max_upload_mb)} for s in form.steps]
    return render_template(
        "intake_new.html", form=form, steps=steps, points=available, point_id=point_id,
        values=values, kept=kept, errors=errors, field=FIELD, keep=KEEP,
        citizen=intake.citizen_token(settings.secret_key, citizen), origin=origin,
        sources=[(s, origins.SOURCE_NAMES[s]) for s in origins.DRAWN],
        people=roster.all_visible(edge.db(), edge.staff())), status


def _chosen_point(available: list[CollectionPoint]) -> CollectionPoint | None:
    raw = request.form.get("point_id", "")
    return next((p for p in available if raw.isdigit() and p.id == int(raw)), None)


def _already(report: Report) -> Any:
    flash(_("这份信息已经提交过（编号 %(no)s），没有重复录入。", no=report.tracking_no), "info")
    return redirect(url_for("intake.slip", report_id=report.id))


def _category_label(report: Report) -> str:
    try:
        labels = forms.load(report.form).choice_labels("category", i18n.lang())
    except forms.FormError:
        return report.category
    return labels.get(report.category, report.category)


def widen_upload_limit() -> None:
    """Let the intake form carry every file a form allows (the app's limit is one file).

    Registered ahead of CSRF protection, which reads the form first.
    """
    if request.endpoint != "intake.create" or request.method != "POST":
        return
    settings = edge.settings()
    form = forms.load(settings.form)
    count = sum(s.max_files for s in form.steps if s.kind == "file") or 1
    request.max_content_length = count * settings.max_upload_mb * 1024 * 1024 + 256 * 1024
