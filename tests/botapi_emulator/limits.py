"""Telegram's flood limits: each send checked (429 with `enforce_limits`) and every breach listed."""

from __future__ import annotations

import time

from tests.botapi_emulator.state import EmulatorState
from tests.botapi_emulator.wire import _ApiError, _retry_body

PER_CHAT_INTERVAL = 1.0
GLOBAL_RATE = 30


class Limits(EmulatorState):
    """1 message a second per chat, GLOBAL_RATE a second overall."""

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
