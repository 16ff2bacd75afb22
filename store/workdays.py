"""Working days: which days an office works, and deadlines counted in them.

A `Calendar` says whether a date is a working day. `CHINA` follows the State
Council's yearly arrangement as the `chinese-calendar` package ships it:
public holidays off, and the weekend days worked instead (调休) on. For a year
the installed table does not cover yet it counts weekends only; `knows(year)`
says which, so the office can be warned (the settings page does). `WEEKENDS`
is Monday to Friday, every year. `Adjusted` lays the office's own list of days
off and days worked over either one.

Moments are aware datetimes (stored in UTC); days are dates in the office's
time zone, `OFFICE_TZ`. A deadline "in N working days" is the end of the N-th
working day after the day it starts on, so a report filed on Friday evening
and one filed on Friday morning are due on the same day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

import chinese_calendar

OFFICE_TZ = ZoneInfo("Asia/Shanghai")
# The last second of a working day: a deadline stored like this reads as its own date.
DAY_ENDS = time(23, 59, 59)
# No deadline runs longer than this; a calendar that never works cannot loop for ever.
MAX_DAYS = 3660


class Calendar(Protocol):
    @property
    def key(self) -> str:
        """The name the office's setting stores."""
        ...

    def is_workday(self, day: date) -> bool:
        """Whether the office works on `day`."""
        ...

    def knows(self, year: int) -> bool:
        """Whether this calendar has its real table for `year` (else it counts weekends only)."""
        ...


def _weekday(day: date) -> bool:
    return day.weekday() < 5


@dataclass(frozen=True)
class WeekendsOnly:
    """Monday to Friday, every year: for an office that keeps no holiday table."""

    key: str = "weekends"

    def is_workday(self, day: date) -> bool:
        return _weekday(day)

    def knows(self, year: int) -> bool:
        return True


@lru_cache(maxsize=4096)
def _china_workday(day: date) -> bool:
    # The package's tables are fixed for the process; each look-up costs more than a cache's
    # (a filing computes its deadlines over a dozen days).
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # The package raises this for a year it has no table for.
        return _weekday(day)


@dataclass(frozen=True)
class China:
    """China's public holidays and 调休 working weekends, from `chinese-calendar`."""

    key: str = "china"

    def is_workday(self, day: date) -> bool:
        return _china_workday(day)

    def knows(self, year: int) -> bool:
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
        except NotImplementedError:
            return False
        return True


@dataclass(frozen=True)
class Adjusted:
    """`base`, with the office's own days off and days worked laid over it."""

    base: Calendar
    days_off: frozenset[date] = frozenset()
    days_on: frozenset[date] = frozenset()

    @property
    def key(self) -> str:
        return self.base.key

    def is_workday(self, day: date) -> bool:
        if day in self.days_on:
            return True
        if day in self.days_off:
            return False
        return self.base.is_workday(day)

    def knows(self, year: int) -> bool:
        return self.base.knows(year)


CHINA = China()
WEEKENDS = WeekendsOnly()
CALENDARS: dict[str, Calendar] = {CHINA.key: CHINA, WEEKENDS.key: WEEKENDS}


def local_day(moment: datetime) -> date:
    """The office's date at `moment`."""
    return moment.astimezone(OFFICE_TZ).date()


def end_of(day: date) -> datetime:
    """The last second of `day` in the office's time zone, in UTC."""
    return datetime.combine(day, DAY_ENDS, OFFICE_TZ).astimezone(UTC)


def is_end_of_day(moment: datetime) -> bool:
    """Whether `moment` is a whole-day deadline (from `end_of`), not one to the hour."""
    return moment.astimezone(OFFICE_TZ).time() == DAY_ENDS


def nth_working_day(start: date, n: int, calendar: Calendar) -> date:
    """The `n`-th working day after `start` (`start` itself not counted; 0: `start`)."""
    if n < 0:
        raise ValueError("n must not be negative")
    day, left = start, n
    for _ in range(MAX_DAYS):
        if left == 0:
            return day
        day += timedelta(days=1)
        if calendar.is_workday(day):
            left -= 1
    raise ValueError(f"no {n} working days within {MAX_DAYS} days of {start}")


def add_working_days(moment: datetime, n: int, calendar: Calendar) -> datetime:
    """The deadline `n` working days after `moment`: the end of that working day, in UTC."""
    return end_of(nth_working_day(local_day(moment), n, calendar))


def working_days_between(start: datetime, end: datetime, calendar: Calendar) -> int:
    """Working days after `start`'s date up to and including `end`'s (negative if `end` is earlier).

    The inverse of `add_working_days`: `working_days_between(m, add_working_days(m, n)) == n`.
    """
    first, last = local_day(start), local_day(end)
    sign = 1
    if last < first:
        first, last, sign = last, first, -1
    count, day = 0, first
    while day < last:
        day += timedelta(days=1)
        count += calendar.is_workday(day)
    return sign * count


def add_hours(moment: datetime, hours: int) -> datetime:
    """A deadline in clock hours (urgent items): holidays do not stop the clock."""
    return moment + timedelta(hours=hours)


def unknown_years(calendar: Calendar, years: Iterable[int]) -> list[int]:
    """Which of `years` the calendar has no table for (they count weekends only)."""
    return sorted({y for y in years if not calendar.knows(y)})


def known_range() -> tuple[int, int]:
    """The first and last year the installed `chinese-calendar` has tables for."""
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)
