"""What an attacker (or a careless visitor) can do to the public side, and what stops them
(issue 15): floods from one address, inflated scans, files left in drafts, forged codes."""

from __future__ import annotations

import dataclasses
import os
import re
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from minyi import scheduler
from minyi.settings import Settings
from store.conversation.engine import Engine
from store.conversation.types import EngineConfig
from store.models import (
    Attachment,
    Channel,
    CollectionPoint,
    Conversation,
    PointScan,
    Report,
    Unit,
    WebChatMessage,
    utcnow,
)
from store.network import points as points_mod
from store.network import scans
from store.reports import files
from tests.chat_driver import JPEG, SITUATION, SUGGESTION, Chat
from tests.conftest import SECRET

CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def _scans(session: Session) -> int:
    session.rollback()
    return int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(PointScan.count), 0))) or 0)


# -- one address, many cookies -------------------------------------------------


def test_200_fresh_cookies_from_one_address_are_held_back_and_count_as_one_scan(
        app: Flask, point_token: str, session: Session) -> None:
    # The 600 requests land within one window however slow the test machine is.
    app.config["CHAT_FLOOD_WINDOW"] = 3600.0
    statuses: list[int] = []
    for _ in range(200):
        phone = app.test_client()  # a fresh cookie jar each time
        page = phone.get(f"/c/{point_token}")
        statuses.append(page.status_code)
        if page.status_code != 200:
            continue
        token = CSRF.search(page.get_data(as_text=True))[1]  # type: ignore[index]
        for i in range(2):
            statuses.append(phone.post("/c/api/send", json={"text": f"刷屏{i}"},
                                       headers={"X-CSRFToken": token}).status_code)

    allowed = app.config["CHAT_FLOOD_ADDRESS_BURST"]
    assert statuses.count(200) == allowed and statuses.count(429) >= 200 - allowed // 3
    # One device, one scan, however many cookies it threw away.
    assert _scans(session) == 1
    said = session.scalar(sa.select(sa.func.count()).select_from(WebChatMessage)
                          .where(WebChatMessage.direction == "in"))
    assert said is not None and said < allowed

    # Someone else, at another address, is not held back by it.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    assert other.get(f"/c/{point_token}").status_code == 200
    assert _scans(session) == 2


def test_the_address_is_the_proxys_word_only_when_the_proxy_is_trusted(
        settings: Settings, Session_: sessionmaker[Session], point_token: str,
        session: Session) -> None:
    from web import create_app

    plain = create_app(settings, session_factory=Session_)
    for i in range(3):
        plain.test_client().get(f"/c/{point_token}", headers={"X-Forwarded-For": f"10.0.0.{i}"})
    assert _scans(session) == 1  # a forged header does not make three visitors

    proxied = create_app(dataclasses.replace(settings, trusted_proxies=1), session_factory=Session_)
    for i in range(3):
        proxied.test_client().get(f"/c/{point_token}", headers={"X-Forwarded-For": f"10.0.0.{i}"})
    assert _scans(session) == 4


def test_a_chat_user_scanning_again_and_again_counts_once_a_day(
        Session_: sessionmaker[Session], tmp_path: Path, point_token: str, session: Session) -> None:
    engine = Engine(EngineConfig(SECRET, tmp_path / "u", flood_burst=100))
    one = Chat(Session_, engine, user_id="501")
    for _ in range(5):
        one.command("start", point_token)
    Chat(Session_, engine, user_id="502").command("start", point_token)
    assert _scans(session) == 2
    rows = session.scalars(sa.select(PointScan)).all()
    assert [(r.channel, r.count) for r in rows] == [(Channel.TELEGRAM, 2)]


def test_yesterdays_visitors_are_forgotten_by_housekeeping(
        Session_: sessionmaker[Session], session: Session, point: CollectionPoint) -> None:
    day = utcnow().date()
    for back in (0, 1, 2, 3):
        scans.record(session, point.id, Channel.WEB, day - timedelta(days=back), visitor="v")
    session.commit()
    scheduler.housekeeping(Session_)
    session.rollback()
    from store.models import ScanVisitor

    kept = sorted(v.day for v in session.scalars(sa.select(ScanVisitor)))
    assert kept == [day - timedelta(days=1), day]
    assert _scans(session) == 4  # the counts themselves stay


