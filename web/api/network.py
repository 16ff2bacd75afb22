"""GET /api/v1/units and /api/v1/points: the token's part of the network."""

from __future__ import annotations

from flask import Response, request

from store.outputs import readapi
from web import edge
from web.api import answer, bp, caller


@bp.route("/units")
def unit_list() -> Response:
    return answer(readapi.units(edge.db(), caller(), request.args))


@bp.route("/points")
def point_list() -> Response:
    return answer(readapi.points(edge.db(), caller(), request.args))
