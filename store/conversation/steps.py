"""Checking an answer against its step. Pure functions: no session, no I/O.

Each step kind has one checker. A checker returns `Answer(value)` when the
input is usable, `Invalid(key, params)` saying why it is not, or `Skip` for an
optional step the user passed over. `CHECKERS` take the chat's `Inbound`;
`check_value` takes a value as a form on a page, an API or a stored draft
holds it, and applies the same rules.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from store.conversation.types import Inbound, IncomingFile
from store.forms import Step
from store.reports import content


@dataclass(frozen=True)
class Answer:
    value: Any


@dataclass(frozen=True)
class Invalid:
    key: str
    params: dict[str, Any] = field(default_factory=dict)


class _Skip:
    pass


SKIP = _Skip()
Outcome = Answer | Invalid | _Skip

SKIP_WORDS = frozenset({"跳过", "略过", "无", "没有", "暂无", "skip", "none", "no", "-", "/skip"})
YES_WORDS = frozenset({"是", "是的", "对", "要", "需要", "紧急", "匿名", "yes", "y", "1"})
NO_WORDS = frozenset({"否", "不", "不是", "不要", "不需要", "no", "n", "0"})
# Suggestions that say nothing one can act on.
EMPTY_SUGGESTIONS = frozenset({"希望解决", "请解决", "尽快解决", "希望重视", "请重视", "希望政府重视",
                               "希望有关部门重视", "希望改善", "没有建议", "暂无建议", "无建议"})

_DIGIT = re.compile(r"[0-9０-９]")
_CN_QUANTITY = re.compile(
    r"[一二两三四五六七八九十百千万几半多数]+\s*"
    r"(?:个|名|位|户|人|口|次|年|月|天|日|周|小时|分钟|米|公里|千米|里|元|块|栋|幢|座|所|家|辆|条|"
    r"处|间|层|台|吨|亩|平方|岁|成|倍|起|件|项|批|趟|车|班|届|级|段|片|棵|只|头)"
)
_EN_NUMBER = re.compile(
    r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    r"fifty|hundred|thousand|million|dozen|dozens|hundreds|thousands)\b", re.I)


def clean(text: str) -> str:
    """The text as the user wrote it, minus control characters and outer space.

    Chinese punctuation is kept as typed: NFKC would turn "，" into ",".
    """
    if not text.isprintable():  # printable text has no control character (category C)
        text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return text.strip()


def normalise(text: str) -> str:
    """For matching typed words only: NFKC (ＡＢＣ１２３ to ABC123), cleaned."""
    return clean(unicodedata.normalize("NFKC", text))


def meaningful_length(text: str) -> int:
    """Characters that carry content: letters, CJK, digits (not punctuation, space, emoji)."""
    return sum(1 for ch in text if unicodedata.category(ch)[0] in "LN")


def has_fact(text: str) -> bool:
    """Whether `text` states something concrete: a number, a count, a date."""
    return bool(_DIGIT.search(text) or _CN_QUANTITY.search(text) or _EN_NUMBER.search(text))


def _is_skip(text: str | None, step: Step) -> bool:
    return step.optional and text is not None and normalise(text).lower() in SKIP_WORDS


def check_text(step: Step, inbound: Inbound) -> Outcome:
    if inbound.text is None:
        return Invalid("invalid.need_text")
    return _text(step, inbound.text)


def _text(step: Step, typed: str) -> Outcome:
    if _is_skip(typed, step):
        return SKIP
    text = clean(typed)
    if step.single_line:
        text = " ".join(text.split())
    if len(text) > step.max_length:
        return Invalid("invalid.too_long", {"n": len(text), "max": step.max_length})
    meaningful = meaningful_length(text)
    if meaningful == 0:
        return Invalid("invalid.no_content")
    if step.field == "suggestion" and (
        text.rstrip("。.!！") in EMPTY_SUGGESTIONS or meaningful < step.min_length
    ):
        return Invalid("invalid.empty_suggestion")
    if meaningful < step.min_length:
        return Invalid("invalid.too_short", {"min": step.min_length})
    if len(set(text)) < min(3, step.min_length):  # "啊啊啊啊啊啊"
        return Invalid("invalid.no_content")
    if step.require_fact and not has_fact(text):
        return Invalid("invalid.no_fact")
    return Answer(text)


def check_choice(step: Step, inbound: Inbound) -> Outcome:
    return _choice(step, inbound.text)


def _choice(step: Step, text: str | None) -> Outcome:
    if text is None:
        return Invalid("invalid.choose")
    typed = normalise(text)
    for i, choice in enumerate(step.choices, start=1):
        if typed == str(i) or typed == choice.value or typed in choice.label.values():
            return Answer(choice.value)
    if _is_skip(text, step):
        return SKIP
    return Invalid("invalid.choose")


def check_yesno(step: Step, inbound: Inbound) -> Outcome:
    return _yesno(inbound.text)


def _yesno(text: str | None) -> Outcome:
    typed = normalise(text or "").lower()
    if typed in YES_WORDS:
        return Answer(True)
    if typed in NO_WORDS:
        return Answer(False)
    return Invalid("invalid.yesno")


def check_location(step: Step, inbound: Inbound) -> Outcome:
    if inbound.location is not None:
        return _point(*inbound.location)
    if inbound.text is None:
        return Invalid("invalid.location_or_text")
    return _text(step, inbound.text)


def _point(lat: float, lon: float) -> Outcome:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return Invalid("invalid.location_or_text")
    return Answer({"latitude": lat, "longitude": lon})


def check_value(step: Step, value: Any) -> Outcome:
    """`value` checked against a step that is not a file step, by the chat's own rules.

    Takes what was typed into a form or sent by an API ("1"/"是" for yes, a
    choice's number, value or label) and what a checked answer already holds
    (True, a choice's value, `{"latitude": …, "longitude": …}`): checking
    an answer again gives it back unchanged. An empty value is not judged
    here: whether a step may stay unanswered is the draft's question.
    """
    if step.kind == "yesno" and isinstance(value, bool):
        return Answer(value)
    if step.kind == "location" and isinstance(value, dict):
        lat, lon = value.get("latitude"), value.get("longitude")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon)):
            return Invalid("invalid.location_or_text")
        return _point(float(lat), float(lon))  # type: ignore[arg-type]
    if not isinstance(value, str):
        return Invalid(_WRONG_SHAPE.get(step.kind, "invalid.need_text"))
    if step.kind == "choice":
        return _choice(step, value)
    if step.kind == "yesno":
        return _yesno(value)
    return _text(step, value)


_WRONG_SHAPE = {"choice": "invalid.choose", "yesno": "invalid.yesno",
                "location": "invalid.location_or_text"}


def check_file(step: Step, file: IncomingFile, already: int, ceiling_mb: int = 20) -> Invalid | None:
    """Why `file` cannot be kept, or None when it can (the caller stores it).

    The limit is the step's own or the channel's `ceiling_mb`, whichever is lower.
    """
    limit = min(step.max_mb, ceiling_mb)
    if file.data is None or file.size > limit * 1024 * 1024:
        return Invalid("invalid.file_too_big", {"mb": round(file.size / 1024 / 1024, 1),
                                                "max": limit})
    # What the bytes are, whatever the name or the sender's type says.
    actual = content.sniff(file.data, file.content_type, file.filename)
    if actual is None or (step.accept and actual not in step.accept):
        return Invalid("invalid.file_type", {"type": actual or file.content_type or "unknown"})
    if already >= step.max_files:
        return Invalid("invalid.too_many_files", {"max": step.max_files})
    if (refused := content.problem(file.data, actual)) is not None:
        return Invalid(refused.key, dict(refused.params))
    return None


CHECKERS: dict[str, Callable[[Step, Inbound], Outcome]] = {
    "text": check_text,
    "choice": check_choice,
    "yesno": check_yesno,
    "location": check_location,
}
