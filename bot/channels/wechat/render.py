"""The engine's replies as WeChat text, and a typed answer back to the button it names.

Official accounts have no inline buttons. A reply's buttons are listed under
its text, numbered across the whole answer:

    请选择信息类别：

    回复数字选择：
    1. 经济发展
    2. 民生保障

The user answers with the number (half- or full-width digits, or a Chinese
numeral such as 二) or with the option's words ("民生保障"); `choose` turns
that into the button's data, which the engine takes as a press. Everything
here is pure: the worker keeps what was offered (`state.save_offer`) between
one answer and the next.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.channels.wechat import messages as _messages  # noqa: F401  (registers the texts)
from store.conversation.types import Button, Capabilities, Reply
from store.i18n import t

# The customer service API refuses a text message longer than this many bytes of UTF-8.
TEXT_LIMIT = 2048

# No buttons (choices are numbered options); a typed "/new" is a command, as in Telegram;
# plain text. WeChat counts a message's bytes; a Chinese character takes three.
CAPABILITIES = Capabilities(commands=True, buttons=False, files=True,
                            longest_text=TEXT_LIMIT // 3)

_NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
             "九": 9, "十": 10}
# Around a typed answer: "2.", "(2)", "【民生保障】", "2、".
_WRAPPING = " \t\r\n.。,，、:：;；!！?？()[]【】「」“”\"'‘’<>《》"


@dataclass(frozen=True)
class Rendered:
    """What to send (each part one message) and the buttons offered, in their numbers' order."""

    parts: list[str]
    offered: list[Button] = field(default_factory=list)


def render(replies: Sequence[Reply], lang: str = "zh", limit: int = TEXT_LIMIT) -> Rendered:
    """One answer of the engine as WeChat text: the replies joined, options numbered, split to fit."""
    offered: list[Button] = []
    blocks: list[str] = []
    for reply in replies:
        lines = [reply.text.strip()] if reply.text.strip() else []
        buttons = [b for row in reply.buttons for b in row]
        if buttons:
            options = [t("wechat.options", lang)]
            for button in buttons:
                offered.append(button)
                options.append(f"{len(offered)}. {button.label.strip()}")
            lines.append("\n".join(options))
        if lines:
            blocks.append("\n\n".join(lines))
    return Rendered(split("\n\n".join(blocks), limit), offered)


def choose(offered: Sequence[Button], text: str | None) -> str | None:
    """The data of the offered button `text` names by number or by its words, else None."""
    if not offered or not text:
        return None
    answer = _normal(text)
    if not answer:
        return None
    number = _number(answer)
    if number is not None:
        return offered[number - 1].data if 1 <= number <= len(offered) else None
    named = {b.data for b in offered if _normal(_words(b.label)) == answer}
    return named.pop() if len(named) == 1 else None


def split(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """`text` in pieces of at most `limit` UTF-8 bytes, cut at a blank line, a line end or a sentence end."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest.encode()) > limit:
        head = rest.encode()[:limit].decode("utf-8", errors="ignore")
        cut = _cut(head)
        pieces.append(head[:cut].rstrip())
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return pieces


def _cut(head: str) -> int:
    """Where to end a piece that may be at most `head`: the latest natural break, if any."""
    for mark in ("\n\n", "\n"):
        at = head.rfind(mark)
        if at > 0:
            return at
    at = max(head.rfind(end) for end in "。！？；!?;")
    return at + 1 if at > 0 else len(head)


def _normal(text: str) -> str:
    """Full-width to half-width (NFKC), case folded, without wrapping punctuation."""
    return unicodedata.normalize("NFKC", text).strip(_WRAPPING).casefold()


def _words(label: str) -> str:
    """A label without its emoji and other symbols ("✅ 确认提交" → "确认提交")."""
    kept = (c for c in label if unicodedata.category(c) not in {"So", "Sk", "Mn", "Cf", "Cs"})
    return "".join(kept).strip()


def _number(answer: str) -> int | None:
    if answer.isascii() and answer.isdigit():
        return int(answer) if len(answer) <= 3 else None
    if answer in _NUMERALS:
        return _NUMERALS[answer]
    # 十一 … 九十九
    tens, ten, ones = answer.partition("十")
    if ten and len(answer) <= 3 and tens in ("", *_NUMERALS) and ones in ("", *_NUMERALS):
        high = _NUMERALS[tens] if tens else 1
        low = _NUMERALS[ones] if ones else 0
        if high < 10 and low < 10:
            return high * 10 + low
    return None
