"""A statistics period: a month, a quarter, a year or any range of the office's dates.

The one period of the dashboard, the scores, the 通报 and their commands. A
page's form gives it as a kind and a value (`parse`, `choose`); a URL, a
command line or a bulletin names it by its key (`named`): `2026-11` (a
month), `2026-Q4` (a quarter), `2026` (a year) and `2026-01-05..2026-02-03`
(a range, both days included).

Dates are the office's calendar days (`store.workdays.OFFICE_TZ`, Asia/Shanghai);
`Period.since`/`until` are the UTC moments a report's `created_at` is compared
with, the same as the inbox's 提交日期 filter (`store.search.query`). A period
that cannot be read, or that ends before it starts, is refused with a sentence
for the user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from store import workdays
from store.errors import DomainError

KINDS = ("month", "quarter", "year", "range")
QUARTERS = ("一", "二", "三", "四")
# A range longer than this is almost certainly a typo (and a very slow page).
MAX_DAYS = 366 * 20
# A range named by its key (a score's or a bulletin's period) is shorter still: a year typed as 2206.
LONGEST_NAMED = timedelta(days=366 * 5)


class PeriodError(DomainError):
    """The period could not be read; the message says why (zh / en)."""


@dataclass(frozen=True)
class Period:
    """The office's days `start` to `end`, both included."""

    start: date
    end: date
    kind: str = "range"

    @property
    def since(self) -> datetime:
        return _midnight(self.start)

    @property
    def until(self) -> datetime:
        return _midnight(self.end + timedelta(days=1))

    @property
    def label(self) -> str:
        if self.kind == "year":
            return f"{self.start.year}年"
        if self.kind == "quarter":
            return f"{self.start.year}年第{QUARTERS[(self.start.month - 1) // 3]}季度"
        if self.kind == "month":
            return f"{self.start.year}年{self.start.month}月"
        return f"{self.start.isoformat()} 至 {self.end.isoformat()}"

    @property
    def key(self) -> str:
        """The period's name in a URL or on the command line (see `named`)."""
        return self.value or f"{self.start.isoformat()}..{self.end.isoformat()}"

    @property
    def year(self) -> int:
        """The year whose series memberships rank this period: the year it starts in."""
        return self.start.year

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[since, until) in UTC: the office's midnight of the first day and of the day after the last."""
        return self.since, self.until

    def previous(self) -> Period:
        """The period of the same kind just before (a range: as many days before)."""
        before = self.start - timedelta(days=1)
        if self.kind == "month":
            return month(before.year, before.month)
        if self.kind == "quarter":
            return quarter(before.year, (before.month - 1) // 3 + 1)
        if self.kind == "year":
            return year(before.year)
        days = self.end - self.start + timedelta(days=1)
        return Period(self.start - days, before, "range")

    @property
    def value(self) -> str:
        """What the period's URL says for `kind` (2026-03, 2026-Q1, 2026), "" for a range."""
        if self.kind == "year":
            return str(self.start.year)
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        return ""


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), workdays.OFFICE_TZ).astimezone(UTC)


def today() -> date:
    return datetime.now(workdays.OFFICE_TZ).date()


