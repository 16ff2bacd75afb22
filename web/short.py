"""Short addresses printed on posters: `/p/<code>` sends the visitor on to the point's web chat.

A person who cannot scan types the short address; it redirects to `/c/<token>`
of the version the poster was printed with, so the chat page counts the scan
and treats a rotated or revoked code exactly as it treats the old QR code.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, url_for

from store.network import points
from web import edge

bp = Blueprint("short", __name__)


@bp.route("/p", defaults={"code": ""})
@bp.route("/p/", defaults={"code": ""})
@bp.route("/p/<path:code>")
@bp.route("/P/<path:code>")  # a phone's keyboard may capitalise what is typed
def follow(code: str) -> Any:
    """Redirect a valid short code to its web chat page; anything else gets a page that says so."""
    token = points.token_for_short(edge.db(), edge.settings().secret_key, code)
    if token is None:
        return render_template(
            "error.html", code=404, title="网址无效",
            text="您输入的网址不正确。请核对采集点海报上“无法扫码”下方的网址"
                 "（字母不区分大小写），或直接扫描海报上的二维码。", chat=True), 404
    resp = redirect(url_for("chat.page", token=token))
    # Rotation changes where a code leads; never let a browser remember the hop.
    resp.headers["Cache-Control"] = "no-store"
    return resp
