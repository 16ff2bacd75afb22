"""The rows of seeded reports: the report, version 1, its events, transfer and notes.

A report's status depends on its age: recent ones wait in review, older
ones were decided, transferred, answered or closed. Each status has a short
path of lifecycle moves (`PATHS`) that is written as events, so the report
looks as if `store.reports.lifecycle` had moved it there.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Mapping
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from minyi.demo.network import Network, PointInfo
from minyi.demo.text import TextMaker, Theme, Where, Words
from store import sealing, workdays
from store.models import AdoptionLevel, ReportSource, ReportStatus, Urgency
from store.outputs import adoption
from store.reports import timings

S = ReportStatus
URGENT_SHARE = 0.10
ANONYMOUS_SHARE = 0.2
MEMBER_REPORT_SHARE = 0.15
TOPIC_SHARE = 0.5  # of reports on a topic's theme while it is open
NOTE_SHARE = 0.03
TRANSFER_DAYS, ESCALATE_DAYS = 15, 7

# Status by age: (younger than this many days, {status: weight}).
BY_AGE: tuple[tuple[float, dict[ReportStatus, float]], ...] = (
    (7, {S.SUBMITTED: 42, S.REVIEWING: 25, S.RETURNED: 8, S.RESUBMITTED: 4, S.ADOPTED: 9,
         S.NOT_ADOPTED: 7, S.MERGED: 2, S.TRANSFERRED: 3}),
    (30, {S.SUBMITTED: 8, S.REVIEWING: 14, S.RESUBMITTED: 3, S.REOPENED: 1, S.ADOPTED: 22,
          S.NOT_ADOPTED: 20, S.MERGED: 4, S.TRANSFERRED: 14, S.HANDLED: 6, S.CLOSED: 8}),
    (90, {S.SUBMITTED: 1, S.REVIEWING: 2, S.REOPENED: 1, S.ADOPTED: 25, S.NOT_ADOPTED: 27,
          S.MERGED: 5, S.TRANSFERRED: 2, S.HANDLED: 14, S.CLOSED: 23}),
    (float("inf"), {S.REOPENED: 0.2, S.ADOPTED: 22, S.NOT_ADOPTED: 30, S.MERGED: 5,
                    S.TRANSFERRED: 0.2, S.HANDLED: 10, S.CLOSED: 32.6}),
)
# The moves that led to each status: (action, from, to, who acted, review level).
# Who: "staff" (the county's clerk), "dept" (the department), "reporter".
Step = tuple[str, ReportStatus | None, ReportStatus, str, str | None]
_ADOPT: Step = ("adopt", S.SUBMITTED, S.ADOPTED, "staff", "final")
_TRANSFER: Step = ("transfer", S.ADOPTED, S.TRANSFERRED, "staff", None)
_REPLY: Step = ("dept_reply", S.TRANSFERRED, S.HANDLED, "dept", None)
PATHS: dict[ReportStatus, tuple[tuple[Step, ...], ...]] = {
    S.SUBMITTED: ((),),
    S.REVIEWING: ((("sign_off", S.SUBMITTED, S.REVIEWING, "staff", "first"),),
                  (("sign_off", S.SUBMITTED, S.REVIEWING, "staff", "first"),
                   ("sign_off", S.REVIEWING, S.REVIEWING, "staff", "second"))),
    S.RETURNED: ((("return", S.SUBMITTED, S.RETURNED, "staff", "first"),),),
    S.RESUBMITTED: ((("return", S.SUBMITTED, S.RETURNED, "staff", "first"),
                     ("resubmit", S.RETURNED, S.RESUBMITTED, "reporter", None)),),
    S.ADOPTED: ((_ADOPT,),),
    S.NOT_ADOPTED: ((("decline", S.SUBMITTED, S.NOT_ADOPTED, "staff", "first"),),),
    S.MERGED: ((("merge", S.SUBMITTED, S.MERGED, "staff", "first"),),),
    S.TRANSFERRED: ((_ADOPT, _TRANSFER),),
    S.HANDLED: ((_ADOPT, _TRANSFER, _REPLY),),
    S.CLOSED: ((_ADOPT, ("close", S.ADOPTED, S.CLOSED, "staff", None)),
               (_ADOPT, _TRANSFER, _REPLY, ("close", S.HANDLED, S.CLOSED, "staff", None)),
               (("return", S.SUBMITTED, S.RETURNED, "staff", "first"),
                ("expire", S.RETURNED, S.CLOSED, "system", None))),
    S.REOPENED: ((_ADOPT, ("close", S.ADOPTED, S.CLOSED, "staff", None),
                  ("reopen", S.CLOSED, S.REOPENED, "reporter", None)),),
}
ADOPTION = {AdoptionLevel.COUNTY: 70, AdoptionLevel.CITY: 20, AdoptionLevel.PROVINCE: 8,
            AdoptionLevel.NATIONAL: 2}


class _Pick:
    """Weighted choice with the cumulative weights computed once."""

    def __init__(self, weights: Mapping[Any, float]) -> None:
        self.items = list(weights)
        self.cum = list(accumulate(weights.values()))

    def __call__(self, rng: random.Random) -> Any:
        return self.items[bisect(self.cum, rng.random() * self.cum[-1])]


class ReportMaker:
    """Makes the rows of consecutive reports; keeps the tracking counters and the totals."""

    def __init__(self, words: Words, rng: random.Random, net: Network, *, now: datetime,
                 counters: dict[str, int]) -> None:
        self.words, self.rng, self.net, self.now = words, rng, net, now
        self.text = TextMaker(words, rng)
        self.counters = dict(counters)
        self.theme = _Pick({t: t.weight for t in words.themes})
        self.by_age = [(days, _Pick(weights)) for days, weights in BY_AGE]
        self.county = _Pick(net.county_weight)
        self.adoption = _Pick(ADOPTION)
        self.topics = {t.theme: t for t in net.topics}
        self.workdays = timings.Counter(workdays.CHINA)  # the office's default calendar
        self.events = self.transfers = self.overdue = self.notes = self.with_topic = self.rare = 0

    def batch(self, first_id: int, times: list[datetime], rare: set[int]) -> dict[str, list[Any]]:
        rows: dict[str, list[Any]] = {k: [] for k in ("reports", "versions", "events", "transfers",
                                                         "notes", "adoptions")}
        for i, when in enumerate(times):
            self._report(rows, first_id + i, when, rare=i in rare)
        return rows

    # -- one report ---------------------------------------------------------------

    def _report(self, rows: dict[str, list[Any]], rid: int, when: datetime, rare: bool) -> None:
        rng, net = self.rng, self.net
        theme: Theme = self.theme(rng)
        point, unit_id, reporter_id = self._who(rng)
        where = point.where if point else net.seat[unit_id]
        text = self.text.report(theme, where, when, rare=rare)
        self.rare += rare

        year = str(when.year)
        number = self.counters[f"report:{year}"] = self.counters.get(f"report:{year}", 0) + 1
        status = self._status((self.now - when).total_seconds() / 86400)
        path = rng.choice(PATHS[status])
        if status is S.MERGED and rid <= 1:
            status, path = S.NOT_ADOPTED, PATHS[S.NOT_ADOPTED][0]
        moments = self._moments(when, len(path))
        anonymous = rng.random() < ANONYMOUS_SHARE
        urgent = rng.random() < URGENT_SHARE
        contact = None if anonymous or rng.random() < 0.3 else \
            f"{net.names[reporter_id]} 1{rng.choice('3589')}{rng.randrange(10**9):09d}"
        topic = self.topics.get(theme.key)
        topic_id = topic.id if topic and topic.opens <= when <= topic.closes \
            and rng.random() < TOPIC_SHARE else None
        self.with_topic += topic_id is not None

        row: dict[str, Any] = {
            "id": rid, "tracking_no": f"{year}-{number:06d}", "category": theme.category,
            "title": text.title, "situation": text.situation, "analysis": text.analysis,
            "suggestion": text.suggestion, "place": text.place, "latitude": None,
            "longitude": None, "urgency": (Urgency.URGENT if urgent else Urgency.NORMAL).value,
            "anonymous": anonymous, "contact": contact,
            "answers": self._answers(theme, where, text.place, urgent, anonymous, contact),
            "form": "report", "point_id": point.id if point else None, "reporter_id": reporter_id,
            "status": status.value, "unit_id": unit_id, "review_level": 0,
            "returned_from_level": None, "summary": None,
            "merged_into_id": None, "satisfaction": None, "version": 1 + len(path),
            "created_at": when, "updated_at": moments[-1], "decided_at": None, "topic_id": topic_id,
            "answered_at": None, "answer_workdays": None, "decision_workdays": None,
            "adopted_rank": None,
            "member_id": net.roster.get(reporter_id, (None, ""))[0],
            "source": net.roster.get(reporter_id, (None, ReportSource.CITIZEN.value))[1],
        }
        self._apply_path(rows, row, path, moments, theme, where, reporter_id)
        rows["reports"].append(row)
        rows["versions"].append({
            "report_id": rid, "number": 1, "title": text.title, "situation": text.situation,
            "analysis": text.analysis, "suggestion": text.suggestion, "summary": None,
            "user_id": None, "created_at": when})
        if status is not S.SUBMITTED and rng.random() < NOTE_SHARE:
            rows["notes"].append({"report_id": rid, "user_id": self._staff(unit_id),
                                  "text": self.text.note(where, when),
                                  "created_at": moments[min(1, len(moments) - 1)]})
            self.notes += 1

    def _who(self, rng: random.Random) -> tuple[PointInfo | None, int, int]:
        """(point, unit, reporter): members often write without a point, to their unit."""
        net = self.net
        if rng.random() < MEMBER_REPORT_SHARE:
            reporter_id, unit_id = rng.choice(net.members)
            if unit_id in net.points and rng.random() < 0.5:
                point = rng.choice(net.points[unit_id])
                return point, point.unit_id, reporter_id
            return None, unit_id, reporter_id
        first, count = net.citizens
        # A few citizens write often: a third of their reports come from 2% of them.
        pool = max(1, count // 50) if rng.random() < 0.33 else count
        point = rng.choice(net.points[self.county(rng)])
        return point, point.unit_id, first + rng.randrange(pool)

    def _status(self, age_days: float) -> ReportStatus:
        for days, pick in self.by_age:
            if age_days < days:
                status: ReportStatus = pick(self.rng)
                return status
        raise AssertionError("the last age band is open-ended")

    def _moments(self, when: datetime, steps: int) -> list[datetime]:
        """When the submit and each later move happened: days apart, never in the future."""
        out = [when]
        room = (self.now - when) / (steps + 1)
        for _ in range(steps):
            gap = min(timedelta(days=self.rng.uniform(0.2, 12)), room)
            out.append(out[-1] + gap)
        return out

    def _staff(self, unit_id: int) -> int:
        return self.net.reviewer.get(unit_id, self.net.admin_id)

    def _answers(self, theme: Theme, where: Where, place: str, urgent: bool, anonymous: bool,
                 contact: str | None) -> dict[str, Any]:
        answers: dict[str, Any] = {"category": theme.category, "place": place, "photos": 0,
                                   "urgent": urgent, "anonymous": anonymous}
        if not anonymous:
            # Kept sealed, as filing keeps an identity answer (store.reports.drafts).
            answers["contact"] = None if contact is None else sealing.seal_json(contact)
        if theme.pollution:
            answers["pollution"] = theme.pollution
        if theme.agency:
            answers["agency"] = theme.agency
        if theme.category == "education" and self.rng.random() < 0.4:
            answers["hospital"] = self.rng.choice([f"{where.county}人民医院", f"{where.town}中心小学",
                                                   f"{where.town}卫生院", f"{where.county}第一中学"])
        return answers

    # -- the path to its status ----------------------------------------------------

    def _apply_path(self, rows: dict[str, list[Any]], row: dict[str, Any], path: tuple[Step, ...],
                    moments: list[datetime], theme: Theme, where: Where, reporter_id: int) -> None:
        rng, rid, unit_id = self.rng, row["id"], row["unit_id"]
        events = rows["events"]
        before = len(events)
        adopted = False
        events.append(_event(rid, "submit", None, S.SUBMITTED, None, None, reporter_id, None,
                             row["created_at"]))
        department = self.net.departments[(self.net.city_of[unit_id], theme.department)]
        for (action, frm, to, who, level), at in zip(path, moments[1:], strict=True):
            user = department[1] if who == "dept" else self._staff(unit_id) if who == "staff" \
                else None
            note = None
            if action == "return":
                note = rng.choice(self.words["text"]["return_notes"])
                row["returned_from_level"] = 0
            elif action == "decline":
                note = rng.choice(self.words["text"]["decline_notes"])
            elif action == "resubmit":
                note = "已补充：" + rng.choice(self.words["text"]["impacts"]).format(
                    calls=rng.randint(2, 30), hh=rng.randint(50, 900), months=rng.randint(2, 9),
                    county=where.county, nn=rng.randint(10, 60), people=rng.randint(500, 9000))
            elif action == "adopt":
                adopted = True
                adopted_level = self.adoption(rng)  # as `adoption.record` keeps the highest
                row["adopted_rank"] = max(adoption.rank(adopted_level), adoption.rank(
                    adoption.level_of(row["adopted_rank"])))
                rows["adoptions"].append({
                    "report_id": rid, "level": adopted_level.value, "adopted_on": at.date(),
                    "body": None, "publication": None, "event_id": None, "upward_id": None,
                    "recorded_by_id": user, "created_at": at})
                row["decided_at"] = at
            elif action == "merge":
                row["merged_into_id"] = rid - rng.randint(1, min(500, rid - 1))
            elif action == "transfer":
                self._transfer(rows, row, department, at, where=where,
                               replied=any(step[0] == "dept_reply" for step in path))
            events.append(_event(rid, action, frm, to, level, user,
                                 reporter_id if who == "reporter" else None, note, at))
            if action in timings.ANSWERS and row["answered_at"] is None:
                row["answered_at"], row["answer_workdays"] = at, self._days(row["created_at"], at)
        if row["status"] == S.NOT_ADOPTED.value:
            row["decided_at"] = moments[-1]
        if row["decided_at"] is not None:
            row["decision_workdays"] = self._days(row["created_at"], row["decided_at"])
        if row["status"] == S.REVIEWING.value:
            row["review_level"] = len(path)
        if row["status"] == S.RESUBMITTED.value:
            row["review_level"] = row["returned_from_level"] = 0
        if row["status"] == S.CLOSED.value and adopted and rng.random() < 0.4:
            row["satisfaction"] = rng.choice(["满意", "满意", "基本满意"])
            row["version"] += 1
            events.append(_event(rid, "rate", S.CLOSED, S.CLOSED, None, None, reporter_id,
                                 row["satisfaction"], moments[-1]))
        self.events += len(events) - before

    def _days(self, filed: datetime, answered: datetime) -> int:
        """Working days between two moments, as `store.reports.timings` counts them."""
        return self.workdays(*((workdays.local_day(m) - timings.EPOCH).days for m in (filed, answered)))

    def _transfer(self, rows: dict[str, list[Any]], row: dict[str, Any],
                  department: tuple[int, int], at: datetime, *, replied: bool, where: Where) -> None:
        due = at + timedelta(days=TRANSFER_DAYS)
        escalate = due + timedelta(days=ESCALATE_DAYS)
        overdue = not replied and due < self.now
        replied_at = min(at + timedelta(days=self.rng.uniform(2, 14)), self.now) if replied else None
        rows["transfers"].append({
            "report_id": row["id"], "department_id": department[0], "note": None, "due_at": due,
            "escalate_at": escalate, "status": "replied" if replied else "open",
            "reply": self.text.reply(where, at) if replied else None,
            "replied_by_id": department[1] if replied else None, "replied_at": replied_at,
            # Already chased: a serve on the seeded database does not flood the departments.
            "last_reminded_at": self.now - timedelta(hours=1) if overdue else None,
            "escalated_at": escalate if overdue and escalate < self.now else None,
            "created_by_id": self._staff(row["unit_id"]), "created_at": at,
        })
        self.transfers += 1
        self.overdue += overdue


def _event(report_id: int, action: str, frm: ReportStatus | None, to: ReportStatus,
           level: str | None, user_id: int | None, reporter_id: int | None, note: str | None,
           at: datetime) -> dict[str, Any]:
    return {"report_id": report_id, "action": action, "from_status": frm.value if frm else None,
            "to_status": to.value, "level": level, "user_id": user_id, "reporter_id": reporter_id,
            "note": note, "created_at": at}
