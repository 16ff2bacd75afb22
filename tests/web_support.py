"""Helpers for console and web chat tests: CSRF tokens, logging in, posting forms."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from tests.conftest import PASSWORD

_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page as a browser would."""
    html = client.get(path).get_data(as_text=True)
    m = _META.search(html)
    assert m, f"no CSRF meta tag on {path}"
    return m.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf(client)})


def post_page(client: FlaskClient, path: str, **data: str | list[str]) -> str:
    """Submit a console form as a browser does (with the session's CSRF token), follow the
    redirect, and return the page it lands on (which must be a 200)."""
    resp = client.post(path, data={"csrf_token": csrf(client, "/reports"), **data},
                       follow_redirects=True)
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)  # type: ignore[no-any-return]
