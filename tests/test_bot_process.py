"""`minyi bot`'s webhook (secret token checked, bad bodies refused) and the Telegram connection
kept in the background: a start-up while Telegram is unreachable leaves the console running and
says so there."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from telegram import Update
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.channels import group_commit, registry
from bot.channels.base import ChannelStartError
from bot.channels.telegram import app as telegram_app
from bot.channels.telegram import keeper as keeper_mod
from bot.channels.telegram.webhook import HEADER, PATH, webhook_app
from minyi import runner
from minyi.settings import Settings
from store.conversation.engine import Engine
from store.delivery import health
from store.models import Channel, User
from tests.botapi_emulator import TOKEN, BotAPIEmulator
from tests.web_support import login

SECRET = "hook-secret_0123456789"
UPDATE = {"update_id": 7001, "message": {
    "message_id": 1, "date": 1764900000, "text": "你好",
    "chat": {"id": 42, "type": "private"}, "from": {"id": 42, "is_bot": False, "first_name": "李"}}}


def _against(settings: Settings, emu: BotAPIEmulator, **more: Any) -> Settings:
    """`settings` with the bot's token and Bot API addresses pointing at `emu`."""
    return replace(settings, telegram_bot_token=TOKEN, telegram_base_url=emu.base_url,
                   telegram_base_file_url=emu.base_file_url, **more)


