"""密级 in the console: changing a report's mark (with a reason), and the office's settings page
(系统管理 → 密级, on the admin blueprint).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from store import forms
from store.reports import marks
from store.reports.marks import MarkError, MarkForbidden
from web import edge, i18n
from web.admin import admin_only
from web.admin import bp as admin_bp
from web.i18n import _, said
from web.reports import visible_report

bp = Blueprint("marks", __name__)


@bp.route("/reports/<int:report_id>/mark", methods=["POST"])
@edge.roles_required(*edge.OFFICE)
def change(report_id: int) -> Any:
    """Set the report's mark; the reason goes into its history with the old and new mark."""
    report = visible_report(report_id)
    raw = request.form.get("mark", "")
    target = url_for("reports.detail", report_id=report_id) + "#mark-panel"
    try:
        event = marks.change(edge.db(), report, int(raw) if raw.isdigit() else -1, edge.staff(),
                             request.form.get("reason", ""))
    except MarkForbidden as exc:
        edge.refuse(_zh(exc))
    except MarkError as exc:
        edge.rollback()
        flash(_zh(exc), "error")
        return redirect(target)
    edge.commit()
    flash(_("已更改密级：%(change)s", change=said(event.note or "")), "success")
    return redirect(target)


@admin_bp.route("/marks", methods=["GET", "POST"])
@admin_only
def mark_settings() -> Any:
    """密级: the mark each category gets when filed, the strict mark's name, and whether no
    report's words go over external carriers."""
    session = edge.db()
    categories = forms.load(edge.settings().form).choice_labels("category", i18n.lang())
    if request.method == "GET":
        return _page(marks.rules(session), categories)
    form = request.form
    by_category = {key: int(form.get(f"cat_{key}", "0")) if form.get(f"cat_{key}", "0").isdigit()
                   else -1 for key in categories}
    try:
        marks.save(session, by_category=by_category, strict_label=form.get("strict_label", ""),
                   no_content_external=form.get("no_content_external") == "1")
    except MarkError as exc:
        edge.rollback()
        return _page(marks.rules(session), categories, values=form, error=_zh(exc), status=422)
    edge.commit()
    flash("已保存密级设置。新提交的信息按新的类别规则定密；已有信息的密级不变。", "success")
    return redirect(url_for("admin.mark_settings"))


def _page(rules: marks.Rules, categories: dict[str, str], *, values: Any = None,
          error: str | None = None, status: int = 200) -> Any:
    return render_template("admin_marks.html", rules=rules, categories=categories,
                           values=values, error=error, cap=marks.LABEL_CAP), status


def _zh(exc: Exception) -> str:
    return str(exc).split(" / ")[0]
