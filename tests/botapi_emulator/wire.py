"""What goes over the wire: the Bot API's objects, answers and errors, and their constants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
JSON = dict[str, Any]

TOKEN = "123456:TEST-token_for-the-emulator"
BOT_ID = 123456
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # bots cannot fetch files bigger than this
TEXT_LIMIT = 4096
SEND_METHODS = {"sendMessage", "sendPhoto", "sendDocument"}


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
class _File:
    file_id: str
    unique_id: str
    size: int
    data: bytes | None
    path: str


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
