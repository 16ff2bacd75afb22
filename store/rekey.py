"""The data key over the whole database: the start-up check and re-sealing (rotation).

`check_key` opens a canary value sealed when the database first met a key:
a wrong MINYI_DATA_KEY is found at start-up, before anything is written
with it. `reseal_batch` seals, with the primary key, up to N values of one
sealed column that are not under it yet: plain text from before sealing
(`minyi init` after migration 0024) and values of an older key (`minyi keys
rotate`), and fills the roster's contact digests (`store.blindindex`) left
empty by migration 0026. Each batch is its own transaction (the caller's), so an
interrupted run leaves every value sealed by one of the configured keys and
a rerun finishes the rest. Each write is a compare-and-set on the value it
read, so a value the running service changed meanwhile is left as it is.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store import blindindex, forms, sealing, upsert
from store.models import Base, Member, OfficeSetting, Report
from store.sealing import CANARY, CANARY_KEY, PREFIX, Sealed, SealedJSON, SealingError


def sealed_columns() -> list[sa.Column[Any]]:
    """Every column stored sealed, found from the models (a new one is covered at once)."""
    return [col for table in Base.metadata.sorted_tables for col in table.columns
            if isinstance(col.type, Sealed | SealedJSON)]


# The places a rotation walks: each sealed column by its name, then the reports' identity answers,
# then the roster contacts' blind index (filled where missing; a rotation leaves digests as they are).
ANSWERS = "reports.answers"
DIGESTS = "members.contact_digest"


def places() -> list[str]:
    return [f"{col.table.name}.{col.name}" for col in sealed_columns()] + [ANSWERS, DIGESTS]


def check_key(session: Session) -> None:
    """Refuse (SealingError) if the configured keys cannot open the canary; write it if new."""
    keyring = sealing.keyring()
    row = session.get(OfficeSetting, CANARY_KEY)
    if row is None:
        session.execute(upsert.insert(session, OfficeSetting)
                        .values(key=CANARY_KEY, value={"sealed": keyring.seal(CANARY)})
                        .on_conflict_do_nothing(index_elements=[OfficeSetting.key]))
        return
    sealed = str(row.value.get("sealed", ""))
    try:
        opened = keyring.open(sealed)
    except SealingError:
        opened = None
    if opened != CANARY:
        raise SealingError(
            f"数据密钥不正确：库中数据由密钥 {sealing.sealed_by(sealed)} 加密，当前配置的密钥"
            f"（{', '.join(k for k, _ in keyring.keys)}）无法解开，服务拒绝启动。"
            f" / The data key is wrong: this database was sealed with key "
            f"{sealing.sealed_by(sealed)}, which the configured MINYI_DATA_KEY "
            f"({', '.join(k for k, _ in keyring.keys)}) does not include; minyi will not start "
            "rather than write data it could not read back. Set the office's key "
            "(MINYI_DATA_KEY or MINYI_DATA_KEY_FILE).")


def _column(place: str) -> sa.Column[Any]:
    for col in sealed_columns():
        if f"{col.table.name}.{col.name}" == place:
            return col
    raise KeyError(place)


def pending(session: Session, place: str) -> int:
    """How many values of `place` are not sealed with the primary key yet."""
    if place == ANSWERS:
        return sum(1 for _ in _answers_to_reseal(session, after=0, limit=None))
    if place == DIGESTS:
        return int(session.scalar(sa.select(sa.func.count()).where(*_digest_missing())) or 0)
    col = _column(place)
    raw = sa.type_coerce(col, sa.Text)
    return int(session.scalar(sa.select(sa.func.count()).where(
        col.is_not(None), sa.not_(raw.like(f"{PREFIX}{sealing.keyring().primary}:%")))) or 0)


@dataclass(frozen=True)
class Batch:
    done: int  # values resealed
    last: int  # the highest row id looked at (the next batch starts after it)
    more: bool  # whether another batch may find something


def reseal_batch(session: Session, place: str, *, after: int = 0, size: int = 200) -> Batch:
    """Reseal up to `size` values of `place` with rows after id `after`; the caller commits."""
    if place == ANSWERS:
        return _reseal_answers(session, after=after, size=size)
    if place == DIGESTS:
        return _fill_digests(session, after=after, size=size)
    col = _column(place)
    table = col.table
    key = table.primary_key.columns.values()[0]
    raw = sa.type_coerce(col, sa.Text)
    keyring = sealing.keyring()
    rows = session.execute(
        sa.select(key, raw).where(key > after, col.is_not(None),
                                  sa.not_(raw.like(f"{PREFIX}{keyring.primary}:%")))
        .order_by(key).limit(size)).all()
    done = 0
    for row_id, old in rows:
        new = keyring.reseal(old)
        result = session.execute(sa.update(table).where(key == row_id, raw == old)
                                 .values({col.name: sa.literal(new, sa.Text())}))
        done += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return Batch(done, rows[-1][0] if rows else after, len(rows) == size)


@functools.cache
def _identity_keys(form: str) -> tuple[str, ...]:
    try:
        return tuple(step.key for step in forms.load(form).steps if step.identity)
    except forms.FormError:
        return ()


def _stale(value: Any, primary: str) -> bool:
    return value is not None and not (isinstance(value, str) and sealing.sealed_by(value) == primary)


def _answers_to_reseal(session: Session, *, after: int,
                       limit: int | None) -> list[tuple[int, dict[str, Any]]]:
    primary = sealing.keyring().primary
    out: list[tuple[int, dict[str, Any]]] = []
    last = after
    while True:
        rows = session.execute(sa.select(Report.id, Report.form, Report.answers)
                               .where(Report.id > last).order_by(Report.id).limit(500)).all()
        for report_id, form, answers in rows:
            last = report_id
            if any(_stale((answers or {}).get(k), primary) for k in _identity_keys(form)):
                out.append((report_id, answers))
                if limit is not None and len(out) >= limit:
                    return out
        if len(rows) < 500:
            return out


def _reseal_answers(session: Session, *, after: int, size: int) -> Batch:
    todo = _answers_to_reseal(session, after=after, limit=size)
    forms_of = {i: f for i, f in session.execute(sa.select(Report.id, Report.form)
                                                 .where(Report.id.in_([i for i, _ in todo])))}
    primary = sealing.keyring().primary
    for report_id, answers in todo:
        kept = dict(answers)
        for k in _identity_keys(forms_of[report_id]):
            if _stale(kept.get(k), primary):
                kept[k] = sealing.reseal_json(kept[k])
        # Answers are written once, at filing: nothing else changes them meanwhile.
        session.execute(sa.update(Report).where(Report.id == report_id).values(answers=kept))
    return Batch(len(todo), todo[-1][0] if todo else after, len(todo) == size)


def _digest_missing() -> tuple[sa.ColumnElement[bool], ...]:
    return Member.contact.is_not(None), Member.contact_digest.is_(None)


def _fill_digests(session: Session, *, after: int, size: int) -> Batch:
    rows = session.execute(sa.select(Member.id, Member.contact)
                           .where(Member.id > after, *_digest_missing())
                           .order_by(Member.id).limit(size)).all()
    done = 0
    for member_id, contact in rows:
        # Set only if still missing: an edit meanwhile wrote its own. Two entries of one
        # person from before 0026 (the contact typed differently) cannot both hold the
        # digest: the later keeps none, and `pending` counts it, until staff merge them.
        try:
            with session.begin_nested():
                result = session.execute(
                    sa.update(Member).where(Member.id == member_id, *_digest_missing())
                    .values(contact_digest=blindindex.digest(session, contact)))
                done += int(result.rowcount or 0)  # type: ignore[attr-defined]
        except IntegrityError:
            pass  # the savepoint took the one update back
    return Batch(done, rows[-1][0] if rows else after, len(rows) == size)


def reseal_canary(session: Session) -> None:
    """The index key and the canary under the primary key, last of a rotation."""
    blindindex.reseal(session)
    upsert.put_setting(session, CANARY_KEY, {"sealed": sealing.keyring().seal(CANARY)})
