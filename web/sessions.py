"""Console sessions: stamped at login, checked on every request, ended from the server.

The session lives in Flask's signed cookie, so the server cannot delete a copy
of it. Instead each one carries the user's `session_generation` at login and
the login time: `store.network.users.end_sessions` (logout, a password change
or reset, deactivation) raises the generation, and every cookie carrying an
older one stops opening the console; a session also ends SESSION_MAX_HOURS
after login, and after SESSION_IDLE_MINUTES without a request (the cookie's
own lifetime, renewed on every request).
"""

from __future__ import annotations

import time

from flask import Flask, Response, request, session
from flask.sessions import SecureCookieSessionInterface

from store.models import User
from web import edge

GENERATION, SINCE = "_gen", "_since"


def begin(user: User) -> None:
    """Stamp the session `login_user` just opened: its generation, and its life starts now."""
    session.permanent = True
    session[GENERATION] = user.session_generation
    session[SINCE] = int(time.time())


def restamp(user: User) -> None:
    """Keep this session open after `user`'s generation was raised by their own action."""
    session[GENERATION] = user.session_generation


def current(user: User) -> bool:
    """Whether this request's session is still one of `user`'s live ones."""
    since = session.get(SINCE)
    if session.get(GENERATION) != user.session_generation or not isinstance(since, int):
        return False
    return time.time() - since < edge.settings().session_max_hours * 3600


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, Secure also on a request that came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(super().get_cookie_secure(app) or (request and request.is_secure))


def secure_cookies(resp: Response) -> Response:
    """Over HTTPS (directly, or as a trusted proxy says) every cookie a view sets is Secure
    (the session's own is written later, by `CookieSessions`)."""
    if request.is_secure:
        cookies = resp.headers.getlist("Set-Cookie")
        if any("; secure" not in c.lower() for c in cookies):
            resp.headers.remove("Set-Cookie")
            for cookie in cookies:
                resp.headers.add("Set-Cookie", cookie if "; secure" in cookie.lower()
                                 else f"{cookie}; Secure")
    return resp