# -- files left in drafts --------------------------------------------------------


def _to_photos(chat: Chat, token: str) -> None:
    chat.command("start", token)
    chat.send(callback=chat.button("民生保障"))
    chat.text("城关镇人民路路灯长期不亮")
    chat.text(SITUATION)
    chat.send(callback=chat.button("跳过"))
    chat.text(SUGGESTION)
    chat.text("城关镇人民路")


def _on_disk(upload: Path) -> list[Path]:
    return sorted(p for p in upload.rglob("*") if p.is_file())


def _age(upload: Path, days: int) -> None:
    old = time.time() - days * 86400
    for p in _on_disk(upload):
        os.utime(p, (old, old))


def test_files_of_cancelled_and_abandoned_drafts_are_swept_after_the_set_age(
        Session_: sessionmaker[Session], tmp_path: Path, point_token: str,
        session: Session) -> None:
    upload = tmp_path / "u"
    engine = Engine(EngineConfig(SECRET, upload))
    cancelled, abandoned = Chat(Session_, engine, user_id="601"), Chat(Session_, engine, user_id="602")
    for chat, photo in ((cancelled, JPEG + b"1"), (abandoned, JPEG + b"2")):
        _to_photos(chat, point_token)
        assert "已收到第 1 个文件" in chat.photo(photo)[0].text
    cancelled.command("cancel")
    assert len(_on_disk(upload)) == 2
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 1

    # A week has not passed: nothing goes.
    swept = scheduler.sweep_draft_files(Session_, upload, 7)
    assert (swept.rows, swept.files) == (0, 0) and len(_on_disk(upload)) == 2

    later = utcnow() + timedelta(days=8)
    _age(upload, 8)
    swept = scheduler.sweep_draft_files(Session_, upload, 7, now=later)

    assert (swept.rows, swept.files) == (1, 2) and swept.bytes == 2 * len(JPEG) + 2
    assert _on_disk(upload) == []
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0
    # The abandoned draft goes on without its photo: the step asks again, nothing breaks.
    assert abandoned.command("start", point_token)


def test_the_sweep_never_touches_a_submitted_reports_files(
        Session_: sessionmaker[Session], tmp_path: Path, point_token: str,
        session: Session) -> None:
    upload = tmp_path / "u"
    chat = Chat(Session_, Engine(EngineConfig(SECRET, upload)), user_id="603")
    _to_photos(chat, point_token)
    chat.photo()
    chat.send(callback=chat.button("完成"))
    chat.send(callback=chat.button("否"))
    chat.send(callback=chat.button("否"))
    chat.text("张先生 13800000000")
    assert "提交成功" in chat.send(callback=chat.button("确认提交"))[0].text
    _age(upload, 30)

    swept = scheduler.sweep_draft_files(Session_, upload, 7, now=utcnow() + timedelta(days=30))

    assert (swept.rows, swept.files) == (0, 0)
    session.rollback()
    [kept] = session.scalars(sa.select(Attachment)).all()
    assert kept.report_id is not None and files.open_path(upload, kept.storage_path).is_file()


def test_a_chat_holds_a_capped_amount_of_unsubmitted_files_and_loses_nothing(
        Session_: sessionmaker[Session], tmp_path: Path, point_token: str,
        session: Session) -> None:
    chat = Chat(Session_, Engine(EngineConfig(SECRET, tmp_path / "u", chat_files_mb=1)),
                user_id="604")
    _to_photos(chat, point_token)
    big = b"\xff\xd8\xff" + os.urandom(700 * 1024)
    assert "已收到第 1 个文件" in chat.photo(big, "a.jpg")[0].text

    [refused] = chat.photo(b"\xff\xd8\xff" + os.urandom(400 * 1024), "b.jpg")

    assert "1 MB 上限" in refused.text and "已收到的文件和填写的内容都还在" in refused.text
    assert chat.button("完成", refused)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 1
    conv = session.scalars(sa.select(Conversation)).one()
    assert conv.answers["title"] == "城关镇人民路路灯长期不亮" and conv.step == "photos"
    chat.send(callback=chat.button("完成", refused))
    session.rollback()
    assert session.scalars(sa.select(Conversation)).one().answers["photos"] == 1


