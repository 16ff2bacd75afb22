"""A statistics period: a month, a quarter, a year or any range of the office's dates.

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
# A range longer than this is almost certainly a typo (and a very slow page).
MAX_DAYS = 366 * 20


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
            return f"{self.start.year}年第{(self.start.month - 1) // 3 + 1}季度"
        if self.kind == "month":
            return f"{self.start.year}年{self.start.month}月"
        return f"{self.start.isoformat()} 至 {self.end.isoformat()}"

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
