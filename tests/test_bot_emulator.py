"""The Bot API emulator itself: the shapes, bodies and faults the other tests rely on."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import httpx
import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from tests.botapi_emulator import TOKEN, BotAPIEmulator


@pytest.fixture
def emu() -> Iterator[BotAPIEmulator]:
    with BotAPIEmulator() as e:
        yield e


def test_it_accepts_json_bodies_as_telegram_does(emu: BotAPIEmulator) -> None:
    emu.user_sends_text(7, "hi")
    url = f"{emu.base_url}{TOKEN}/sendMessage"
    body = {"chat_id": 7, "text": "你好", "reply_markup": {
        "inline_keyboard": [[{"text": "是", "callback_data": "y"}]]}}
    answer = httpx.post(url, content=json.dumps(body),
                        headers={"Content-Type": "application/json"}).json()
    assert answer["ok"] is True
    msg = answer["result"]
    assert msg["from"]["is_bot"] is True and msg["chat"]["id"] == 7 and msg["date"] > 0
    assert emu.sent_to(7)[0].buttons == [[("是", "y")]]


def test_it_refuses_a_wrong_token(emu: BotAPIEmulator) -> None:
    assert httpx.post(f"{emu.base_url}999:nope/getMe").status_code == 401


def test_it_takes_an_uploaded_photo_as_multipart(emu: BotAPIEmulator) -> None:
    emu.user_sends_text(7, "hi")

    async def upload() -> None:
        async with Bot(TOKEN, base_url=emu.base_url) as bot:
            await bot.send_photo(7, b"\x89PNG-bytes", caption="二维码")

    asyncio.run(upload())
    [sent] = emu.sent_to(7)
    assert (sent.method, sent.text, sent.photo) == ("sendPhoto", "二维码", b"\x89PNG-bytes")


def test_it_holds_a_long_poll_until_an_update_arrives(emu: BotAPIEmulator) -> None:
    async def poll() -> list[str]:
        async with Bot(TOKEN, base_url=emu.base_url) as bot:
            updates = await bot.get_updates(timeout=10, read_timeout=20)
            return [u.message.text for u in updates if u.message]

    threading.Timer(0.2, emu.user_sends_text, args=(7, "来了")).start()
    assert asyncio.run(poll()) == ["来了"]


def test_it_drops_confirmed_updates_and_filters_by_kind(emu: BotAPIEmulator) -> None:
    first = emu.user_sends_text(7, "一")
    emu.user_sends_text(7, "二")

    async def poll() -> tuple[list[str], list[str]]:
        async with Bot(TOKEN, base_url=emu.base_url) as bot:
            after = await bot.get_updates(offset=first["update_id"] + 1)
            presses = await bot.get_updates(allowed_updates=["callback_query"])
            return [u.message.text for u in after if u.message], [str(u) for u in presses]

    assert asyncio.run(poll()) == (["二"], [])


@pytest.mark.parametrize(("kind", "error", "text"), [
    ("429", RetryAfter, "Flood control"),
    ("500", NetworkError, "Internal Server Error"),
    ("502", NetworkError, "Bad Gateway"),
    ("403", Forbidden, "blocked by the user"),
    ("chat_not_found", BadRequest, "not found"),
])
def test_it_injects_faults_that_ptb_raises_as_telegrams(
    emu: BotAPIEmulator, kind: str, error: type[Exception], text: str
) -> None:
    emu.user_sends_text(7, "hi")
    emu.fail_next(kind)

    async def send_twice() -> str:
        async with Bot(TOKEN, base_url=emu.base_url) as bot:
            with pytest.raises(error, match=text):
                await bot.send_message(7, "一")
            return (await bot.send_message(7, "二")).text or ""

    assert asyncio.run(send_twice()) == "二"  # only the next call fails
    assert emu.texts(7) == ["二"]


def test_it_answers_429_itself_when_limits_are_enforced(emu: BotAPIEmulator) -> None:
    emu.user_sends_text(7, "hi")
    emu.enforce_limits = True

    async def burst() -> None:
        async with Bot(TOKEN, base_url=emu.base_url) as bot:
            await bot.send_message(7, "一")
            with pytest.raises(RetryAfter):
                await bot.send_message(7, "二")

    asyncio.run(burst())
    assert emu.texts(7) == ["一"] and len(emu.throttled) == 1


def test_it_flags_sends_that_break_the_per_chat_limit(emu: BotAPIEmulator) -> None:
    emu.user_sends_text(7, "hi")

    async def burst() -> None:
        async with Bot(TOKEN, base_url=emu.base_url) as bot:
            await bot.send_message(7, "一")
            await bot.send_message(7, "二")

    asyncio.run(burst())
    [violation] = emu.rate_violations()
    assert "chat 7" in violation


def test_it_serves_small_files_and_refuses_big_ones(emu: BotAPIEmulator) -> None:
    small = emu.user_sends_document(7, b"%PDF-1.7 small")
    big = emu.user_sends_document(7, size=30 * 1024 * 1024)

    async def fetch() -> bytes:
        async with Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url) as bot:
            with pytest.raises(BadRequest, match="too big"):
                await bot.get_file(big["document"]["file_id"])
            f = await bot.get_file(small["document"]["file_id"])
            return bytes(await f.download_as_bytearray())

    assert asyncio.run(fetch()) == b"%PDF-1.7 small"


def test_it_answers_after_its_latency_and_counts_the_calls_in_flight() -> None:
    with BotAPIEmulator(latency=0.2) as emu:
        emu.add_chats([7, 8, 9])

        async def three_at_once() -> None:
            async with Bot(TOKEN, base_url=emu.base_url) as bot:
                await asyncio.gather(*(bot.send_message(chat, "你好") for chat in (7, 8, 9)))

        asyncio.run(three_at_once())
        assert emu.most_at_once == 3
        assert all(end - start >= 0.2 for start, end in emu.send_spans)
        assert [emu.texts(c) for c in (7, 8, 9)] == [["你好"]] * 3


def test_it_answers_429_to_a_sender_that_breaks_the_limits_and_lists_each() -> None:
    with BotAPIEmulator(enforce_limits=True) as emu:
        emu.add_chats([7])

        async def twice() -> None:
            async with Bot(TOKEN, base_url=emu.base_url) as bot:
                await bot.send_message(7, "一")
                with pytest.raises(RetryAfter):
                    await bot.send_message(7, "二")  # within a second of the first

        asyncio.run(twice())
        assert emu.texts(7) == ["一"]
        assert len(emu.throttled) == 1 and "chat 7" in emu.throttled[0]


def test_it_posts_each_chats_updates_to_the_webhook_in_order_until_answered_200() -> None:
    """With post_to_webhook, as Telegram: a POST answered 500 (or never answered) is made
    again, and a chat's next update waits for the one before it."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    got: list[tuple[int, str]] = []
    failed_once: set[int] = set()

    class Hook(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            update = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            got.append((update["update_id"], self.headers["X-Telegram-Bot-Api-Secret-Token"]))
            first = update["update_id"] not in failed_once
            failed_once.add(update["update_id"])
            self.send_response(500 if first else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with BotAPIEmulator(post_to_webhook=True) as emu:
        first = emu.user_sends_text(7, "一")["update_id"]
        second = emu.user_sends_text(7, "二")["update_id"]
        httpx.post(f"{emu.base_url}{TOKEN}/setWebhook",
                   json={"url": f"http://127.0.0.1:{server.server_address[1]}/hook",
                         "secret_token": "s3cret"})
        emu.wait_for(lambda: emu.webhook_pending() == 0, timeout=15)
        posts = dict(emu.webhook_posts)
    server.shutdown()

    assert got == [(first, "s3cret"), (first, "s3cret"), (second, "s3cret"), (second, "s3cret")]
    assert posts == {"answered": 2, "failed": 2, "HTTPError": 2}
