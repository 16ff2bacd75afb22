"""Asking before an act that cannot be taken back (a new QR code, a retired unit).

The first POST shows what will happen and posts the same form again with
`confirm=1`; only that second POST acts. It works without JavaScript, which
the console's CSP would not let an inline `confirm()` run anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import render_template, request


def confirmed() -> bool:
    """Whether this POST is the second one, from the confirmation page."""
    return request.form.get("confirm") == "1"


def ask(title: str, lines: Sequence[str], *, button: str, cancel: str) -> Any:
    """The confirmation page: `lines` say what will happen; the form re-posts to this URL."""
    fields = [(k, v) for k, v in request.form.items(multi=True) if k not in ("csrf_token", "confirm")]
    return render_template("confirm.html", title=title, lines=lines, button=button,
                           target=request.full_path.rstrip("?"), fields=fields, cancel=cancel)
