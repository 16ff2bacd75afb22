"""The emulator: a Bot API server on 127.0.0.1 in a background thread, and its lifecycle."""

from __future__ import annotations

import threading

from tests.botapi_emulator.api import BotAPI
from tests.botapi_emulator.server import _handler_for, _Server
from tests.botapi_emulator.users import Users
from tests.botapi_emulator.webhook import Webhook
from tests.botapi_emulator.wire import TOKEN


class BotAPIEmulator(Users, BotAPI, Webhook):
    """A Bot API server in a background thread; use as a context manager."""

    def __init__(self, token: str = TOKEN, *, bot_username: str = "minyi_test_bot",
                 hang_seconds: float = 30.0, latency: float = 0.0,
                 enforce_limits: bool = False, post_to_webhook: bool = False) -> None:
        super().__init__(token, bot_username=bot_username, hang_seconds=hang_seconds,
                         latency=latency, enforce_limits=enforce_limits,
                         post_to_webhook=post_to_webhook)
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    # -- lifecycle -------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """What to pass as `base_url` (the token is appended by the client)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def start(self) -> BotAPIEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        if self._hook_thread is not None:
            self._hook_thread.join(10)
        if self._thread.ident is not None:  # shutdown() waits for a serve_forever that never began
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> BotAPIEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
