"""导出: the inbox's or a search's reports as CSV or XLSX, streamed as they are read.

The rows come from a session of their own (`store.db.reading`: on SQLite a
deferred transaction, so a long download never holds the write lock) after
the export is logged; the log gets its row count when the last row is out.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_login import login_required

from store.db import reading
from store.models import User
from store.outputs import exports, sheets
from store.search.query import Filters
from web import BEIJING, edge
from web.reports import category_labels

log = logging.getLogger(__name__)
bp = Blueprint("exports", __name__)
XLSX_PIECE = 256 * 1024


@bp.route("/reports/export.<fmt>")
@login_required
def download(fmt: str) -> Any:
    """The reports the same URL's search (or inbox tab) shows, every page of them, as a file.

    Takes the search page's query, and the inbox's `status` and `tab=mine`.
    """
    if fmt not in sheets.FORMATS:
        abort(404)
    filters, problems = Filters.from_args(request.args)
    if request.args.get("tab") == "mine":
        filters = replace(filters, mine=True)
    if problems:
        # Exporting without a filter that could not be read would hand out more than was asked.
        flash("网址中有无法识别的条件（" + "、".join(problems) + "），请检查后再导出。", "error")
        return redirect(url_for("search.index") + "?" + request.query_string.decode())
    session, user = edge.db(), edge.staff()
    try:
        export_id = exports.begin(session, user, fmt, filters, "console").id
    except exports.ExportForbidden as exc:
        log.warning("export refused: user %d, marked reports, %s", user.id, filters.to_args())
        edge.rollback()
        exports.log_refusal(session, user, fmt, filters, "console")
        edge.commit()
        edge.refuse(str(exc).split(" / ")[0])
    edge.commit()
    log.info("export %d: user %d, %s, %s", export_id, user.id, fmt, filters.to_args())
    resp = Response(_stream(fmt, export_id, user.id, filters, category_labels()),
                    mimetype=sheets.MIME[fmt])
    stamp = datetime.now(BEIJING).strftime("%Y%m%d-%H%M")
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"reports-{stamp}.{fmt}\"; "
        f"filename*=UTF-8''{quote(f'{exports.SHEET_NAME}-{stamp}.{fmt}')}")
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def _stream(fmt: str, export_id: int, user_id: int, filters: Filters,
            categories: dict[str, str]) -> Iterator[bytes]:
    """The file's bytes, piece by piece; the export log is finished after the last one."""
    sessions = edge.wiring().session_factory  # read now: the generator runs outside the request
    counter = exports.Counter()

    def generate() -> Iterator[bytes]:
        with reading(sessions) as s:
            user = s.get(User, user_id)
            assert user is not None
            if fmt == "csv":
                yield from sheets.csv_pieces(exports.HEADER, exports.batches(
                    s, user, filters, categories, counter), exports.TEXT_COLUMNS)
            else:
                rows = exports.rows(s, user, filters, categories, counter)
                # A workbook is a zip whose directory comes last: it is written to a
                # temporary file (openpyxl's write-only mode), then sent from there.
                with tempfile.TemporaryFile() as f:
                    sheets.write_xlsx(f, exports.SHEET_NAME, exports.HEADER, rows)
                    f.seek(0)
                    while piece := f.read(XLSX_PIECE):
                        yield piece
        with sessions() as s, s.begin():
            exports.finish(s, export_id, counter.rows)

    return generate()
