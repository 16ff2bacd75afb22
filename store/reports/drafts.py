"""A report before it is filed: a draft, checked by its form's own rules, then filed.

Whoever collects a report builds a `Draft`: the chat engine from a
conversation (`from_conversation`, on 确认提交), counter intake (代录) from a
page, and any future API from a request. `Draft.check()` says everything that
is wrong at once; `Draft.file()` makes the report exactly one way: a tracking
number, version 1 of the reporter's own words, the files as attachments and
the SUBMIT move through `store.reports.lifecycle`.

Errors follow the steps' convention (`store.conversation.steps.Invalid`: a
message key and its parameters); whoever shows them words them for their
page or channel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import forms, sealing
from store.conversation.row import ConvRow
from store.conversation.steps import SKIP, Answer, Invalid, check_value, clean
from store.conversation.summary import report_fields
from store.errors import DomainError
from store.i18n import register
from store.models import (
    Attachment,
    CollectionPoint,
    CommissionMember,
    Member,
    MemberRole,
    Report,
    Reporter,
    ReportSource,
    ReportVersion,
    Topic,
    Urgency,
    User,
    utcnow,
)
from store.prepared import Insert, Prepared, binds
from store.reports import lifecycle, marks
from store.reports.files import StoredFile
from store.reports.queries import next_tracking_no

register({
    "draft.required": {"zh": "请填写“{label}”。", "en": "Please fill in \"{label}\"."},
    "draft.choose": {"zh": "请选择“{label}”。", "en": "Please choose \"{label}\"."},
})


class DraftError(DomainError):
    """A draft that cannot be filed; `errors` maps each step key to what is wrong with it."""

    def __init__(self, form: forms.Form, errors: Mapping[str, Invalid]) -> None:
        steps = [form.step(key) for key in errors]
        super().__init__("这些项需要修改：" + "、".join(s.name("zh") for s in steps)
                         + " / these answers need changing: "
                         + ", ".join(s.name("en") for s in steps))
        self.errors = dict(errors)


@dataclass(frozen=True)
class Checked:
    """The answers of the steps that apply, as the report keeps them, and what is wrong."""

    answers: dict[str, Any]
    errors: dict[str, Invalid]


@dataclass
class Draft:
    """A report's answers and files with who sent it and where, not yet filed.

    `answers` maps step keys to what was given: typed text, a choice's number,
    value or label, "是"/"1" or True for yes; checked answers pass unchanged.
    `files` holds, per file step, the files already saved (`store.reports.files.keep`).
    A report taken at a point belongs to the point's unit; one without a point
    to the reporter's (a member's) unit.
    """

    form: forms.Form
    answers: Mapping[str, Any]
    files: Mapping[str, Sequence[StoredFile]] = field(default_factory=dict)
    reporter: Reporter | None = None
    point_id: int | None = None
    topic_id: int | None = None
    entered_by: User | None = None  # the staff member who typed it in at a counter (代录)
    # Where it came from (issue 13): None derives it from the reporter, the point and the
    # topic (`source_of`); staff entering a report drawn from a proposal, a survey ... name it,
    # with `source_ref` (its number or link), the roster `member_id` it counts for and, without
    # a point, the `unit_id` it belongs to.
    source: ReportSource | None = None
    source_ref: str | None = None
    member_id: int | None = None
    unit_id: int | None = None

    def checked(self) -> Checked:
        """Walk the steps whose `when` holds, in order, each with the chat's own checker.

        A `when` is decided on the checked answers, so "2" for a category opens
        that category's questions as picking it in the chat would. Answers to
        steps that do not apply are dropped: above all a contact typed before
        choosing to stay anonymous.
        """
        answers: dict[str, Any] = {}
        errors: dict[str, Invalid] = {}
        for step in self.form.steps:
            if not self.form.applies(step, answers):
                continue
            if step.kind == "file":
                n = len(self.files.get(step.key, ()))
                answers[step.key] = n or None
                if n > step.max_files:
                    errors[step.key] = Invalid("invalid.too_many_files", {"max": step.max_files})
                elif n == 0 and not step.optional:
                    errors[step.key] = _missing(step)
                continue
            value = self.answers.get(step.key)
            if value is None or (isinstance(value, str) and not clean(value)):
                answers[step.key] = None
                if not step.optional:
                    errors[step.key] = _missing(step)
                continue
            outcome = check_value(step, value)
            if isinstance(outcome, Invalid):
                errors[step.key] = outcome
                answers[step.key] = None
            elif isinstance(outcome, Answer):
                answers[step.key] = outcome.value
            else:
                assert outcome is SKIP
                answers[step.key] = None
        return Checked(answers, errors)

    def check(self) -> dict[str, Invalid]:
        """Everything that keeps this draft from being filed, by step key (empty: it may be)."""
        return self.checked().errors

    def file(self, session: Session) -> Report:
        """File the draft as a submitted report; `DraftError` if it does not pass `check()`."""
        checked = self.checked()
        if checked.errors:
            raise DraftError(self.form, checked.errors)
        return file_as_is(session, self, checked.answers)


def _missing(step: forms.Step) -> Invalid:
    key = "draft.choose" if step.kind in ("choice", "yesno") else "draft.required"
    return Invalid(key, {"label": step.name("zh")})


def from_conversation(session: Session, conv: ConvRow, reporter: Reporter) -> Draft:
    """The chat's draft: the conversation's answers, files, point and topic."""
    form = forms.load(conv.form)
    # The chat fills file steps one after another: each took as many files as its answer says.
    counts = {s.key: conv.answers.get(s.key) or 0
              for s in form.active_steps(conv.answers) if s.kind == "file"}
    # None taken (most reports): no file held could be used, so none is read.
    held = [StoredFile.of(a) for a in held_files(session, conv)] if any(counts.values()) else []
    files: dict[str, list[StoredFile]] = {}
    for key, n in counts.items():
        files[key], held = held[:n], held[n:]
    return Draft(form=form, answers=dict(conv.answers), files=files, reporter=reporter,
                 point_id=conv.point_id, topic_id=conv.context.get("topic_id"))


def held_by(conv: ConvRow) -> tuple[sa.ColumnElement[bool], ...]:
    """The files a conversation holds for its draft (not those of a supplement under way)."""
    return (Attachment.conversation_id == conv.id, Attachment.report_id.is_(None),
            Attachment.supplement.is_(False))


def held_files(session: Session, conv: ConvRow) -> list[Attachment]:
    """The rows `held_by` names, oldest first."""
    return list(session.scalars(_HELD, {"conv_id": conv.id}))


def held_count(conn: sa.Connection, conv: ConvRow) -> int:
    """How many rows `held_by` names, on the unit of work's connection: a file step that
    ends (完成, 跳过) needs no ORM session for it."""
    found = _COUNT_HELD.first(conn, {"conv_id": conv.id})
    return int(found[0]) if found is not None else 0


def drop_held(session: Session, conv: ConvRow) -> None:
    """Delete the rows `held_by` names (the files went to a report, or the draft was let go).

    On the session's connection, after its flush: rows read into the session stay there
    unsynchronised (the draft is let go with them), and the ORM's DELETE path, which looks
    for them, cost more than the statement.
    """
    session.flush()
    _DROP_HELD.rows(session.connection(), {"conv_id": conv.id})


# `held_by` as statements built once (the chat asks at every file step and at 确认提交).
_HOLDS = (Attachment.conversation_id == sa.bindparam("conv_id"), Attachment.report_id.is_(None),
          Attachment.supplement.is_(False))
_HELD = sa.select(Attachment).where(*_HOLDS).order_by(Attachment.id)
_ATTACHMENTS: sa.Table = Attachment.__table__  # type: ignore[assignment]
_COUNT_HELD = Prepared(sa.select(sa.func.count()).select_from(_ATTACHMENTS).where(
    _ATTACHMENTS.c.conversation_id == sa.bindparam("conv_id"), _ATTACHMENTS.c.report_id.is_(None),
    _ATTACHMENTS.c.supplement.is_(False)))
_DROP_HELD = Prepared(sa.delete(_ATTACHMENTS).where(
    _ATTACHMENTS.c.conversation_id == sa.bindparam("conv_id"), _ATTACHMENTS.c.report_id.is_(None),
    _ATTACHMENTS.c.supplement.is_(False)))


def source_of(session: Session, draft: Draft) -> ReportSource:
    """Where a collected report came from: an answer to a commission addressed to the
    reporter, a member's or informant's own, or a citizen's (at a point or not)."""
    if draft.source is not None:
        return draft.source
    reporter = draft.reporter
    member_id = reporter.member_id if reporter is not None else None
    if member_id is None:
        return ReportSource.CITIZEN
    if draft.topic_id is not None:
        topic = session.get(Topic, draft.topic_id)
        if topic is not None and topic.commissioned and session.get(
                CommissionMember, (topic.id, member_id)) is not None:
            return ReportSource.COMMISSIONED
    role = session.scalar(sa.select(Member.role).where(Member.id == member_id))
    return ReportSource.INFORMANT if role is MemberRole.INFORMANT else ReportSource.MEMBER


