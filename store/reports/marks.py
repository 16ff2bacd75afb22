"""Sensitivity marks (密级): the one writer of `Report.mark`, who may change it, and what it withholds.

A report is 公开 (0), 内部 (1) or the office's stricter mark (2, 秘密 unless
the office names it otherwise): a level is stored, the label is the office's.
It is set when the report is filed, by the office's category rules
(`assign`), and changed by office roles with a reason (`change`), which
leaves an event in the report's history as every other change does.

What a mark means elsewhere is asked here: `withheld` is the one rule for
what may travel over a carrier that is not ours (Telegram, WeChat), and
`CLEARED` the roles that may take a marked report out of the console.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import upsert, workdays
from store.errors import DomainError
from store.i18n import register
from store.models import Channel, Report, ReportEvent, Role, User, utcnow


class Mark(IntEnum):
    PUBLIC = 0  # 公开
    INTERNAL = 1  # 内部
    STRICT = 2  # the office's own, 秘密 by default


LABELS = {Mark.PUBLIC: "公开", Mark.INTERNAL: "内部", Mark.STRICT: "秘密"}
LABEL_CAP = 8
SETTING_KEY = "marks"
ACTION = "mark"  # the event's action: its own, beside lifecycle's (store.reports.transitions.Action)
register({f"action.{ACTION}": {"zh": "更改密级", "en": "Sensitivity changed"}})

# The office roles cleared for marked reports: exporting them, lowering a mark, the strict mark.
CLEARED = frozenset({Role.ADMIN, Role.DIRECTOR, Role.SECRETARY_GENERAL})
ANY_OFFICE = CLEARED | {Role.CLERK}

# Who may move a report from one mark to another: raising to 内部 is any office role's
# call (a clerk at 初审 sees what should not travel); everything else is for those cleared.
TABLE: dict[tuple[Mark, Mark], frozenset[Role]] = {
    (Mark.PUBLIC, Mark.INTERNAL): ANY_OFFICE,
    (Mark.PUBLIC, Mark.STRICT): CLEARED,
    (Mark.INTERNAL, Mark.STRICT): CLEARED,
    (Mark.INTERNAL, Mark.PUBLIC): CLEARED,
    (Mark.STRICT, Mark.INTERNAL): CLEARED,
    (Mark.STRICT, Mark.PUBLIC): CLEARED,
}


class MarkError(DomainError):
    """A mark change that cannot be made as asked (no reason, no such mark, already so)."""


class MarkForbidden(MarkError):
    """A mark change this person may not make."""


class MarkConflict(MarkError):
    """Someone else changed the mark first."""


@dataclass(frozen=True)
class Rules:
    """The office's settings: marks by category, the strict mark's name, content off foreign carriers."""

    by_category: Mapping[str, Mark] = field(default_factory=dict)
    strict_label: str = LABELS[Mark.STRICT]
    # Every report, 公开 too, goes over external carriers as number, status and link only.
    no_content_external: bool = False

    def label(self, level: int) -> str:
        mark = Mark(level)
        return self.strict_label if mark is Mark.STRICT else LABELS[mark]

    def choices(self) -> list[tuple[int, str]]:
        return [(m.value, self.label(m)) for m in Mark]

    def as_value(self) -> dict[str, object]:
        return {"by_category": {k: int(v) for k, v in self.by_category.items()},
                "strict_label": self.strict_label, "no_content_external": self.no_content_external}


def rules(session: Session) -> Rules:
    """The office's mark settings (everything 公开 where it has set none)."""
    row = upsert.read_setting(session, SETTING_KEY)
    value = (row.value or {}) if row else {}
    raw = value.get("by_category")
    by_category = {str(k): Mark(v) for k, v in raw.items()
                   if isinstance(v, int) and v in Mark._value2member_map_} \
        if isinstance(raw, dict) else {}
    label = value.get("strict_label")
    return Rules(by_category=by_category,
                 strict_label=label if isinstance(label, str) and label else LABELS[Mark.STRICT],
                 no_content_external=bool(value.get("no_content_external")))


