"""Who may see what: units, roles, and the reporter's identity (保密).

Every list, count, search and decision goes through these rules, so a user
never meets a report of a unit they may not see. Who filed a report (their
name in the chat, their chat id, the answers the form marks `identity = true`)
is read through `reveal_identity` alone, which checks the role and writes an
`access_log` row; nothing else shows it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import forms, sealing
from store.conversation.summary import render_answer
from store.models import (
    AccessLog,
    Channel,
    CollectionPoint,
    Destination,
    Member,
    Report,
    Reporter,
    Role,
    Transfer,
    Unit,
    UpwardRecord,
    User,
)

# Refusals are logged with ids only: never a name, a contact or a chat id.
log = logging.getLogger(__name__)

# The office's own staff: they review, decide and follow up.
OFFICE_ROLES = frozenset({Role.ADMIN, Role.CLERK, Role.DIRECTOR, Role.SECRETARY_GENERAL})
# Who may see a reporter's contact and chat id; each look is logged.
IDENTITY_ROLES = OFFICE_ROLES


def _subtree_statement() -> sa.Select[tuple[int]]:
    tree = sa.select(Unit.id).where(Unit.id == sa.bindparam("unit")).cte("tree", recursive=True)
    tree = tree.union_all(sa.select(Unit.id).where(Unit.parent_id == tree.c.id))
    return sa.select(tree.c.id)


# Built once: every list, count and search asks for it, several times a request.
_SUBTREE = _subtree_statement()


def unit_subtree(session: Session, unit_id: int) -> set[int]:
    """`unit_id` and every unit below it."""
    return set(session.scalars(_SUBTREE, {"unit": unit_id}))


def visible_units(session: Session, user: User) -> set[int] | None:
    """The units whose reports `user` may see; None means every unit."""
    if user.unit_id is None:
        return None
    return unit_subtree(session, user.unit_id)


def report_scope(session: Session, user: User) -> sa.ColumnElement[bool]:
    """A WHERE clause on `Report` that keeps what `user` may see.

    Departments see only the reports transferred to them (or their sub-units);
    everyone else sees their unit's reports and those of the units below, and
    the office's staff also what was reported up (报送) to their unit or one
    below (`received_scope`), wherever it was filed. Staff without a unit see
    the whole network, except departments, which must belong to one.
    """
    return _scope(_scopes(user, visible_units(session, user)))


def report_scopes(session: Session, user: User) -> list[sa.ColumnElement[bool]]:
    """`report_scope` as the clauses it joins with OR (a report in any one is visible): a
    query that walks each on its own index and merges the walks reads far less than the OR."""
    return _scopes(user, visible_units(session, user))


def home_scope(session: Session, user: User) -> sa.ColumnElement[bool]:
    """A WHERE clause on `Report`: the reports `user`'s unit answers for, as `report_scope` less
    what was only received by 报送.

    Acting on a report (its decisions, who filed it, alerts about it) belongs
    here: a unit that received a report reviews the version sent and reports it
    on, but the report's own course stays with the units it was filed under.
    """
    return _home(user, visible_units(session, user))


def receiving_units(session: Session, user: User) -> set[int] | None:
    """The units whose incoming 报送 `user` sees (None: every unit); empty for other roles."""
    return _receiving(user, visible_units(session, user))


def received_scope(session: Session, user: User) -> sa.ColumnElement[bool]:
    """A WHERE clause on `Report`: reported up (报送) to a unit whose incoming items `user` sees."""
    return _received_scope(user, visible_units(session, user))


def received_reports(session: Session, user: User) -> sa.Select[Any] | None:
    """The ids of the reports `received_scope` keeps, as a select; None when there are none."""
    return _received(user, visible_units(session, user))


ReportUnits = tuple[set[int], sa.Select[Any] | None] | None


def report_units(session: Session, user: User) -> ReportUnits:
    """What `report_scope` keeps, said as units: (the units whose reports `user` sees, the
    reports received from elsewhere as a select of ids, or None), or None when `user`'s
    scope is not a set of units (the whole network, or a department's transfers).

    A search index that knows each report's unit can keep to these before it
    looks further; `report_scope` stays the rule.
    """
    return _report_units(user, visible_units(session, user))


@dataclass(frozen=True)
class Reach:
    """`user`'s units read once, and the rules above built from them when asked (a search
    asks for the scope and the units; each function alone reads the unit tree again)."""

    user: User
    units: set[int] | None  # visible_units

    def scope(self) -> sa.ColumnElement[bool]:
        """`report_scope`."""
        return _scope(_scopes(self.user, self.units))

    def report_units(self) -> ReportUnits:
        """`report_units`."""
        return _report_units(self.user, self.units)

    def scopes(self) -> list[sa.ColumnElement[bool]]:
        """`report_scopes`."""
        return _scopes(self.user, self.units)


def disjoint(scopes: list[sa.ColumnElement[bool]]) -> list[sa.ColumnElement[bool]]:
    """`scopes` (`report_scopes`) as clauses no two of which keep the same report: each
    less what an earlier one keeps. A count taken under each and summed reads each on its
    own index; under one OR of them PostgreSQL reads every report."""
    return [sa.and_(clause, *(sa.not_(sa.func.coalesce(c, sa.false())) for c in scopes[:i]))
            if i else clause for i, clause in enumerate(scopes)]


def reach(session: Session, user: User) -> Reach:
    return Reach(user, visible_units(session, user))


# The rules themselves, given `visible_units(session, user)` as `units`: the unit tree is
# read once however many of them a request asks.

def _scope(scopes: list[sa.ColumnElement[bool]]) -> sa.ColumnElement[bool]:
    # One clause as itself: `or_(true())` is no longer `true()`, which callers recognise.
    return scopes[0] if len(scopes) == 1 else sa.or_(*scopes)


def _scopes(user: User, units: set[int] | None) -> list[sa.ColumnElement[bool]]:
    home = _home(user, units)
    if user.role not in OFFICE_ROLES or user.unit_id is None or not user.active:
        return [home]
    return [home, _received_scope(user, units)]


def _home(user: User, units: set[int] | None) -> sa.ColumnElement[bool]:
    if not user.active:
        return sa.false()
    if user.role is Role.DEPARTMENT:
        if units is None:
            return sa.false()
        transferred = sa.select(Transfer.report_id).where(Transfer.department_id.in_(units))
        return Report.id.in_(transferred)
    if units is None:
        return sa.true()
    return Report.unit_id.in_(units)


def _receiving(user: User, units: set[int] | None) -> set[int] | None:
    if not user.active or user.role not in OFFICE_ROLES:
        return set()
    return units


def _received_scope(user: User, units: set[int] | None) -> sa.ColumnElement[bool]:
    received = _received(user, units)
    return sa.false() if received is None else Report.id.in_(received)


def _received(user: User, units: set[int] | None) -> sa.Select[Any] | None:
    receiving = _receiving(user, units)
    if receiving is not None and not receiving:
        return None
    to_units = Destination.unit_id.is_not(None) if receiving is None \
        else Destination.unit_id.in_(receiving)
    return (sa.select(UpwardRecord.report_id)
            .join(Destination, Destination.id == UpwardRecord.destination_id).where(to_units))


def _report_units(user: User, units: set[int] | None) -> ReportUnits:
    if not user.active or user.role is Role.DEPARTMENT or units is None:
        return None
    return units, _received(user, units) if user.role in OFFICE_ROLES else None


def point_scope(session: Session, user: User) -> sa.ColumnElement[bool]:
    """A WHERE clause on `CollectionPoint`: the points of the units `user` sees (all: no unit)."""
    units = visible_units(session, user)
    return sa.true() if units is None else CollectionPoint.unit_id.in_(units)


def visible_report(session: Session, user: User, report_id: int) -> Report | None:
    """Report `report_id` if `user` may see it; None (and a log line) if not, or no such report.

    Both refusals look alike to the user (a 404), so guessing ids tells them
    nothing; the log tells the operator who guessed what.
    """
    report = session.get(Report, report_id)
    if report is None or not can_see(session, user, report):
        log.warning("user %d (%s) refused report %d: %s", user.id, user.role.value, report_id,
                    "no such report" if report is None else "outside their scope")
        return None
    return report


def can_see(session: Session, user: User, report: Report) -> bool:
    return _holds(session, report, report_scope(session, user))


def can_handle(session: Session, user: User, report: Report) -> bool:
    """May `user` act on `report`'s own course (`home_scope`), not only read what was sent?"""
    return _holds(session, report, home_scope(session, user))


