"""Composing an issue: the moves table, a draft and its items (pick, order, edit, 按语, 报/送/发).

An issue moves draft → signed off (签发, numbered) → published (刊发), or a
signed-off one back to draft for changes (it keeps its number). Who may make
each move, and from which state, is the table `MOVES`; `permit` reads it and
words a refusal for the person. Every change goes through `claim`, a
compare-and-set UPDATE on the issue's state and version, so two editors or
two sign-offs cannot both win; every change leaves a `JournalEvent`.
`None` as the user is the command line (the machine's operator).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.errors import DomainError
from store.models import (
    IssueStatus,
    JournalEvent,
    JournalIssue,
    JournalItem,
    JournalSeries,
    Report,
    Role,
    User,
)
from store.outputs.journal import rules, source
from store.outputs.journal.numbering import LOCAL, label
from store.review import chain as review

S = IssueStatus
TITLE_LIMIT = 2000
BODY_LIMIT = 20000
NOTE_LIMIT = 2000
ITEM_LIMIT = 200
DISTRIBUTION = {"bao": "报", "song": "送", "fa": "发"}
RECIPIENTS_LIMIT = 30
RECIPIENT_LIMIT = 100


class JournalError(DomainError):
    """A refused journal move; the message is for the person who asked (zh / en)."""


class Step(StrEnum):
    EDIT = "edit"  # anything a draft's editor changes: items, order, texts, 按语, 报/送/发
    SIGN_OFF = "sign_off"
    REVISE = "revise"  # a signed-off issue back to draft
    PUBLISH = "publish"
    DISCARD = "discard"


OFFICE = "office"  # the office's own staff
FINAL = "final"  # the roles of the review chain's last level (审定), and admins


@dataclass(frozen=True)
class Move:
    to: IssueStatus | None  # None: the draft is deleted
    actors: str


MOVES: dict[IssueStatus, dict[Step, Move]] = {
    S.DRAFT: {Step.EDIT: Move(S.DRAFT, OFFICE), Step.SIGN_OFF: Move(S.SIGNED_OFF, FINAL),
              Step.DISCARD: Move(None, OFFICE)},
    S.SIGNED_OFF: {Step.REVISE: Move(S.DRAFT, FINAL), Step.PUBLISH: Move(S.PUBLISHED, OFFICE)},
    S.PUBLISHED: {},
}

# Why a move does not fit the issue's state, per (state, step); anything else gets the general one.
REFUSED = {
    (S.PUBLISHED, Step.PUBLISH): "本期已于 {when} 发布，不能重复发布 / this issue was already "
                                 "published on {when}; it cannot be published twice",
    (S.DRAFT, Step.PUBLISH): "本期尚未签发，签发后才能发布 / sign this issue off before publishing it",
    (S.SIGNED_OFF, Step.EDIT): "本期已签发，内容不能再改；如需修改请先“退回修改” / this issue is "
                               "signed off; send it back to draft to change it",
    (S.PUBLISHED, Step.EDIT): "本期已发布，不能再修改 / this issue is published and cannot change",
    (S.SIGNED_OFF, Step.SIGN_OFF): "本期已经签发 / this issue is signed off already",
    (S.PUBLISHED, Step.SIGN_OFF): "本期已经发布 / this issue is published already",
    (S.SIGNED_OFF, Step.DISCARD): "已签发的期刊有了期号，不能删除 / a signed-off issue has its "
                                  "number and cannot be deleted",
}


def sign_off_roles(session: Session) -> frozenset[Role]:
    """Who signs an issue off: the roles of the office's last review level, and admins."""
    return review.chain(session)[-1].roles | {Role.ADMIN}


def may(session: Session, user: User | None, actors: str) -> bool:
    if user is None:
        return True
    if not user.active:
        return False
    if actors == FINAL:
        return user.role in sign_off_roles(session)
    return user.role in access.OFFICE_ROLES


def permit(session: Session, issue: JournalIssue, step: Step, user: User | None) -> Move:
    """The move `step` makes on `issue` now, if `user` may make it; else `JournalError`."""
    move = MOVES[issue.status].get(step)
    if move is None:
        when = issue.published_at.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M") \
            if issue.published_at else ""
        raise JournalError(REFUSED.get((issue.status, step), "本期当前状态不允许此操作 / not "
                                       "allowed in this issue's state").format(when=when))
    if not may(session, user, move.actors):
        if move.actors == FINAL:
            level = review.chain(session)[-1].label()
            raise JournalError(f"签发须由{level}一级（或管理员）进行 / only the final review level "
                               "(or an administrator) signs an issue off")
        raise JournalError("您没有权限编辑期刊 / you may not edit journal issues")
    return move


