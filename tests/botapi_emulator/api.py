"""The Bot API methods the bot calls, each `_api_<method>`, and the dispatch to them."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.botapi_emulator.faults import Faults
from tests.botapi_emulator.limits import Limits
from tests.botapi_emulator.wire import (
    DOWNLOAD_LIMIT,
    JSON,
    SEND_METHODS,
    TEXT_LIMIT,
    Sent,
    _ApiError,
    _chat_id,
    _error,
    _markup,
    _ok,
    _public,
)


class BotAPI(Limits, Faults):
    """`call(method, params, files)`: a fault if one is queued, else the method's answer."""

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

    def _api_getMe(self, p: JSON, f: Any) -> tuple[int, JSON]:  # noqa: N802
        return _ok(self.bot_user)

    def _api_deleteWebhook(self, p: JSON, f: Any) -> tuple[int, JSON]:  # noqa: N802
        if p.get("drop_pending_updates"):
            with self._cond:
                self._confirmed = max([self._confirmed] +
                                      [u["update_id"] + 1 for u in self._updates])
        return _ok(True)

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
