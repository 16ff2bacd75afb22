"""Reading from outside the console: exports, API tokens and the API's call log (issue 13),
and the pages where a reporter reads a marked report's details (issue 14).

All of them are append-mostly logs the audit page (issue 14) reads: who took
which reports out, and when.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base, utcnow
from store.models.network import Unit, User
from store.models.reports import Report


class ExportLog(Base):
    """One export of reports to a file: who, when, with which filters, how many rows."""

    __tablename__ = "export_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The staff member whose access rules chose the rows (`minyi export` names one too).
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    via: Mapped[str] = mapped_column(sa.String(10))  # console | cli | journal
    format: Mapped[str] = mapped_column(sa.String(8))  # csv | xlsx | docx | pdf
    # The filters as `store.search.Filters.to_args()` gives them.
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Set when the last row was written; None: the download broke off (or is under way).
    rows: Mapped[int | None]
    finished_at: Mapped[datetime | None]
    # It held reports marked above 公开 (issue 14, store.reports.marks): watermarked, office roles only.
    marked: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    user: Mapped[User] = relationship()


class ApiToken(Base):
    """A read-only API token for another system, scoped to a unit and the units below it.

    Only a hash is kept: the token itself is shown once, when it is issued.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # sha256 of the whole token, hex; how a call finds its token.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The token's first characters, so a person can tell tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    # None: the whole network (only an administrator without a unit issues such a token).
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # May read the content of reports marked above 公开 (issue 14): an administrator's
    # explicit choice at issue; without it such reports answer only number, status and mark.
    marked: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    unit: Mapped[Unit | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


class ApiCall(Base):
    """One call of the read API, answered or refused."""

    __tablename__ = "api_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: no token, or one we do not know.
    token_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_tokens.id"), index=True)
    method: Mapped[str] = mapped_column(sa.String(8))
    path: Mapped[str] = mapped_column(sa.String(300))
    query: Mapped[str] = mapped_column(sa.String(500), default="")
    status: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class DetailsLink(Base):
    """A link sent over an external carrier instead of a marked report's words (issue 14).

    Bound to the reporter it was sent to; the first browser to open it is bound
    to it too (`browser`, a random id in that browser's signed cookie), and no
    other browser is let in.
    """

    __tablename__ = "details_links"

    # Random, URL-safe; the link is `/c/r/<token>`.
    token: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("reports.id"), index=True)
    reporter_id: Mapped[int] = mapped_column(sa.ForeignKey("reporters.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_at: Mapped[datetime | None]
    browser: Mapped[str | None] = mapped_column(sa.String(40))

    report: Mapped[Report] = relationship()


class DetailsRead(Base):
    """One asking for a details page: shown, or refused and why (for the audit page)."""

    __tablename__ = "details_reads"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(32), index=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("reports.id"), index=True)
    # The reporter the link was sent to.
    reporter_id: Mapped[int] = mapped_column(sa.ForeignKey("reporters.id"))
    # The web-chat reporter the asking browser belongs to, when it belongs to one.
    asked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reporters.id"))
    allowed: Mapped[bool]
    # shown | other_reporter | other_browser | expired
    outcome: Mapped[str] = mapped_column(sa.String(20))
    address: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