def save(session: Session, *, by_category: Mapping[str, int], strict_label: str,
         no_content_external: bool) -> Rules:
    """Set the office's mark settings; they apply to reports filed from now on."""
    label = strict_label.strip()
    if not label or len(label) > LABEL_CAP:
        raise MarkError(f"最高密级的名称须为 1～{LABEL_CAP} 个字。 / "
                        f"The strict mark's name must be 1 to {LABEL_CAP} characters.")
    if label in (LABELS[Mark.PUBLIC], LABELS[Mark.INTERNAL]):
        raise MarkError(f"最高密级不能叫「{label}」：这个名称已有别的含义。 / "
                        f"The strict mark cannot be called {label!r}.")
    marks = {}
    for category, level in by_category.items():
        if level not in Mark._value2member_map_:
            raise MarkError("请为每个类别选择公开、内部或最高密级。 / Choose a mark for each category.")
        if level:
            marks[category] = Mark(level)
    new = Rules(marks, label, no_content_external)
    upsert.put_setting(session, SETTING_KEY, new.as_value())
    return new


def assign(session: Session, report: Report) -> None:
    """Give a report being filed the mark its category has (公开 when none)."""
    report.mark = int(rules(session).by_category.get(report.category, Mark.PUBLIC))


def moves(report: Report, user: User, office: Rules) -> list[tuple[int, str]]:
    """The marks `user` may move `report` to, as (level, label)."""
    current = Mark(report.mark)
    return [(m.value, office.label(m)) for m in Mark
            if m is not current and user.role in TABLE[(current, m)]]


def change(session: Session, report: Report, to: int, user: User, reason: str) -> ReportEvent:
    """Set `report`'s mark to `to` for `reason`, as `user`; the event says from what, to what, why.

    Refuses a missing reason, an unknown mark, the mark it already has, a role
    `TABLE` does not allow (`MarkForbidden`), and a change someone made first.
    """
    reason = (reason or "").replace("\r\n", "\n").strip()
    if to not in Mark._value2member_map_:
        raise MarkError("没有这个密级。 / There is no such mark.")
    current, wanted = Mark(report.mark), Mark(to)
    office = rules(session)
    if current is wanted:
        raise MarkError(f"这条信息的密级已经是「{office.label(current)}」。 / "
                        "The report already has this mark.")
    if user.role not in TABLE[(current, wanted)]:
        raise MarkForbidden(f"您的角色不能把密级从「{office.label(current)}」改为"
                            f"「{office.label(wanted)}」。 / Your role cannot make this change.")
    if not reason:
        raise MarkError("请填写更改密级的原因。 / Say why the mark changes.")
    if len(reason) > 500:
        raise MarkError("原因最多 500 字。 / The reason is at most 500 characters.")
    now = utcnow()
    # Compare-and-set: of two people changing the same mark, the second is told.
    done = session.execute(sa.update(Report).where(Report.id == report.id, Report.mark == current)
                           .values(mark=wanted.value).execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise MarkConflict("密级刚被别人改过，请刷新后再试。 / Someone changed the mark first; reload.")
    session.refresh(report)
    event = ReportEvent(report_id=report.id, action=ACTION, from_status=report.status.value,
                        to_status=report.status.value, user_id=user.id, created_at=now,
                        note=f"{office.label(current)} → {office.label(wanted)}：{reason}")
    session.add(event)
    session.flush()
    return event


def external(channel: Channel) -> bool:
    """Whether `channel` carries messages through someone else's servers.

    Only the web chat is ours; a carrier added later counts as foreign until
    it is listed here. Each channel's `Capabilities.external` says the same
    (tests/test_marks.py holds them to it), for the engine's replies.
    """
    return channel is not Channel.WEB


def withheld(session: Session, report: Report, external_carrier: bool) -> bool:
    """Whether a message about `report` over this carrier must leave out its words: its title,
    text and place (and anything staff wrote about it), keeping the number and the status."""
    if not external_carrier:
        return False
    return report.mark > Mark.PUBLIC or rules(session).no_content_external


def watermark(who: User | str, at: datetime) -> str:
    """The line a marked report's copy carries: who took it (a staff member, or how it was
    taken when no one logged in), and when (Beijing time)."""
    name = who if isinstance(who, str) else (who.display_name or who.username)
    local = at.astimezone(workdays.OFFICE_TZ).strftime("%Y-%m-%d %H:%M")
    return f"{name}　{local}　注意保密"
