"""What each mode keeps in `Conversation.context`, typed, read and written here only.

The JSON column holds a flat object; `load` turns it into the dataclass of
the conversation's mode and refuses (`Malformed`) a row that does not fit —
an old row, a mode string no longer known, a field of the wrong type — and
`dump` writes a context back, refusing one that does not belong to the mode.
The engine recovers a malformed conversation to the menu and keeps its
answers (see `Turn.recover`).

Every mode keeps the last filing (`last_receipt`, `submitted_turn`), so a
double-tapped 确认提交 is told the tracking number instead of filing twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from store.conversation.modes import DRAFT_MODES, Mode


class Malformed(ValueError):
    """A conversation row whose mode or context the engine cannot read."""


@dataclass(frozen=True, kw_only=True)
class Context:
    """The idle context, and what every other mode keeps too."""

    last_receipt: str | None = None
    submitted_turn: str | None = None

    def receipt(self) -> Context:
        """Only the last filing: what survives leaving a mode."""
        return Context(last_receipt=self.last_receipt, submitted_turn=self.submitted_turn)


@dataclass(frozen=True, kw_only=True)
class DraftContext(Context):
    """filling, review, editing: the topic call answered, a newly scanned point waiting."""

    topic_id: int | None = None
    # A point's code scanned over a draft with answers: used if they start over.
    pending_point_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class Paused:
    """A draft waiting while a side errand is run."""

    mode: Mode
    step: str | None = None
    topic_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class SideContext(Context):
    """What both side errands keep: the report they are about, and a paused draft."""

    report_id: int
    paused: Paused | None = None
    pending_point_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class SupplementContext(SideContext):
    """supplement: what was sent so far for the returned report."""

    texts: tuple[str, ...] = ()
    files: int = 0


@dataclass(frozen=True, kw_only=True)
class ReopenContext(SideContext):
    """reopen: the closed report whose reporter is unsatisfied."""


OF_MODE: dict[Mode, type[Context]] = {
    Mode.IDLE: Context,
    Mode.FILLING: DraftContext, Mode.REVIEW: DraftContext, Mode.EDITING: DraftContext,
    Mode.SUPPLEMENT: SupplementContext,
    Mode.REOPEN: ReopenContext,
}


def mode_of(raw: object) -> Mode:
    try:
        return Mode(raw if isinstance(raw, str) else "")
    except ValueError:
        raise Malformed(f"unknown mode {raw!r}") from None


def _int(value: object, name: str, *, required: bool = False) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed(f"{name} must be a whole number, not {value!r}")
    return value


# Each kind's field names, read on every input: `fields` is not cheap.
_FIELDS: dict[type[Context], tuple[str, ...]] = {
    kind: tuple(f.name for f in fields(kind)) for kind in set(OF_MODE.values())}


def _str(value: object, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise Malformed(f"{name} must be text, not {value!r}")


def _paused(value: object) -> Paused | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Malformed(f"paused must be an object, not {value!r}")
    mode = mode_of(value.get("mode"))
    if mode not in DRAFT_MODES:
        raise Malformed(f"a paused draft cannot be in mode {mode}")
    return Paused(mode=mode, step=_str(value.get("step"), "paused.step"),
                  topic_id=_int(value.get("topic_id"), "paused.topic_id"))


def load(mode: Mode, raw: object) -> Context:
    """The context of a conversation in `mode`; keys of no use to the mode are let go."""
    if not isinstance(raw, dict):
        raise Malformed(f"context must be an object, not {raw!r}")
    kind = OF_MODE[mode]
    known = _FIELDS[kind]
    values: dict[str, Any] = {
        "last_receipt": _str(raw.get("last_receipt"), "last_receipt"),
        "submitted_turn": _str(raw.get("submitted_turn"), "submitted_turn"),
    }
    for name in ("topic_id", "pending_point_id"):
        if name in known:
            values[name] = _int(raw.get(name), name)
    if "report_id" in known:
        values["report_id"] = _int(raw.get("report_id"), "report_id", required=True)
        values["paused"] = _paused(raw.get("paused"))
    if "texts" in known:
        texts = raw.get("texts", [])
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise Malformed(f"texts must be a list of text, not {texts!r}")
        values["texts"] = tuple(texts)
        values["files"] = _int(raw.get("files", 0), "files", required=True)
    return kind(**values)


def dump(mode: Mode, context: Context) -> dict[str, Any]:
    """The JSON for `context`, which must be the kind `mode` keeps."""
    if type(context) is not OF_MODE[mode]:
        raise TypeError(f"mode {mode} keeps a {OF_MODE[mode].__name__}, "
                        f"not a {type(context).__name__}")
    out: dict[str, Any] = {}
    for name in _FIELDS[type(context)]:
        value = getattr(context, name)
        if value is None:
            continue
        out[name] = (list(value) if name == "texts" else
                     asdict(value) if isinstance(value, Paused) else value)
    return out
