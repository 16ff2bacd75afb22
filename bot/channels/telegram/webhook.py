"""Telegram's webhook: updates posted to `minyi bot`'s own small web app.

Telegram sends back the secret given to `setWebhook` in the
`X-Telegram-Bot-Api-Secret-Token` header; a request without it (or with
another) is refused with 403 before its body is read. A body that is not an
update is refused with 400. An accepted update is handled on the running
application's event loop by the same handlers as in long polling, and only
then answered 200: Telegram forgets an update it got 200 for, so an answer
given before the handlers ran would lose the update to a crash in between
(the crash drill, bench/crash_drill/, found this). Telegram posts an
unanswered update again; the engine records each processed update id in the
transaction that applies it, so the second post applies nothing twice.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any

from flask import Flask, abort, jsonify, request
from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)

HEADER = "X-Telegram-Bot-Api-Secret-Token"
PATH = "/telegram/webhook"
# Telegram's updates are small; a file's content never comes in one.
MAX_BODY = 1024 * 1024
# Longer than any handler should take, shorter than Telegram's patience with a webhook.
HANDLE_WITHIN = 50.0


def webhook_app(application: Application, loop: asyncio.AbstractEventLoop,  # type: ignore[type-arg]
                secret: str, path: str = PATH) -> Flask:
    """A WSGI app taking Telegram's POSTs at `path` into `application` on `loop`."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY

    @app.post(path)
    def receive() -> Any:
        given = request.headers.get(HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("webhook: a request without the secret token from %s refused",
                        request.remote_addr)
            abort(403)
        update = _update(request.get_json(silent=True), application)
        if update is None:
            abort(400)
        try:
            asyncio.run_coroutine_threadsafe(application.process_update(update),
                                             loop).result(timeout=HANDLE_WITHIN)
        except Exception as exc:  # stopping, or too slow: Telegram posts it again later
            log.warning("webhook: update %s not handled (%r)", update.update_id, exc)
            abort(503)
        return jsonify(ok=True)

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(ok=application.running)

    return app


def _update(body: object, application: Application) -> Update | None:  # type: ignore[type-arg]
    """The update in `body`, or None when it is not one."""
    if not isinstance(body, dict) or not isinstance(body.get("update_id"), int):
        return None
    try:
        return Update.de_json(body, application.bot)
    except Exception as exc:  # any shape the library cannot read is the sender's fault
        log.warning("webhook: an unreadable update refused (%s)", exc)
        return None