def month(year: int, number: int) -> Period:
    first = date(year, number, 1)
    after = date(year + number // 12, number % 12 + 1, 1)
    return Period(first, after - timedelta(days=1), "month")


def quarter(year: int, number: int) -> Period:
    first = date(year, 3 * (number - 1) + 1, 1)
    return Period(first, month(year, 3 * number).end, "quarter")


def year(number: int) -> Period:
    return Period(date(number, 1, 1), date(number, 12, 31), "year")


def month_of(day: date) -> Period:
    """The month `day` is in."""
    return month(day.year, day.month)


def last_month(today: date) -> Period:
    """The month before the one `today` is in (what a bulletin on the 5th reports)."""
    return month_of(today.replace(day=1) - timedelta(days=1))


def between(start: date, end: date) -> Period:
    """Any range; refused when it ends before it starts or runs longer than 20 years."""
    if end < start:
        raise PeriodError(f"统计期间的结束日期（{end.isoformat()}）早于开始日期（{start.isoformat()}），"
                          "请重新选择。 / The period ends before it starts.")
    if (end - start).days > MAX_DAYS:
        raise PeriodError("统计期间最长 20 年，请缩短。 / A period may span at most 20 years.")
    return Period(start, end, "range")


def _day(raw: str, what: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise PeriodError(f"{what}「{raw[:20]}」不是有效日期，请按 2026-03-01 的格式填写。"
                          f"/ {raw[:20]!r} is not a date (YYYY-MM-DD).") from None


def parse(kind: str | None, value: str | None = None, start: str | None = None,
          end: str | None = None, *, now: date | None = None) -> Period:
    """The period a page's or command's words give; the current month when none is given.

    `kind` month (`value` 2026-03), quarter (2026-Q1), year (2026), or range
    (`start`, `end` as YYYY-MM-DD; one left out means the other's day).
    """
    now = now or today()
    kind = (kind or "").strip() or ("range" if (start or end) else "month")
    value = (value or "").strip()
    if kind == "range":
        start, end = (start or "").strip(), (end or "").strip()
        if not start and not end:
            raise PeriodError("请填写统计期间的开始和结束日期。 / Give the period's first and last day.")
        first = _day(start, "开始日期") if start else None
        last = _day(end, "结束日期") if end else None
        return between(first or last or now, last or first or now)
    if kind not in KINDS:
        raise PeriodError("统计期间只能按月、季度、年或起止日期选择。 / "
                          "A period is a month, a quarter, a year or a range.")
    try:
        if kind == "year":
            return year(int(value) if value else now.year)
        if kind == "quarter":
            found = re.fullmatch(r"(\d{4})-?[Qq]([1-4])", value) if value else None
            if value and found is None:
                raise ValueError(value)
            return quarter(int(found.group(1)), int(found.group(2))) if found else \
                quarter(now.year, (now.month - 1) // 3 + 1)
        found = re.fullmatch(r"(\d{4})-(\d{1,2})", value) if value else None
        if value and found is None:
            raise ValueError(value)
        return month(int(found.group(1)), int(found.group(2))) if found else \
            month(now.year, now.month)
    except ValueError:
        example = {"year": "2026", "quarter": "2026-Q1", "month": "2026-03"}[kind]
        raise PeriodError(f"统计期间「{value[:20]}」无法识别，格式如 {example}。"
                          f"/ {value[:20]!r} is not a {kind} (e.g. {example}).") from None


_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])")
_YEAR = re.compile(r"(\d{4})")
_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:\.\.|~|/| 至 )(\d{4}-\d{2}-\d{2})")


def named(text: str) -> Period:
    """The period `text` names by its key (see the module's docstring); PeriodError if it names none."""
    text = (text or "").strip()
    if m := _RANGE.fullmatch(text):
        start, end = _maybe_day(m[1]), _maybe_day(m[2])
        if start is not None and end is not None:
            if end < start:
                raise PeriodError(f"时间段的结束日期（{end}）早于开始日期（{start}）。"
                                  f" / The range ends before it starts.")
            if end - start > LONGEST_NAMED:
                raise PeriodError("时间段最长五年。 / A range is at most five years long.")
            return Period(start, end, "range")
    try:
        if m := _MONTH.fullmatch(text):
            return month(int(m[1]), int(m[2]))
        if m := _QUARTER.fullmatch(text):
            return quarter(int(m[1]), int(m[2]))
        if m := _YEAR.fullmatch(text):
            return year(int(m[1]))
    except ValueError:
        pass
    raise PeriodError(f"看不懂的统计期间“{text[:40]}”：请写 2026-11（月）、2026-Q4（季度）、2026（年）"
                      f"或 2026-01-05..2026-02-03（时间段）。 / Not a period.")


def _maybe_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def choose(kind: str, value: str, start: str = "", end: str = "") -> Period:
    """The period the scores' form chose: its kind and the value typed for it (a range: two dates)."""
    if kind == "range":
        return named(f"{start.strip()}..{end.strip()}")
    if kind == "quarter" and "-" in value and "Q" not in value.upper():
        raise PeriodError("季度请写成 2026-Q4 的样子。 / Write a quarter as 2026-Q4.")
    found = named(value)
    if found.kind != kind:
        raise PeriodError(f"“{value[:40]}”不是所选的统计期间类型。 / Not a {kind}.")
    return found
