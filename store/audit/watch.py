"""Every row the other logs gain, and every change to staff and settings, into the trail.

One `after_flush` hook: whatever code adds a `ReportEvent`, an `AccessLog`
row, an `ExportLog` row, an `ApiCall`, a `LoginFailure`, a transfer, a 批示
or a journal event, or changes a staff account, a unit, a decline reason, an
API token or an office setting through the ORM, the same flush appends the
matching audit entries (`chain.append`), in the same transaction. The
existing tables keep their jobs (a report's history, login throttling, the
export list); the trail chains a copy of each fact, so no writer of them
needs a line of its own. Settings written by one statement rather than the ORM
(`store.upsert.put_setting`) call `chain.record` themselves, and a report's
SUBMIT event, inserted by a prepared statement when it is filed
(`store.reports.lifecycle`), appends its `new_entry` itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction

from store.audit.chain import SYSTEM, Actor, Entry, acting, append
from store.models import (
    AccessLog,
    ApiCall,
    ApiToken,
    DeclineTemplate,
    ExportLog,
    Instruction,
    JournalEvent,
    LoginFailure,
    OfficeSetting,
    ReportEvent,
    Transfer,
    Unit,
    User,
)

# Columns of a staff account whose change is an entry of its own (values shown old → new);
# the password hash is named, never shown.
USER_FIELDS = ("username", "display_name", "role", "unit_id", "active")
UNIT_FIELDS = ("name", "kind", "parent_id", "retired_at")
TEMPLATE_FIELDS = ("text", "already_handled", "position", "active")


def _user(user_id: int | None) -> Actor:
    return Actor(user_id=user_id) if user_id is not None else SYSTEM


def new_entry(session: Session, obj: Any) -> Entry | None:
    """The entry a newly added row makes, or None for rows the trail does not follow.

    Also for a row inserted without the ORM's flush (`store.prepared.Insert`): its writer
    appends this entry itself."""
    if isinstance(obj, ReportEvent):
        actor = Actor(user_id=obj.user_id, reporter_id=obj.reporter_id)
        return Entry(f"report.{obj.action}", actor, obj.report_id, f"report_events:{obj.id}",
                     {"from": obj.from_status, "to": obj.to_status, "level": obj.level,
                      "note": obj.note}, obj.created_at)
    if isinstance(obj, AccessLog):
        return Entry("identity.viewed", _user(obj.user_id), obj.report_id, f"access_log:{obj.id}",
                     {"what": obj.what}, obj.created_at)
    if isinstance(obj, ExportLog):
        return Entry("export", _user(obj.user_id), None, f"export_log:{obj.id}",
                     {"via": obj.via, "format": obj.format, "filters": obj.filters or {}},
                     obj.created_at)
    if isinstance(obj, ApiCall):
        return Entry("api.call", SYSTEM, None, f"api_calls:{obj.id}",
                     {"token_id": obj.token_id, "method": obj.method, "path": obj.path,
                      "query": obj.query, "status": obj.status}, obj.created_at)
    if isinstance(obj, LoginFailure):
        return Entry("login.failed", SYSTEM, None, f"login_failures:{obj.id}",
                     {"username": obj.username, "address": obj.address, "reason": obj.reason},
                     obj.created_at)
    if isinstance(obj, Transfer):
        return Entry(f"transfer.{obj.kind}", _user(obj.created_by_id), obj.report_id,
                     f"transfers:{obj.id}", {"department_id": obj.department_id,
                                             "due_at": obj.due_at, "note": obj.note})
    if isinstance(obj, Instruction):
        return Entry("instruction.recorded", _user(obj.recorded_by_id), obj.report_id,
                     f"instructions:{obj.id}", {"leader_title": obj.leader_title,
                                                "level": obj.level, "text": obj.text})
    if isinstance(obj, JournalEvent):
        return Entry(f"journal.{obj.action}", _user(obj.user_id), None,
                     f"journal_issues:{obj.issue_id}", {"note": obj.note}, obj.created_at)
    if isinstance(obj, User):
        return Entry("user.created", acting(session), None, f"users:{obj.id}",
                     {"username": obj.username, "role": obj.role, "unit_id": obj.unit_id})
    if isinstance(obj, OfficeSetting):
        return Entry("setting.changed", acting(session), None, f"office_settings:{obj.key}",
                     {"value": obj.value})
    if isinstance(obj, ApiToken):
        return Entry("api_token.issued", _user(obj.created_by_id), None, f"api_tokens:{obj.id}",
                     {"name": obj.name, "unit_id": obj.unit_id, "prefix": obj.prefix})
    if isinstance(obj, Unit):
        return Entry("unit.created", acting(session), None, f"units:{obj.id}",
                     {"name": obj.name, "kind": obj.kind, "parent_id": obj.parent_id})
    if isinstance(obj, DeclineTemplate):
        return Entry("template.created", acting(session), None, f"decline_templates:{obj.id}",
                     {"text": obj.text})
    return None


def _changed(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """`{field: [old, new]}` for the `fields` of `obj` this flush changed."""
    state, out = sa.inspect(obj), {}
    for field in fields:
        history = state.attrs[field].history
        if history.has_changes():
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old != new:
                out[field] = [_plain(old), _plain(new)]
    return out


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, bool)) or value is None else str(value)


def _dirty(session: Session, obj: Any) -> list[Entry]:
    """The entries a change to a row already stored makes."""
    out: list[Entry] = []
    if isinstance(obj, User):
        object_ = f"users:{obj.id}"
        if changes := _changed(obj, USER_FIELDS):
            out.append(Entry("user.changed", acting(session), None, object_, changes))
        if _changed(obj, ("password_hash",)):
            out.append(Entry("user.password", acting(session), None, object_, {}))
        if _changed(obj, ("last_login_at",)):
            out.append(Entry("login.succeeded", Actor(user_id=obj.id), None, object_,
                             {"username": obj.username}, obj.last_login_at))
    elif isinstance(obj, OfficeSetting) and _changed(obj, ("value",)):
        out.append(Entry("setting.changed", acting(session), None, f"office_settings:{obj.key}",
                         {"value": obj.value}))
    elif isinstance(obj, Transfer) and _changed(obj, ("reply",)):
        out.append(Entry(f"transfer.{obj.kind}_replied", _user(obj.replied_by_id), obj.report_id,
                         f"transfers:{obj.id}", {"reply": obj.reply}, obj.replied_at))
    elif isinstance(obj, ApiToken) and _changed(obj, ("revoked_at",)):
        out.append(Entry("api_token.revoked", _user(obj.revoked_by_id), None,
                         f"api_tokens:{obj.id}", {"name": obj.name}, obj.revoked_at))
    else:
        for model, fields, name in ((Unit, UNIT_FIELDS, "unit"),
                                    (DeclineTemplate, TEMPLATE_FIELDS, "template")):
            if isinstance(obj, model) and (changes := _changed(obj, fields)):
                out.append(Entry(f"{name}.changed", acting(session), None,
                                 f"{model.__tablename__}:{obj.id}", changes))
    return out


def _deleted(session: Session, obj: Any) -> Entry | None:
    if isinstance(obj, DeclineTemplate):
        return Entry("template.deleted", acting(session), None, f"decline_templates:{obj.id}",
                     {"text": obj.text})
    return None


def _ordered(objects: Iterable[Any]) -> list[Any]:
    # The identity set has no order; the trail should not depend on hashing of objects.
    return sorted(objects, key=lambda o: (type(o).__name__, str(sa.inspect(o).identity or ())))


def entries(session: Session) -> list[Entry]:
    """What this flush owes the trail, in a stable order."""
    out: list[Entry] = []
    for obj in _ordered(session.new):
        if (entry := new_entry(session, obj)) is not None:
            out.append(entry)
    for obj in _ordered(session.dirty):
        out.extend(_dirty(session, obj))
    for obj in _ordered(session.deleted):
        if (entry := _deleted(session, obj)) is not None:
            out.append(entry)
    return out


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    # Still the pre-flush lists (new, dirty, deleted), with ids now assigned.
    if found := entries(session):
        append(session.connection(), found)