def claim(session: Session, issue: JournalIssue, step: Step, user: User | None, *,
          expected_version: int | None = None, note: str | None = None,
          values: dict[str, Any] | None = None) -> Move:
    """Check `step`, then move the issue's state and version in one compare-and-set UPDATE.

    Raises `JournalError` if someone else changed the issue since it was read
    (or since `expected_version`); writes the event. The caller commits.
    """
    move = permit(session, issue, step, user)
    seen = issue.version if expected_version is None else expected_version
    result = session.execute(
        sa.update(JournalIssue)
        .where(JournalIssue.id == issue.id, JournalIssue.status == issue.status,
               JournalIssue.version == seen)
        .values(status=move.to or issue.status, version=JournalIssue.version + 1, **(values or {}))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(issue)
        raise JournalError("本期刚刚已被其他人修改，请刷新后再试 / someone else has just changed "
                           "this issue; reload it and try again")
    session.refresh(issue)
    session.add(JournalEvent(issue_id=issue.id, action=step.value,
                             user_id=user.id if user else None, note=note))
    return move


# -- composing ------------------------------------------------------------------------


def compose(session: Session, series: JournalSeries, reports: list[Report], user: User | None,
            ) -> JournalIssue:
    """A new draft of `series` carrying `reports` in this order (at least one)."""
    if not may(session, user, OFFICE):
        raise JournalError("您没有权限编辑期刊 / you may not edit journal issues")
    if not series.active:
        raise JournalError(f"期刊《{series.name}》已停用 / the journal 《{series.name}》 is retired")
    if not reports:
        raise JournalError("一期至少要有一条信息，请先选择要编入的信息 / an issue needs at least "
                           "one item: choose the reports to carry")
    issue = JournalIssue(series_id=series.id, status=S.DRAFT, distribution={},
                         created_by_id=user.id if user else None)
    session.add(issue)
    session.flush()
    session.add(JournalEvent(issue_id=issue.id, action="compose", user_id=user.id if user else None))
    _add(session, issue, reports, user)
    return issue


def add_reports(session: Session, issue: JournalIssue, reports: list[Report], user: User | None,
                expected_version: int | None = None) -> None:
    """Put more reports at the end of a draft."""
    claim(session, issue, Step.EDIT, user, expected_version=expected_version,
          note="加入 " + "、".join(r.tracking_no for r in reports))
    _add(session, issue, reports, user)


def _add(session: Session, issue: JournalIssue, reports: list[Report], user: User | None) -> None:
    if not reports:
        raise JournalError("请选择要编入的信息 / choose the reports to carry")
    check_reports(session, issue, reports, user)
    how = source.mode(session)
    start = len(issue.items)
    if issue.series.single_item and start + len(reports) > 1:
        raise JournalError(f"《{issue.series.name}》每期只编一条信息 / 《{issue.series.name}》 "
                           "carries one item an issue")
    if start + len(reports) > ITEM_LIMIT:
        raise JournalError(f"一期最多 {ITEM_LIMIT} 条信息 / at most {ITEM_LIMIT} items an issue")
    for n, report in enumerate(reports):
        title, body = source.first_text(report)
        issue.items.append(JournalItem(report_id=report.id, position=start + n, title=title,
                                       body=body, source=source.line(session, report, how)))
    session.flush()


def check_reports(session: Session, issue: JournalIssue, reports: list[Report],
                  user: User | None) -> None:
    """Refuse reports that cannot go into `issue`, naming each and saying why."""
    problems: list[str] = []
    seen: set[int] = {item.report_id for item in issue.items}
    ids = [r.id for r in reports]
    allowed = set(session.scalars(sa.select(Report.id).where(Report.id.in_(ids), rules.may_carry())))
    elsewhere = dict(session.execute(
        sa.select(JournalItem.report_id, JournalIssue.id)
        .join(JournalIssue, JournalItem.issue_id == JournalIssue.id)
        .where(JournalItem.report_id.in_(ids), JournalIssue.series_id == issue.series_id,
               JournalIssue.id != issue.id, JournalIssue.status != S.DRAFT)
    ).all())
    for report in reports:
        if user is not None and not access.can_see(session, user, report):
            problems.append(f"{report.tracking_no}：找不到该信息 / no such report")
        elif report.id in seen:
            problems.append(f"{report.tracking_no}：本期已有 / already in this issue")
        elif report.id not in allowed:
            problems.append(f"{report.tracking_no}：{rules.why_not(report)}，不能编入 / cannot be carried")
        elif report.id in elsewhere:
            other = session.get(JournalIssue, elsewhere[report.id])
            assert other is not None
            problems.append(f"{report.tracking_no}：已编入《{issue.series.name}》{label(other)} / "
                            "already carried in this journal")
        seen.add(report.id)
    if problems:
        raise JournalError("以下信息不能编入本期 / these reports cannot go into the issue:\n"
                           + "\n".join(problems))


def flagged(session: Session, issue: JournalIssue) -> dict[int, str]:
    """Items whose report may no longer be carried (withdrawn or merged since): item id → why."""
    ids = [item.report_id for item in issue.items]
    allowed = set(session.scalars(sa.select(Report.id).where(Report.id.in_(ids), rules.may_carry())))
    return {item.id: rules.why_not(item.report) for item in issue.items
            if item.report_id not in allowed}


def edit_item(session: Session, issue: JournalIssue, item_id: int, user: User | None, *,
              title: str, body: str, note: str, expected_version: int | None = None) -> JournalItem:
    """Change an item's title, text and 按语 (the report itself is not changed)."""
    item = _item(issue, item_id)
    title, body, note = title.strip(), _text(body), _text(note)
    problems = []
    if not title or len(title) > TITLE_LIMIT:
        problems.append(f"标题不能为空，且不超过 {TITLE_LIMIT} 字（现有 {len(title)} 字） / a title of "
                        f"1 to {TITLE_LIMIT} characters (this one has {len(title)})")
    if not body or len(body) > BODY_LIMIT:
        problems.append(f"正文不能为空，且不超过 {BODY_LIMIT} 字 / a text of 1 to {BODY_LIMIT} characters")
    if len(note) > NOTE_LIMIT:
        problems.append(f"按语不超过 {NOTE_LIMIT} 字 / an editor's note of at most {NOTE_LIMIT} characters")
    if problems:
        raise JournalError("\n".join(problems))
    claim(session, issue, Step.EDIT, user, expected_version=expected_version,
          note=f"修改 {item.report.tracking_no}")
    item.title, item.body, item.note = _clean(title), _clean(body), _clean(note) or None
    session.flush()
    return item


def remove_item(session: Session, issue: JournalIssue, item_id: int, user: User | None,
                expected_version: int | None = None) -> None:
    item = _item(issue, item_id)
    claim(session, issue, Step.EDIT, user, expected_version=expected_version,
          note=f"移出 {item.report.tracking_no}")
    issue.items.remove(item)
    for n, rest in enumerate(issue.items):
        rest.position = n
    session.flush()


def move_item(session: Session, issue: JournalIssue, item_id: int, offset: int, user: User | None,
              expected_version: int | None = None) -> None:
    """Move an item up (-1) or down (+1) in the issue."""
    item = _item(issue, item_id)
    order = list(issue.items)
    here = order.index(item)
    there = min(max(here + offset, 0), len(order) - 1)
    claim(session, issue, Step.EDIT, user, expected_version=expected_version,
          note=f"调整 {item.report.tracking_no} 的顺序")
    order.insert(there, order.pop(here))
    for n, each in enumerate(order):
        each.position = n
    session.flush()
    session.expire(issue, ["items"])


def edit_issue(session: Session, issue: JournalIssue, user: User | None, *, note: str,
               distribution: dict[str, str], expected_version: int | None = None) -> None:
    """The issue's 编者按 and its 报 / 送 / 发 lists (one recipient a line, or separated by 、，,)."""
    note = _text(note)
    if len(note) > NOTE_LIMIT:
        raise JournalError(f"编者按不超过 {NOTE_LIMIT} 字 / an editor's note of at most {NOTE_LIMIT} "
                           "characters")
    lists = {key: _recipients(distribution.get(key, ""), word) for key, word in DISTRIBUTION.items()}
    claim(session, issue, Step.EDIT, user, expected_version=expected_version, note="修改编者按或报送范围")
    issue.note = _clean(note) or None
    issue.distribution = lists
    session.flush()


def _recipients(raw: str, word: str) -> list[str]:
    for sep in "、，,;；":
        raw = raw.replace(sep, "\n")
    names = [_clean(n.strip()) for n in raw.splitlines() if n.strip()]
    if len(names) > RECIPIENTS_LIMIT or any(len(n) > RECIPIENT_LIMIT for n in names):
        raise JournalError(f"“{word}”最多 {RECIPIENTS_LIMIT} 个单位，每个不超过 {RECIPIENT_LIMIT} 字 / "
                           f"at most {RECIPIENTS_LIMIT} recipients of up to {RECIPIENT_LIMIT} characters")
    return list(dict.fromkeys(names))


def discard(session: Session, issue: JournalIssue, user: User | None) -> None:
    """Delete a draft (it has no number, so nothing is skipped)."""
    permit(session, issue, Step.DISCARD, user)
    session.delete(issue)
    session.flush()


def _item(issue: JournalIssue, item_id: int) -> JournalItem:
    for item in issue.items:
        if item.id == item_id:
            return item
    raise JournalError("本期没有这条信息 / no such item in this issue")


def _text(raw: str | None) -> str:
    return (raw or "").replace("\r\n", "\n").strip()


def _clean(text: str) -> str:
    """Without control characters, which no .docx may hold (tabs and line breaks stay)."""
    return "".join(c for c in text if c in "\n\t" or not (ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF
                                                            or ord(c) in (0xFFFE, 0xFFFF)))
