"""The office's time limits (办理时限): how long each step may take, and when a report is due.

The limits are an office setting (one row in `office_settings`, changed under
系统管理 → 办理时限): working days for each step, and clock hours for urgent
items, counted in the office's calendar (`store.workdays`: China's holidays
and 调休, or weekends only, with the office's own days off and on laid over).

`lifecycle.apply` asks `on_move` which deadlines a move sets on the report
(`Report.due_at`: the step it waits at now; `Report.answer_due_at`: when the
reporter was told to expect an answer); transfers, the return-for-more chase
and anything else with a deadline ask `Rules.due` or `after`. Nothing here
commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from store import workdays
from store.errors import DomainError
from store.models import OfficeSetting, Report, Urgency
from store.reports import timings
from store.review import chain as review
from store.upsert import read_setting
from store.workdays import Calendar

SETTING_KEY = "deadlines"
MAX_DAYS = 365
MAX_HOURS = 720
# How far ahead the settings page looks for years the holiday table does not know.
LOOK_AHEAD = timedelta(days=90)


@dataclass(frozen=True)
class Step:
    """A step with a time limit: working days, and hours when the item is urgent (None: days too)."""

    key: str
    name: dict[str, str]
    days: int
    hours: int | None

    def label(self, lang: str = "zh") -> str:
        return self.name.get(lang) or self.name["zh"]


# In the order the settings page shows them. The level keys are `store.review.chain.LEVELS`'.
STEPS: tuple[Step, ...] = (
    Step("answer", {"zh": "首次答复反映人（审核出结果）", "en": "First answer to the reporter"}, 10, 24),
    Step("first", {"zh": "初审", "en": "First review"}, 3, 8),
    Step("second", {"zh": "审核", "en": "Review"}, 2, 8),
    Step("final", {"zh": "审定", "en": "Approval"}, 2, 8),
    Step("transfer", {"zh": "部门办理回复（转办）", "en": "A department's reply"}, 15, 72),
    Step("escalate", {"zh": "转办逾期后升级督办", "en": "Escalation after a missed reply"}, 5, 24),
    Step("remind", {"zh": "退回补充后提醒反映人", "en": "Reminding the reporter to add more"}, 3, None),
    Step("supplement", {"zh": "反映人补充期限（逾期办结）", "en": "The reporter's time to add more"},
         7, None),
)
BY_KEY = {s.key: s for s in STEPS}
CALENDAR_NAMES = {
    "china": {"zh": "国家法定节假日及调休（chinese-calendar）", "en": "China's public holidays and 调休"},
    "weekends": {"zh": "仅周六、周日休息", "en": "Weekends only"},
}


class DeadlineError(DomainError):
    pass


@dataclass(frozen=True)
class Rules:
    """The office's limits and calendar, read once for a unit of work."""

    calendar_key: str = "china"
    days: Mapping[str, int] = field(default_factory=dict)
    hours: Mapping[str, int] = field(default_factory=dict)
    days_off: frozenset[date] = frozenset()
    days_on: frozenset[date] = frozenset()

    @property
    def calendar(self) -> Calendar:
        base = workdays.CALENDARS.get(self.calendar_key, workdays.CHINA)
        if not (self.days_off or self.days_on):
            return base
        return workdays.Adjusted(base, self.days_off, self.days_on)

    def days_for(self, key: str) -> int:
        return self.days.get(key, BY_KEY[key].days)

    def hours_for(self, key: str) -> int | None:
        step = BY_KEY[key]
        return None if step.hours is None else self.hours.get(key, step.hours)

    def due(self, key: str, start: datetime, *, urgent: bool = False) -> datetime:
        """When step `key` begun at `start` is due: clock hours if urgent and the step has them."""
        hours = self.hours_for(key) if urgent else None
        if hours is not None:
            return workdays.add_hours(start, hours)
        return workdays.add_working_days(start, self.days_for(key), self.calendar)

    def after(self, start: datetime, *, days: int | None = None, hours: int | None = None) -> datetime:
        """`days` working days, or `hours` clock hours, after `start`."""
        if hours is not None:
            return workdays.add_hours(start, hours)
        return workdays.add_working_days(start, days or 0, self.calendar)

    def is_workday(self, moment: datetime) -> bool:
        return self.calendar.is_workday(workdays.local_day(moment))

    def unknown_years(self, today: date) -> list[int]:
        """Years from `today` to `LOOK_AHEAD` on that the holiday table lacks (weekends only then)."""
        return workdays.unknown_years(self.calendar, {today.year, (today + LOOK_AHEAD).year})

    def as_value(self) -> dict[str, Any]:
        return {"calendar": self.calendar_key, "days": dict(self.days), "hours": dict(self.hours),
                "days_off": sorted(d.isoformat() for d in self.days_off),
                "days_on": sorted(d.isoformat() for d in self.days_on)}


