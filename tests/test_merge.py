"""合并 and internal notes: duplicates fold into a main report; notes stay inside the office."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.i18n import t
from store.models import OutboxMessage, Report, ReportNote, ReportStatus, Role, User
from store.network import points
from store.reports import lifecycle, merging, notes
from store.reports.lifecycle import Action, Conflict, TransitionError
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt


def _owed(session: Session, report: Report) -> list[OutboxMessage]:
    return list(session.scalars(sa.select(OutboxMessage).where(OutboxMessage.report_id == report.id)
                                .order_by(OutboxMessage.id)))


def test_a_merged_reporter_hears_of_the_merge_and_then_of_the_main_report(
    session: Session, clerk: User, admin: User
) -> None:
    main, dup = make_report(session), make_report(session)
    session.commit()

    event = merging.merge(session, dup, main, clerk, expected_version=dup.version)
    session.commit()

    assert (event.action, event.to_status) == ("merge", "merged")
    assert main.tracking_no in (event.note or "")
    assert (dup.status, dup.merged_into_id) == (ReportStatus.MERGED, main.id)
    [merged] = _owed(session, dup)
    assert "已合并办理" in merged.text and merged.reporter_id == dup.reporter_id
    assert lifecycle.allowed_actions(session, dup, admin) == []

    adopt(session, main, admin)
    session.commit()
    assert sorted(m.reporter_id for m in _owed(session, main)) == sorted(
        [main.reporter_id, dup.reporter_id])


@pytest.mark.parametrize("target", ["self", "merged", "declined"])
def test_it_refuses_a_main_report_that_cannot_take_it(session: Session, clerk: User,
                                                      target: str) -> None:
    report, other = make_report(session), make_report(session)
    into = report if target == "self" else other
    if target == "merged":
        merging.merge(session, other, make_report(session), clerk, expected_version=None)
    if target == "declined":
        lifecycle.apply(session, other, Action.DECLINE, user=clerk, note="重复")
    session.commit()

    with pytest.raises(TransitionError) as exc:
        merging.merge(session, report, into, clerk, expected_version=report.version)

    code = {"self": "error.merge_self", "merged": "error.merge_target_closed",
            "declined": "error.merge_target_closed"}[target]
    assert exc.value.code == code
    assert t(exc.value.code, **exc.value.params)
    session.rollback()
    assert session.get_one(Report, report.id).status is ReportStatus.SUBMITTED


def test_it_refuses_merging_into_a_report_the_user_may_not_see(
    session: Session, network: Network
) -> None:
    ours, theirs = (points.create_point(session, n) for n in ("城关镇", "东山镇"))
    ours.unit_id, theirs.unit_id = network.county.id, network.other_county.id
    clerk = staff(session, "county-clerk", Role.CLERK, network.county)
    report, hidden = make_report(session, point=ours), make_report(session, point=theirs)
    session.commit()

    with pytest.raises(TransitionError) as exc:
        merging.merge(session, report, hidden, clerk, expected_version=report.version)
    assert exc.value.code == "error.forbidden"


def test_it_refuses_a_merge_on_a_stale_version(session: Session, clerk: User) -> None:
    main, dup = make_report(session), make_report(session)
    session.commit()

    with pytest.raises(Conflict):
        merging.merge(session, dup, main, clerk, expected_version=dup.version + 1)
    assert _owed(session, dup) == []


def test_office_staff_keep_notes_the_reporter_never_sees(session: Session, clerk: User,
                                                         director: User, viewer: User) -> None:
    report = make_report(session)
    session.commit()

    notes.add(session, report, clerk, "  已电话核实，情况属实。 ")
    notes.add(session, report, director, "建议报送市政协。")
    session.commit()

    assert [(n.user_id, n.text) for n in notes.for_report(session, report)] == [
        (clerk.id, "已电话核实，情况属实。"), (director.id, "建议报送市政协。")]
    assert _owed(session, report) == []
    for who, text, code in ((viewer, "看过", "error.forbidden"), (clerk, " ", "error.note_required"),
                            (clerk, "长" * 2001, "error.note_too_long")):
        with pytest.raises(TransitionError) as exc:
            notes.add(session, report, who, text)
        assert exc.value.code == code
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(ReportNote)) == 2
