"""GET /api/v1/stats: the 通报 counts of the token's reports over a period."""

from __future__ import annotations

from flask import Response, request

from store.outputs import readapi
from web import edge
from web.api import answer, bp, caller


@bp.route("/stats")
def overview() -> Response:
    return answer(readapi.overview(edge.db(), caller(), request.args))
