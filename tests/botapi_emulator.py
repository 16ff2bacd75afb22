"""A local Telegram Bot API, served over real HTTP on 127.0.0.1 for tests.

The bot under test talks to it exactly as it would talk to Telegram
(`base_url=emu.base_url`, `base_file_url=emu.base_file_url`); the test plays
the users (`user_sends_text`, `user_presses` ...) and reads what the bot sent
(`sent_to`). Faults can be injected (`fail_next`), and every accepted send is
time-stamped so a test can check Telegram's flood limits (`rate_violations`).
With `enforce_limits` it answers a send that breaks them 429 as Telegram does
(each one listed in `throttled`); with `latency` it answers every call that
many seconds after it arrived, as a round trip to Telegram's servers takes,
and records how many sends were in flight at once (`most_at_once`).

Shapes follow the Bot API objects python-telegram-bot parses: Update,
Message, CallbackQuery, PhotoSize, Document, File, User, Chat.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import email.parser
import email.policy
import itertools
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

T = TypeVar("T")
JSON = dict[str, Any]

TOKEN = "123456:TEST-token_for-the-emulator"
BOT_ID = 123456
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # bots cannot fetch files bigger than this
TEXT_LIMIT = 4096
PER_CHAT_INTERVAL = 1.0
GLOBAL_RATE = 30
SEND_METHODS = {"sendMessage", "sendPhoto", "sendDocument"}
_INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "user_id", "from_chat_id"}
_JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "scope", "entities",
                "link_preview_options", "reply_parameters", "caption_entities"}
_BOOL_FIELDS = {"drop_pending_updates", "show_alert", "disable_notification", "protect_content"}


@dataclass
class Sent:
    """One message the bot sent (or edited), as the user's client shows it."""

    method: str
    chat_id: int
    message_id: int
    text: str | None
    reply_markup: JSON | None
    at: float
    photo: bytes | None = None

    @property
    def buttons(self) -> list[list[tuple[str, str]]]:
        """Rows of (label, callback_data) of the inline keyboard, if any."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [[(b["text"], b.get("callback_data", "")) for b in row] for row in rows]

    def button(self, label: str) -> str | None:
        """The callback_data of the first button whose label contains `label`."""
        for row in self.buttons:
            for text, data in row:
                if label in text:
                    return data
        return None


@dataclass
class _Fault:
    kind: str  # 429 | 500 | 502 | 403 | deactivated | chat_not_found | hang
    retry_after: int = 1


@dataclass
class _File:
    file_id: str
    unique_id: str
    size: int
    data: bytes | None
    path: str


class BotAPIEmulator:
    """A Bot API server in a background thread; use as a context manager."""

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

    # -- the test plays the users ---------------------------------------------

    def _user(self, user_id: int, language_code: str | None, first_name: str | None = None) -> JSON:
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name or f"用户{user_id}"}
        if language_code:
            user["language_code"] = language_code
        return user

    def _chat(self, chat_id: int, chat_type: str, user: JSON) -> JSON:
        if chat_type == "private":
            return {"id": chat_id, "type": "private", "first_name": user["first_name"]}
        return {"id": chat_id, "type": chat_type, "title": "某某群"}

    def _push(self, kind: str, payload: JSON) -> int:
        with self._cond:
            update_id = next(self._update_ids)
            self._updates.append({"update_id": update_id, kind: payload})
            self._cond.notify_all()
        return update_id

    def _message(self, user_id: int, extra: JSON, *, chat_id: int | None = None,
                 chat_type: str = "private", language_code: str | None = "zh-hans") -> JSON:
        user = self._user(user_id, language_code)
        chat_id = user_id if chat_id is None else chat_id
        msg: JSON = {"message_id": next(self._ids), "date": int(time.time()),
                     "chat": self._chat(chat_id, chat_type, user), "from": user, **extra}
        with self._cond:
            self._messages[(chat_id, msg["message_id"])] = msg
            self._chat_of.setdefault(chat_id, msg["chat"])
        kind = "channel_post" if chat_type == "channel" else "message"
        if chat_type == "channel":
            msg.pop("from")
        msg["update_id"] = self._push(kind, msg)
        return msg

    def user_sends_text(self, user_id: int, text: str, chat_type: str = "private",
                        language_code: str | None = "zh-hans") -> JSON:
        return self._message(user_id, {"text": text}, chat_type=chat_type,
                             language_code=language_code)

    def user_sends_command(self, user_id: int, command: str, args: str = "",
                           language_code: str | None = "zh-hans") -> JSON:
        text = f"/{command.lstrip('/')}" + (f" {args}" if args else "")
        entity = {"type": "bot_command", "offset": 0, "length": len(text.split(" ")[0])}
        return self._message(user_id, {"text": text, "entities": [entity]},
                             language_code=language_code)

    def group_message(self, chat_id: int, user_id: int, text: str,
                      chat_type: str = "group") -> JSON:
        return self._message(user_id, {"text": text}, chat_id=chat_id, chat_type=chat_type)

    def _file(self, data: bytes | None, size: int | None, ext: str) -> _File:
        n = next(self._ids)
        f = _File(file_id=f"FILE{n}x{'A' * 20}", unique_id=f"U{n}",
                  size=size if size is not None else len(data or b""), data=data,
                  path=f"documents/file_{n}.{ext}")
        with self._cond:
            self._files[f.file_id] = f
        return f

    def user_sends_photo(self, user_id: int, data: bytes, caption: str | None = None,
                         language_code: str | None = "zh-hans") -> JSON:
        """A photo arrives as several sizes; only the largest carries `data`."""
        sizes = []
        for width, blob in ((90, b"thumbnail"), (320, b"medium-size"), (1280, data)):
            f = self._file(blob, None, "jpg")
            sizes.append({"file_id": f.file_id, "file_unique_id": f.unique_id, "width": width,
                          "height": width * 3 // 4, "file_size": f.size})
        extra: JSON = {"photo": sizes}
        if caption:
            extra["caption"] = caption
        return self._message(user_id, extra, language_code=language_code)

    def user_sends_document(self, user_id: int, data: bytes | None = None, *,
                            size: int | None = None, file_name: str = "材料.pdf",
                            mime_type: str = "application/pdf",
                            language_code: str | None = "zh-hans") -> JSON:
        """A document; give `size` without `data` for a file too big to keep."""
        f = self._file(data, size, file_name.rsplit(".", 1)[-1])
        doc = {"file_id": f.file_id, "file_unique_id": f.unique_id, "file_name": file_name,
               "mime_type": mime_type, "file_size": f.size}
        return self._message(user_id, {"document": doc}, language_code=language_code)

    def user_sends_sticker(self, user_id: int) -> JSON:
        f = self._file(b"sticker", None, "webp")
        sticker = {"file_id": f.file_id, "file_unique_id": f.unique_id, "type": "regular",
                   "width": 512, "height": 512, "is_animated": False, "is_video": False}
        return self._message(user_id, {"sticker": sticker})

    def user_sends_voice(self, user_id: int, duration: int = 3) -> JSON:
        f = self._file(b"OggS-voice", None, "oga")
        voice = {"file_id": f.file_id, "file_unique_id": f.unique_id, "duration": duration,
                 "mime_type": "audio/ogg", "file_size": f.size}
        return self._message(user_id, {"voice": voice})

    def user_sends_location(self, user_id: int, latitude: float, longitude: float) -> JSON:
        return self._message(user_id, {"location": {"latitude": latitude,
                                                    "longitude": longitude}})

    def user_edits_message(self, user_id: int, message_id: int, text: str) -> int:
        with self._cond:
            original = dict(self._messages[(user_id, message_id)])
        original.pop("update_id", None)
        original.update(text=text, edit_date=int(time.time()))
        return self._push("edited_message", original)

    def user_presses(self, user_id: int, callback_data: str, message_id: int,
                     language_code: str | None = "zh-hans") -> str:
        """Press a button of the bot's message `message_id`; returns the update id."""
        with self._cond:
            message = dict(self._messages[(user_id, message_id)])
        return self._push("callback_query", {
            "id": f"cq{next(self._ids)}", "from": self._user(user_id, language_code),
            "message": message, "chat_instance": f"ci{user_id}", "data": callback_data,
        })

    def press(self, user_id: int, label: str) -> int:
        """Press the button labelled `label` on the newest message that still shows one."""
        for sent in reversed(self.sent_to(user_id)):
            with self._cond:
                markup = self._messages[(user_id, sent.message_id)].get("reply_markup")
            data = Sent(sent.method, user_id, sent.message_id, None, markup, 0).button(label)
            if data is not None:
                return self.user_presses(user_id, data, sent.message_id)
        raise AssertionError(f"no button {label!r} in chat {user_id}: {self.texts(user_id)}")

    def shown_buttons(self, chat_id: int, message_id: int) -> list[list[tuple[str, str]]]:
        """The buttons message `message_id` shows now (after any edits)."""
        with self._cond:
            markup = self._messages[(chat_id, message_id)].get("reply_markup")
        return Sent("", chat_id, message_id, None, markup, 0).buttons

    def add_chats(self, chat_ids: list[int]) -> None:
        """Private chats that exist (as if each user had written), without queuing updates."""
        with self._cond:
            for chat_id in chat_ids:
                self._chat_of.setdefault(chat_id, {"id": chat_id, "type": "private",
                                                   "first_name": f"用户{chat_id}"})

    def block_bot(self, user_id: int) -> None:
        """The user blocks the bot: every later send to them answers 403."""
        self._blocked.add(user_id)

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

    def rate_violations(self) -> list[str]:
        """Every breach of 1 msg/s per chat or 30 msg/s overall, described."""
        with self._cond:
            times = list(self._send_times)
        found: list[str] = []
        last: dict[int, float] = {}
        for at, chat in times:
            if chat in last and at - last[chat] < PER_CHAT_INTERVAL:
                found.append(f"chat {chat}: two messages {at - last[chat]:.3f}s apart")
            last[chat] = at
        for i in range(len(times) - GLOBAL_RATE):
            span = times[i + GLOBAL_RATE][0] - times[i][0]
            if span < 1.0:
                found.append(f"{GLOBAL_RATE + 1} messages within {span:.3f}s")
        return found

    def fail_next(self, kind: str, times: int = 1, *, method: str = "sendMessage",
                  retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with a fault.

        kind: "429" (with retry_after), "500", "502", "403" (blocked),
        "deactivated", "chat_not_found", or "hang" (no answer until the
        client gives up).
        """
        with self._cond:
            self._faults.setdefault(method, []).extend(
                _Fault(kind, retry_after) for _ in range(times))

    # -- the Bot API -----------------------------------------------------------

    def call(self, method: str, params: JSON, files: dict[str, tuple[str, bytes]]) -> tuple[int, JSON]:
        arrived = time.monotonic()
        is_send = method in SEND_METHODS
        if is_send:
            with self._cond:
                self.in_flight += 1
                self.most_at_once = max(self.most_at_once, self.in_flight)
        try:
            return self._call(method, params, files)
        finally:
            if self.latency:
                self._stopping.wait(max(0.0, arrived + self.latency - time.monotonic()))
            if is_send:
                with self._cond:
                    self.in_flight -= 1
                    self.send_spans.append((arrived, time.monotonic()))

    def _call(self, method: str, params: JSON, files: dict[str, tuple[str, bytes]]) -> tuple[int, JSON]:
        self.calls.append((method, params))
        with self._cond:
            queue = self._faults.get(method)
            fault = queue.pop(0) if queue else None
        if fault is not None:
            return self._fault(fault)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        try:
            return handler(params, files)
        except _ApiError as exc:
            return exc.status, exc.body

    def _fault(self, fault: _Fault) -> tuple[int, JSON]:
        if fault.kind == "hang":
            self._stopping.wait(self.hang_seconds)
            return _error(504, "Gateway Timeout")
        return {
            "429": (429, _retry_body(fault.retry_after)),
            "500": _error(500, "Internal Server Error"),
            "502": _error(502, "Bad Gateway"),
            "403": _error(403, "Forbidden: bot was blocked by the user"),
            "deactivated": _error(403, "Forbidden: user is deactivated"),
            "chat_not_found": _error(400, "Bad Request: chat not found"),
        }[fault.kind]

    def _api_getMe(self, p: JSON, f: Any) -> tuple[int, JSON]:  # noqa: N802
        return _ok(self.bot_user)

    def _api_deleteWebhook(self, p: JSON, f: Any) -> tuple[int, JSON]:  # noqa: N802
        if p.get("drop_pending_updates"):
            with self._cond:
                self._confirmed = max([self._confirmed] +
                                      [u["update_id"] + 1 for u in self._updates])
        return _ok(True)

    def _api_setWebhook(self, p: JSON, f: Any) -> tuple[int, JSON]:  # noqa: N802
        # Recorded for the test, which posts the updates there itself, as Telegram would.
        self.webhook = {"url": p.get("url"), "secret_token": p.get("secret_token")}
        with self._cond:
            if self.post_to_webhook and self._hook_thread is None:
                self._hook_thread = threading.Thread(target=self._post_updates, daemon=True,
                                                     name="webhook-poster")
                self._hook_thread.start()
        return _ok(True)

    # -- webhook delivery (post_to_webhook) -------------------------------------

    def _post_updates(self) -> None:
        """Hand each chat's oldest unanswered update to a poster thread, until stopped."""
        while not self._stopping.is_set():
            with self._cond:
                while (self._hook_from < len(self._updates) and
                       self._updates[self._hook_from]["update_id"] in self._hooked):
                    self._hook_from += 1
                ready: list[JSON] = []
                seen: set[int | None] = set()
                for u in self._updates[self._hook_from:]:
                    chat = _chat_of_update(u)
                    if u["update_id"] in self._hooked or chat in seen:
                        continue
                    seen.add(chat)  # later ones of this chat wait for this one
                    if chat not in self._hook_busy:
                        self._hook_busy.add(chat)
                        ready.append(u)
                if not ready:
                    self._cond.wait(0.5)
            for u in ready:
                threading.Thread(target=self._post_one, args=(u,), daemon=True).start()

    def _post_one(self, update: JSON) -> None:
        import urllib.request

        hook = self.webhook or {}
        request = urllib.request.Request(
            str(hook.get("url")), data=json.dumps(_public(update), ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json",
                     "X-Telegram-Bot-Api-Secret-Token": str(hook.get("secret_token") or "")})
        ok = False
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - a test URL
                ok = 200 <= answer.status < 300
        except (OSError, ValueError) as exc:
            self.webhook_posts[type(exc).__name__] += 1
        if not ok:
            self._stopping.wait(0.3)  # Telegram waits before it posts the update again
        with self._cond:
            self.webhook_posts["answered" if ok else "failed"] += 1
            if ok:
                self._hooked.add(update["update_id"])
            self._hook_busy.discard(_chat_of_update(update))
            self._cond.notify_all()

    def webhook_pending(self) -> int:
        """Updates the webhook has not answered 2xx yet."""
        with self._cond:
            return sum(1 for u in self._updates[self._hook_from:]
                       if u["update_id"] not in self._hooked)

    def _api_getUpdates(self, p: JSON, f: Any) -> tuple[int, JSON]:  # noqa: N802
        offset, limit = int(p.get("offset") or 0), min(int(p.get("limit") or 100), 100)
        timeout = float(p.get("timeout") or 0)
        allowed = p.get("allowed_updates") or None
        deadline = time.monotonic() + timeout
        with self._cond:
            if offset:
                self._confirmed = max(self._confirmed, offset)
            while True:
                # Update ids count up by one from the first: skip the confirmed ones unread.
                first = self._updates[0]["update_id"] if self._updates else 0
                ready = [u for u in self._updates[max(0, self._confirmed - first):]
                         if u["update_id"] >= self._confirmed
                         and (allowed is None or set(u) - {"update_id"} <= set(allowed))]
                left = deadline - time.monotonic()
                if ready or left <= 0 or self._stopping.is_set():
                    break
                self._cond.wait(left)
        return _ok([_public(u) for u in ready[:limit]])

    def _check_send(self, chat_id: int) -> None:
        if chat_id in self._blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id not in self._chats():
            raise _ApiError(400, "Bad Request: chat not found")
        now = time.monotonic()
        with self._cond:
            recent = self._last_second
            while recent and now - recent[0] >= 1.0:
                recent.popleft()
            if self.enforce_limits:
                last_here = self._last_send.get(chat_id)
                if len(recent) >= GLOBAL_RATE or (
                        last_here is not None and now - last_here < PER_CHAT_INTERVAL):
                    why = (f"{len(recent)} sends in the last second" if len(recent) >= GLOBAL_RATE
                           else f"{now - last_here:.3f}s after the last" if last_here is not None
                           else "")
                    self.throttled.append(f"chat {chat_id} at {now:.3f}: {why}")
                    raise _ApiError(429, "", body=_retry_body(1))
            self._send_times.append((now, chat_id))
            self._last_send[chat_id] = now
            recent.append(now)

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

    def _api_sendMessage(self, p: JSON, f: Any) -> tuple[int, JSON]:  # noqa: N802
        chat_id, text = _chat_id(p), str(p.get("text") or "")
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > TEXT_LIMIT:
            return _error(400, "Bad Request: message is too long")
        markup = _markup(p)
        self._check_send(chat_id)
        msg = self._bot_message(chat_id, {"text": text, **({"reply_markup": markup}
                                                          if markup else {})})
        self._record(Sent("sendMessage", chat_id, msg["message_id"], text, markup,
                          time.monotonic()))
        return _ok(msg)

    def _api_sendPhoto(self, p: JSON, files: dict[str, tuple[str, bytes]]) -> tuple[int, JSON]:  # noqa: N802
        chat_id = _chat_id(p)
        ref = str(p.get("photo") or "")
        name = ref.removeprefix("attach://") if ref.startswith("attach://") else "photo"
        blob = files[name][1] if name in files else self._files[ref].data or b""
        self._check_send(chat_id)
        f = self._file(blob, None, "jpg")
        extra: JSON = {"photo": [{"file_id": f.file_id, "file_unique_id": f.unique_id,
                                  "width": 800, "height": 600, "file_size": f.size}]}
        if p.get("caption"):
            extra["caption"] = p["caption"]
        markup = _markup(p)
        if markup:
            extra["reply_markup"] = markup
        msg = self._bot_message(chat_id, extra)
        self._record(Sent("sendPhoto", chat_id, msg["message_id"], p.get("caption"),
                          markup, time.monotonic(), photo=blob))
        return _ok(msg)

    def _edit(self, p: JSON, **changes: Any) -> tuple[int, JSON]:
        key = (_chat_id(p), int(p["message_id"]))
        with self._cond:
            msg = self._messages.get(key)
            if msg is None:
                return _error(400, "Bad Request: message to edit not found")
            before = (msg.get("text"), msg.get("reply_markup"))
            for name, value in changes.items():
                if value is None:
                    msg.pop(name, None)
                else:
                    msg[name] = value
            if (msg.get("text"), msg.get("reply_markup")) == before:
                return _error(400, "Bad Request: message is not modified: specified new message "
                                   "content and reply markup are exactly the same as a current "
                                   "content and reply markup of the message")
            msg["edit_date"] = int(time.time())
            self.edits.append(Sent("edit", key[0], key[1], msg.get("text"),
                                   msg.get("reply_markup"), time.monotonic()))
        return _ok(msg)

    def _api_editMessageText(self, p: JSON, f: Any) -> tuple[int, JSON]:  # noqa: N802
        return self._edit(p, text=str(p.get("text") or ""), reply_markup=_markup(p))

    def _api_editMessageReplyMarkup(self, p: JSON, f: Any) -> tuple[int, JSON]:  # noqa: N802
        return self._edit(p, reply_markup=_markup(p))

    def _api_answerCallbackQuery(self, p: JSON, f: Any) -> tuple[int, JSON]:  # noqa: N802
        with self._cond:
            if "callback_query_id" not in p:  # a request cut short by a client that died
                return _error(400, "Bad Request: query ID is invalid")
            query_id = str(p["callback_query_id"])
            if query_id in self.answered_callbacks:
                return _error(400, "Bad Request: query is too old and response timeout expired "
                                   "or query ID is invalid")
            self.answered_callbacks[query_id] = p
        return _ok(True)

    def _api_getFile(self, p: JSON, f: Any) -> tuple[int, JSON]:  # noqa: N802
        found = self._files.get(str(p.get("file_id")))
        if found is None:
            return _error(400, "Bad Request: invalid file_id")
        if found.size > DOWNLOAD_LIMIT:
            return _error(400, "Bad Request: file is too big")
        return _ok({"file_id": found.file_id, "file_unique_id": found.unique_id,
                    "file_size": found.size, "file_path": found.path})

    def download(self, path: str) -> bytes | None:
        with self._cond:
            for f in self._files.values():
                if f.path == path and f.size <= DOWNLOAD_LIMIT:
                    return f.data
        return None

    def _api_setMyCommands(self, p: JSON, f: Any) -> tuple[int, JSON]:  # noqa: N802
        key = (json.dumps(p.get("scope") or {"type": "default"}), p.get("language_code") or "")
        self.commands[key] = list(p.get("commands") or [])
        return _ok(True)

    def _api_getMyCommands(self, p: JSON, f: Any) -> tuple[int, JSON]:  # noqa: N802
        key = (json.dumps(p.get("scope") or {"type": "default"}), p.get("language_code") or "")
        return _ok(self.commands.get(key, []))

    def _api_deleteMyCommands(self, p: JSON, f: Any) -> tuple[int, JSON]:  # noqa: N802
        key = (json.dumps(p.get("scope") or {"type": "default"}), p.get("language_code") or "")
        self.commands.pop(key, None)
        return _ok(True)

    def _api_close(self, p: JSON, f: Any) -> tuple[int, JSON]:
        return _ok(True)

    def _api_logOut(self, p: JSON, f: Any) -> tuple[int, JSON]:  # noqa: N802
        return _ok(True)


class BackgroundLoop:
    """An asyncio loop in a thread, so a synchronous test can run a bot beside it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run `coro` on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


class RunningBot:
    """A python-telegram-bot Application polling the emulator from a background loop.

    `act()` plays one user action and returns what the bot sent back once the
    application has finished handling it.
    """

    def __init__(self, app: Any, emu: BotAPIEmulator) -> None:
        from telegram import Update
        from telegram.ext import TypeHandler

        self.app = app
        self.emu = emu
        self.loop = BackgroundLoop()
        self._handled: set[int] = set()
        self._cond = threading.Condition()
        app.add_handler(TypeHandler(Update, self._mark), group=99)

    async def _mark(self, update: Any, context: Any) -> None:
        with self._cond:
            self._handled.add(update.update_id)
            self._cond.notify_all()

    async def _start(self) -> None:
        await self.app.initialize()
        await self.app.start()
        await self.app.updater.start_polling(poll_interval=0, timeout=1)

    async def _stop(self) -> None:
        await self.app.updater.stop()
        await self.app.stop()
        await self.app.shutdown()

    def start(self) -> RunningBot:
        self.loop.run(self._start())
        return self

    def stop(self) -> None:
        try:
            self.loop.run(self._stop())
        finally:
            self.loop.close()

    def wait_handled(self, update_id: int, timeout: float = 20.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: update_id in self._handled, timeout):
                raise AssertionError(f"update {update_id} was not handled")

    def act(self, chat_id: int, action: Callable[[], int | JSON]) -> list[Sent]:
        """Do `action` (an emulator call) and return the bot's messages it caused."""
        before = len(self.emu.sent_to(chat_id))
        result = action()
        self.wait_handled(result["update_id"] if isinstance(result, dict) else result)
        return self.emu.sent_to(chat_id)[before:]


class _ApiError(Exception):
    def __init__(self, status: int, description: str, body: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.body = body or _error(status, description)[1]


def _ok(result: Any) -> tuple[int, JSON]:
    return 200, {"ok": True, "result": result}


def _error(status: int, description: str) -> tuple[int, JSON]:
    return status, {"ok": False, "error_code": status, "description": description}


def _retry_body(seconds: int) -> JSON:
    return {"ok": False, "error_code": 429,
            "description": f"Too Many Requests: retry after {seconds}",
            "parameters": {"retry_after": seconds}}


def _public(update: JSON) -> JSON:
    """An update as Telegram sends it (our bookkeeping keys removed)."""
    out = dict(update)
    for kind in ("message", "edited_message", "channel_post"):
        if kind in out:
            out[kind] = {k: v for k, v in out[kind].items() if k != "update_id"}
    return out


def _chat_of_update(update: JSON) -> int | None:
    for kind in ("message", "edited_message", "channel_post"):
        if kind in update:
            return int(update[kind]["chat"]["id"])
    if "callback_query" in update:
        return int(update["callback_query"]["from"]["id"])
    return None


def _chat_id(p: JSON) -> int:
    try:
        return int(p["chat_id"])
    except (KeyError, ValueError):
        raise _ApiError(400, "Bad Request: chat not found") from None


def _markup(p: JSON) -> JSON | None:
    markup = p.get("reply_markup")
    if not markup:
        return None
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if len(button.get("callback_data", "").encode()) > 64:
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return markup if markup.get("inline_keyboard") else None


def _coerce(name: str, value: str) -> Any:
    """Form fields arrive as strings; Telegram reads them by the parameter's type."""
    if name in _JSON_FIELDS:
        return json.loads(value)
    if name in _BOOL_FIELDS:
        return value.lower() == "true"
    if name in _INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value
    return value


def _parse(content_type: str, body: bytes, query: str) -> tuple[JSON, dict[str, tuple[str, bytes]]]:
    params: JSON = {k: _coerce(k, v) for k, v in urllib.parse.parse_qsl(query)}
    files: dict[str, tuple[str, bytes]] = {}
    if content_type.startswith("application/json") and body:
        params.update(json.loads(body))
    elif content_type.startswith("application/x-www-form-urlencoded"):
        params.update({k: _coerce(k, v) for k, v in
                       urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)})
    elif content_type.startswith("multipart/form-data"):
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        for part in message.iter_parts():  # type: ignore[attr-defined]
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                files[name] = (part.get_filename(), payload)
            else:
                params[name] = _coerce(name, payload.decode())
    return params, files


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A bot killed mid-request (tests that crash it on purpose) is no error of ours.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(emu: BotAPIEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; with Nagle on, a keep-alive
        # client waits for the delayed ACK (about 40 ms) on every request.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def _answer(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            # After a "hang" fault the client has gone; there is no one to answer.
            with contextlib.suppress(OSError):
                self.wfile.write(body)

        def _serve(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            path = urllib.parse.unquote(url.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            file_prefix = f"/file/bot{emu.token}/"
            if path.startswith(file_prefix):
                data = emu.download(path[len(file_prefix):])
                if data is None:
                    self._answer(404, b'{"ok":false,"error_code":404,"description":"Not Found"}')
                else:
                    self._answer(200, data, "application/octet-stream")
                return
            prefix = f"/bot{emu.token}/"
            if not path.startswith(prefix):
                self._answer(401, b'{"ok":false,"error_code":401,"description":"Unauthorized"}')
                return
            try:
                params, files = _parse(self.headers.get("Content-Type") or "", body, url.query)
            except ValueError as exc:
                status, payload = _error(400, f"Bad Request: can't parse parameters: {exc}")
            else:
                status, payload = emu.call(path[len(prefix):], params, files)
            self._answer(status, json.dumps(payload, ensure_ascii=False).encode())

        do_GET = do_POST = _serve  # noqa: N815

    return Handler


__all__ = ["BotAPIEmulator", "BackgroundLoop", "RunningBot", "Sent", "TOKEN", "BOT_ID", "DOWNLOAD_LIMIT"]
