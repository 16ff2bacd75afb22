"""Likely duplicates: Chinese text similarity, weighted, within what the user may see."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.models import Report, Role, User, utcnow
from store.network import points
from store.outputs import destinations, upward
from store.reports import lifecycle, similar
from store.reports.lifecycle import Action
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt

ELEVATOR = ("老旧小区加装电梯进展缓慢", "城关镇 12 个老旧小区中只有 2 个装了电梯，老人上下楼困难。")
ELEVATOR_AGAIN = ("小区加装电梯太慢了", "我们小区是老旧小区，加装电梯申请了两年还没装上，老人上下楼很困难。")
STREETLIGHT = ("人民路路灯不亮", "人民路 3 段有 8 盏路灯坏了一个月，晚上行人看不清路。")
SCHOOL = ("学校门口交通拥堵", "实验小学门口每天放学时段车辆拥堵，接送孩子要排队 20 分钟。")


def test_it_ranks_the_true_duplicate_first(session: Session, admin: User) -> None:
    report = make_report(session, title=ELEVATOR[0], situation=ELEVATOR[1])
    dup = make_report(session, title=ELEVATOR_AGAIN[0], situation=ELEVATOR_AGAIN[1])
    others = [make_report(session, title=t, situation=s) for t, s in (STREETLIGHT, SCHOOL)]
    session.commit()

    ranked = similar.similar(session, report, admin)

    assert ranked[0][0] == dup
    assert 0 < ranked[0][1] <= 1
    assert report not in [r for r, _ in ranked]
    assert all(score < ranked[0][1] for r, score in ranked if r in others)


def test_the_same_point_and_category_and_nearness_in_time_weigh_in(session: Session,
                                                                   admin: User) -> None:
    here = points.create_point(session, "城关镇便民服务中心")
    report = make_report(session, point=here, title=ELEVATOR[0], situation=ELEVATOR[1])
    same_place = make_report(session, point=here, title=ELEVATOR_AGAIN[0],
                             situation=ELEVATOR_AGAIN[1])
    elsewhere = make_report(session, title=ELEVATOR_AGAIN[0], situation=ELEVATOR_AGAIN[1],
                            category="economy")
    long_ago = make_report(session, point=here, title=ELEVATOR_AGAIN[0],
                           situation=ELEVATOR_AGAIN[1], created_at=utcnow() - timedelta(days=150))
    too_old = make_report(session, point=here, title=ELEVATOR_AGAIN[0],
                          situation=ELEVATOR_AGAIN[1], created_at=utcnow() - timedelta(days=400))
    session.commit()

    ranked = [r for r, _ in similar.similar(session, report, admin)]

    assert ranked[0] == same_place
    assert ranked.index(elsewhere) > 0 and ranked.index(long_ago) > 0
    assert too_old not in ranked


def test_it_offers_only_reports_the_user_may_see_and_may_merge_into(
    session: Session, network: Network, admin: User
) -> None:
    ours, theirs = (points.create_point(session, n) for n in ("城关镇", "东山镇"))
    ours.unit_id, theirs.unit_id = network.township.id, network.other_county.id
    clerk = staff(session, "county-clerk", Role.CLERK, network.county)
    report = make_report(session, point=ours, title=ELEVATOR[0], situation=ELEVATOR[1])
    visible = make_report(session, point=ours, title=ELEVATOR_AGAIN[0], situation=ELEVATOR_AGAIN[1])
    hidden = make_report(session, point=theirs, title=ELEVATOR[0], situation=ELEVATOR[1])
    merged_in = make_report(session, point=ours, title=ELEVATOR[0], situation=ELEVATOR[1])
    declined = make_report(session, point=ours, title=ELEVATOR[0], situation=ELEVATOR[1])
    lifecycle.apply(session, merged_in, Action.MERGE, user=admin,
                    values={"merged_into_id": report.id})
    lifecycle.apply(session, declined, Action.DECLINE, user=admin, note="已在处理中")
    session.commit()

    assert [r for r, _ in similar.similar(session, report, clerk)] == [visible]
    assert hidden in [r for r, _ in similar.similar(session, report, admin)]


def test_unrelated_reports_are_not_offered(session: Session, admin: User) -> None:
    report = make_report(session, title=STREETLIGHT[0], situation=STREETLIGHT[1])
    make_report(session, title="Potholes", situation="Twelve potholes on Main Street since May.")
    session.commit()

    assert similar.similar(session, report, admin) == []
    assert similar.tokens("城关镇 12 个") == {"城关", "关镇", "12", "个"}


def test_the_index_finds_a_duplicate_older_than_the_newest_reports(
        session: Session, admin: User, db_backend: str, monkeypatch) -> None:  # noqa: ANN001
    if db_backend != "sqlite":
        import pytest

        pytest.skip("PostgreSQL keeps to the reports nearest in time (no cheap word counts)")
    monkeypatch.setattr(similar, "CANDIDATES", 5)
    monkeypatch.setattr(similar, "NEAREST", 5)
    dup = make_report(session, title=ELEVATOR_AGAIN[0], situation=ELEVATOR_AGAIN[1],
                      created_at=utcnow() - timedelta(days=100))
    for i in range(12):
        make_report(session, title=f"{STREETLIGHT[0]}{i}", situation=STREETLIGHT[1])
    report = make_report(session, title=ELEVATOR[0], situation=ELEVATOR[1])
    session.commit()

    assert dup in [r for r, _ in similar.similar(session, report, admin)]


def test_the_nearest_reports_come_from_each_scope_walked_apart_merged_newest_first(
        session: Session, network: Network, admin: User) -> None:
    """A county's secretary-general sees the county's reports and what was reported up to it;
    the newest of both, merged, are the same as the newest under one OR (which SQLite can only
    gather and sort whole: 120 ms for a county at a million reports)."""
    start = utcnow() - timedelta(days=10)
    home = [make_report(session, unit=network.township, title=f"城关{i}", created_at=start + timedelta(days=i))
            for i in (0, 2, 5)]
    sent = [make_report(session, unit=network.other_county, title=f"东山{i}",
                        created_at=start + timedelta(days=i)) for i in (1, 3, 4)]
    make_report(session, unit=network.other_county, title="东山未报送", created_at=start + timedelta(days=6))
    dest = destinations.create(session, "城关县政协", "county", unit_id=network.county.id)
    sender = staff(session, "other-sg", Role.SECRETARY_GENERAL, network.other_county)
    for report in sent:
        adopt(session, report, admin)
        upward.send(session, report, dest, user=sender)
    session.commit()
    receiver = staff(session, "county-sg", Role.SECRETARY_GENERAL, network.county)
    scopes = access.report_scopes(session, receiver)
    assert len(scopes) == 2  # its unit's, and what was sent up to it
    rest = (Report.created_at >= start,)

    nearest = similar._nearest(session, scopes, rest)  # noqa: SLF001

    under_one_or = list(session.scalars(
        sa.select(Report.id).where(sa.or_(*scopes), *rest)
        .order_by(Report.created_at.desc(), Report.id.desc()).limit(similar.NEAREST)))
    assert nearest == under_one_or == [r.id for r in (home[2], sent[2], sent[1], home[1], sent[0], home[0])]
