"""The request's unit of work and the app's wiring, as views reach them.

One SQLAlchemy session per request: opened on first use, committed only
when a view calls `commit()`, rolled back and closed on teardown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, NoReturn, TypeVar

from flask import abort, current_app, g
from flask_login import current_user
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import Registry
from minyi.settings import Settings
from store import access
from store.delivery import notices
from store.models import Role, User

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Wiring:
    """What `create_app` put together; kept in `app.extensions["minyi"]`."""

    settings: Settings
    session_factory: sessionmaker[Session]
    engine: Any  # store.conversation.engine.Engine, or None before it is available
    channels: Registry  # the enabled channels (bot.channels.registry)


def wiring() -> Wiring:
    return current_app.extensions["minyi"]  # type: ignore[no-any-return]


def channels() -> Registry:
    return wiring().channels


def link_channel_names() -> str:
    """Where a staff member can send /link CODE, for the code's instructions ("Telegram、微信")."""
    return "、".join(c.name for c in channels().staff_channels)


def settings() -> Settings:
    return wiring().settings


def db() -> Session:
    """This request's session, opened on first use."""
    if "db" not in g:
        g.db = wiring().session_factory()
    return g.db  # type: ignore[no-any-return]


def commit() -> None:
    """End the request's unit of work; a view calls this once its change is whole."""
    if "db" in g:
        g.db.commit()


def rollback() -> None:
    if "db" in g:
        g.db.rollback()


def close_db(_exc: BaseException | None = None) -> None:
    session = g.pop("db", None)
    if session is not None:
        # Anything a view did not commit is dropped here.
        session.rollback()
        session.close()


def staff() -> User:
    """The logged-in staff member as a model bound to this request's session."""
    return current_user.user  # type: ignore[no-any-return]


# The office's own staff: they review, decide and follow up (store.access.OFFICE_ROLES).
OFFICE = tuple(sorted(access.OFFICE_ROLES))


def can_decide() -> bool:
    return bool(current_user.is_authenticated and current_user.role in OFFICE)


def is_office() -> bool:
    return can_decide()


def is_department() -> bool:
    return bool(current_user.is_authenticated and current_user.role == Role.DEPARTMENT)


def unread_notices() -> int:
    """The header badge: the logged-in user's unread notices."""
    if not current_user.is_authenticated:
        return 0
    return notices.unread_count(db(), staff())


def is_admin() -> bool:
    return bool(current_user.is_authenticated and current_user.role == Role.ADMIN)


def refuse(reason: str | None = None) -> NoReturn:
    """403 with `reason`: the person sees this object but may not do this to it.

    The console's one rule for refusals (docs/ARCHITECTURE.md, "Refusals"): a
    role that may never use a view gets 403 before anything is looked up; an
    object missing or outside the person's scope is 404, as if it did not exist;
    an object they see but may not act on is 403, from here.
    """
    rollback()
    abort(403, description=reason)


def roles_required(*roles: Role) -> Callable[[F], F]:
    """403 unless the logged-in user has one of `roles` (login is checked first)."""

    def deco(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return deco