@pytest.fixture
def hook(settings: Settings, Session_: sessionmaker[Session]) -> Iterator[tuple[FlaskClient, Any]]:  # noqa: N803
    """The webhook app of an initialised bot; `bot_data["handled"]` lists the updates its
    handlers ran for."""
    emu = BotAPIEmulator().start()
    application = telegram_app.build_application(
        _against(settings, emu), Session_)
    application.bot_data["handled"] = []

    async def handle(update: Update, context: Any) -> None:
        await asyncio.sleep(0.2)  # a handler's database round trips
        application.bot_data["handled"].append(update)
        raise ApplicationHandlerStop

    application.add_handler(TypeHandler(Update, handle), group=-1)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(application.initialize(), loop).result(10)  # getMe
    yield webhook_app(application, loop, SECRET).test_client(), application
    asyncio.run_coroutine_threadsafe(application.shutdown(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    emu.stop()


@pytest.mark.parametrize("headers", [{}, {HEADER: "wrong"}, {HEADER: SECRET + "x"},
                                     {"X-Telegram-Bot-Api-Secret": SECRET}])
def test_it_refuses_a_post_without_the_secret_token(hook: tuple[FlaskClient, Any],
                                                     headers: dict[str, str]) -> None:
    client, application = hook

    assert client.post(PATH, json=UPDATE, headers=headers).status_code == 403
    assert application.bot_data["handled"] == []


@pytest.mark.parametrize("body", ["not json", "[]", "{}", '{"update_id": "7"}',
                                  '{"update_id": 1, "message": {"chat": 5}}', "\x00\xff"])
def test_it_answers_400_to_a_body_that_is_not_an_update(hook: tuple[FlaskClient, Any],
                                                        body: str) -> None:
    client, application = hook

    answer = client.post(PATH, data=body, headers={HEADER: SECRET},
                         content_type="application/json")

    assert answer.status_code == 400
    assert application.bot_data["handled"] == []


def test_it_answers_200_only_once_the_update_is_handled(hook: tuple[FlaskClient, Any]) -> None:
    """Telegram forgets an update answered 200: a crash after the answer and before the
    handlers ran would lose it (the crash drill's webhook mode found it so)."""
    client, application = hook

    answer = client.post(PATH, json=UPDATE, headers={HEADER: SECRET})

    assert answer.status_code == 200
    [update] = application.bot_data["handled"]
    assert (update.update_id, update.message.text) == (7001, "你好")
    assert application.update_queue.qsize() == 0  # nothing left waiting to be handled
    assert client.get(PATH).status_code == 405


def test_it_keeps_trying_while_telegram_is_unreachable_and_sends_once_it_answers(
    settings: Settings, Session_: sessionmaker[Session], session: Session,  # noqa: N803
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(keeper_mod, "FIRST_WAIT", 0.05)
    seen: list[list[health.Health]] = []

    with BotAPIEmulator() as emu:
        settings = _against(settings, emu)
        channels = registry(settings, Session_)
        keeper = runner.telegram_keeper(settings, Session_, Engine(settings.engine_config()),
                                        channels)

        async def flaky(*args: Any) -> Any:
            with Session_() as s:
                seen.append([h.health for h in health.read(s)])
            if len(seen) < 3:
                raise ChannelStartError("cannot reach the Telegram Bot API (refused)")
            return await telegram_app.start(*args)

        keeper.starter = flaky

        async def run() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(keeper.run(stop))
            await asyncio.wait_for(keeper.up.wait(), 10)
            assert channels.channels[Channel.TELEGRAM].sending
            with Session_() as s:
                [now] = health.read(s)
            assert (now.health, now.detail) == (health.Health.UP, "@minyi_test_bot")
            stop.set()
            await task

        asyncio.run(run())

    assert seen == [[health.Health.CONNECTING], [health.Health.RETRYING],
                    [health.Health.RETRYING]]
    assert keeper.attempts == 3


def test_it_serves_the_console_while_telegram_is_unreachable(
    settings: Settings, session: Session,
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = replace(settings, telegram_bot_token=TOKEN, port=port,
                       telegram_base_url="http://127.0.0.1:1/bot",
                       telegram_base_file_url="http://127.0.0.1:1/file/bot")
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=lambda: loop.run_until_complete(runner.run(settings, stop)))
    thread.start()
    try:
        page = _get_when_up(f"http://127.0.0.1:{port}/login")
        assert page.status_code == 200 and "登录" in page.text
        states = _wait_for_state(session, health.Health.RETRYING)
        assert "cannot reach the Telegram Bot API" in states[0].detail
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
    assert not thread.is_alive()


def test_it_shows_each_channels_connection_to_admins(client: FlaskClient, session: Session,
                                                     admin: User) -> None:
    health.record(session, Channel.TELEGRAM, health.Health.RETRYING, "connection refused")
    session.commit()
    login(client, "alice")

    page = client.get("/admin/users").get_data(as_text=True)

    assert "渠道连接" in page and "无法连接，正在重试" in page and "connection refused" in page


def _get_when_up(url: str) -> httpx.Response:
    for _ in range(100):
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            threading.Event().wait(0.1)
    raise AssertionError(f"{url} never answered")


def _wait_for_state(session: Session, wanted: health.Health) -> list[health.ChannelHealth]:
    for _ in range(100):
        session.rollback()  # a fresh snapshot each time
        found = health.read(session)
        if found and found[0].health == wanted:
            return found
        threading.Event().wait(0.1)
    raise AssertionError(f"the channel never reached {wanted}: {health.read(session)}")


def test_it_stops_the_bot_process_when_telegram_refuses_the_token(
    settings: Settings, session: Session,
) -> None:
    from minyi.apart import run_bot
    from minyi.runner import StartupError

    with BotAPIEmulator() as emu:
        settings = replace(settings, telegram_bot_token="999:not-the-token",
                           telegram_base_url=emu.base_url,
                           telegram_base_file_url=emu.base_file_url)
        with pytest.raises(StartupError, match="refused TELEGRAM_BOT_TOKEN"):
            asyncio.run(asyncio.wait_for(run_bot(settings), 30))

    session.rollback()
    [state] = health.read(session)
    assert state.health == health.Health.FAILED and "BotFather" in state.detail


@pytest.mark.parametrize("secret", [None, "", "has spaces", "ü" * 4, "x" * 257])
def test_it_refuses_a_webhook_without_a_usable_secret(secret: str | None, tmp_path: Any) -> None:
    from minyi.settings import ConfigError

    env = {"MINYI_INSTANCE": str(tmp_path), "TELEGRAM_WEBHOOK_URL": "https://minyi.test/hook"}
    if secret is not None:
        env["TELEGRAM_WEBHOOK_SECRET"] = secret

    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        Settings.from_env(env, dotenv=False)
    env["TELEGRAM_WEBHOOK_SECRET"] = "Ok_secret-1"
    assert Settings.from_env(env, dotenv=False).telegram_webhook_secret == "Ok_secret-1"


def test_it_confirms_an_update_to_telegram_only_once_it_has_been_answered(
    settings: Settings, Session_: sessionmaker[Session],  # noqa: N803
) -> None:
    """A bot killed while answering must get the update again: until the answer is out, the
    offset of getUpdates does not pass it (PTB's own updater confirms a batch on fetching it)."""
    entered, release = threading.Event(), threading.Event()

    class Slow:
        def handle(self, session: Session, inbound: Any) -> list[Any]:
            entered.set()
            release.wait(10)
            from store.conversation.types import Reply

            return [Reply("收到")]

        def handle_all(self, session: Session, inbounds: Any) -> list[Any]:
            return [self.handle(session, inbound) for inbound in inbounds]

    with BotAPIEmulator() as emu:
        settings = _against(settings, emu, telegram_poll_timeout=1)

        async def run() -> tuple[int, int]:
            application = await telegram_app.start(settings, Session_, Slow())
            try:
                update = emu.user_sends_text(42, "你好")["update_id"]
                await asyncio.to_thread(entered.wait, 10)
                await asyncio.sleep(1.5)  # a poll's timeout and more: time to fetch again
                while_answering = emu.pending_updates()
                release.set()
                await asyncio.to_thread(emu.wait_for_reply, 42, 0)
                await asyncio.to_thread(emu.wait_idle, 10)
                return update, while_answering
            finally:
                await telegram_app.stop(application)

        update, while_answering = asyncio.run(run())

    assert while_answering == 1  # still Telegram's to hand over again
    assert emu.texts(42) == ["收到"]
    assert update


def test_it_confirms_the_answered_beginning_of_a_batch_while_one_chat_is_slow(
    settings: Settings, Session_: sessionmaker[Session],  # noqa: N803
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One slow chat must not hold the updates answered before it: a bot killed more often
    than it finishes a batch would otherwise be handed the same batch for ever."""
    # Each input a round of its own, so that 42's is answered while 7's hangs (inputs that
    # share a round wait for the round's commit: bot/channels/group_commit.py).
    monkeypatch.setattr(group_commit, "MOST", 1)
    entered, release = threading.Event(), threading.Event()

    class SlowFor7:
        def handle(self, session: Session, inbound: Any) -> list[Any]:
            from store.conversation.types import Reply

            if inbound.chat_id == "7":
                entered.set()
                release.wait(10)
            return [Reply("收到")]

        def handle_all(self, session: Session, inbounds: Any) -> list[Any]:
            return [self.handle(session, inbound) for inbound in inbounds]

    with BotAPIEmulator() as emu:
        settings = _against(settings, emu, telegram_poll_timeout=1)
        first = emu.user_sends_text(42, "你好")["update_id"]
        emu.user_sends_text(7, "你好")

        async def run() -> int:
            application = await telegram_app.start(settings, Session_, SlowFor7())
            try:
                await asyncio.to_thread(entered.wait, 10)
                await asyncio.to_thread(emu.wait_for_reply, 42, 0)
                await asyncio.sleep(2.5)
                while_answering = emu.pending_updates()
                release.set()
                await asyncio.to_thread(emu.wait_for_reply, 7, 0)
                await asyncio.to_thread(emu.wait_idle, 10)
                return while_answering
            finally:
                await telegram_app.stop(application)

        while_answering = asyncio.run(run())

    assert first
    assert while_answering == 1  # 42's answered update confirmed; 7's still Telegram's
    assert emu.texts(42) == ["收到"] and emu.texts(7) == ["收到"]


def test_a_batch_of_chats_is_answered_in_rounds_not_a_transaction_each(
    settings: Settings, Session_: sessionmaker[Session], engine: Engine,  # noqa: N803
    db_engine: sa.Engine, point_token: str,
) -> None:
    """The polling bot hands a getUpdates batch's chats to the group commit: 30 people scanning
    at once are answered in a few transactions, each told what one alone would be."""
    commits: list[int] = []
    sa.event.listen(db_engine, "commit", lambda _conn: commits.append(1))
    chats = range(7100, 7130)
    with BotAPIEmulator() as emu:
        settings = _against(settings, emu, telegram_poll_timeout=1)
        for chat in chats:
            emu.user_sends_command(chat, "start", point_token)

        async def run() -> None:
            application = await telegram_app.start(settings, Session_, engine)
            try:
                for chat in chats:
                    await asyncio.to_thread(emu.wait_for_reply, chat, 0)
                await asyncio.to_thread(emu.wait_idle, 10)
            finally:
                await telegram_app.stop(application)

        asyncio.run(run())
        welcomes = {chat: emu.texts(chat)[0] for chat in chats}

    assert all("城关镇便民服务中心" in text for text in welcomes.values()), welcomes
    assert len(set(welcomes.values())) == 1  # the same welcome for each
    assert 1 <= len(commits) < len(chats) // 2, commits  # rounds, not a transaction each
