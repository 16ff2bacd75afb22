"""The page where a reporter reads what a foreign carrier was not given (issue 14).

A message about a marked report over Telegram or WeChat carries the number,
the status and a link (`issue`). The link is bound to the reporter it was
sent to, and to the first browser that opens it (`open`): any other browser,
and any browser that belongs to another web-chat reporter, is refused. Every
asking leaves a `DetailsRead` row, shown or refused, for the audit page.

A queued message holds the link as `MARKER`; the notifier writes the public
address in when it hands the row to the channel (`resolve`), as the store does
not know where the site is served.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.conversation import news
from store.i18n import t
from store.models import Channel, DetailsLink, DetailsRead, Report, Reporter, utcnow

MARKER = "[[details:{token}]]"
MARKER_RE = re.compile(r"\[\[details:([A-Za-z0-9_-]{16,32})\]\]")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,32}$")
PATH = "/c/r/"
# A link older than this is refused; the reporter's "我的反映" gives a fresh one.
LIFETIME = timedelta(days=30)


class Outcome(StrEnum):
    SHOWN = "shown"
    OTHER_REPORTER = "other_reporter"  # the browser belongs to another web-chat reporter
    OTHER_BROWSER = "other_browser"  # the link was opened first in another browser
    EXPIRED = "expired"


@dataclass(frozen=True)
class Opened:
    outcome: Outcome
    report: Report
    reporter: Reporter

    @property
    def shown(self) -> bool:
        return self.outcome is Outcome.SHOWN


def issue(session: Session, report: Report, reporter: Reporter) -> str:
    """A new link to `report`'s details for `reporter`, as the text of a queued message holds it."""
    token = secrets.token_urlsafe(18)
    session.add(DetailsLink(token=token, report_id=report.id, reporter_id=reporter.id))
    return MARKER.format(token=token)


def url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}{PATH}{token}"


def resolve(text: str, public_url: str) -> str:
    """`text` with each link marker as the page's address under `public_url`."""
    return MARKER_RE.sub(lambda m: url(public_url, m.group(1)), text)


def link_url(session: Session, report: Report, reporter: Reporter, public_url: str) -> str:
    """A new link for a reply given right away (the chat's news), as an address."""
    marker = issue(session, report, reporter)
    return resolve(marker, public_url)


def open_link(session: Session, token: str, browser: str, asked_by: Reporter | None,
              address: str | None) -> Opened | None:
    """Let `browser` read the link `token` names, or say why not; None for an unknown link.

    `asked_by` is the web-chat reporter this browser belongs to, if any. The
    first browser to open the link takes it (one UPDATE, so two cannot both).
    """
    if not TOKEN_RE.match(token or ""):
        return None
    link = session.get(DetailsLink, token)
    if link is None:
        return None
    now = utcnow()
    if asked_by is not None and asked_by.id != link.reporter_id:
        outcome = Outcome.OTHER_REPORTER
    elif link.created_at + LIFETIME < now:
        outcome = Outcome.EXPIRED
    else:
        if link.browser is None:
            session.execute(sa.update(DetailsLink)
                            .where(DetailsLink.token == token, DetailsLink.browser.is_(None))
                            .values(browser=browser, opened_at=now)
                            .execution_options(synchronize_session=False))
            session.refresh(link)
        outcome = Outcome.SHOWN if link.browser == browser else Outcome.OTHER_BROWSER
    session.add(DetailsRead(token=token, report_id=link.report_id, reporter_id=link.reporter_id,
                            asked_by_id=asked_by.id if asked_by else None,
                            allowed=outcome is Outcome.SHOWN, outcome=outcome.value,
                            address=(address or "")[:64] or None, created_at=now))
    session.flush()
    report = session.get(Report, link.report_id)
    reporter = session.get(Reporter, link.reporter_id)
    assert report is not None and reporter is not None
    return Opened(outcome, report, reporter)


def web_reporter(session: Session, chat_id: str | None) -> Reporter | None:
    """The web-chat reporter whose browser carries `chat_id`, if one has reported."""
    if not chat_id:
        return None
    return session.scalar(sa.select(Reporter).where(Reporter.channel == Channel.WEB,
                                                    Reporter.external_id == chat_id))


@dataclass(frozen=True)
class Page:
    """What the details page shows: the report as filed, where it stands, the latest news."""

    no: str
    title: str
    status: str
    news: str
    situation: str
    analysis: str | None
    suggestion: str
    place: str | None
    filed: str


def page(session: Session, opened: Opened) -> Page:
    """The details of an opened link, in its reporter's language."""
    report, lang = opened.report, opened.reporter.language
    [latest] = news.of_reports(session, [report])
    return Page(no=report.tracking_no, title=report.title,
                status=t(f"status.{report.status.value}", lang), news=latest.text(lang),
                situation=report.situation, analysis=report.analysis,
                suggestion=report.suggestion, place=report.place,
                filed=report.created_at.strftime("%Y-%m-%d"))
