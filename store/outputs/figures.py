"""A period's figures for the 通报: counts per unit, per member, and the series' rankings.

Counted from the same facts as the scores (`store.outputs.facts`): received
(submitted in the period), adopted (reports with an adoption in the period,
each once), adopted at each level, 批示. A report counts for the unit placed
in a series at or above its own unit (as its score does), else for its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import AdoptionLevel, Unit
from store.outputs import facts as facts_mod
from store.outputs import scoring
from store.outputs.facts import Fact
from store.outputs.period import Period


@dataclass
class Counts:
    name: str
    received: int = 0
    adopted: int = 0
    by_level: dict[AdoptionLevel, int] = field(default_factory=lambda: dict.fromkeys(AdoptionLevel, 0))
    instructed: int = 0
    _adopted_ids: set[int] = field(default_factory=set, repr=False)

    def add(self, fact: Fact) -> None:
        if fact.kind == "submitted":
            self.received += 1
        elif fact.kind == "adopted" and fact.level is not None:
            self.by_level[fact.level] += 1
            if fact.report_id not in self._adopted_ids:
                self._adopted_ids.add(fact.report_id)
                self.adopted += 1
        elif fact.kind == "instructed":
            self.instructed += 1


def count(name: str, facts: Iterable[Fact]) -> Counts:
    out = Counts(name)
    for fact in facts:
        out.add(fact)
    return out


@dataclass
class Content:
    period: Period
    units: list[Counts]
    total: Counts
    scores: scoring.Scores
    facts: list[Fact]
    children: dict[int | None, list[int]]

    def subtree(self, unit_id: int) -> set[int]:
        out, todo = set(), [unit_id]
        while todo:
            at = todo.pop()
            if at not in out:
                out.add(at)
                todo += self.children.get(at, [])
        return out

    def for_unit(self, unit_id: int, name: str) -> Counts:
        """The counts of `unit_id` and every unit below it."""
        return count(name, (f for unit in self.subtree(unit_id) for f in self.by_unit.get(unit, ())))

    def for_reporter(self, reporter_id: int, name: str) -> Counts:
        return count(name, self.by_reporter.get(reporter_id, ()))

    @cached_property
    def by_unit(self) -> dict[int | None, list[Fact]]:
        out: dict[int | None, list[Fact]] = defaultdict(list)
        for f in self.facts:
            out[f.unit_id].append(f)
        return out

    @cached_property
    def by_reporter(self) -> dict[int, list[Fact]]:
        """The facts by reporter, grouped once (a member's message reads only theirs)."""
        out: dict[int, list[Fact]] = defaultdict(list)
        for f in self.facts:
            out[f.reporter_id].append(f)
        return out


def content(session: Session, period: Period) -> Content:
    found = facts_mod.gather(session, period)
    scores = scoring.compute(session, period, facts=found)
    units = session.execute(sa.select(Unit.id, Unit.name, Unit.parent_id)).all()
    names = {uid: name for uid, name, _ in units}
    children: dict[int | None, list[int]] = defaultdict(list)
    for uid, _, parent in units:
        children[parent].append(uid)
    per: dict[int | None, Counts] = {}
    for unit in scoring.members(session, period.year):
        per[unit] = Counts(names.get(unit, ""))
    for fact in found:
        owner = scores.owners.get(fact.unit_id) or fact.unit_id
        if owner not in per:
            per[owner] = Counts(names.get(owner, "（未指定单位）") if owner else "（未指定单位）")
        per[owner].add(fact)
    rows = sorted(per.values(), key=lambda c: (-c.received, -c.adopted, c.name))
    return Content(period, rows, count("合计", found), scores, found, dict(children))