def _holds(session: Session, report: Report, where: sa.ColumnElement[bool]) -> bool:
    return bool(session.scalar(
        sa.select(sa.literal(True)).select_from(Report).where(Report.id == report.id, where)))


def can_see_identity(user: User) -> bool:
    return user.role in IDENTITY_ROLES


@dataclass(frozen=True)
class Identity:
    """Who filed a report, as the logged 查看反映人信息 step shows it."""

    name: str | None  # a member's bound name, else the name their chat gave
    answers: tuple[tuple[str, str], ...]  # the form's identity answers: (label, answer)
    channel: Channel
    chat_id: str


def reveal_identity(session: Session, user: User, report: Report, purpose: str) -> Identity | None:
    """Who filed `report`, for `user`, logged as `purpose`; None if they may not know.

    The only reader of a reporter's identity. None, and nothing logged as seen,
    for a user who may not see the report or its reporter (the attempt goes to
    the application log), for a unit that only received the report by 报送
    (what was sent carries no identity), and for an anonymous report.
    """
    if not can_see_identity(user) or not can_handle(session, user, report):
        log.warning("user %d (%s) refused the reporter of report %d (%s)",
                    user.id, user.role.value, report.id, purpose)
        return None
    if report.anonymous:
        return None
    log_access(session, user, report, purpose)
    reporter = report.reporter
    return Identity(name=reporter.member_name or reporter.display_name,
                    answers=_identity_answers(report), channel=reporter.channel,
                    chat_id=reporter.chat_id)


