"""系统管理 → 审计日志: the audit trail, filtered by person, report, action and period, and as CSV.

For administrators and the secretary-general (`store.audit.trail.AUDIT_ROLES`).
The routes hang on the admin blueprint; the CSV export is itself an entry of
the trail, written before the first byte goes out.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for

from store.audit import trail
from store.db import reading
from store.models import User
from web import BEIJING, edge
from web.admin import bp

PER_PAGE = 50
audit_roles = edge.roles_required(*sorted(trail.AUDIT_ROLES))


@bp.route("/audit")
@audit_roles
def audit_log() -> Any:
    """The trail, newest first, 50 to a page."""
    session, user = edge.db(), edge.staff()
    filters, problems = trail.Filters.from_args(request.args)
    if problems:
        flash("无法识别的条件：" + "、".join(problems) + "。", "error")
    try:
        page_no = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page_no = 1
    lines, total = trail.page(session, user, filters, page_no, PER_PAGE)
    return render_template(
        "admin_audit.html", lines=lines, total=total, page=page_no,
        pages=max(1, -(-total // PER_PAGE)), filters=filters, args=filters.to_args(),
        actions=trail.actions(session), detail_text=trail.detail_text,
        admin=user.role.value == "admin")


@bp.route("/audit.csv")
@audit_roles
def audit_csv() -> Any:
    """The filtered trail as CSV, oldest first; the export is logged in the trail first."""
    filters, problems = trail.Filters.from_args(request.args)
    if problems:
        # Exporting without a filter that could not be read would hand out more than was asked.
        flash("无法识别的条件：" + "、".join(problems) + "，请检查后再导出。", "error")
        return redirect(url_for("admin.audit_log") + "?" + request.query_string.decode())
    user = edge.staff()
    trail.log_export(edge.db(), user, filters)
    edge.commit()
    resp = Response(_stream(user.id, filters), mimetype="text/csv; charset=utf-8")
    stamp = datetime.now(BEIJING).strftime("%Y%m%d-%H%M")
    resp.headers["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def _stream(user_id: int, filters: trail.Filters) -> Iterator[bytes]:
    sessions = edge.wiring().session_factory  # read now: the generator runs outside the request

    def generate() -> Iterator[bytes]:
        with reading(sessions) as s:
            viewer = s.get(User, user_id)
            assert viewer is not None
            yield from trail.csv_file(s, viewer, filters)

    return generate()
