"""GET /api/v1/journal/issues (published issues, paged) and /api/v1/journal/issues/<id> with items."""

from __future__ import annotations

from flask import Response, request

from store.outputs import readapi
from web import edge
from web.api import answer, bp, caller


@bp.route("/journal/issues")
def journal_issue_list() -> Response:
    return answer(readapi.journal_issues(edge.db(), caller(), request.args))


@bp.route("/journal/issues/<int:issue_id>")
def journal_issue_detail(issue_id: int) -> Response:
    return answer(readapi.journal_issue(edge.db(), caller(), issue_id))
