"""Where a report staff enter came from (issue 13): a walk-in citizen at a point, or a
proposal, a survey, a consultation meeting or a plenary speech it was drawn from.

Counter intake (`store.reports.intake`) asks for it beside the form: a
citizen's report needs the collection point it was taken at; one drawn from
a document needs its reference (a number or a link) and may name the roster
member it counts for, and needs no point. `origin(...)` checks what was
picked and says what is wrong in sentences keyed like the page's fields.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from store.models import Member, ReportSource, User
from store.network import roster

SOURCE = "source"  # the errors keys of the page's fields
REF = "source_ref"
MEMBER = "member_id"
REF_LIMIT = 300

SOURCE_NAMES = {
    ReportSource.CITIZEN: "群众反映",
    ReportSource.MEMBER: "委员反映",
    ReportSource.INFORMANT: "特邀信息员反映",
    ReportSource.COMMISSIONED: "约稿",
    ReportSource.SURVEY: "调研成果",
    ReportSource.CONSULTATION: "协商会议",
    ReportSource.PROPOSAL: "提案",
    ReportSource.PLENARY_SPEECH: "大会发言",
}
# What staff may enter without a collection point, drawn from the office's own work.
DRAWN = (ReportSource.PROPOSAL, ReportSource.SURVEY, ReportSource.CONSULTATION,
         ReportSource.PLENARY_SPEECH)


@dataclass(frozen=True)
class Origin:
    source: ReportSource
    ref: str | None = None
    member: Member | None = None

    @property
    def needs_point(self) -> bool:
        return self.source not in DRAWN

    def unit_id(self, user: User) -> int | None:
        """The unit a report without a point belongs to: the member's, else the clerk's."""
        if self.member is not None and self.member.unit_id is not None:
            return self.member.unit_id
        return user.unit_id


WALK_IN = Origin(ReportSource.CITIZEN)


def origin(session: Session, user: User, *, source: str, ref: str,
           member_id: str) -> tuple[Origin, dict[str, str]]:
    """What the page picked, checked: the origin and what is wrong, by field."""
    errors: dict[str, str] = {}
    picked = source.strip() or ReportSource.CITIZEN.value
    if picked == ReportSource.CITIZEN.value:
        return Origin(ReportSource.CITIZEN), errors
    try:
        kind = ReportSource(picked)
    except ValueError:
        kind = None
    if kind not in DRAWN:
        errors[SOURCE] = "请选择信息来源。"
        return Origin(ReportSource.CITIZEN), errors
    assert kind is not None
    ref = " ".join(ref.split())
    if not ref:
        errors[REF] = f"请填写{SOURCE_NAMES[kind]}的编号、名称或链接，便于查证。"
    elif len(ref) > REF_LIMIT:
        errors[REF] = f"来源说明不能超过 {REF_LIMIT} 字。"
    member = None
    if member_id.strip():
        member = (roster.visible(session, user, int(member_id))
                  if member_id.strip().isdigit() else None)
        if member is None:
            errors[MEMBER] = "这位委员不在您负责的名册中，请重新选择。"
    found = Origin(kind, ref or None, member)
    if not errors and found.unit_id(user) is None:
        errors[MEMBER] = "请选择提出人（委员或信息员），信息将记在其所在单位名下。"
    return found, errors
