"""Tokens of the read API: issued by an administrator for a unit's subtree, shown once, revoked.

A token is `mny_` and 43 random URL-safe characters; only its sha256 is kept
(it has 256 bits of entropy, so a fast hash is enough: nothing to guess). A
call finds its token by that hash, and every call, answered or refused, is a
row in `api_calls`. What a token may read is what a read-only staff member
of its unit may see (`reader`): the inbox's own access rules, unchanged.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.errors import DomainError
from store.models import ApiCall, ApiToken, Role, Unit, User, utcnow
from store.network import units
from store.network.units import Scope

PREFIX = "mny_"
NAME_LIMIT = 100
SHOWN_CHARS = 10  # "mny_" and six more: enough to tell tokens apart in a list


class TokenError(DomainError):
    """A token that cannot be issued or revoked as asked."""


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def issue(session: Session, name: str, unit_id: int | None, by: User | None,
          scope: Scope, *, marked: bool = False) -> tuple[ApiToken, str]:
    """A new token for `unit_id`'s subtree (None: the whole network), and the token itself.

    `marked`: the token may read the content of reports marked above 公开
    (`store.reports.marks`); without it they answer with number, status and mark only.

    The caller shows the token once; it cannot be read back. `scope` is the
    units the issuing administrator keeps (`units.unit_scope`): a token
    reaches no further than they do.
    """
    name = (name or "").strip()
    if not name or len(name) > NAME_LIMIT:
        raise TokenError(f"请给令牌起个名字（不超过 {NAME_LIMIT} 字），说明给哪个系统用 / "
                         f"a token needs a name of 1-{NAME_LIMIT} characters")
    if unit_id is None:
        if not scope.everything:
            raise TokenError("您只能为本单位及下级单位签发令牌 / "
                             "you may issue tokens only for your own units")
    else:
        units.usable(session, unit_id, scope, error=TokenError)
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=_hash(raw), prefix=raw[:SHOWN_CHARS], unit_id=unit_id,
                     created_by_id=by.id if by is not None else None, marked=marked)
    session.add(token)
    session.flush()
    return token, raw


def listing(session: Session, scope: Scope) -> list[ApiToken]:
    """The tokens of the units in `scope`, newest first (revoked ones too: their history stays)."""
    query = sa.select(ApiToken).order_by(ApiToken.id.desc())
    if not scope.everything:
        query = query.where(ApiToken.unit_id.in_(scope.units or ()))
    return list(session.scalars(query))


def revoke(session: Session, token_id: int, by: User | None, scope: Scope) -> ApiToken:
    """Revoke token `token_id`: every later call with it is refused (401). Revoking twice is fine."""
    token = session.get(ApiToken, token_id)
    if token is None or not (scope.everything or (token.unit_id is not None
                                                  and scope.covers(token.unit_id))):
        raise TokenError(f"没有 #{token_id} 号令牌 / no token #{token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        token.revoked_by_id = by.id if by is not None else None
    return token


@dataclass(frozen=True)
class Caller:
    """A call's token, found: its id and unit, and the reader its data is chosen for."""

    token_id: int
    unit_id: int | None
    reader: User
    # Issued with the `marked` permission: reads marked reports' content too.
    marked: bool = False

    def covers(self, session: Session, unit_id: int) -> bool:
        """Whether unit `unit_id` is in the token's subtree."""
        return self.unit_id is None or unit_id in access.unit_subtree(session, self.unit_id)


def authenticate(session: Session, raw: str) -> tuple[Caller | None, int | None]:
    """The caller a presented token stands for, or None; and the token's id if it is known.

    A revoked token is known (its id goes in the call log) but answers None.
    Using a live token records when it was last used, in one UPDATE.
    """
    if not raw.startswith(PREFIX) or len(raw) > 100:
        return None, None
    token = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _hash(raw)))
    if token is None:
        return None, None
    if token.revoked_at is not None:
        return None, token.id
    session.execute(sa.update(ApiToken).where(ApiToken.id == token.id)
                    .values(last_used_at=utcnow()))
    return Caller(token.id, token.unit_id, reader(token), token.marked), token.id


def reader(token: ApiToken) -> User:
    """A read-only staff member of the token's unit, never saved: what the inbox shows them,
    the token reads (no internal notes, no 待我审核, no identities)."""
    return User(id=0, username=f"api-token-{token.id}", password_hash="!", role=Role.VIEWER,
                unit_id=token.unit_id, active=True)


def log_call(session: Session, token_id: int | None, method: str, path: str, query: str,
             status: int) -> None:
    session.add(ApiCall(token_id=token_id, method=method[:8], path=path[:300], query=query[:500],
                        status=status))


def calls(session: Session, token_id: int, limit: int = 20) -> list[ApiCall]:
    """A token's latest calls, newest first."""
    return list(session.scalars(sa.select(ApiCall).where(ApiCall.token_id == token_id)
                                .order_by(ApiCall.id.desc()).limit(limit)))


def unit_name(session: Session, token: ApiToken) -> str:
    if token.unit_id is None:
        return "全部单位"
    unit = session.get(Unit, token.unit_id)
    return unit.name if unit else f"#{token.unit_id}"