def _unit_of(session: Session, draft: Draft, reporter: Reporter) -> int | None:
    """A report taken at a point belongs to the point's unit; one without a point to the
    unit staff named, else the roster member's, else the reporter's (a member's) unit."""
    if draft.point_id is not None:
        found = _POINT_UNIT.first(session.connection(), {"point_id": draft.point_id})
        return found[0] if found is not None else None
    if draft.unit_id is not None:
        return draft.unit_id
    if draft.member_id is not None:
        return session.scalar(sa.select(Member.unit_id).where(Member.id == draft.member_id))
    return reporter.unit_id
# The unit of a point, prepared (most reports are taken at a point).
_POINTS: sa.Table = CollectionPoint.__table__  # type: ignore[assignment]
_POINT_UNIT = Prepared(sa.select(_POINTS.c.unit_id).where(_POINTS.c.id == sa.bindparam("point_id")))


def sealed_identity(form: forms.Form, answers: Mapping[str, Any]) -> dict[str, Any]:
    """`answers` as a report keeps them: those the form marks `identity` sealed (保密)."""
    kept = dict(answers)
    for step in form.steps:
        if step.identity and kept.get(step.key) is not None:
            kept[step.key] = sealing.seal_json(kept[step.key])
    return kept


def file_as_is(session: Session, draft: Draft, answers: Mapping[str, Any], *,
               now: datetime | None = None) -> Report:
    """File `answers` (already checked) for `draft`'s reporter; `Draft.file` checks first.

    Called directly where the draft was just checked (the chat's 确认提交, which
    checks it first to ask again what a changed form refuses) or where texts are
    made up rather than collected: the test factory and the benchmark (which may
    also say when it was filed, `now`).
    """
    # The moment it is filed: when it was made and when its deadlines start.
    now = now or utcnow()
    report = report_of(session, draft, answers, now)
    # The lifecycle settles the status and deadlines and inserts the report with its SUBMIT
    # event (by prepared statements, as what follows: the ORM's unit of work cost filing
    # more than its statements, issue 16).
    lifecycle.apply(session, report, lifecycle.Action.SUBMIT, reporter=draft.reporter, now=now,
                    new=True)
    for step_files in draft.files.values():
        for stored in step_files:
            _ATTACHMENT_ROW.add(session, stored.attachment(report_id=report.id))
    # Version 1 is the reporter's own words; staff edits add versions, never overwrite it.
    # Nothing in this transaction reads it back: a statement, not an object.
    _VERSION.rows(session.connection(), {
        "report_id": report.id, "number": 1, "title": report.title, "situation": report.situation,
        "analysis": report.analysis, "suggestion": report.suggestion, "summary": None,
        "user_id": None, "created_at": now})
    return report


