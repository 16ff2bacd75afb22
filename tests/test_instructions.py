"""领导批示: recorded with who, level and date; the reporter hears a leader instructed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import AdoptionLevel, Instruction, OutboxMessage, ReportEvent, ReportStatus, User, utcnow
from store.reports.lifecycle import Conflict, TransitionError
from store.review import instructions
from tests.domain_support import make_report
from tests.review_support import adopt

WORDS = "请住建局牵头研究，年内拿出加装电梯补贴方案。"


def test_it_records_an_instruction_and_tells_the_reporter(session: Session, admin: User,
                                                         director: User) -> None:
    report = make_report(session, status=ReportStatus.ADOPTED, by=admin)

    row = instructions.record(session, report, director, leader_name="王明", leader_title="县长",
                              level=AdoptionLevel.COUNTY, text=WORDS,
                              instructed_on=date(2026, 3, 2), expected_version=report.version)
    session.commit()

    session.rollback()
    [stored] = instructions.for_report(session, report)
    assert stored.id == row.id
    assert (stored.leader_name, stored.leader_title, stored.level, stored.text,
            stored.instructed_on, stored.recorded_by_id) == (
        "王明", "县长", AdoptionLevel.COUNTY, WORDS, date(2026, 3, 2), director.id)
    event = session.scalars(sa.select(ReportEvent).where(ReportEvent.action == "instruct")).one()
    assert event.user_id == director.id
    told = session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert told is not None and "县长的批示" in told.text
    # An instruction is an internal document: neither the name nor the words go out.
    assert "王明" not in told.text and WORDS not in told.text


@pytest.mark.parametrize(("kw", "code"), [
    ({"leader_name": " "}, "error.instruction_incomplete"),
    ({"text": ""}, "error.instruction_incomplete"),
    ({"leader_title": "长" * 201}, "error.instruction_too_long"),
    ({"instructed_on": utcnow().date() + timedelta(days=5)}, "error.instruction_in_future"),
])
def test_it_refuses_an_incomplete_instruction(session: Session, admin: User, kw: dict,
                                              code: str) -> None:
    report = make_report(session, status=ReportStatus.ADOPTED, by=admin)
    args = {"leader_name": "王明", "leader_title": "县长", "level": "county", "text": WORDS,
            "instructed_on": date(2026, 3, 2), **kw}

    with pytest.raises(TransitionError) as exc:
        instructions.record(session, report, admin, **args)

    assert exc.value.code == code
    assert session.scalar(sa.select(sa.func.count()).select_from(Instruction)) == 0


def test_it_refuses_before_adoption_and_on_a_stale_version(session: Session, admin: User) -> None:
    report = make_report(session)
    session.commit()
    args = {"leader_name": "王明", "leader_title": "县长", "level": "county", "text": WORDS,
            "instructed_on": date(2026, 3, 2)}

    with pytest.raises(TransitionError) as exc:
        instructions.record(session, report, admin, **args)
    assert exc.value.code == "error.transition_not_allowed"
    adopt(session, report, admin)
    with pytest.raises(Conflict):
        instructions.record(session, report, admin, **args, expected_version=1)
    assert instructions.for_report(session, report) == []
