"""Fault injection: the next calls of a method answered with an error, or never."""

from __future__ import annotations

from dataclasses import dataclass

from tests.botapi_emulator.state import EmulatorState
from tests.botapi_emulator.wire import JSON, _error, _retry_body


@dataclass
class _Fault:
    kind: str  # 429 | 500 | 502 | 403 | deactivated | chat_not_found | hang
    retry_after: int = 1


class Faults(EmulatorState):
    """Faults queued per method, each answering one call."""

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
