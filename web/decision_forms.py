"""The report page's decisions as data: what each one is called, what it reads, which need a second look.

The page offers one decision at a time: a list of the choices the lifecycle
allows the user now, then the chosen one's form alone, then (for the ones
that cannot be undone) a confirmation that says what the reporter will be told.
Who may do what stays in `store.reports.lifecycle`; this module only names and reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from store.i18n import t
from store.models import AdoptionLevel
from store.reports.lifecycle import NOTE_LIMIT, Action, Move, adoption_rank


@dataclass(frozen=True)
class Choice:
    key: str  # `?action=key` on the report page; the form it opens
    # None: the action's own name (`action.*` in store.reports.lifecycle); a label of its own
    # only where the button says more than the action (登记领导批示, 已在办理（不采用）).
    own_label: str | None
    hint: str
    needs: Action  # offered when the lifecycle allows this action now
    confirm: bool = False  # cannot be undone: a confirmation page comes first
    danger: bool = False

    @property
    def label(self) -> str:
        return self.own_label or t(f"action.{self.needs}")


CHOICES: tuple[Choice, ...] = (
    Choice("sign_off", None, "本级审核通过，报送下一级", Action.SIGN_OFF),
    Choice("adopt", None, "选择采用级别，反馈给反映人", Action.ADOPT),
    Choice("return", None, "请反映人补充事实，问题发到其聊天窗口", Action.RETURN),
    Choice("decline", None, "选择或填写原因，确认后反馈给反映人", Action.DECLINE,
           confirm=True, danger=True),
    Choice("already_handled", "已在办理（不采用）", "政府部门已在处理的问题，确认后反馈给反映人",
           Action.DECLINE, confirm=True, danger=True),
    Choice("merge", "合并到主信息", "与另一条信息反映同一问题，确认后一并办理", Action.MERGE,
           confirm=True, danger=True),
    Choice("raise", None, "被更高一级采用时登记", Action.RAISE),
    Choice("transfer", None, "交有关部门办理，设定期限", Action.TRANSFER),
    Choice("instruct", "登记领导批示", "记录批示领导、级别、日期和内容", Action.INSTRUCT),
    Choice("refer", None, "未采用的信息送有关部门参考，并告知反映人", Action.REFER),
    Choice("close", None, "办结并请反映人评价", Action.CLOSE),
    Choice("edit", "编辑内容和信息摘要", "保存为新版本，原始内容保留", Action.EDIT),
)
BY_KEY = {c.key: c for c in CHOICES}

# What a required field says when it is left empty.
NOTE_MISSING = {
    Action.DECLINE: "请选择或填写不采用原因，它将反馈给反映人。",
    Action.RETURN: "请填写需要反映人补充的问题。",
}


def offered(allowed: Iterable[str], already_handled: bool) -> list[Choice]:
    """The choices for a user whom the lifecycle allows `allowed` now, in the page's order."""
    allowed = set(allowed)
    return [c for c in CHOICES if c.needs.value in allowed
            and (c.key != "already_handled" or already_handled)]


def read_note(action: Action, move: Move, note: str | None) -> tuple[str | None, dict[str, str]]:
    """The note as the lifecycle will store it, or why it cannot be."""
    note = (note or "").strip() or None
    if move.note_required and not note:
        return None, {"note": NOTE_MISSING.get(action, "请填写原因或说明。")}
    if note and len(note) > NOTE_LIMIT:
        return None, {"note": f"说明太长了：{len(note)} 字，最多 {NOTE_LIMIT} 字。"}
    return note, {}


def read_level(form: Mapping[str, str], name: str, missing: str,
               above: AdoptionLevel | None = None) -> tuple[AdoptionLevel | None, dict[str, str]]:
    """A level chosen from a menu that starts empty; `above`: it must be higher than that."""
    raw = (form.get(name) or "").strip()
    if not raw:
        return None, {name: missing}
    try:
        level = AdoptionLevel(raw)
    except ValueError:
        return None, {name: missing}
    if above is not None and adoption_rank(level) <= adoption_rank(above):
        return None, {name: "新的采用级别必须高于原采用级别，请重新选择。"}
    return level, {}


def levels_above(level: AdoptionLevel | None) -> list[AdoptionLevel]:
    """The levels a report adopted at `level` may be raised to."""
    return [lv for lv in AdoptionLevel if adoption_rank(lv) > adoption_rank(level)]


def days(form: Mapping[str, str], name: str, limit: int = 365) -> tuple[int | None, bool]:
    """The whole number of days (or hours), 1 to `limit`, typed into `name` (None: left empty),
    and whether what was typed is no such number."""
    raw = (form.get(name) or "").strip()
    if not raw:
        return None, False
    if raw.isdigit() and 1 <= int(raw) <= limit:
        return int(raw), False
    return None, True


# Where the lifecycle's refusals belong on the form, when they are about one field.
FIELD_OF = {
    "error.note_required": "note",
    "error.note_too_long": "note",
    "error.level_required": "adoption_level",
    "error.not_higher": "adoption_level",
    "error.merge_self": "into",
    "error.merge_cycle": "into",
    "error.merge_target_closed": "into",
    "error.instruction_incomplete": "text",
    "error.instruction_too_long": "leader_name",
    "error.instruction_in_future": "instructed_on",
}


def kept(form: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The fields a confirmation page posts again, as they were typed."""
    return [(k, v) for k, v in form if k not in ("csrf_token", "confirm", "revise")]
