"""检索: full-text search with filters, and each staff member's saved views as tabs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from store.search import Filters, choices, search, views
from web import edge
from web.i18n import _
from web.reports import category_labels

bp = Blueprint("search", __name__)


@bp.route("/search")
@login_required
def index() -> Any:
    """Results for the URL's filters, the total with the first page, and the saved-view tabs."""
    session, user = edge.db(), edge.staff()
    filters, problems = Filters.from_args(request.args)
    results = search(session, user, filters)
    saved = views.for_user(session, user)
    current = filters.to_args(page=1)
    active = next((v.id for v in saved if v.args == current), None)
    return render_template(
        "search.html", results=results, f=filters, problems=problems, saved=saved,
        counts=views.counts(session, user, saved), active_view=active,
        builtin=views.builtin_counts(session, user),
        choices=choices.for_user(session, user), categories=category_labels(),
        args=filters.to_args(page=1),
    )


@bp.route("/search/views", methods=["POST"])
@login_required
def save_view() -> Any:
    session, user = edge.db(), edge.staff()
    filters, _errors = Filters.from_args(request.form)
    try:
        view = views.save(session, user, request.form.get("name", ""), filters)
    except views.ViewError as exc:
        flash(str(exc), "error")
        return redirect(_url(filters.to_args()))
    edge.commit()
    flash(_("已保存视图「%(name)s」。", name=view.name), "success")
    return redirect(_url(view.args))


@bp.route("/search/views/<int:view_id>/delete", methods=["POST"])
@login_required
def delete_view(view_id: int) -> Any:
    if views.delete(edge.db(), edge.staff(), view_id):
        edge.commit()
        flash("已删除视图。", "success")
    return redirect(url_for("search.index"))


def _url(args: dict[str, str]) -> str:
    query = urlencode(args)
    return url_for("search.index") + (f"?{query}" if query else "")


