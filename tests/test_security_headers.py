"""Every console and chat page carries the security headers and a Content-Security-Policy
that forbids inline script, and no page brings any (issue 15)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from flask import Flask

from store.models import Role
from tests.test_privacy import ROLES, World, _walker, console_urls, world  # noqa: F401

URL_ATTRS = frozenset({"href", "src", "action", "formaction", "data", "xlink:href"})


class _Runnable(HTMLParser):
    """Collects what a browser would run: inline scripts, event handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script" and "src" not in named and named.get("type") != "application/json":
            self.found.append(f"inline script <{tag} {named}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"event handler <{tag} {name}=...>")
            if name in URL_ATTRS and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL <{tag} {name}={value!r}>")


def runnable(body: str) -> list[str]:
    """What in an HTML page would run despite having no script file of its own."""
    parser = _Runnable()
    parser.feed(body)
    parser.close()
    return parser.found


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
    found += (f"{url}: {what}" for what in runnable(body))
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
