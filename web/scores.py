"""积分排名: each series' ranking for a period, a unit's breakdown, and the ranking as a file.

Rankings are read by the office, viewers and unit liaisons (a 通报 names every
unit's total anyway); departments never (403). A unit's breakdown (which
reports earned what) is shown only to those who see that unit's reports:
anyone else gets a 404, as for a report outside their scope.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, render_template, request

from store import access
from store.models import AssessmentSeries, Role
from store.outputs import adoption, period, scorerules, scoring, sheets
from store.outputs.period import Period, PeriodError
from web import edge

bp = Blueprint("scores", __name__, url_prefix="/scores")
readers = edge.roles_required(*edge.OFFICE, Role.VIEWER, Role.UNIT_LIAISON)
KINDS = {"month": "月度", "quarter": "季度", "year": "年度", "range": "时间段"}


def _period() -> tuple[Period, str | None]:
    """The period the query asks for (`period=KEY`, or the form's kind and value); last month."""
    args = request.args
    try:
        if args.get("period"):
            return period.named(args["period"]), None
        if args.get("kind"):
            return period.choose(args["kind"], args.get("value", ""), args.get("start", ""),
                                  args.get("end", "")), None
    except PeriodError as exc:
        return period.last_month(adoption.today()), str(exc).split(" / ")[0]
    return period.last_month(adoption.today()), None


def _sees(unit_id: int) -> bool:
    units = access.visible_units(edge.db(), edge.staff())
    return units is None or unit_id in units


@bp.route("")
@readers
def ranking() -> Any:
    """Every series' ranking for the period, a unit's total and its count of each fact."""
    period, error = _period()
    scores = scoring.compute(edge.db(), period)
    return render_template(
        "scores.html", scores=scores, period=period, error=error, kinds=KINDS,
        rules=scorerules.RULES, sees=_sees, args=request.args), 422 if error else 200


@bp.route("/<int:series_id>/units/<int:unit_id>")
@readers
def breakdown(series_id: int, unit_id: int) -> Any:
    """Which of a unit's reports earned what in the period, under which rule set."""
    session = edge.db()
    period, error = _period()
    if error:
        abort(404)
    series = session.get(AssessmentSeries, series_id)
    if series is None or not _sees(unit_id):
        abort(404)
    found = scoring.compute(session, period).ranking(series_id)
    standing = next((s for s in found.standings if s.unit_id == unit_id), None) if found else None
    if standing is None:
        abort(404)
    return render_template("scores_unit.html", series=series, standing=standing, period=period,
                           lines=scoring.breakdown(session, standing), rules=scorerules.RULES,
                           ranked=len(found.standings) if found else 0)


@bp.route("/<int:series_id>/ranking.<fmt>")
@readers
def download(series_id: int, fmt: str) -> Any:
    """A series' ranking as CSV or XLSX (names written so no cell runs as a formula)."""
    session = edge.db()
    if fmt not in sheets.FORMATS or session.get(AssessmentSeries, series_id) is None:
        abort(404)
    period, error = _period()
    if error:
        abort(404)
    found = scoring.compute(session, period).ranking(series_id)
    assert found is not None
    rows = scoring.sheet_rows(found)
    name = f"{found.series.name}-{period.key}"
    if fmt == "csv":
        body = b"".join(sheets.csv_chunks(scoring.HEADER, rows))
    else:
        out = io.BytesIO()
        sheets.write_xlsx(out, found.series.name, scoring.HEADER, rows)
        body = out.getvalue()
    resp = Response(body, mimetype=sheets.MIME[fmt])
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"ranking-{period.key}.{fmt}\"; "
        f"filename*=UTF-8''{quote(f'积分排名-{name}.{fmt}')}")
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
