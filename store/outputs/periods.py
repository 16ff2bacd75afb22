"""Periods the office counts in: a month, a quarter, a year or any range of days (office dates).

A period is named by a key that fits in a URL and on the command line:
`2026-11` (a month), `2026-Q4` (a quarter), `2026` (a year) and
`2026-01-05..2026-02-03` (a range, both days included). `parse` reads one
and refuses, with a sentence, what is not a period (a range that ends
before it starts, a month 13).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from store.errors import DomainError
from store.outputs.adoption import BEIJING

QUARTERS = ("一", "二", "三", "四")
# A range longer than this is a mistake (a year typed as 2206), not a period anyone counts.
LONGEST_RANGE = timedelta(days=366 * 5)


class PeriodError(DomainError):
    pass


@dataclass(frozen=True)
class Period:
    kind: str  # month | quarter | year | range
    start: date
    end: date  # included

    @property
    def key(self) -> str:
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "year":
            return str(self.start.year)
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.start.year}年{self.start.month}月"
        if self.kind == "quarter":
            return f"{self.start.year}年第{QUARTERS[(self.start.month - 1) // 3]}季度"
        if self.kind == "year":
            return f"{self.start.year}年"
        return f"{self.start.isoformat()} 至 {self.end.isoformat()}"

    @property
    def year(self) -> int:
        """The year whose series memberships rank this period: the year it starts in."""
        return self.start.year

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[from, to) in UTC: the office's midnight of the first day and of the day after the last."""
        return (_utc_midnight(self.start), _utc_midnight(self.end + timedelta(days=1)))

    def previous(self) -> Period:
        """The period of the same kind just before (a range: as many days before)."""
        if self.kind == "range":
            days = self.end - self.start + timedelta(days=1)
            return Period("range", self.start - days, self.start - timedelta(days=1))
        return parse(_previous_key(self))


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), BEIJING).astimezone(UTC)


def _previous_key(p: Period) -> str:
    before = p.start - timedelta(days=1)
    if p.kind == "month":
        return f"{before:%Y-%m}"
    if p.kind == "quarter":
        return f"{before.year}-Q{(before.month - 1) // 3 + 1}"
    return str(before.year)


def month(day: date) -> Period:
    return parse(f"{day:%Y-%m}")


def last_month(today: date) -> Period:
    """The month before the one `today` is in (what a bulletin on the 5th reports)."""
    return month(today.replace(day=1) - timedelta(days=1))


_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])")
_YEAR = re.compile(r"(\d{4})")
_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:\.\.|~|/| 至 )(\d{4}-\d{2}-\d{2})")


def parse(text: str) -> Period:
    """The period `text` names (see the module's docstring); PeriodError if it names none."""
    text = (text or "").strip()
    if m := _RANGE.fullmatch(text):
        start, end = _day(m[1]), _day(m[2])
        if start is not None and end is not None:
            if end < start:
                raise PeriodError(f"时间段的结束日期（{end}）早于开始日期（{start}）。"
                                  f" / The range ends before it starts.")
            if end - start > LONGEST_RANGE:
                raise PeriodError("时间段最长五年。 / A range is at most five years long.")
            return Period("range", start, end)
    try:
        if m := _MONTH.fullmatch(text):
            start = date(int(m[1]), int(m[2]), 1)
            nxt = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
            return Period("month", start, nxt - timedelta(days=1))
        if m := _QUARTER.fullmatch(text):
            q = int(m[2])
            start = date(int(m[1]), 3 * q - 2, 1)
            nxt = date(start.year + (q == 4), (3 * q) % 12 + 1, 1)
            return Period("quarter", start, nxt - timedelta(days=1))
        if m := _YEAR.fullmatch(text):
            return Period("year", date(int(m[1]), 1, 1), date(int(m[1]), 12, 31))
    except ValueError:
        pass
    raise PeriodError(f"看不懂的统计期间“{text[:40]}”：请写 2026-11（月）、2026-Q4（季度）、2026（年）"
                      f"或 2026-01-05..2026-02-03（时间段）。 / Not a period.")


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def choose(kind: str, value: str, start: str = "", end: str = "") -> Period:
    """The period a form chose: its kind and the value typed for it (a range: two dates)."""
    if kind == "range":
        return parse(f"{start.strip()}..{end.strip()}")
    if kind == "quarter" and "-" in value and "Q" not in value.upper():
        raise PeriodError("季度请写成 2026-Q4 的样子。 / Write a quarter as 2026-Q4.")
    period = parse(value)
    if period.kind != kind:
        raise PeriodError(f"“{value[:40]}”不是所选的统计期间类型。 / Not a {kind}.")
    return period
