"""Every console and chat page carries the security headers and a Content-Security-Policy
that forbids inline script, and no page brings any (issue 15)."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from store.models import Role
from tests.test_privacy import ROLES, World, _walker, console_urls, world  # noqa: F401

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>",
                           re.IGNORECASE)
HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
JS_URL = re.compile(r"""(?:href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def _policy(header: str) -> dict[str, str]:
    return {d.strip().split(" ", 1)[0]: (d.strip().split(" ", 1) + [""])[1]
            for d in header.split(";") if d.strip()}


def problems_of(url: str, resp_headers: dict[str, str], body: str) -> list[str]:
    found = []
    policy = _policy(resp_headers.get("Content-Security-Policy", ""))
    if policy.get("script-src") != "'self'":
        found.append(f"{url}: script-src is {policy.get('script-src')!r}")
    if policy.get("frame-ancestors") != "'none'" or policy.get("object-src") != "'none'":
        found.append(f"{url}: frames or objects allowed: {policy}")
    if resp_headers.get("X-Content-Type-Options") != "nosniff":
        found.append(f"{url}: no X-Content-Type-Options")
    if not resp_headers.get("Referrer-Policy"):
        found.append(f"{url}: no Referrer-Policy")
    for name, pattern in (("inline script", INLINE_SCRIPT), ("event handler", HANDLER),
                          ("javascript: URL", JS_URL)):
        for m in pattern.finditer(body):
            found.append(f"{url}: {name}: {m.group(0)[:80]}")
    return found


@pytest.mark.parametrize("role", [None, Role.ADMIN, Role.CLERK, Role.DEPARTMENT],
                         ids=lambda r: r.value if r else "anonymous")
def test_it_sends_a_policy_without_inline_script_on_every_page(
        app: Flask, world: World, role: Role | None) -> None:  # noqa: F811
    client = _walker(app, role, world)
    found, walked = [], 0
    for url in console_urls(app, world):
        resp = client.get(url)
        headers = dict(resp.headers)
        if resp.mimetype == "text/html":
            walked += 1
            found += problems_of(url, headers, resp.get_data(as_text=True))
        elif "Content-Security-Policy" not in headers:
            found.append(f"{url}: no policy on {resp.mimetype}")
    assert walked > 20
    assert not found, "\n".join(found)


@pytest.mark.parametrize("body", [
    "<p>x</p><script>alert(1)</script>",
    '<a href="#" onclick="go()">x</a>',
    '<a href="javascript:go()">x</a>',
    '<body onload="go()">',
])
def test_the_check_catches_each_kind_of_inline_script(body: str) -> None:
    headers = {"Content-Security-Policy": "script-src 'self'; frame-ancestors 'none'; "
               "object-src 'none'", "X-Content-Type-Options": "nosniff",
               "Referrer-Policy": "same-origin"}
    assert problems_of("/x", headers, body)
    assert not problems_of("/x", headers, '<script src="/static/chat.js"></script>'
                           '<script type="application/json">{"a": 1}</script>')


def test_it_refuses_to_be_framed_and_sniffed_on_the_login_page(app: Flask) -> None:
    resp = app.test_client().get("/login")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in resp.headers["Content-Security-Policy"]
