"""The source line under each item (来源), per the office's setting, and an item's first text.

The line names a member or a unit, or says 群众反映; it is built from the
member and unit records and never from a citizen's identity or contact
(those are read through `store.access.reveal_identity` alone, never here).
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.orm import Session

from store.errors import DomainError
from store.models import OfficeSetting, Report, ReporterKind, Unit

SETTING_KEY = "journal_source"
MASSES = "群众反映"


class SourceMode(StrEnum):
    UNIT = "unit"  # the member's unit, or the unit the report came in through
    MEMBER = "member"  # a member's name (and unit); citizens: 群众反映
    MASSES = "masses"  # 群众反映, always


LABELS = {
    SourceMode.UNIT: "报送单位（委员所在单位或采集点所属单位）",
    SourceMode.MEMBER: "委员姓名（群众来信署“群众反映”）",
    SourceMode.MASSES: "一律署“群众反映”",
}


class SourceError(DomainError):
    pass


def mode(session: Session) -> SourceMode:
    row = session.get(OfficeSetting, SETTING_KEY)
    raw = (row.value or {}).get("mode") if row else None
    try:
        return SourceMode(raw) if raw else SourceMode.UNIT
    except ValueError:
        return SourceMode.UNIT


def set_mode(session: Session, value: str) -> SourceMode:
    try:
        chosen = SourceMode(value)
    except ValueError:
        raise SourceError(f"未知的来源署名方式 {value!r} / unknown source setting {value!r}; "
                          f"choose one of {[m.value for m in SourceMode]}") from None
    row = session.get(OfficeSetting, SETTING_KEY)
    if row is None:
        session.add(OfficeSetting(key=SETTING_KEY, value={"mode": chosen.value}))
    else:
        row.value = {"mode": chosen.value}
    session.flush()
    return chosen


def line(session: Session, report: Report, how: SourceMode | None = None) -> str:
    """The source line of `report` under the office's setting (or `how`)."""
    how = how or mode(session)
    if how is SourceMode.MASSES:
        return MASSES
    reporter = report.reporter
    # A member who asked to stay anonymous is not named either.
    member = reporter.kind is ReporterKind.MEMBER and not report.anonymous
    member_unit = _unit_name(session, reporter.unit_id) if member else None
    if how is SourceMode.MEMBER:
        if member and reporter.member_name:
            return " ".join(x for x in (member_unit, reporter.member_name) if x)
        return MASSES
    return member_unit or _unit_name(session, report.unit_id) or MASSES


def _unit_name(session: Session, unit_id: int | None) -> str | None:
    unit = session.get(Unit, unit_id) if unit_id is not None else None
    return unit.name if unit is not None else None


def first_text(report: Report) -> tuple[str, str]:
    """(title, body) an item starts from: the report's current text, in the house order."""
    parts = [report.situation.strip()]
    if report.analysis and report.analysis.strip():
        parts.append(report.analysis.strip())
    if report.suggestion.strip():
        parts.append("建议：" + report.suggestion.strip())
    return report.title.strip(), "\n".join(p for p in parts if p)
