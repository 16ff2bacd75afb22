"""The admin's 积分规则 and 考评序列 pages (系统管理): rule sets by date, units placed in series.

The routes hang on the admin blueprint. Rules are saved as a new set from a
date (the history stays as it was); series hold units per year.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from store.models import AssessmentSeries
from store.network import units as units_mod
from store.outputs import adoption, scorerules, scoring
from store.outputs.scorerules import RuleError
from store.outputs.scoring import SeriesError
from web import edge
from web.admin import admin_only, bp
from web.i18n import _


@bp.route("/scoring", methods=["GET", "POST"])
@admin_only
def scoring_rules() -> Any:
    """积分规则: the rules in force, their history, and a new set from a date."""
    session = edge.db()
    if request.method == "GET":
        return _rules_page()
    _network_admin()
    form = request.form
    errors: dict[str, str] = {}
    try:
        effective = date.fromisoformat(form.get("effective_from", "").strip())
    except ValueError:
        errors["effective_from"] = "请选择生效日期。"
    _points, _per, problems = scorerules.check(form)
    errors.update(problems)
    if errors:
        return _rules_page(values=form, errors=errors, status=422)
    try:
        scorerules.save(session, edge.staff(), effective, form, form.get("note"))
    except RuleError as exc:
        edge.rollback()
        return _rules_page(values=form, errors={"form": str(exc).split(" / ")[0]}, status=422)
    edge.commit()
    flash(_("已保存积分规则，自 %(date)s 起生效；此前各期间仍按原规则计算。", date=effective), "success")
    return redirect(url_for("admin.scoring_rules"))


def _rules_page(*, values: Any = None, errors: dict[str, str] | None = None,
                status: int = 200) -> Any:
    session = edge.db()
    today = adoption.today()
    book = scorerules.book(session)
    return render_template(
        "admin_scoring.html", rules=scorerules.RULES, per=scorerules.PER, current=book.at(today),
        history=scorerules.history(session), values=values, errors=errors or {},
        today=today), status


@bp.route("/series", methods=["GET", "POST"])
@admin_only
def series_list() -> Any:
    """考评序列: the series, each with its units for a year; a new series."""
    session = edge.db()
    year = _year(request.args.get("year"))
    if request.method == "POST":
        _network_admin()
        try:
            made = scoring.create_series(session, request.form.get("name", ""))
        except SeriesError as exc:
            edge.rollback()
            return _series_page(year, errors={"name": str(exc).split(" / ")[0]},
                                values=request.form, status=422)
        edge.commit()
        flash(_("已添加考评序列“%(name)s”，请为它选择单位。", name=made.name), "success")
        return redirect(url_for("admin.series_list", year=year, _anchor=f"series-{made.id}"))
    return _series_page(year)


@bp.route("/series/<int:series_id>", methods=["POST"])
@admin_only
def series_units(series_id: int) -> Any:
    """Rename a series and set its units for a year (a unit chosen here leaves any other series)."""
    session = edge.db()
    series = session.get(AssessmentSeries, series_id)
    if series is None:
        abort(404)
    _network_admin()
    year = _year(request.form.get("year"))
    chosen = [int(v) for v in request.form.getlist("unit_id") if v.isdigit()]
    try:
        scoring.rename_series(session, series, request.form.get("name", series.name))
        scoring.place(session, series, year, chosen)
    except SeriesError as exc:
        edge.rollback()
        return _series_page(year, errors={f"series-{series_id}": str(exc).split(" / ")[0]},
                            status=422)
    edge.commit()
    flash(_("已保存“%(name)s”%(year)s年度的 %(count)s 个单位。", name=series.name, year=year,
            count=len(chosen)), "success")
    return redirect(url_for("admin.series_list", year=year, _anchor=f"series-{series.id}"))


def _year(raw: str | None) -> int:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else adoption.today().year


def _series_page(year: int, *, errors: dict[str, str] | None = None, values: Any = None,
                 status: int = 200) -> Any:
    session = edge.db()
    placed = scoring.members(session, year)
    reporting = [(u, depth) for u, depth in units_mod.tree(session, include_retired=False)
                 if u.kind != "department"]
    names = {u.id: u.name for u, _ in reporting}
    return render_template(
        "admin_series.html", series=scoring.all_series(session), units=reporting, placed=placed,
        names=names, year=year, errors=errors or {}, values=values), status


def _network_admin() -> None:
    """Rules and series are the whole network's: an administrator of one unit may read, not set."""
    if edge.staff().unit_id is not None:
        edge.refuse("积分规则和考评序列由全网管理员设置。")
