"""通报 (issue 13, point 4): built once per period, its files, and each person's own figures."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import docx
import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from minyi import scheduler
from minyi.cli import main
from store.models import (
    Adoption,
    AdoptionLevel,
    Bulletin,
    Channel,
    OutboxMessage,
    Reporter,
    ReporterKind,
    Role,
    StaffNotice,
    User,
)
from store.network import addresses
from store.network import points as points_mod
from store.outputs import bulletin, period, scoring
from store.outputs.bulletin import BulletinError
from tests.chat_driver import Chat
from tests.conftest import Network, staff
from tests.domain_support import make_report, reporter
from tests.review_support import adopt
from tests.test_cli import env  # noqa: F401  (the fixture: a clean environment on an empty database)
from tests.test_races import together

NOV = period.named("2026-11")


def _bulletins(session: Session) -> list[OutboxMessage]:
    """The bulletin's messages in the outbox (not the adoption's feedback to the reporter)."""
    return list(session.scalars(sa.select(OutboxMessage).where(sa.or_(
        OutboxMessage.text.contains("通报】"), OutboxMessage.text.contains(" bulletin]")))))
# 5 December 2026, 10:00 in Beijing.
ON_THE_5TH = datetime(2026, 12, 5, 2, tzinfo=UTC)


def _member(session: Session, name: str, external_id: str, unit_id: int,
            language: str = "zh") -> Reporter:
    who = reporter(session, external_id=external_id, language=language)
    who.kind, who.member_name, who.unit_id = ReporterKind.MEMBER, name, unit_id
    session.commit()
    return who


@pytest.fixture
def office(session: Session, admin: User, network: Network) -> dict[str, object]:
    """Two counties in one series; November: the county 2 reports (one adopted at province
    level, by a member), 东山 1 report; a liaison of each with a linked chat."""
    series = scoring.create_series(session, "区县政协")
    scoring.place(session, series, 2026, [network.county.id, network.other_county.id])
    session.commit()
    wang = _member(session, "王委员", "tg-wang", network.county.id)
    li = _member(session, "Li", "tg-li", network.county.id, language="en")
    nov = datetime(2026, 11, 10, 2, tzinfo=UTC)
    points = {}
    for unit in (network.county, network.other_county):
        points[unit.id] = points_mod.create_point(session, f"{unit.name}采集点", address="1号")
        points[unit.id].unit_id = unit.id
    session.commit()
    adopted = make_report(session, points[network.county.id], who=wang, now=nov,
                          title="=HYPERLINK(\"http://x\")人民路路灯")
    adopt(session, adopted, admin, AdoptionLevel.PROVINCE)
    session.execute(sa.update(Adoption).where(Adoption.report_id == adopted.id)
                    .values(adopted_on=date(2026, 11, 20)))
    make_report(session, points[network.county.id], now=nov, title="菜市场停车难")
    make_report(session, points[network.other_county.id], now=nov, title="东山自来水浑浊")
    liaison = staff(session, "county-liaison", Role.UNIT_LIAISON, network.county)
    quiet = staff(session, "quiet-liaison", Role.UNIT_LIAISON, network.county)
    quiet.bulletin_opt_out = True
    east = staff(session, "east-liaison", Role.UNIT_LIAISON, network.other_county)
    addresses.link(session, liaison, Channel.TELEGRAM, "9001")
    addresses.link(session, quiet, Channel.TELEGRAM, "9002")
    addresses.link(session, east, Channel.WECHAT, "oEAST")
    session.commit()
    return {"wang": wang, "li": li, "liaison": liaison, "east": east, "quiet": quiet}


def test_it_builds_the_months_counts_and_rankings_as_xlsx_and_docx(
        session: Session, office: dict[str, object]) -> None:
    done = bulletin.publish(session, NOV, send=False)
    session.commit()
    assert done.built and done.bulletin is not None and done.messages == 0
    book = openpyxl.load_workbook(io.BytesIO(done.bulletin.xlsx))
    assert book.sheetnames == ["各单位情况", "排名-区县政协"]
    counts = [list(r) for r in book["各单位情况"].iter_rows(values_only=True)]
    assert counts[0] == ["单位", "收到信息", "采用", "县级采用", "市级采用", "省级采用", "全国采用",
                         "领导批示"]
    assert counts[1] == ["城关县政协", 2, 1, 0, 0, 1, 0, 0]
    assert counts[2] == ["东山县政协", 1, 0, 0, 0, 0, 0, 0]
    assert counts[-1] == ["合计", 3, 1, 0, 0, 1, 0, 0]
    ranking = list(book["排名-区县政协"].iter_rows(values_only=True))
    assert ranking[1][:2] == (1, "城关县政协") and ranking[2][:2] == (2, "东山县政协")

    word = docx.Document(io.BytesIO(done.bulletin.docx))
    text = "\n".join(p.text for p in word.paragraphs)
    assert "2026年11月社情民意信息工作情况通报" in text
    assert "共收到社情民意信息 3 条，采用 1 条" in text and "区县政协积分排名" in text
    cells = [[c.text for c in row.cells] for row in word.tables[0].rows]
    assert cells[1][:3] == ["城关县政协", "2", "1"]
    # East Asian text is set in a Chinese font, not left to Word's fallback.
    xml = zipfile.ZipFile(io.BytesIO(done.bulletin.docx)).read("word/document.xml").decode()
    assert 'w:eastAsia="黑体"' in xml and 'w:eastAsia="宋体"' in xml


def test_it_sends_each_liaison_and_member_their_own_figures_once(
        session: Session, office: dict[str, object]) -> None:
    done = bulletin.publish(session, NOV)
    session.commit()
    # Two liaisons (the one who opted out is skipped) and two members.
    assert done.messages == 4
    rows = {(m.chat_id, m.channel): m for m in _bulletins(session)}
    county = rows[("9001", Channel.TELEGRAM)].text
    assert "城关县政协：收到信息 2 条，采用 1 条（县级 0、市级 0、省级 1、全国 0）" in county
    assert "在“区县政协”考评序列中得分" in county and "排名第 1 / 2" in county
    assert "东山县政协：收到信息 1 条，采用 0 条" in rows[("oEAST", Channel.WECHAT)].text
    assert ("9002", Channel.TELEGRAM) not in rows
    wang = rows[("tg-wang", Channel.TELEGRAM)]
    assert "王委员：本期您反映信息 1 条，被采用 1 条" in wang.text
    assert wang.buttons == [[{"label": "不再接收通报", "data": "~nobulletin:"}]]
    li = rows[("tg-li", Channel.TELEGRAM)].text
    assert li.startswith("[2026-11 bulletin] Li: this period you filed 0 reports")
    # The liaison also finds it among their console notices.
    liaison = office["liaison"]
    assert isinstance(liaison, User)
    assert session.scalar(sa.select(StaffNotice.kind).where(StaffNotice.user_id == liaison.id)) \
        == "bulletin"
    # Again (a second worker, a restart, a click): nothing built, nothing sent twice.
    again = bulletin.publish(session, NOV)
    session.commit()
    assert (again.built, again.messages) == (False, 0)
    assert len(_bulletins(session)) == 4
    rebuilt = bulletin.publish(session, NOV, rebuild=True)
    assert (rebuilt.built, rebuilt.messages) == (True, 0)


def test_it_skips_a_member_who_said_nobulletin(session: Session, office: dict[str, object],
                                                chat: Chat, network: Network) -> None:
    member = _member(session, "赵委员", chat.user_id, network.county.id)
    [reply] = chat.command("nobulletin")
    assert "不再给您发送通报" in reply.text
    session.rollback()
    session.refresh(member)
    assert member.bulletin_opt_out is True
    bulletin.publish(session, NOV)
    session.commit()
    assert [m for m in _bulletins(session) if m.reporter_id == member.id] == []
    assert len(_bulletins(session)) == 4  # the others still get theirs


def test_the_scheduler_builds_last_month_on_the_offices_day_once(
        Session_: sessionmaker[Session], session: Session, office: dict[str, object]) -> None:
    assert scheduler.build_bulletin(Session_, ON_THE_5TH) is None  # no day set: nothing
    with pytest.raises(BulletinError):
        bulletin.set_schedule(session, 31)
    bulletin.set_schedule(session, 6)
    session.commit()
    assert scheduler.build_bulletin(Session_, ON_THE_5TH) is None  # the 5th: not yet
    bulletin.set_schedule(session, 5)
    session.commit()
    # Workers ticking at once: one builds and sends, the others find it done.
    outcomes = together(lambda _: scheduler.build_bulletin(Session_, ON_THE_5TH), n=4)
    assert sorted(o.built for o in outcomes) == [False, False, False, True]
    assert sum(o.messages for o in outcomes) == 4
    session.rollback()
    assert session.scalars(sa.select(Bulletin.period)).all() == ["2026-11"]
    assert len(_bulletins(session)) == 4


def test_the_command_line_builds_a_period_into_a_folder(
        env: str,  # noqa: F811
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["init", "--admin-user", "root", "--admin-password", "correct horse battery"]) == 0
    capsys.readouterr()
    assert main(["bulletin", "build", "--period", "2026-11", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2026年11月 (2026-11): built / 已生成; 0 messages" in out
    assert docx.Document(str(tmp_path / "通报-2026-11.docx")).paragraphs[0].text.startswith(
        "2026年11月社情民意信息工作情况通报")
    assert main(["bulletin", "build", "--period", "2026-11"]) == 0
    assert "already built" in capsys.readouterr().out
    assert main(["bulletin", "build", "--period", "2026-13"]) == 1
    assert "看不懂的统计期间" in capsys.readouterr().err

