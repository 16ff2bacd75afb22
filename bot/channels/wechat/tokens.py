"""The access token, fetched once for every process of an office and shared through the database.

WeChat allows 2,000 token fetches a day, and each fetch retires the token
before it (after five minutes), so processes must not fetch each on their own.
The token lives in `wechat_tokens` with a `version` that counts refreshes. A
process that finds it expired, or was told 40001/42001 by WeChat, claims the
refresh of the version it saw with one conditional UPDATE (`refreshing_until`
is a lease): the winner fetches and writes version + 1; the others wait for
that version and use it. A winner that dies leaves a lease that runs out.

Each step is a short transaction of its own, committed at once, so other
processes see the lease and the new token without waiting for a caller's work.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from store.models import WeChatToken

log = logging.getLogger(__name__)


class TokenError(Exception):
    """No token could be had; the message says why (WeChat's answer, or a refresh that never came)."""


@dataclass(frozen=True)
class Token:
    value: str
    version: int
    expires_at: float  # seconds since the epoch


# A token this close to its end is refreshed before use, so a request never carries one that
# expires on the way.
MARGIN = 300.0


class TokenStore:
    """Hands out the current token; `fetch()` asks WeChat for a new one as (token, seconds valid)."""

    def __init__(self, sessions: sessionmaker[Session], app_id: str,
                 fetch: Callable[[], tuple[str, int]], *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, lease: float = 30.0,
                 wait: float = 40.0, poll: float = 0.05) -> None:
        self.sessions = sessions
        self.app_id = app_id
        self.fetch = fetch
        self.clock = clock
        self.sleep = sleep
        self.lease = lease
        self.wait = wait
        self.poll = poll
        self._cached: Token | None = None
        self._lock = threading.Lock()
        self.fetches = 0  # by this process

    def current(self) -> Token:
        """A token good for at least `MARGIN` more seconds."""
        cached = self._cached
        if cached is not None and self._usable(cached):
            return cached
        with self._lock:
            stored = self._read()
            if stored is not None and self._usable(stored):
                self._cached = stored
                return stored
            return self._refresh(stored.version if stored else 0)

    def refresh(self, stale: Token) -> Token:
        """WeChat refused `stale` (40001, 42001): a newer token, fetched unless someone already did."""
        with self._lock:
            if self._cached is not None and self._cached.version > stale.version:
                return self._cached
            self._cached = None
            return self._refresh(stale.version)

    # -- inside ------------------------------------------------------------------

    def _usable(self, token: Token) -> bool:
        return bool(token.value) and token.expires_at - self.clock() > MARGIN

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _read(self) -> Token | None:
        with self.sessions() as s:
            row = s.get(WeChatToken, self.app_id)
            if row is None:
                return None
            return Token(row.access_token or "", row.version,
                         row.expires_at.timestamp() if row.expires_at else 0.0)

    def _refresh(self, seen: int) -> Token:
        """Make version `seen` + 1 exist (fetching it ourselves if we win the claim) and return it."""
        deadline = self.clock() + self.wait
        while True:
            claimed, newer = self._claim(seen)
            if newer is not None:
                if self._usable(newer):
                    self._cached = newer
                    return newer
                seen = newer.version  # another version, expired too: refresh that one
                continue
            if claimed:
                return self._fetch_as(seen)
            if self.clock() > deadline:
                raise TokenError("gave up waiting for another process to refresh the WeChat "
                                 f"access token (version {seen})")
            self.sleep(self.poll)

    def _claim(self, seen: int) -> tuple[bool, Token | None]:
        """Claim the refresh of version `seen`; or the newer token that is already there."""
        now = self._now()
        with self.sessions() as s, s.begin():
            insert = (postgresql.insert if s.get_bind().dialect.name == "postgresql"
                      else sqlite.insert)(WeChatToken)
            s.execute(insert.values(app_id=self.app_id, version=0, updated_at=now)
                      .on_conflict_do_nothing(index_elements=[WeChatToken.app_id]))
            row = s.get(WeChatToken, self.app_id)
            assert row is not None
            if row.version != seen:  # refreshed meanwhile (or, after a restore, older)
                return False, Token(row.access_token or "", row.version,
                                    row.expires_at.timestamp() if row.expires_at else 0.0)
            result = s.execute(
                sa.update(WeChatToken)
                .where(WeChatToken.app_id == self.app_id, WeChatToken.version == seen,
                       sa.or_(WeChatToken.refreshing_until.is_(None),
                              WeChatToken.refreshing_until < now))
                .values(refreshing_until=now + timedelta(seconds=self.lease))
                .execution_options(synchronize_session=False))
            return result.rowcount == 1, None  # type: ignore[attr-defined]

    def _fetch_as(self, seen: int) -> Token:
        try:
            value, expires_in = self.fetch()
        except BaseException:
            self._release(seen)
            raise
        self.fetches += 1
        token = Token(value, seen + 1, self.clock() + expires_in)
        with self.sessions() as s, s.begin():
            s.execute(
                sa.update(WeChatToken)
                .where(WeChatToken.app_id == self.app_id, WeChatToken.version == seen)
                .values(access_token=value, version=seen + 1, refreshing_until=None,
                        expires_at=datetime.fromtimestamp(token.expires_at, UTC),
                        updated_at=self._now())
                .execution_options(synchronize_session=False))
        log.info("wechat access token refreshed (version %d, valid %d s)", token.version, expires_in)
        self._cached = token
        return token

    def _release(self, seen: int) -> None:
        """Let another process try at once after our fetch failed."""
        with self.sessions() as s, s.begin():
            s.execute(sa.update(WeChatToken)
                      .where(WeChatToken.app_id == self.app_id, WeChatToken.version == seen)
                      .values(refreshing_until=None)
                      .execution_options(synchronize_session=False))
