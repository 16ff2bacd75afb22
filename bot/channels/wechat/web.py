"""The account's URL, /wechat: WeChat's GET check and the POSTed messages, as a Flask blueprint.

A POST is checked (`inbound.Gate`), its (timestamp, nonce) recorded against
replays and the message kept in the inbox, in one short transaction; the
answer is "success" and the inbox worker is woken. Nothing slow happens
before the answer, so WeChat's five-second limit is never near, whatever the
engine, the database or the media API are doing.

Why not a passive reply (reply XML in the answer itself): it would have to
come within those five seconds, so the engine would run inside the request
(a picture fetched first); WeChat retrying a slow answer would meet a
half-done turn; and only one message fits, while an answer is often two
(a receipt and the next question) or longer than one message. Customer
service messages have none of these limits, and the same path carries
later feedback.

Refusals are logged with the reason and answered with a bare status:
403 for a wrong signature, a stale timestamp or a replay; 400 for a body
that is not a WeChat message; 413 for one too large. Nothing is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Blueprint, Flask, Response, request
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.wechat import inbox, state
from bot.channels.wechat.inbound import Gate, Refused

log = logging.getLogger(__name__)


def _text(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


def create_blueprint(gate: Gate, sessions: sessionmaker[Session],
                     on_accepted: Callable[[], None] = lambda: None) -> Blueprint:
    """The /wechat endpoint; `on_accepted` is called after a new message is stored (wake the worker)."""
    bp = Blueprint("wechat", __name__)

    def refuse(exc: Refused) -> Response:
        log.warning("wechat callback refused (%d) from %s: %s", exc.status, request.remote_addr,
                    exc.reason)
        return _text("", exc.status)

    @bp.get("/wechat")
    def verify() -> Response:
        try:
            return _text(gate.echo(request.args))
        except Refused as exc:
            return refuse(exc)

    @bp.post("/wechat")
    def receive() -> Response:
        try:
            envelope = gate.open(request.args, request.get_data(cache=False))
        except Refused as exc:
            return refuse(exc)
        # Remembered for twice the window: a timestamp older than that is refused as stale anyway.
        until = datetime.fromtimestamp(envelope.timestamp + 2 * gate.window, UTC)
        with sessions() as s, s.begin():
            fresh = state.first_sight(s, envelope.timestamp, envelope.nonce, until)
            new = fresh and inbox.accept(s, envelope)
        if not fresh:
            return refuse(Refused(403, f"replayed timestamp {envelope.timestamp} and nonce "
                                       f"{envelope.nonce}"))
        if new:
            on_accepted()
        else:
            log.info("wechat: %s again (WeChat retrying); already kept", envelope.key)
        return _text("success")

    return bp


def install(app: Flask, bp: Blueprint) -> None:
    """Register the endpoint; WeChat signs its POSTs, it cannot carry the console's CSRF token."""
    app.register_blueprint(bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)
