"""GET /api/v1/reports (the inbox's filters, paged) and /api/v1/reports/<id>."""

from __future__ import annotations

from flask import Response, request

from store.outputs import readapi
from web import edge
from web.api import answer, bp, caller
from web.reports import category_labels


@bp.route("/reports")
def report_list() -> Response:
    return answer(readapi.reports(edge.db(), caller(), request.args, category_labels()))


@bp.route("/reports/<int:report_id>")
def report_detail(report_id: int) -> Response:
    return answer(readapi.report(edge.db(), caller(), report_id, category_labels()))
