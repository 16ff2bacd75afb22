"""Journal issues (issue 12, point 2): composing, 签发 with numbers, publishing, the 专报."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import (
    AdoptionLevel,
    IssueStatus,
    JournalEvent,
    JournalIssue,
    JournalSeries,
    OutboxMessage,
    Report,
    ReporterKind,
    ReportStatus,
    Role,
    User,
)
from store.network import members
from store.outputs import adoption
from store.outputs.journal import issues, listing, publishing, rules, series, source
from store.outputs.journal.issues import JournalError
from store.reports import lifecycle
from store.reports.lifecycle import Action
from store.review import chain as review
from tests.conftest import Network, staff
from tests.domain_support import make_report, reporter
from tests.review_support import adopt


def adopted(session: Session, admin: User, n: int = 2, **kw: object) -> list[Report]:
    out = []
    for i in range(n):
        report = make_report(session, title=f"第{i + 1}条：老旧小区加装电梯进展缓慢", **kw)  # type: ignore[arg-type]
        adopt(session, report, admin)
        out.append(report)
    session.commit()
    return out


def withdraw_by_merging(session: Session, report: Report, into: Report, admin: User) -> None:
    """Adopted, closed, reopened by its reporter, then merged into another report."""
    lifecycle.apply(session, report, Action.CLOSE, user=admin)
    lifecycle.apply(session, report, Action.REOPEN, reporter=report.reporter, note="还没解决")
    lifecycle.apply(session, report, Action.MERGE, user=admin, values={"merged_into_id": into.id})
    session.commit()


def test_it_starts_with_the_two_journals_named_with_or_without_brackets(session: Session) -> None:
    names = [s.name for s in series.all_series(session)]
    assert names == ["社情民意", "信息专报"]
    assert series.find(session, "《社情民意》").name == "社情民意"
    assert series.find(session, " 信息专报 ").single_item is True
    with pytest.raises(series.SeriesError, match="没有期刊「内参」.*《社情民意》"):
        series.find(session, "内参")


def test_it_may_carry_what_counts_as_adopted_anywhere_and_nothing_else(
        session: Session, admin: User) -> None:
    [ours] = adopted(session, admin, n=1)
    # Adopted by the province through 报送, never by this office: adopted all the same.
    upstream = make_report(session, title="上级采用的信息")
    adoption.record(session, upstream, AdoptionLevel.PROVINCE, user=admin)
    pending = make_report(session, title="尚未采用的信息")
    session.commit()
    carried = set(session.scalars(sa.select(Report.id).where(rules.may_carry())))
    assert carried == set(session.scalars(sa.select(Report.id).where(adoption.adopted())))
    assert {ours.id, upstream.id} <= carried and pending.id not in carried


def test_it_composes_a_draft_of_copies_without_a_number_and_leaves_the_reports_alone(
        session: Session, admin: User) -> None:
    first, second = adopted(session, admin)
    issue = issues.compose(session, series.find(session, "社情民意"), [second, first], admin)
    session.commit()
    assert issue.status is IssueStatus.DRAFT and issue.number is None and issue.total_number is None
    assert [i.report_id for i in issue.items] == [second.id, first.id]
    item = issue.items[0]
    issues.edit_item(session, issue, item.id, admin, title="关于加快老旧小区加装电梯的建议",
                     body="正文一\n\n正文二", note="请有关部门参阅。")
    session.commit()
    session.refresh(second)
    assert item.title == "关于加快老旧小区加装电梯的建议" and item.note == "请有关部门参阅。"
    assert second.title == "第2条：老旧小区加装电梯进展缓慢"  # the report is not changed
    assert [e.action for e in session.scalars(sa.select(JournalEvent).order_by(JournalEvent.id))] == \
        ["compose", "edit"]


def test_it_refuses_an_empty_issue_and_a_report_not_adopted(session: Session, admin: User) -> None:
    journal = series.find(session, "社情民意")
    with pytest.raises(JournalError, match="至少要有一条信息"):
        issues.compose(session, journal, [], admin)
    [good] = adopted(session, admin, 1)
    pending = make_report(session)
    session.commit()
    with pytest.raises(JournalError, match=f"{pending.tracking_no}：尚未采用"):
        issues.compose(session, journal, [good, pending], admin)
    session.rollback()
    issue = issues.compose(session, journal, [good], admin)
    issues.remove_item(session, issue, issue.items[0].id, admin)
    with pytest.raises(JournalError, match="本期还没有信息，不能签发"):
        publishing.sign_off(session, issue, admin)


def test_it_carries_a_report_adopted_then_transferred_or_closed(
        session: Session, admin: User, network: Network) -> None:
    first, second = adopted(session, admin)
    lifecycle.apply(session, first, Action.CLOSE, user=admin)
    session.commit()
    assert first.status is ReportStatus.CLOSED
    issue = issues.compose(session, series.find(session, "社情民意"), [first, second], admin)
    assert len(issue.items) == 2


def test_it_numbers_per_series_and_year_with_a_running_total_at_sign_off(
        session: Session, admin: User) -> None:
    reports = adopted(session, admin, 3)
    journal = series.find(session, "社情民意")
    made = []
    for report in reports:
        issue = issues.compose(session, journal, [report], admin)
        publishing.sign_off(session, issue, admin)
        made.append(issue)
    special = publishing.special_report(session, adopted(session, admin, 1)[0], admin)
    session.commit()
    assert [(i.number, i.total_number) for i in made] == [(1, 1), (2, 2), (3, 3)]
    assert (special.number, special.total_number) == (1, 1)  # a series of its own
    assert listing.issue(session, made[2].id).year == made[0].year
    from store.outputs.journal.numbering import label, total_label

    assert label(made[2]) == f"{made[2].year}年第3期" and total_label(made[2]) == "总第3期"


def test_only_the_final_level_signs_off_and_a_revised_issue_keeps_its_number(
        session: Session, admin: User, clerk: User, secretary: User, director: User) -> None:
    [report] = adopted(session, admin, 1)
    issue = issues.compose(session, series.find(session, "社情民意"), [report], clerk)
    session.commit()
    with pytest.raises(JournalError, match="签发须由审定一级"):
        publishing.sign_off(session, issue, clerk)
    review.set_chain(session, "two")
    with pytest.raises(JournalError, match="签发须由审定一级"):
        publishing.sign_off(session, issue, director)
    publishing.sign_off(session, issue, secretary)
    session.commit()
    number = issue.number
    with pytest.raises(JournalError, match="已签发，内容不能再改"):
        issues.edit_issue(session, issue, clerk, note="x", distribution={})
    publishing.revise(session, issue, secretary, "改一下按语")
    issues.edit_issue(session, issue, clerk, note="编者按", distribution={"bao": "省政协办公厅、市委办公室"})
    publishing.sign_off(session, issue, secretary)
    session.commit()
    assert issue.number == number and issue.distribution["bao"] == ["省政协办公厅", "市委办公室"]
    assert issue.signed_off_by_id == secretary.id


def test_it_publishes_once_and_tells_each_reporter_where(session: Session, admin: User) -> None:
    english = reporter(session, language="en")
    first = make_report(session, who=english)
    adopt(session, first, admin)
    [second] = adopted(session, admin, 1)
    issue = issues.compose(session, series.find(session, "社情民意"), [first, second], admin)
    publishing.sign_off(session, issue, admin)
    assert publishing.publish(session, issue, admin) == 2
    session.commit()
    label = f"{issue.year}年第1期"
    rows = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.text.contains("社情民意"))
                           .order_by(OutboxMessage.id)).all()
    assert [r.reporter_id for r in rows] == [english.id, second.reporter_id]
    assert "No. 1" in rows[0].text and "carried in 《社情民意》" in rows[0].text
    assert f"已编入《社情民意》{label}刊发" in rows[1].text and second.tracking_no in rows[1].text
    with pytest.raises(JournalError, match="已于 .* 发布，不能重复发布"):
        publishing.publish(session, issue, admin)
    assert issue.status is IssueStatus.PUBLISHED
    assert listing.carried_in(session, first) == [issue]
    assert session.scalar(sa.select(sa.func.count()).select_from(Report).where(rules.carried())) == 2


def test_it_flags_and_refuses_a_report_merged_after_it_was_put_in(
        session: Session, admin: User) -> None:
    first, second, other = adopted(session, admin, 3)
    issue = issues.compose(session, series.find(session, "社情民意"), [first, second], admin)
    session.commit()
    withdraw_by_merging(session, second, other, admin)
    session.expire_all()
    assert list(issues.flagged(session, issue).values()) == ["已合并到其他信息 / merged into another report"]
    with pytest.raises(JournalError, match=f"撤回或合并.*\n{second.tracking_no}《第2条"):
        publishing.sign_off(session, issue, admin)
    session.rollback()
    assert issue.number is None
    issues.remove_item(session, issue, issue.items[1].id, admin)
    publishing.sign_off(session, issue, admin)
    assert issue.number == 1


def test_it_refuses_carrying_a_report_twice_in_one_journal(session: Session, admin: User) -> None:
    [report] = adopted(session, admin, 1)
    journal = series.find(session, "社情民意")
    first = issues.compose(session, journal, [report], admin)
    publishing.sign_off(session, first, admin)
    with pytest.raises(JournalError, match="已编入《社情民意》"):
        issues.compose(session, journal, [report], admin)


def test_it_takes_a_title_of_2000_characters_and_refuses_a_longer_one(
        session: Session, admin: User) -> None:
    [report] = adopted(session, admin, 1)
    issue = issues.compose(session, series.find(session, "社情民意"), [report], admin)
    item = issue.items[0]
    issues.edit_item(session, issue, item.id, admin, title="长" * 2000, body="正文", note="")
    assert len(item.title) == 2000
    with pytest.raises(JournalError, match="不超过 2000 字（现有 2001 字）"):
        issues.edit_item(session, issue, item.id, admin, title="长" * 2001, body="正文", note="")
    assert len(item.title) == 2000


def test_the_source_line_follows_the_setting_and_never_names_a_citizen(
        session: Session, admin: User, network: Network) -> None:
    citizen = reporter(session)
    citizen.display_name, citizen.contact = "张三丰", "13912345678"
    report = make_report(session, who=citizen)
    report.unit_id = network.township.id
    member = reporter(session)
    code = members.issue_code(session, name="王委员", role="member", unit_id=network.county.id,
                              created_by_id=admin.id)
    members.redeem(session, member, code.code)
    by_member = make_report(session, who=member)
    assert member.kind is ReporterKind.MEMBER
    assert source.line(session, report) == "城关镇政协联络组"
    assert source.line(session, by_member) == "城关县政协"
    source.set_mode(session, "member")
    assert source.line(session, report) == "群众反映"
    assert source.line(session, by_member) == "城关县政协 王委员"
    source.set_mode(session, "masses")
    assert source.line(session, by_member) == "群众反映"
    with pytest.raises(source.SourceError):
        source.set_mode(session, "name")


def test_a_special_report_is_one_step_for_the_final_level_only(
        session: Session, admin: User, clerk: User) -> None:
    [report] = adopted(session, admin, 1)
    with pytest.raises(JournalError, match="专报须由审定一级"):
        publishing.special_report(session, report, clerk)
    session.rollback()
    issue = publishing.special_report(session, report, admin)
    assert issue.series.name == "信息专报" and issue.status is IssueStatus.PUBLISHED
    assert issue.number == 1 and len(issue.items) == 1
    with pytest.raises(JournalError, match="本期已发布，不能再修改"):
        issues.add_reports(session, issue, adopted(session, admin, 1), admin)
    with pytest.raises(JournalError, match="《信息专报》每期只编一条信息"):
        issues.compose(session, issue.series, adopted(session, admin, 2), admin)


def test_staff_see_and_pick_only_reports_of_their_units(
        session: Session, admin: User, network: Network) -> None:
    mine, theirs = adopted(session, admin, 2)
    mine.unit_id, theirs.unit_id = network.township.id, network.other_county.id
    session.commit()
    county_clerk = staff(session, "cc", Role.CLERK, network.county)
    assert listing.carriable(session, county_clerk) == [mine]
    with pytest.raises(JournalError, match="找不到该信息"):
        issues.compose(session, series.find(session, "社情民意"), [theirs], county_clerk)
    viewer = staff(session, "vv", Role.VIEWER, network.county)
    with pytest.raises(JournalError, match="没有权限"):
        issues.compose(session, series.find(session, "社情民意"), [mine], viewer)


def test_it_orders_items_and_refuses_stale_edits(session: Session, admin: User) -> None:
    a, b, c = adopted(session, admin, 3)
    issue = issues.compose(session, series.find(session, "社情民意"), [a, b, c], admin)
    session.commit()
    seen = issue.version
    issues.move_item(session, issue, issue.items[2].id, -1, admin, expected_version=seen)
    session.commit()
    session.expire_all()
    assert [i.report_id for i in listing.issue(session, issue.id).items] == [a.id, c.id, b.id]
    with pytest.raises(JournalError, match="刚刚已被其他人修改"):
        issues.edit_issue(session, issue, admin, note="", distribution={}, expected_version=seen)
    issues.discard(session, issue, admin)
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(JournalIssue)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(JournalSeries)) == 2
