"""Reading from outside the console: exports, API tokens and the API's call log (issue 13).

All three are append-mostly logs the audit page (issue 14) reads: who took
which reports out, and when.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base, utcnow
from store.models.network import Unit, User


class ExportLog(Base):
    """One export of reports to a file: who, when, with which filters, how many rows."""

    __tablename__ = "export_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The staff member whose access rules chose the rows (`minyi export` names one too).
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    via: Mapped[str] = mapped_column(sa.String(10))  # console | cli
    format: Mapped[str] = mapped_column(sa.String(8))  # csv | xlsx
    # The filters as `store.search.Filters.to_args()` gives them.
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Set when the last row was written; None: the download broke off (or is under way).
    rows: Mapped[int | None]
    finished_at: Mapped[datetime | None]

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
