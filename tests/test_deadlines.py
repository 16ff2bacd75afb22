"""Deadlines in working days: the calendar, the office's limits, and what the reporter is told.

Dates come from the installed chinese-calendar: Spring Festival 2026 is 15–23 February,
with Saturday 14 and Saturday 28 February worked instead (调休). The moments are passed
in; nothing here reads the clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from minyi.settings import ConfigError, Settings
from store import workdays
from store.conversation.engine import Engine
from store.conversation.types import EngineConfig
from store.models import CollectionPoint, OutboxMessage, Report, Role, StaffNotice, User
from store.reports import lifecycle
from store.reports.lifecycle import Action
from store.review import deadlines, overdue, transfers
from store.workdays import CHINA, OFFICE_TZ, WEEKENDS, end_of
from tests.chat_driver import Chat
from tests.conftest import SECRET, Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt


@pytest.fixture
def chat(Session_: sessionmaker[Session], tmp_path: Path) -> Chat:  # noqa: N803
    return Chat(Session_, Engine(EngineConfig(secret_key=SECRET, upload_dir=tmp_path / "uploads",
                                           flood_burst=1000)))


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A moment of the office's day, as stored (UTC)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=OFFICE_TZ).astimezone(UTC)


def _told(session: Session, report: Report) -> list[str]:
    return list(session.scalars(sa.select(OutboxMessage.text).where(
        OutboxMessage.report_id == report.id, OutboxMessage.reporter_id.is_not(None))
        .order_by(OutboxMessage.id)))


# -- the calendar ----------------------------------------------------------------


def test_a_deadline_over_spring_festival_2026_skips_the_holiday_and_counts_the_worked_saturday() -> None:
    friday = at(date(2026, 2, 13), 16)
    # Saturday 14 February is worked (调休); then nine days off; Tuesday 24 is the second.
    assert workdays.add_working_days(friday, 1, CHINA) == end_of(date(2026, 2, 14))
    assert workdays.add_working_days(friday, 2, CHINA) == end_of(date(2026, 2, 24))
    assert workdays.add_working_days(friday, 3, CHINA) == end_of(date(2026, 2, 25))
    # An office on weekends only would have been due on Wednesday 18, in the middle of the holiday.
    assert workdays.add_working_days(friday, 3, WEEKENDS) == end_of(date(2026, 2, 18))
    assert not CHINA.is_workday(date(2026, 2, 18)) and CHINA.is_workday(date(2026, 2, 28))
    # The two are inverse, and a filing on a holiday starts the count from the next working day.
    assert workdays.working_days_between(friday, end_of(date(2026, 2, 25)), CHINA) == 3
    assert workdays.working_days_between(end_of(date(2026, 2, 25)), friday, CHINA) == -3
    assert workdays.add_working_days(at(date(2026, 2, 17)), 1, CHINA) == end_of(date(2026, 2, 24))


def test_a_deadline_is_the_end_of_the_office_day_whatever_the_hour_of_filing() -> None:
    # 23:30 in Beijing is still Thursday there, though it is Thursday 15:30 in UTC.
    late = at(date(2026, 3, 5), 23, 30)
    early = at(date(2026, 3, 5), 0, 10)
    assert workdays.add_working_days(late, 1, CHINA) == workdays.add_working_days(early, 1, CHINA) \
        == datetime(2026, 3, 6, 15, 59, 59, tzinfo=UTC)
    assert deadlines.shown(end_of(date(2026, 3, 6))) == "2026-03-06"
    assert deadlines.shown(at(date(2026, 3, 6), 18)) == "2026-03-06 18:00"


def test_a_year_the_holiday_table_lacks_counts_weekends_only_and_says_so() -> None:
    first, last = workdays.known_range()
    assert first <= 2026 <= last
    year = last + 1  # 2027 with chinese-calendar 1.11: Spring Festival 2027 is not in it
    assert not CHINA.knows(year) and CHINA.knows(last) and WEEKENDS.knows(year)
    start = at(date(year, 2, 1))
    for n in (1, 5, 10, 20):
        assert workdays.add_working_days(start, n, CHINA) == workdays.add_working_days(start, n, WEEKENDS)
    rules = deadlines.Rules()
    assert rules.unknown_years(date(last, 11, 15)) == [year]  # December reaches into the next year
    assert rules.unknown_years(date(last, 6, 1)) == []
    assert deadlines.Rules(calendar_key="weekends").unknown_years(date(last, 11, 15)) == []


def test_the_office_can_add_its_own_days_off_and_days_worked() -> None:
    monday = at(date(2027, 2, 1))  # a year the table lacks: the office lists its own holiday
    rules = deadlines.Rules(days_off=frozenset(date(2027, 2, d) for d in range(5, 13)),
                            days_on=frozenset({date(2027, 2, 7)}))
    # Tue 2, Wed 3, Thu 4, Sun 7 (worked), then Mon 15 after the listed days off.
    assert rules.after(monday, days=5) == end_of(date(2027, 2, 15))
    assert rules.after(monday, hours=30) == monday + timedelta(hours=30)


# -- the office's limits on reports ------------------------------------------------


def test_filing_sets_the_first_levels_deadline_and_the_answer_date_in_working_days(
    session: Session, point: CollectionPoint
) -> None:
    report = make_report(session, point, now=at(date(2026, 2, 11)))
    # 初审 3 working days: Thu 12, Fri 13, Sat 14 (调休). The answer in 10: Tuesday 3 March.
    assert report.due_at == end_of(date(2026, 2, 14))
    assert report.answer_due_at == end_of(date(2026, 3, 3))


def test_a_weekend_only_office_ignores_the_holiday_table(
    session: Session, point: CollectionPoint, admin: User
) -> None:
    deadlines.save(session, calendar="weekends", days={"first": 3, "answer": 10}, hours={})
    session.commit()
    report = make_report(session, point, now=at(date(2026, 2, 11)))
    assert report.due_at == end_of(date(2026, 2, 16))
    assert report.answer_due_at == end_of(date(2026, 2, 25))
    # Signing off starts the next level's clock: 审核 takes 2 working days by default.
    lifecycle.apply(session, report, Action.SIGN_OFF, user=admin, now=at(date(2026, 2, 13)))
    assert report.due_at == end_of(date(2026, 2, 17))
    assert report.answer_due_at == end_of(date(2026, 2, 25))  # the promise stands


def test_urgent_reports_run_on_clock_hours_even_over_the_holiday(
    session: Session, point: CollectionPoint, admin: User, network: Network
) -> None:
    eve = at(date(2026, 2, 16), 20)  # 除夕
    report = make_report(session, point, urgent=True, now=eve)
    assert report.due_at == eve + timedelta(hours=8)
    assert report.answer_due_at == eve + timedelta(hours=24)
    adopt(session, report, admin)
    row = transfers.transfer(session, report, admin, department=network.roads, now=eve)
    assert row.due_at == eve + timedelta(hours=72)
    assert row.escalate_at == eve + timedelta(hours=96)
    session.commit()
    assert f"应在 {(eve + timedelta(hours=72)).astimezone(OFFICE_TZ):%Y-%m-%d %H:%M} 前答复" \
        in _told(session, report)[-1]


def test_a_return_tells_the_reporter_the_date_over_the_holiday_in_their_language(
    session: Session, point: CollectionPoint, clerk: User
) -> None:
    report = make_report(session, point, now=at(date(2026, 2, 11)))
    english = make_report(session, point, external_id="tg-2002", now=at(date(2026, 2, 11)))
    english.reporter.language = "en"
    for r in (report, english):
        lifecycle.apply(session, r, Action.RETURN, user=clerk, note="请补充照片",
                        now=at(date(2026, 2, 12)))
    session.commit()
    # Seven working days from Thursday 12: 13, 14, 24, 25, 26, 27 and Saturday 28 (调休).
    assert report.due_at == end_of(date(2026, 2, 28))
    assert "请在 2026-02-28 前补充（节假日不计入）" in _told(session, report)[-1]
    assert "Please add it by 2026-02-28" in _told(session, english)[-1]


def test_the_reporter_hears_when_to_expect_an_answer_on_filing_and_after_adding_more(
    chat: Chat, point_token: str, session: Session, clerk: User
) -> None:
    chat.command("start", point_token)
    chat.fill_report(photo=False)
    receipt = chat.press("确认提交")[0].text
    report = session.scalars(sa.select(Report)).one()
    assert report.answer_due_at is not None
    assert f"我们将在 {deadlines.shown(report.answer_due_at)} 前给您答复" in receipt
    lifecycle.apply(session, report, Action.RETURN, user=clerk, note="请补充照片")
    session.commit()
    chat.send(callback=f"~supp:{report.id}")
    chat.text("路灯在人民路12号门口")
    done = chat.press("提交补充")[0].text
    session.refresh(report)
    assert f"我们将在 {deadlines.shown(report.answer_due_at)} 前给您答复" in done


def test_settings_are_checked_and_kept_as_given(session: Session) -> None:
    with pytest.raises(deadlines.DeadlineError, match="提醒补充须早于补充期限"):
        deadlines.save(session, calendar="china", days={"remind": 7, "supplement": 7}, hours={})
    with pytest.raises(deadlines.DeadlineError, match="1～365"):
        deadlines.save(session, calendar="china", days={"first": 0}, hours={})
    with pytest.raises(deadlines.DeadlineError, match="小时数"):
        deadlines.save(session, calendar="china", days={}, hours={"supplement": 5})
    with pytest.raises(deadlines.DeadlineError, match="工作日历"):
        deadlines.save(session, calendar="lunar", days={}, hours={})
    assert deadlines.rules(session) == deadlines.Rules()
    deadlines.save(session, calendar="weekends", days={"transfer": 20}, hours={"first": 4},
                   days_off=frozenset({date(2027, 2, 8)}))
    session.commit()
    rules = deadlines.rules(session)
    assert (rules.calendar_key, rules.days_for("transfer"), rules.hours_for("first")) == \
        ("weekends", 20, 4)
    assert rules.days_for("first") == 3 and rules.days_off == frozenset({date(2027, 2, 8)})


def test_another_workflow_can_ask_for_a_deadline_in_the_offices_calendar(session: Session) -> None:
    # For 批示 follow-through and the like: N working days from a moment.
    start = at(date(2026, 2, 13))
    assert deadlines.after(session, start, days=2) == end_of(date(2026, 2, 24))
    assert deadlines.working_days_between(session, start, end_of(date(2026, 2, 24))) == 2


def test_the_old_calendar_day_settings_stop_the_start_with_a_pointer_to_the_console() -> None:
    with pytest.raises(ConfigError, match="办理时限"):
        Settings.from_env({"TRANSFER_DUE_DAYS": "15"}, dotenv=False)


# -- what is late --------------------------------------------------------------


def test_a_level_past_its_deadline_is_late_and_its_reviewers_are_told_once(
    session: Session, point: CollectionPoint, admin: User, clerk: User, director: User,
) -> None:
    late = make_report(session, point, title="人民路路灯长期不亮", now=at(date(2026, 3, 2)))
    urgent = make_report(session, point, title="河堤出现裂缝", urgent=True,
                         now=at(date(2026, 3, 6), 20))
    fresh = make_report(session, point, title="菜市场占道", now=at(date(2026, 3, 6)))
    saturday = at(date(2026, 3, 7), 10)
    # On a Saturday only the urgent one is chased; 初审 (clerks) and admins hear of it.
    assert overdue.chase(session, saturday) == 1
    session.commit()
    assert [n.kind for n in session.scalars(sa.select(StaffNotice).where(
        StaffNotice.user_id == clerk.id))] == ["urgent", "overdue"]
    monday = at(date(2026, 3, 9), 9)
    assert overdue.chase(session, monday) == 1  # the first one (due Thursday 5); the urgent one was told
    assert overdue.chase(session, monday + timedelta(hours=1)) == 0
    session.commit()
    text = session.scalars(sa.select(StaffNotice.text).where(
        StaffNotice.user_id == clerk.id, StaffNotice.report_id == late.id)).one()
    assert "在初审已超过期限（2026-03-05）" in text
    assert session.scalar(sa.select(sa.func.count()).select_from(StaffNotice).where(
        StaffNotice.user_id == director.id, StaffNotice.kind == "overdue")) == 0

    marks = overdue.late_among(session, [late, urgent, fresh], monday)
    assert marks == {late.id: ["初审逾期"], urgent.id: ["初审逾期", "答复逾期"]}
    # Signed off, it waits at 审核 with a fresh deadline and can be chased there again.
    lifecycle.apply(session, late, Action.SIGN_OFF, user=admin, now=monday)
    assert late.chased_at is None and late.due_at == end_of(date(2026, 3, 11))
    assert overdue.chase(session, at(date(2026, 3, 12))) == 2  # 审核 of one, 初审 of the fresh one
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(StaffNotice).where(
        StaffNotice.user_id == director.id, StaffNotice.kind == "overdue")) == 1


def test_it_lists_what_is_late_for_the_user_a_transfer_as_well(
    session: Session, point: CollectionPoint, admin: User, network: Network
) -> None:
    point.unit_id = network.county.id
    session.commit()
    waiting = make_report(session, point, title="人民路路灯长期不亮",
                          now=at(date(2026, 3, 2)))
    sent = make_report(session, point, title="农贸市场占道经营",
                       now=at(date(2026, 3, 2)))
    adopt(session, sent, admin)
    transfers.transfer(session, sent, admin, department=network.roads, due_days=2, escalate_days=2,
                       now=at(date(2026, 3, 3)))
    make_report(session, point, title="菜市场占道", now=at(date(2026, 3, 6)))
    session.commit()
    thursday = at(date(2026, 3, 5), 12)
    assert overdue.count(session, admin, thursday) == 0
    rows, total = overdue.page(session, admin, now=at(date(2026, 3, 9)))
    assert total == 2 and [r.id for r in rows] == [waiting.id, sent.id]
    outsider = staff(session, "dong", Role.DIRECTOR, network.other_county)
    assert overdue.count(session, outsider, at(date(2026, 3, 9))) == 0
    assert overdue.late_among(session, [sent], at(date(2026, 3, 9))) == {sent.id: ["转办逾期"]}


def test_reporters_keep_their_language_for_the_answer_line(session: Session, point: CollectionPoint) -> None:
    from store.reports import feedback

    report = make_report(session, point, now=at(date(2026, 2, 11)))
    assert feedback.expect_answer(report, "en") == \
        "You will have an answer by 2026-03-03 (public holidays not counted)."
    assert feedback.expect_answer(report, "zh") == "我们将在 2026-03-03 前给您答复（节假日不计入）。"
