"""Login throttling: refused logins are recorded, and too many lock an account or an address.

Every refusal is a `LoginFailure` row (the name typed, the client's address,
why), which is also the audit trail of attempts. `PASSWORD` and `CODE` failures count
toward a lock: `Policy.account` of them for one username, or `Policy.address`
from one address, within `Policy.lock`, refuse that username (that address) until
the lock time has passed since the failure that reached the limit. Attempts
refused while locked are recorded as `LOCKED` and do not extend the lock. The
rows are in the database, so every process of an office sees the same counts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.errors import DomainError
from store.models import LoginFailure, utcnow

log = logging.getLogger(__name__)

# A wrong second-factor code (store.network.second_factor) counts like a wrong password.
PASSWORD, CODE, LOCKED = "password", "code", "locked"
# Failure rows older than this are of no use to a lock; the audit page keeps them this long.
KEEP = timedelta(days=90)


@dataclass(frozen=True)
class Policy:
    account: int = 5
    address: int = 20
    lock: timedelta = timedelta(minutes=15)


class LockedOut(DomainError):
    """Too many refused logins; the message says for how long (Chinese / English)."""

    def __init__(self, wait: timedelta) -> None:
        minutes = max(1, -(-int(wait.total_seconds()) // 60))
        super().__init__(f"登录失败次数过多，已暂时锁定，请 {minutes} 分钟后再试。"
                         f" / Too many failed logins; try again in {minutes} minutes.")
        self.wait = wait


def _key(username: str) -> str:
    # One account however its name is typed: case and spaces do not buy more tries.
    return username.strip().lower()[:64]


def _until(session: Session, where: sa.ColumnElement[bool], limit: int, policy: Policy,
           now: datetime) -> datetime | None:
    """When the lock that `limit` failures matching `where` put on ends (None: no lock)."""
    reached = session.scalar(
        sa.select(LoginFailure.created_at)
        .where(where, LoginFailure.reason.in_((PASSWORD, CODE)),
               LoginFailure.created_at > now - policy.lock)
        .order_by(LoginFailure.created_at.desc()).offset(limit - 1).limit(1))
    return reached + policy.lock if reached is not None else None


def check(session: Session, username: str, address: str, policy: Policy,
          now: datetime | None = None) -> None:
    """Refuse (`LockedOut`, recorded) a login attempt while its account or address is locked."""
    now = now or utcnow()
    ends = [until for until in (
        _until(session, LoginFailure.username == _key(username), policy.account, policy, now),
        _until(session, LoginFailure.address == address[:64], policy.address, policy, now))
        if until is not None and until > now]
    if ends:
        record(session, username, address, LOCKED, now)
        raise LockedOut(max(ends) - now)


def record(session: Session, username: str, address: str, reason: str = PASSWORD,
           now: datetime | None = None) -> None:
    """Keep one refused login; the caller commits (also when refusing the request)."""
    session.add(LoginFailure(username=_key(username), address=address[:64], reason=reason,
                             created_at=now or utcnow()))
    session.flush()
    log.warning("console login refused (%s) for %r from %s", reason, _key(username), address)


def prune(session: Session, now: datetime | None = None) -> int:
    """Forget failures older than `KEEP`; how many went."""
    result = session.execute(sa.delete(LoginFailure).where(
        LoginFailure.created_at < (now or utcnow()) - KEEP))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
