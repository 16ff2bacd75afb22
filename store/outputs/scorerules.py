"""积分规则: points per fact, as rule sets with an effective-from date; the history is kept.

A rule set is never edited: the office saves a new one from a later date, and
every fact is scored by the set in force on the fact's own date
(`RuleBook.at`), so a past period computes as it did then. Before the first
saved set, `DEFAULT` is in force. Values are decimals (two places) from 0 to
`MOST`; submitting is scored "P points for every N reports" (so N = 0, which
would divide by zero, is refused, as are negative and absurd values and a set
that scores nothing).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import upsert
from store.errors import DomainError
from store.models import AdoptionLevel, ScoreRuleSet, User

LEVEL_NAMES = {AdoptionLevel.COUNTY: "县级", AdoptionLevel.CITY: "市级",
               AdoptionLevel.PROVINCE: "省级", AdoptionLevel.NATIONAL: "全国"}
# Each rule: (key, what the console calls it). Keys of adoption and 批示 carry the level.
RULES: tuple[tuple[str, str], ...] = (
    *((f"adopted.{lv.value}", f"被{name}采用（每条）") for lv, name in LEVEL_NAMES.items()),
    *((f"instructed.{lv.value}", f"获{name}领导批示（每件）") for lv, name in LEVEL_NAMES.items()),
    ("journal", "刊发于《社情民意》等期刊（每条）"),
    ("special", "刊发于《信息专报》（每期）"),
    ("submitted", "报送信息（每 N 条计分）"),
    ("completed", "退回补充后完成补充（每条）"),
)
NAMES = dict(RULES)
PER = "submitted_per"  # the N of "P points for every N reports submitted"
MOST = Decimal(1000)
MOST_PER = 10_000
CENT = Decimal("0.01")

DEFAULT_POINTS: dict[str, Decimal] = {
    "adopted.county": Decimal(2), "adopted.city": Decimal(4), "adopted.province": Decimal(8),
    "adopted.national": Decimal(15),
    "instructed.county": Decimal(3), "instructed.city": Decimal(6),
    "instructed.province": Decimal(10), "instructed.national": Decimal(20),
    "journal": Decimal(1), "special": Decimal(3), "submitted": Decimal(1),
    "completed": Decimal("0.5"),
}
DEFAULT_PER = 5


class RuleError(DomainError):
    pass


@dataclass(frozen=True)
class Rules:
    """One rule set: points per rule key, and N for submitted reports."""

    points: Mapping[str, Decimal]
    per: int
    effective_from: date | None = None  # None: the built-in default
    id: int | None = None
    note: str | None = None

    def value(self, key: str) -> Decimal:
        """Points one fact of rule `key` earns (one submitted report: P / N)."""
        if key == "submitted":
            return self.points["submitted"] / self.per
        return self.points.get(key, Decimal(0))

    def as_value(self) -> dict[str, object]:
        return {**{k: str(v) for k, v in self.points.items()}, PER: self.per}


DEFAULT = Rules(DEFAULT_POINTS, DEFAULT_PER)


@dataclass(frozen=True)
class RuleBook:
    """Every rule set by date: which one is in force on a given day."""

    sets: tuple[Rules, ...]  # saved sets, earliest first

    def at(self, day: date) -> Rules:
        starts = [r.effective_from for r in self.sets]
        i = bisect.bisect_right(starts, day)  # type: ignore[type-var]
        return self.sets[i - 1] if i else DEFAULT

    def used(self, start: date, end: date) -> list[Rules]:
        """The sets in force at some day of [start, end], earliest first."""
        first = self.at(start)
        later = [r for r in self.sets if r.effective_from and start < r.effective_from <= end]
        return [first, *later]


def book(session: Session) -> RuleBook:
    rows = session.scalars(sa.select(ScoreRuleSet).order_by(ScoreRuleSet.effective_from))
    return RuleBook(tuple(_rules(row) for row in rows))


def _rules(row: ScoreRuleSet) -> Rules:
    points = {k: Decimal(str(row.points.get(k, DEFAULT_POINTS[k]))) for k, _ in RULES}
    return Rules(points, int(row.points.get(PER, DEFAULT_PER)), row.effective_from, row.id,
                 row.note)


def history(session: Session) -> list[ScoreRuleSet]:
    """Every saved set, the latest first."""
    return list(session.scalars(sa.select(ScoreRuleSet)
                                .order_by(ScoreRuleSet.effective_from.desc())))


def check(typed: Mapping[str, str]) -> tuple[dict[str, Decimal], int, dict[str, str]]:
    """The points and N a form typed, and a sentence per field that is wrong (by rule key)."""
    points: dict[str, Decimal] = {}
    errors: dict[str, str] = {}
    for key, _ in RULES:
        raw = (typed.get(key) or "").strip()
        try:
            value = Decimal(raw)
        except InvalidOperation:
            errors[key] = "请填写分值（数字，最多两位小数）。"
            continue
        if not value.is_finite() or value < 0:
            errors[key] = "分值不能为负数。"
        elif value > MOST:
            errors[key] = f"分值不能超过 {MOST}。"
        elif value != value.quantize(CENT):
            errors[key] = "分值最多保留两位小数。"
        else:
            points[key] = value.quantize(CENT)
    raw_per = (typed.get(PER) or "").strip()
    per = int(raw_per) if raw_per.isdigit() else -1
    if per == 0:
        errors[PER] = "每多少条计分不能为 0（会除以零）。"
    elif not 1 <= per <= MOST_PER:
        errors[PER] = f"请填写 1～{MOST_PER} 的整数。"
    if not errors and not any(points.values()):
        errors["form"] = "所有分值都是 0，这套规则什么也不计分。"
    return points, per, errors


def save(session: Session, user: User | None, effective_from: date,
         typed: Mapping[str, str], note: str | None = None) -> ScoreRuleSet:
    """Keep a new rule set in force from `effective_from` (later than the latest set's date).

    Refuses, with a sentence, bad values (`check`) and a date not after the latest
    set's: the sets before it stay as they were, so the past computes the same.
    Two saves of one date race on its unique key: one INSERT … ON CONFLICT wins.
    """
    points, per, errors = check(typed)
    if errors:
        raise RuleError("；".join(errors.values()) + " / The rule set is not valid.")
    latest = session.scalar(sa.select(sa.func.max(ScoreRuleSet.effective_from)))
    if latest is not None and effective_from <= latest:
        raise RuleError(f"新规则的生效日期须晚于现行规则的生效日期（{latest}）；"
                        f"历史规则保留不变。 / Rules take effect after {latest} only.")
    value = Rules(points, per).as_value()
    new_id = session.execute(
        upsert.insert(session, ScoreRuleSet)
        .values(effective_from=effective_from, points=value, note=(note or "").strip()[:200] or None,
                created_by_id=user.id if user is not None else None)
        .on_conflict_do_nothing(index_elements=[ScoreRuleSet.effective_from])
        .returning(ScoreRuleSet.id)).scalar()
    if new_id is None:
        raise RuleError(f"{effective_from} 起生效的规则刚被他人保存。 / Saved meanwhile.")
    row = session.get(ScoreRuleSet, new_id)
    assert row is not None
    return row
