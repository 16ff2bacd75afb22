"""What the emulator holds, and what the bot did there, as the test reads it."""

from __future__ import annotations

import collections
import itertools
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.botapi_emulator.wire import BOT_ID, JSON, TOKEN, Sent, T, _File, _public

if TYPE_CHECKING:
    from tests.botapi_emulator.faults import _Fault


class EmulatorState:
    """The emulator's lists and indexes, guarded by one condition; the reads a test makes."""

    def __init__(self, token: str = TOKEN, *, bot_username: str = "minyi_test_bot",
                 hang_seconds: float = 30.0, latency: float = 0.0,
                 enforce_limits: bool = False, post_to_webhook: bool = False) -> None:
        self.token = token
        self.bot_user: JSON = {"id": BOT_ID, "is_bot": True, "first_name": "民意直通车",
                               "username": bot_username, "can_join_groups": True,
                               "can_read_all_group_messages": False,
                               "supports_inline_queries": False}
        self.hang_seconds = hang_seconds
        # When True, a send breaking the flood limits is answered 429 like Telegram does.
        self.enforce_limits = enforce_limits
        # Seconds between a call's arrival and its answer.
        self.latency = latency
        # Sends being answered now, and the most there ever were at once.
        self.in_flight = 0
        self.most_at_once = 0
        # (arrived, answered) of every send call, whatever its answer.
        self.send_spans: list[tuple[float, float]] = []
        self.sent: list[Sent] = []
        self.edits: list[Sent] = []
        self.calls: list[tuple[str, JSON]] = []
        self.webhook: JSON | None = None
        # When True, updates are POSTed to the webhook once one is set, as Telegram does: each
        # chat's in order, one at a time, posted again until answered 2xx (`webhook_posts`).
        self.post_to_webhook = post_to_webhook
        self.webhook_posts: collections.Counter[str] = collections.Counter()
        self._hooked: set[int] = set()  # update ids the webhook answered 2xx
        self._hook_busy: set[int | None] = set()  # chats with a POST under way
        self._hook_from = 0  # index into _updates of the first update not yet answered
        self._hook_thread: threading.Thread | None = None
        self.answered_callbacks: dict[str, JSON] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.throttled: list[str] = []
        self._updates: list[JSON] = []
        self._confirmed = 0
        self._messages: dict[tuple[int, int], JSON] = {}
        self._files: dict[str, _File] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._blocked: set[int] = set()
        self._send_times: list[tuple[float, int]] = []
        # Indexes over the lists above, so a send costs the same at 10,000 chats as at 1.
        self._chat_of: dict[int, JSON] = {}  # chat id -> its chat object, once it wrote
        self._sent_to: dict[int, list[Sent]] = {}  # chat id -> what the bot sent there
        self._arrived: dict[int, threading.Condition] = {}  # chat id -> notified on each send
        self._last_send: dict[int, float] = {}
        self._last_second: collections.deque[float] = collections.deque()
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1000)
        self._cond = threading.Condition()
        self._stopping = threading.Event()

    def _file(self, data: bytes | None, size: int | None, ext: str) -> _File:
        n = next(self._ids)
        f = _File(file_id=f"FILE{n}x{'A' * 20}", unique_id=f"U{n}",
                  size=size if size is not None else len(data or b""), data=data,
                  path=f"documents/file_{n}.{ext}")
        with self._cond:
            self._files[f.file_id] = f
        return f

    # -- what the bot did ----------------------------------------------------

    def sent_to(self, chat_id: int) -> list[Sent]:
        with self._cond:
            return list(self._sent_to.get(chat_id, ()))

    def wait_sent(self, chat_id: int, after: int, timeout: float) -> bool:
        """Wait until the bot has sent `chat_id` more than `after` messages; False on timeout."""
        with self._cond:
            arrived = self._arrived.setdefault(chat_id, threading.Condition())
        with arrived:
            return arrived.wait_for(lambda: len(self._sent_to.get(chat_id, ())) > after, timeout)

    def _record(self, sent: Sent) -> None:
        with self._cond:
            self.sent.append(sent)
            self._sent_to.setdefault(sent.chat_id, []).append(sent)
            arrived = self._arrived.get(sent.chat_id)
        if arrived is not None:
            with arrived:
                arrived.notify_all()

    def texts(self, chat_id: int) -> list[str]:
        return [s.text or "" for s in self.sent_to(chat_id)]

    def wait_for(self, predicate: Callable[[], T], timeout: float = 15.0) -> T:
        """Wait until `predicate()` is truthy and return it; fail after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {predicate}")
            time.sleep(0.01)

    def wait_for_reply(self, chat_id: int, after: int, timeout: float = 15.0) -> Sent:
        """The first message to `chat_id` beyond the first `after` ones, once it arrives."""
        return self.wait_for(lambda: (self.sent_to(chat_id)[after:] or [None])[0], timeout)

    def updates(self) -> list[JSON]:
        """Every update queued so far, as getUpdates would return it."""
        with self._cond:
            return [_public(u) for u in self._updates]

    def pending_updates(self) -> int:
        with self._cond:
            return sum(1 for u in self._updates if u["update_id"] >= self._confirmed)

    def wait_idle(self, timeout: float = 15.0) -> None:
        """Wait until the bot has fetched (and confirmed) every update."""
        self.wait_for(lambda: self.pending_updates() == 0, timeout)

    def _chats(self) -> dict[int, JSON]:
        with self._cond:
            return self._chat_of

    def _bot_message(self, chat_id: int, extra: JSON) -> JSON:
        with self._cond:
            chat = self._chat_of[chat_id]
        msg = {"message_id": next(self._ids), "date": int(time.time()), "chat": chat,
               "from": self.bot_user, **extra}
        with self._cond:
            self._messages[(chat_id, msg["message_id"])] = msg
        return msg
