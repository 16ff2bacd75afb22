"""Signing an issue off (签发, which numbers it), sending it back, publishing it, and the 专报.

Publishing tells each reporter whose report an issue carries, in their chat,
where it was carried (through the outbox, in the same transaction).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from store.i18n import register, t
from store.models import IssueStatus, JournalIssue, Report, Reporter, User, utcnow
from store.outputs.journal import issues, numbering, series
from store.outputs.journal.issues import JournalError, Step
from store.reports import feedback

register({
    "journal.carried": {
        "zh": "您反映的信息《{title}》（编号 {no}）已编入{journal}{issue}刊发，"
              "报送有关领导和部门参阅。感谢您的支持！",
        "en": "Your report \"{title}\" ({no}) was carried in {journal}, {issue}, which goes to the leaders "
              "and departments concerned. Thank you for your support!",
    },
})

SPECIAL_SERIES = "信息专报"


def _check_contents(session: Session, issue: JournalIssue, doing: str) -> None:
    """Refuse an empty issue, or one carrying a report withdrawn or merged since it was added."""
    if not issue.items:
        raise JournalError(f"本期还没有信息，不能{doing} / an issue with no items cannot be "
                           f"{'signed off' if doing == '签发' else 'published'}")
    if issue.series.single_item and len(issue.items) != 1:
        raise JournalError(f"《{issue.series.name}》每期只编一条信息 / 《{issue.series.name}》 "
                           "carries one item an issue")
    bad = issues.flagged(session, issue)
    if bad:
        lines = [f"{item.report.tracking_no}《{item.title[:40]}》：{bad[item.id]}"
                 for item in issue.items if item.id in bad]
        raise JournalError(f"以下信息在编入后已被撤回或合并，请先移出本期再{doing} / these reports were "
                           "withdrawn or merged after they were put in; take them out first:\n"
                           + "\n".join(lines))


def sign_off(session: Session, issue: JournalIssue, user: User | None,
             expected_version: int | None = None) -> JournalIssue:
    """签发: fix the contents and give the issue its number (kept if it had one already)."""
    issues.permit(session, issue, Step.SIGN_OFF, user)
    _check_contents(session, issue, "签发")
    now = utcnow()
    # The state changes first: of two sign-offs of one issue only one gets here,
    # so only one draws a number.
    issues.claim(session, issue, Step.SIGN_OFF, user, expected_version=expected_version,
                 values={"signed_off_by_id": user.id if user else None, "signed_off_at": now})
    if issue.number is None:
        numbering.allocate(session, issue, now)
    session.flush()
    return issue


def revise(session: Session, issue: JournalIssue, user: User | None, note: str | None = None,
           expected_version: int | None = None) -> None:
    """Send a signed-off issue back to draft; it keeps its number for when it is signed off again."""
    issues.claim(session, issue, Step.REVISE, user, expected_version=expected_version,
                 note=(note or "").strip()[:issues.NOTE_LIMIT] or None,
                 values={"signed_off_by_id": None, "signed_off_at": None})


def publish(session: Session, issue: JournalIssue, user: User | None,
            expected_version: int | None = None) -> int:
    """刊发 a signed-off issue and queue each reporter's message; returns how many were queued.

    Publishing twice is refused (the state table has no second publish, and
    the compare-and-set stops two at once).
    """
    issues.permit(session, issue, Step.PUBLISH, user)
    _check_contents(session, issue, "发布")
    issues.claim(session, issue, Step.PUBLISH, user, expected_version=expected_version,
                 values={"published_at": utcnow()})
    return _tell_reporters(session, issue)


def _tell_reporters(session: Session, issue: JournalIssue) -> int:
    queued = 0
    journal, number = series.titled(issue.series), numbering.label(issue)
    for item in issue.items:
        report = item.report
        told: set[int] = set()
        for reporter in feedback.recipients(session, report):
            if reporter.id in told:
                continue
            told.add(reporter.id)
            if _tell(session, reporter, report, journal, number):
                queued += 1
    return queued


def _tell(session: Session, reporter: Reporter, report: Report, journal: str, number: str) -> bool:
    lang = reporter.language
    issue_words = number if lang == "zh" else number.replace("年第", " No. ").replace("期", "")
    text = t("journal.carried", lang, title=report.title, no=report.tracking_no, journal=journal,
             issue=issue_words)
    return feedback.tell(session, report, reporter, text) is not None


def special_report(session: Session, report: Report, user: User | None) -> JournalIssue:
    """专报 in one step: a 《信息专报》 issue carrying `report` alone, signed off and published.

    Only someone who may sign off (the final level, an admin, the command line) can.
    """
    special = series.find(session, SPECIAL_SERIES)
    if user is not None and user.role not in issues.sign_off_roles(session):
        raise JournalError("专报须由审定一级（或管理员）直接签发 / only the final review level (or an "
                           "administrator) sends a special report")
    issue = issues.compose(session, special, [report], user)
    sign_off(session, issue, user)
    publish(session, issue, user)
    return issue


def is_published(issue: JournalIssue) -> bool:
    return issue.status is IssueStatus.PUBLISHED