def _dates(raw: Any) -> frozenset[date]:
    out = set()
    for item in raw or ():
        try:
            out.add(date.fromisoformat(str(item)))
        except ValueError:
            continue
    return frozenset(out)


def _numbers(raw: Any, limit: int) -> dict[str, int]:
    if not isinstance(raw, dict):
        return {}
    return {k: int(v) for k, v in raw.items()
            if k in BY_KEY and isinstance(v, int) and 1 <= v <= limit}


def rules(session: Session) -> Rules:
    """The office's limits (the defaults where it has set none)."""
    row = read_setting(session, SETTING_KEY)
    value = (row.value or {}) if row else {}
    key = value.get("calendar")
    return Rules(calendar_key=key if key in workdays.CALENDARS else "china",
                 days=_numbers(value.get("days"), MAX_DAYS),
                 hours=_numbers(value.get("hours"), MAX_HOURS),
                 days_off=_dates(value.get("days_off")), days_on=_dates(value.get("days_on")))


def save(session: Session, *, calendar: str, days: Mapping[str, int], hours: Mapping[str, int],
         days_off: frozenset[date] = frozenset(), days_on: frozenset[date] = frozenset()) -> Rules:
    """Set the office's limits; they apply to deadlines set from now on (those given stand)."""
    if calendar not in workdays.CALENDARS:
        raise DeadlineError("请选择工作日历。 / Choose a working-day calendar.")
    for key, n in days.items():
        if key not in BY_KEY or not 1 <= n <= MAX_DAYS:
            raise DeadlineError(f"工作日数须为 1～{MAX_DAYS}。 / Working days must be 1 to {MAX_DAYS}.")
    for key, n in hours.items():
        if key not in BY_KEY or BY_KEY[key].hours is None or not 1 <= n <= MAX_HOURS:
            raise DeadlineError(f"紧急事项的小时数须为 1～{MAX_HOURS}。 / Hours must be 1 to {MAX_HOURS}.")
    new = Rules(calendar, dict(days), dict(hours), days_off, days_on)
    if new.days_for("remind") >= new.days_for("supplement"):
        raise DeadlineError("提醒补充须早于补充期限。 / "
                            "The reminder must come before the time to add more runs out.")
    if days_off & days_on:
        both = "、".join(sorted(d.isoformat() for d in days_off & days_on))
        raise DeadlineError(f"同一天不能既放假又上班：{both} / A day cannot be both off and worked.")
    old = rules(session)
    row = session.get(OfficeSetting, SETTING_KEY)
    if row is None:
        session.add(OfficeSetting(key=SETTING_KEY, value=new.as_value()))
    else:
        row.value = new.as_value()
    session.flush()
    if (old.calendar_key, old.days_off, old.days_on) != (new.calendar_key, new.days_off, new.days_on):
        timings.recount(session)  # the working days reports waited, in the new calendar
    return new


def after(session: Session, start: datetime, *, days: int | None = None,
          hours: int | None = None) -> datetime:
    """A deadline `days` working days (or `hours` clock hours) after `start`, in the office's calendar.

    For any other workflow with a deadline (a 批示's follow-through ...).
    """
    return rules(session).after(start, days=days, hours=hours)


def working_days_between(session: Session, start: datetime, end: datetime) -> int:
    """Working days from `start` to `end` in the office's calendar (negative if `end` is earlier)."""
    return workdays.working_days_between(start, end, rules(session).calendar)


def on_move(session: Session, report: Report, *, waiting_at: int | None, returned: bool,
            restarts_answer: bool, now: datetime) -> dict[str, Any]:
    """The deadline columns a move of `report` sets.

    Left waiting in review at level `waiting_at`: that level's limit, and a new
    answer date when the reporter has just (re)started it (`restarts_answer`).
    `returned` to the reporter: their time to add more. Anything else waits on
    no step of its own (a transfer keeps its own deadline).
    """
    r = rules(session)
    urgent = report.urgency is Urgency.URGENT
    if waiting_at is not None:
        key = review.level_at(review.chain(session), waiting_at).key
        out: dict[str, Any] = {"due_at": r.due(key, now, urgent=urgent), "chased_at": None}
        if restarts_answer:
            out["answer_due_at"] = r.due("answer", now, urgent=urgent)
        return out
    if returned:
        return {"due_at": r.due("supplement", now), "chased_at": None}
    return {"due_at": None, "chased_at": None}


def shown(moment: datetime | None) -> str:
    """A deadline as the reporter and staff read it: a date, or a date and time for hours."""
    if moment is None:
        return ""
    local = moment.astimezone(workdays.OFFICE_TZ)
    return local.strftime("%Y-%m-%d") if workdays.is_end_of_day(moment) \
        else local.strftime("%Y-%m-%d %H:%M")
