"""A roster member's contact sealed at rest, duplicates still found by its blind index (issue 14)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from minyi.cli import main
from store import blindindex, migrate, rekey, sealing
from store.db import make_engine, make_sessionmaker
from store.models import Member, MemberRole, OfficeSetting, Unit, UnitKind, User
from store.network import roster, rosterio
from tests.test_sealing import env  # noqa: F401  (the command line's clean environment)

PHONE = "13912345678"
RAW = sa.text("SELECT contact, contact_digest FROM members ORDER BY id")


def _unit(session: Session, name: str = "城关县政协") -> Unit:
    unit = Unit(name=name, kind=UnitKind.CPPCC)
    session.add(unit)
    session.flush()
    return unit


def _entry(unit: Unit, contact: str = PHONE, name: str = "李委员") -> roster.Entry:
    return roster.entry(name=name, role="member", unit_id=unit.id, contact=contact)


def test_it_keeps_no_phone_number_in_the_members_table(session: Session) -> None:
    unit = _unit(session)
    member = roster.add(session, _entry(unit))
    session.commit()

    [(contact, digest)] = session.execute(RAW).all()

    assert contact.startswith(sealing.PREFIX) and PHONE not in contact
    assert digest is not None and PHONE not in digest and len(digest) == 64
    session.expire_all()
    assert session.get(Member, member.id).contact == PHONE  # type: ignore[union-attr]
    # The index key itself is stored sealed.
    stored = session.get(OfficeSetting, blindindex.SETTING_KEY)
    assert stored is not None and sealing.is_sealed(stored.value["sealed"])


@pytest.mark.parametrize("typed", [PHONE, "139 1234 5678", "139-1234-5678", "１３９１２３４５６７８"])
def test_it_still_refuses_the_same_name_and_contact(session: Session, typed: str) -> None:
    county = _unit(session)
    other = _unit(session, "东山县政协")
    roster.add(session, _entry(county))
    session.commit()

    with pytest.raises(roster.OnRosterError, match="「李委员」（同一联系方式）已在「城关县政协」的名册中"):
        roster.add(session, _entry(other, typed))
    session.rollback()
    # A namesake with another number, and the same number under another name, are other people.
    roster.add(session, _entry(other, "13800000000"))
    roster.add(session, _entry(other, PHONE, name="李委员之妻"))
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(Member)) == 3


def test_an_edit_onto_someone_elses_contact_is_refused(session: Session) -> None:
    unit = _unit(session)
    roster.add(session, _entry(unit))
    second = roster.add(session, _entry(unit, "13800000000"))
    session.commit()

    with pytest.raises(roster.OnRosterError):
        roster.update(session, second, _entry(unit, f" {PHONE} "))
    session.rollback()
    roster.update(session, second, _entry(unit, "13700000000"))
    session.commit()
    assert second.contact_digest == blindindex.digest(session, "13700000000")


def test_a_sheet_naming_someone_on_the_roster_is_refused(session: Session, admin: User) -> None:
    unit = _unit(session)
    roster.add(session, _entry(unit))
    session.commit()
    sheet = f"姓名,身份,单位,联系方式\n李委员,委员,城关县政协,139 1234 5678\n王委员,委员,城关县政协,{PHONE}\n"

    result = rosterio.import_roster(session, admin, "名册.csv", sheet.encode("utf-8"))

    assert [e.line for e in result.errors] == [2]
    assert "已在「城关县政协」名册中" in result.errors[0].reason


def test_a_rotation_keeps_the_digests_and_the_refusal(
    env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    old, new = sealing.new_key(), sealing.new_key()
    monkeypatch.setenv("MINYI_DATA_KEY", old)
    assert main(["init", "--admin-user", "admin", "--admin-password", "correct horse battery"]) == 0
    sealing.install(sealing.Keyring.of([old]))
    engine = make_engine(env)
    sessions = make_sessionmaker(engine)
    try:
        with sessions() as s:
            unit = _unit(s)
            roster.add(s, _entry(unit))
            s.commit()
            [(sealed_before, digest_before)] = s.execute(RAW).all()

        monkeypatch.setenv("MINYI_DATA_KEY", f"{new},{old}")
        assert main(["keys", "rotate"]) == 0
        monkeypatch.setenv("MINYI_DATA_KEY", new)
        assert main(["keys", "status"]) == 0
        assert "members.contact: 0 to re-seal" in capsys.readouterr().out
        sealing.install(sealing.Keyring.of([new]))  # the old key is gone

        with sessions() as s:
            [(sealed_after, digest_after)] = s.execute(RAW).all()
            assert sealing.sealed_by(sealed_before) == sealing.key_id(old)
            assert sealing.sealed_by(sealed_after) == sealing.key_id(new)
            assert digest_after == digest_before
            unit = s.scalar(sa.select(Unit))
            assert unit is not None
            with pytest.raises(roster.OnRosterError):
                roster.add(s, _entry(unit, "139 1234 5678"))
    finally:
        engine.dispose()


def test_init_seals_and_indexes_contacts_stored_before_0026(
    env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    migrate.upgrade(env, "0025")
    engine = make_engine(env)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO units (id, name, kind, created_at) "
                             "VALUES (1, '城关县政协', 'cppcc', CURRENT_TIMESTAMP)"))
        conn.execute(sa.text(
            "INSERT INTO members (id, name, role, unit_id, contact, yearly_target, active, created_at) "
            "VALUES (1, '李委员', 'member', 1, :phone, 2, true, CURRENT_TIMESTAMP), "
            "(2, '李委员', 'member', 1, '139 1234 5678', 2, true, CURRENT_TIMESTAMP), "
            "(3, '王委员', 'member', 1, NULL, 2, true, CURRENT_TIMESTAMP)"), {"phone": PHONE})
        # Rows of other tables that refer to the members (the copy on SQLite must keep them).
        conn.execute(sa.text(
            "INSERT INTO reporters (id, channel, external_id, chat_id, kind, language, created_at, "
            "topics_opt_in, member_id) VALUES (1, 'telegram', 'u1', 'u1', 'member', 'zh', "
            "CURRENT_TIMESTAMP, false, 1)"))
    engine.dispose()

    migrate.upgrade(env)
    monkeypatch.setenv("MINYI_DATA_KEY", sealing.new_key())
    assert main(["init", "--admin-user", "admin", "--admin-password", "correct horse battery"]) == 0

    engine = make_engine(env)
    try:
        with make_sessionmaker(engine)() as s:
            raw = s.execute(RAW).all()
            assert all(c is None or (sealing.is_sealed(c) and "1234" not in c) for c, _ in raw)
            # The two entries of one person from before: the first is indexed, the second waits
            # for staff to merge them (and `minyi keys status` counts it); no contact, no digest.
            assert [d is not None for _, d in raw] == [True, False, False]
            assert rekey.pending(s, rekey.DIGESTS) == 1
            assert [m.contact for m in s.scalars(sa.select(Member).order_by(Member.id))] == [
                PHONE, "139 1234 5678", None]
            assert s.execute(sa.text("SELECT member_id FROM reporters")).scalar_one() == 1
            with pytest.raises(roster.OnRosterError):
                roster.add(s, roster.Entry("李委员", MemberRole.MEMBER, None, 1, PHONE, 2))
    finally:
        engine.dispose()