def report_of(session: Session, draft: Draft, answers: Mapping[str, Any], now: datetime) -> Report:
    """The report `answers` make, numbered and marked, not in the session yet (the lifecycle's
    SUBMIT inserts it). A new reporter is inserted first: the report names them by id."""
    if draft.reporter is None:
        raise ValueError("a draft needs its reporter to be filed")
    # What the caller changed first, as the ORM's autoflush would: the statements below skip it.
    session.flush()
    fields = report_fields(draft.form, dict(answers))
    anonymous = bool(fields.get("anonymous"))
    report = Report(
        tracking_no=next_tracking_no(session),
        category=fields["category"], title=fields["title"], situation=fields["situation"],
        analysis=fields.get("analysis"), suggestion=fields["suggestion"],
        place=fields.get("place"), latitude=fields.get("latitude"),
        longitude=fields.get("longitude"),
        urgency=Urgency.URGENT if fields.get("urgency") else Urgency.NORMAL,
        anonymous=anonymous, contact=None if anonymous else fields.get("contact"),
        answers=sealed_identity(draft.form, answers), form=draft.form.key, point_id=draft.point_id,
        unit_id=_unit_of(session, draft, draft.reporter),
        topic_id=draft.topic_id,
        source=source_of(session, draft), source_ref=draft.source_ref,
        member_id=draft.member_id if draft.member_id is not None else draft.reporter.member_id,
        entered_by_id=draft.entered_by.id if draft.entered_by is not None else None,
        created_at=now,
    )
    if draft.reporter.id is None:
        session.add(draft.reporter)
        session.flush()
    report.reporter_id = draft.reporter.id
    marks.assign(session, report)
    return report


_ATTACHMENT_ROW = Insert(Attachment)
_VERSIONS: sa.Table = ReportVersion.__table__  # type: ignore[assignment]
_VERSION = Prepared(sa.insert(_VERSIONS).values(binds(
    _VERSIONS, "report_id", "number", "title", "situation", "analysis", "suggestion", "summary",
    "user_id", "created_at")))
