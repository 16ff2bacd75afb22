"""Before the console hands out printable codes: links on a loopback address get a warning first.

A poster or QR image made while PUBLIC_URL is 127.0.0.1 (the `make run`
default) would send every phone that scans it to the phone itself. The
console shows why and what to set, and generates only once the user confirms.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for

from qr import loopback
from web import edge

CONFIRM = "confirm"


def warning() -> str | None:
    """The loopback warning for this deployment's PUBLIC_URL, or None."""
    settings = edge.settings()
    return loopback.warning(settings.public_url, settings.port)


def confirm_first(what: str) -> Any | None:
    """A page asking to confirm printing `what` when the links are unreachable, else None."""
    text = warning()
    if text is None or request.args.get(CONFIRM) == "1":
        return None
    args: dict[str, Any] = {**(request.view_args or {}), **request.args.to_dict(), CONFIRM: "1"}
    go_on = url_for(request.endpoint or "points.index", **args)
    host = loopback.loopback_host(edge.settings().public_url)
    return render_template("print_warning.html", what=what, text=text, host=host,
                           public_url=edge.settings().public_url, port=edge.settings().port,
                           go_on=go_on), 409
