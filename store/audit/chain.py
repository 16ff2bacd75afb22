"""The one writer of `audit_entries`, and the walk that checks its chain.

Each row's hash is sha256 of the previous row's hash and the row's own
canonical content (`content`), so changing, removing or reordering a row
breaks every hash after it. Appending is serialized, so two writers never
chain onto the same row: on PostgreSQL by a transaction-scoped advisory lock
(held until the writer commits or rolls back), on SQLite by the write lock
that `BEGIN IMMEDIATE` takes (`store.db`). The lock is taken at the first
entry of a transaction, which is why a transaction that writes an audited row
waits for the one before it to commit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import AuditEntry, utcnow
from store.prepared import Prepared

GENESIS = "0" * 64
# Any number, the same in every process: the key of the chain's advisory lock.
LOCK_KEY = 0x6D696E7969  # "minyi"
DETAIL_TEXT_LIMIT = 500
# The key in `Session.info` where the edge names the staff member acting (the console's login).
ACTOR_USER = "audit_actor_user_id"


@dataclass(frozen=True)
class Actor:
    """Who acted: a staff member, a reporter, or the system (jobs, the command line, API tokens)."""

    user_id: int | None = None
    reporter_id: int | None = None

    @property
    def kind(self) -> str:
        if self.user_id is not None:
            return "user"
        return "reporter" if self.reporter_id is not None else "system"


SYSTEM = Actor()


def act_as(session: Session, user_id: int) -> None:
    """Say that staff member `user_id` acts in `session` (the console, once it knows who)."""
    session.info[ACTOR_USER] = user_id


def acting(session: Session) -> Actor:
    """The staff member the edge said is acting in `session` (`ACTOR_USER`), else the system."""
    user_id = session.info.get(ACTOR_USER)
    return Actor(user_id=user_id) if isinstance(user_id, int) else SYSTEM


def clean(detail: Mapping[str, Any]) -> dict[str, Any]:
    """`detail` as JSON keeps it exactly: dates as ISO text, long text cut, other values as text."""
    out: dict[str, Any] = {}
    for key, value in detail.items():
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat()
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, Mapping):
            value = clean(value)
        elif isinstance(value, (list, tuple)):
            value = [v if isinstance(v, (str, int, bool)) or v is None else str(v) for v in value]
        elif isinstance(value, str):
            value = value[:DETAIL_TEXT_LIMIT]
        elif not (isinstance(value, (int, bool)) or value is None):
            value = str(value)  # floats too: their text round-trips, their binary may not
        out[str(key)] = value
    return out


def content(id: int, at: datetime, actor: str, user_id: int | None, reporter_id: int | None,
            action: str, report_id: int | None, object: str, detail: Mapping[str, Any]) -> str:
    """The canonical text of a row that its hash covers (everything but the hashes)."""
    return json.dumps([id, at.astimezone(UTC).isoformat(timespec="microseconds"), actor, user_id,
                       reporter_id, action, report_id, object, dict(detail)],
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def digest(prev_hash: str, text: str) -> str:
    return hashlib.sha256((prev_hash + text).encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """An entry to append: what `record` takes, one or many at a time."""

    action: str
    actor: Actor = SYSTEM
    report_id: int | None = None
    object: str = ""
    detail: Mapping[str, Any] | None = None
    at: datetime | None = None


def record(session: Session, action: str, *, actor: Actor | None = None,
           report_id: int | None = None, object: str = "",
           detail: Mapping[str, Any] | None = None, at: datetime | None = None) -> int:
    """Append one entry to the trail in the caller's transaction; its id.

    `actor` defaults to whoever the edge said is acting (`acting`). The caller
    commits; a rollback takes the entry with it, as it takes what it records.
    """
    return append(session.connection(), [Entry(action, actor or acting(session), report_id,
                                               object, detail, at)])[-1]


def append(conn: sa.Connection, entries: list[Entry]) -> list[int]:
    """Append `entries` in order on `conn` (the flush hook's way in); their ids."""
    if not entries:
        return []
    if conn.dialect.name == "postgresql":
        _LOCK.rows(conn, {})
    last = _LAST.first(conn, {})
    last_id, prev = (last[0], last[1]) if last else (0, GENESIS)
    rows: list[dict[str, Any]] = []
    for offset, e in enumerate(entries, start=1):
        at = (e.at or utcnow()).astimezone(UTC)
        row: dict[str, Any] = {
            "id": last_id + offset, "at": at, "actor": e.actor.kind, "user_id": e.actor.user_id,
            "reporter_id": e.actor.reporter_id, "action": e.action[:40], "report_id": e.report_id,
            "object": e.object[:80], "detail": clean(e.detail or {})}
        row["prev_hash"] = prev
        row["hash"] = prev = digest(prev, content(**{k: row[k] for k in CONTENT}))
        rows.append(row)
    if len(rows) == 1:
        _INSERT.rows(conn, rows[0])
    else:
        _INSERT.many(conn, rows)
    return [r["id"] for r in rows]


# The chain's lock, its last entry and the INSERT after it, prepared: filing a report runs
# them, as does every flush that owes the trail.
_TABLE: sa.Table = AuditEntry.__table__  # type: ignore[assignment]
_LOCK = Prepared(sa.select(sa.func.pg_advisory_xact_lock(LOCK_KEY)))
_LAST = Prepared(sa.select(_TABLE.c.id, _TABLE.c.hash).order_by(_TABLE.c.id.desc()).limit(1))
_INSERT = Prepared(sa.insert(_TABLE).values(
    {c.name: sa.bindparam(c.name, type_=c.type) for c in _TABLE.columns}))

CONTENT = ("id", "at", "actor", "user_id", "reporter_id", "action", "report_id", "object", "detail")


@dataclass(frozen=True)
class Broken:
    """The first row whose place in the chain does not hold, and why."""

    id: int
    at: datetime
    action: str
    reason: str

    def __str__(self) -> str:
        return (f"entry #{self.id} ({self.at:%Y-%m-%d %H:%M:%S} UTC, {self.action}): {self.reason}"
                f" / 第 {self.id} 条记录被改动或缺失")


def verify(session: Session, batch: int = 2000) -> tuple[int, Broken | None]:
    """Walk the chain from the first row; how many rows hold, and the first that does not."""
    prev, expected_id, good = GENESIS, 1, 0
    for row in _rows(session, batch):
        if row.id != expected_id:
            return good, Broken(row.id, row.at, row.action,
                                f"rows {expected_id}–{row.id - 1} are missing")
        if row.prev_hash != prev:
            return good, Broken(row.id, row.at, row.action, "it does not follow the row before it")
        if digest(prev, content(**{k: getattr(row, k) for k in CONTENT})) != row.hash:
            return good, Broken(row.id, row.at, row.action, "its content does not match its hash")
        prev, expected_id, good = row.hash, row.id + 1, good + 1
    return good, None


def head(session: Session) -> tuple[int, str] | None:
    """The last row's id and hash: noted elsewhere, it shows later whether rows were cut off."""
    row = session.execute(sa.select(AuditEntry.id, AuditEntry.hash)
                          .order_by(AuditEntry.id.desc()).limit(1)).first()
    return (row[0], row[1]) if row else None


def _rows(session: Session, batch: int) -> Iterator[Any]:
    # Keyset pages: a long trail is read in bounded memory on either database.
    after = 0
    while True:
        page = session.execute(sa.select(*(getattr(AuditEntry, c) for c in (*CONTENT, "prev_hash",
                                                                             "hash")))
                               .where(AuditEntry.id > after).order_by(AuditEntry.id)
                               .limit(batch)).all()
        if not page:
            return
        yield from page
        after = page[-1].id
