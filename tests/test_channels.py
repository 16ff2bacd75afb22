"""The channel interface and its registry: what is switched on, how outcomes are recorded
whatever the channel, rows waiting for a channel that is off, and each channel's library kept
inside its own folder."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import Registry, registry
from bot.channels.base import BaseChannel, ChannelPort, Message, Outcome, PointLinks, RatePolicy
from minyi.notifier import Notifier
from minyi.settings import Settings
from store.conversation.types import BUTTONS_ONLY, Capabilities
from store.delivery import outbox
from store.models import (
    Channel,
    CollectionPoint,
    OutboxMessage,
    OutboxStatus,
    Reporter,
    User,
    WebChatMessage,
)
from tests.test_posters import pages
from tests.web_support import login
from tests.wechat_emulator import WeChatEmulator
from tests.wechat_support import TEMPLATE, wechat_settings

ROOT = Path(__file__).resolve().parent.parent
# A channel's own library, and the one folder allowed to import it.
LIBRARIES = {"telegram": "bot/channels/telegram", "wechatpy": "bot/channels/wechat"}
RUNTIME = ("bot", "web", "store", "qr", "minyi")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_it_keeps_each_channels_library_inside_the_channels_folder() -> None:
    trespass = []
    for top in RUNTIME:
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            for name in _imports(path):
                library = name.split(".")[0]
                home = LIBRARIES.get(library)
                if home is not None and not relative.startswith(home + "/"):
                    trespass.append(f"{relative} imports {name}")
    assert trespass == []
    # The walk does see imports: the Telegram folder's own are found.
    assert "telegram" in _imports(ROOT / "bot/channels/telegram/sender.py")


def test_it_has_the_notifier_and_the_outbox_name_no_channel() -> None:
    for module in ("minyi/notifier.py", "store/delivery/outbox.py"):
        imported = _imports(ROOT / module)
        assert not [n for n in imported if n.startswith("bot.channels.") and n != "bot.channels.base"]
    notifier = (ROOT / "minyi/notifier.py").read_text(encoding="utf-8").lower()
    for name in ("telegram", "wechat", "channel.web", "webchat"):
        assert name not in notifier


def test_it_switches_on_the_web_chat_always_and_the_others_by_their_settings(
        settings: Settings, Session_: sessionmaker[Session]) -> None:  # noqa: N803
    plain = registry(dataclasses.replace(settings, telegram_bot_username="minyi_bot"), Session_)
    assert plain.kinds == [Channel.WEB]
    with_bot = registry(dataclasses.replace(settings, telegram_bot_username="minyi_bot"), Session_,
                        telegram_bot=object())
    assert with_bot.kinds == [Channel.WEB, Channel.TELEGRAM]
    assert all(isinstance(c, ChannelPort) for c in with_bot)
    web, telegram = with_bot
    assert web.capabilities == BUTTONS_ONLY and not web.rate.limited
    assert telegram.capabilities.commands and telegram.capabilities.longest_text == 4096
    # A second's worth of sends in flight at once: one at a time reaches a fifth of the rate
    # when each call takes a round trip to Telegram.
    assert telegram.rate == RatePolicy(settings.global_rate, settings.per_chat_interval,
                                       at_once=settings.global_rate)
    links = with_bot.links("tok123")
    assert [(ln.channel, ln.qr_payload) for ln in links] == [
        (Channel.WEB, f"{settings.public_url.rstrip('/')}/c/tok123"),
        (Channel.TELEGRAM, "https://t.me/minyi_bot?start=tok123")]


def test_it_offers_wechats_cached_parametric_code_when_wechat_is_on(
        settings: Settings, Session_: sessionmaker[Session]) -> None:  # noqa: N803
    with WeChatEmulator() as emu:
        channels = registry(wechat_settings(settings, emu), Session_)
        try:
            assert channels.kinds == [Channel.WEB, Channel.WECHAT]
            wechat = channels.get(Channel.WECHAT)
            assert wechat is not None
            assert not wechat.capabilities.buttons and wechat.capabilities.commands
            first = wechat.links("tok123")
            again = wechat.links("tok123")
            assert first is not None and first == again and first.qr_payload.startswith("http")
            assert emu.calls["/cgi-bin/qrcode/create"] == 1  # fetched once, then cached
        finally:
            channels.close()


# -- the sender, with a channel of the test's own -----------------------------


@dataclasses.dataclass
class Scripted(BaseChannel):
    """A channel that answers each delivery with the next scripted outcome."""

    outcomes: list[Outcome]
    kind: Channel = Channel.TELEGRAM
    name: str = "脚本"
    capabilities: Capabilities = Capabilities()
    rate: RatePolicy = RatePolicy()
    delivered: list[Message] = dataclasses.field(default_factory=list)

    async def deliver(self, message: Message) -> Outcome:
        self.delivered.append(message)
        return self.outcomes.pop(0)

    def links(self, token: str) -> PointLinks | None:
        return None


@pytest.fixture
def reporter(session: Session) -> Iterator[Reporter]:
    r = Reporter(channel=Channel.TELEGRAM, external_id="77", chat_id="77")
    session.add(r)
    session.commit()
    yield r


def _run(settings: Settings, Session_: sessionmaker[Session], channels: Registry) -> int:  # noqa: N803
    return asyncio.run(Notifier(settings, Session_, channels).tick())


def _rows(session: Session) -> list[OutboxMessage]:
    session.commit()
    return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)
                                .execution_options(populate_existing=True)))


def test_it_records_every_outcome_alike_whatever_the_channel(
        settings: Settings, Session_: sessionmaker[Session], session: Session,  # noqa: N803
        reporter: Reporter) -> None:
    for text in ("一", "二", "三"):
        outbox.enqueue(session, reporter, text)
    session.commit()
    channel = Scripted([Outcome.sent(), Outcome.failed("bad text"), Outcome.retry("slow down", 7.0)])
    channels = Registry({Channel.WEB: registry(settings, Session_).channels[Channel.WEB],
                         Channel.TELEGRAM: channel})

    notifier = Notifier(settings, Session_, channels)
    # One chat's rows go one at a time, in the order written.
    assert [asyncio.run(notifier.tick()) for _ in range(3)] == [1, 1, 1]

    sent, failed, retried = _rows(session)
    assert sent.status == OutboxStatus.SENT and sent.sent_at is not None
    assert retried.status == OutboxStatus.PENDING and retried.last_error == "slow down"
    assert notifier.limiters[Channel.TELEGRAM].paused_for() > 5  # the channel is held back as asked
    assert failed.status == OutboxStatus.DEAD and failed.last_error == "bad text"
    assert reporter.blocked_at is None


def test_it_gives_up_on_a_recipient_who_is_gone_and_stops_writing_to_them(
        settings: Settings, Session_: sessionmaker[Session], session: Session,  # noqa: N803
        reporter: Reporter) -> None:
    for text in ("一", "二"):
        outbox.enqueue(session, reporter, text)
    session.commit()
    channel = Scripted([Outcome.gone("unfollowed")])

    # The second waits behind the first, whose refusal gives it up unsent.
    assert _run(settings, Session_, Registry({Channel.TELEGRAM: channel})) == 1

    assert [m.text for m in channel.delivered] == ["一"]  # the second was never tried
    assert [(r.status, r.last_error) for r in _rows(session)] == [
        (OutboxStatus.DEAD, "unfollowed"), (OutboxStatus.DEAD, "reporter blocked the bot")]
    session.refresh(reporter)
    assert reporter.blocked_at is not None
    assert outbox.enqueue(session, reporter, "三") is None


def test_it_keeps_rows_waiting_while_their_channel_is_off_and_sends_them_when_it_is_back(
        settings: Settings, Session_: sessionmaker[Session], session: Session,  # noqa: N803
        reporter: Reporter) -> None:
    web = Reporter(channel=Channel.WEB, external_id="w-1", chat_id="w-1")
    session.add(web)
    session.flush()
    outbox.enqueue(session, reporter, "电报反馈")
    outbox.enqueue(session, web, "网页反馈")
    session.commit()

    # Telegram off: the web chat's row goes, Telegram's waits untouched.
    assert _run(settings, Session_, registry(settings, Session_)) == 1
    waiting, delivered = _rows(session)
    assert (waiting.status, waiting.attempts) == (OutboxStatus.PENDING, 0)
    assert delivered.status == OutboxStatus.SENT
    assert session.scalars(sa.select(WebChatMessage.text)).all() == ["网页反馈"]
    assert _run(settings, Session_, registry(settings, Session_)) == 0

    # Back on: the row that waited goes out once.
    channel = Scripted([Outcome.sent()])
    assert _run(settings, Session_, Registry({Channel.TELEGRAM: channel})) == 1
    assert [m.text for m in channel.delivered] == ["电报反馈"]
    assert _rows(session)[0].status == OutboxStatus.SENT


def test_it_delivers_wechat_feedback_through_the_registry_with_a_template_after_48_hours(
        settings: Settings, Session_: sessionmaker[Session], session: Session) -> None:  # noqa: N803
    openid = "oReporter000000000000000001"
    with WeChatEmulator() as emu:
        emu.add_template(TEMPLATE)
        emu.follow(openid)
        r = Reporter(channel=Channel.WECHAT, external_id=openid, chat_id=openid)
        session.add(r)
        session.flush()
        outbox.enqueue(session, r, "您反映的信息已被采用。")
        session.commit()
        on = wechat_settings(settings, emu)

        # WeChat off: the row waits.
        assert _run(settings, Session_, registry(settings, Session_)) == 0
        emu.advance(49 * 3600)  # the reporter last wrote more than 48 hours ago
        channels = registry(on, Session_)
        try:
            assert _run(on, Session_, channels) == 1
        finally:
            channels.close()

        [row] = _rows(session)
        assert row.status == OutboxStatus.SENT
        [template] = emu.delivered_to(openid)
        assert template.kind == "template" and "已被采用" in template.data["keyword1"]


def test_it_shows_every_enabled_channels_code_on_the_points_page_and_posters(
        settings: Settings, Session_: sessionmaker[Session], clerk: User,  # noqa: N803
        point: CollectionPoint, point_token: str) -> None:
    from web import create_app

    with WeChatEmulator() as emu:
        app = create_app(wechat_settings(settings, emu), session_factory=Session_)
        app.config["TESTING"] = True
        client = app.test_client()
        login(client, "carol")
        try:
            page = client.get("/points").get_data(as_text=True)
            client.get("/points")
            png = client.get(f"/points/{point.id}/qr/wechat.png")
            pdf = client.get(f"/points/posters.pdf?point={point.id}&confirmed=1")
        finally:
            app.extensions["minyi"].channels.close()

    for kind in ("web", "telegram", "wechat"):
        assert f"/points/{point.id}/qr/{kind}.png" in page
    assert f"https://t.me/minyi_test_bot?start={point_token}" in page
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG\r\n\x1a\n")
    # WeChat was asked for the point's code once; every later look used the cached one.
    assert emu.calls["/cgi-bin/qrcode/create"] == 1
    assert pdf.status_code == 200, pdf.get_data(as_text=True)[:300]
    [text] = pages(pdf.data)
    assert "微信扫码反映" in text and "Telegram 扫码反映" in text and "手机浏览器扫码反映" in text