# -- forged and retired codes ----------------------------------------------------


def _forged(point_token: str) -> str:
    return point_token[:-4] + ("AAAA" if not point_token.endswith("AAAA") else "BBBB")


def test_a_forged_code_in_the_web_chat_cannot_file_a_report(
        app: Flask, point_token: str, session: Session) -> None:
    from tests.test_webchat import Visitor

    v = Visitor(app.test_client(), _forged(point_token))
    assert "无法识别" in v.texts(v.open())
    said = v.texts(v.send(command="new"))
    assert "请先扫描采集点张贴的二维码" in said
    session.rollback()
    conv = session.scalars(sa.select(Conversation)).one()
    assert conv.point_id is None and conv.mode == "idle"
    assert session.scalar(sa.select(sa.func.count()).select_from(Report)) == 0


def test_a_forged_or_retired_code_on_telegram_files_nothing_without_a_point(
        Session_: sessionmaker[Session], tmp_path: Path, point: CollectionPoint,
        point_token: str, session: Session) -> None:
    engine = Engine(EngineConfig(SECRET, tmp_path / "u"))
    forged = Chat(Session_, engine, user_id="701")
    assert "无法识别" in forged.command("start", _forged(point_token))[0].text
    assert "请先扫描采集点张贴的二维码" in forged.command("new")[0].text

    points_mod.rotate(session, point)
    session.commit()
    retired = Chat(Session_, engine, user_id="702")
    assert "已经更换" in retired.command("start", point_token)[0].text
    assert "请先扫描采集点张贴的二维码" in retired.command("new")[0].text
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Report)) == 0
    assert {c.mode for c in session.scalars(sa.select(Conversation))} == {"idle"}
    # A plain start (the bot found by its name) is the direct way in, as before.
    assert "请先扫描" not in forged.command("start")[-1].text
    session.rollback()
    assert session.get(Conversation, 1).refused_code is None  # type: ignore[union-attr]


def test_a_retired_code_with_a_successor_files_the_report_there(
        Session_: sessionmaker[Session], tmp_path: Path, point: CollectionPoint,
        point_token: str, session: Session) -> None:
    unit = Unit(name="城关镇政协联络组")
    session.add(unit)
    session.flush()
    heir = points_mod.create_point(session, "城关镇新便民服务中心")
    heir.unit_id = unit.id
    points_mod.set_successor(session, point, heir)
    points_mod.rotate(session, point)
    session.commit()
    chat = Chat(Session_, Engine(EngineConfig(SECRET, tmp_path / "u")), user_id="703")
    _to_photos(chat, point_token)
    assert any("城关镇新便民服务中心" in r.text for r in chat.log)
    chat.send(callback=chat.button("完成"))
    chat.send(callback=chat.button("否"))
    chat.send(callback=chat.button("否"))
    chat.text("张先生 13800000000")
    assert "提交成功" in chat.send(callback=chat.button("确认提交"))[0].text
    session.rollback()
    report = session.scalars(sa.select(Report)).one()
    assert (report.point_id, report.unit_id) == (heir.id, unit.id)


def test_a_draft_without_a_point_is_kept_until_a_valid_code_is_scanned(
        Session_: sessionmaker[Session], tmp_path: Path, point: CollectionPoint,
        point_token: str, session: Session) -> None:
    chat = Chat(Session_, Engine(EngineConfig(SECRET, tmp_path / "u")), user_id="704")
    _to_photos(chat, point_token)
    chat.send(callback=chat.button("完成"))
    chat.send(callback=chat.button("否"))
    chat.send(callback=chat.button("否"))
    chat.text("张先生 13800000000")
    # A draft with no point (begun after a plain /start) when a forged code came along.
    session.execute(sa.update(Conversation).values(point_id=None, refused_code="forged"))
    session.commit()

    [refused] = chat.send(callback=chat.button("确认提交"))

    assert "请先扫描采集点张贴的二维码" in refused.text and "已填写的内容会保留" in refused.text
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Report)) == 0
    chat.command("start", point_token)
    session.rollback()
    assert session.scalars(sa.select(Conversation)).one().point_id == point.id
    chat.command("start", point_token)
    assert "提交成功" in chat.send(callback=chat.button("确认提交"))[0].text