def _identity_answers(report: Report) -> tuple[tuple[str, str], ...]:
    try:
        form = forms.load(report.form)
    except forms.FormError:
        log.error("report %d: form %r cannot be read; its identity answers are not shown",
                  report.id, report.form)
        return ()
    out = []
    for step in form.steps:
        if not step.identity:
            continue
        # The column, where the step fills one, is what filing kept (anonymity applied).
        value = (getattr(report, step.field) if step.field
                 else sealing.open_json(report.answers.get(step.key)))
        if value is not None:
            out.append((step.name("zh"), render_answer(step, value, "zh")))
    return tuple(out)


def reveal_member_contact(session: Session, user: User, member: Member, purpose: str) -> str | None:
    """A roster member's contact, for `user`, logged as `purpose`; None if they may not know.

    The only reader of `Member.contact` (issue 13). Nothing is logged when
    there is nothing to show.
    """
    units = visible_units(session, user)
    in_scope = units is None or member.unit_id in units
    if not user.active or not can_see_identity(user) or not in_scope:
        log.warning("user %d (%s) refused the contact of member %d (%s)",
                    user.id, user.role.value, member.id, purpose)
        return None
    if member.contact is None:
        return None
    session.add(AccessLog(user_id=user.id, member_id=member.id, what=purpose[:40]))
    return member.contact


def reveal_bound_names(session: Session, user: User, reporters: Iterable[Reporter],
                       purpose: str) -> dict[int, str]:
    """The names members' chats are bound under, by reporter id, for `user`; each roster
    member shown is logged once as `purpose`.

    The only reader of `Reporter.member_name` and `display_name` for a list of
    bound chats (the 委员与信息员 page). Left out: everything for a role that
    may not see identity, chats of units outside `user`'s, and chats no longer
    linked to a roster entry (a look at them could not be logged against anyone).
    """
    if not user.active or not can_see_identity(user):
        log.warning("user %d (%s) refused the names of bound chats (%s)",
                    user.id, user.role.value, purpose)
        return {}
    units = visible_units(session, user)
    shown: dict[int, str] = {}
    logged: set[int] = set()
    for reporter in reporters:
        if reporter.member_id is None or (units is not None and reporter.unit_id not in units):
            continue
        name = reporter.member_name or reporter.display_name
        if not name:
            continue
        if reporter.member_id not in logged:
            session.add(AccessLog(user_id=user.id, member_id=reporter.member_id, what=purpose[:40]))
            logged.add(reporter.member_id)
        shown[reporter.id] = name
    return shown


def log_access(session: Session, user: User, report: Report, what: str) -> None:
    """Record that `user` was handed who filed `report`, or a way into their chat (a slip)."""
    session.add(AccessLog(user_id=user.id, report_id=report.id, what=what[:40]))


def can_reply_transfer(session: Session, user: User, transfer: Transfer) -> bool:
    """Department staff answer transfers to their unit (or a sub-unit); admins any."""
    if user.role is Role.ADMIN:
        return True
    if user.role is not Role.DEPARTMENT or user.unit_id is None:
        return False
    return transfer.department_id in unit_subtree(session, user.unit_id)
