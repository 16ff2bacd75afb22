"""`minyi web`, `minyi bot` (webhook) and `minyi worker` as separate processes on one database:
gunicorn answers with several workers, the bot takes Telegram's posts only with the secret,
and the worker delivers what the console owes a reporter."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from bench import procs
from store.db import make_engine, make_sessionmaker
from store.delivery import outbox
from store.models import Channel, Reporter
from tests.botapi_emulator import TOKEN, BotAPIEmulator
from tests.test_serve import ROOT, _free_port, _minyi, _set_up, env  # noqa: F401 (env: a fixture)

pytestmark = pytest.mark.e2e

SECRET = "webhook-secret-for-the-test"


def _answer(url: str, proc: subprocess.Popen[bytes], log: Path, **kwargs: object) -> httpx.Response:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if kwargs:
                return httpx.post(url, timeout=5, **kwargs)  # type: ignore[arg-type]
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer:\n{log.read_text(errors='replace')}")


def test_it_runs_web_bot_and_worker_apart(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    _set_up(env)
    bot_port = _free_port()
    with BotAPIEmulator() as emu:
        env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_BASE_URL=emu.base_url,
                   TELEGRAM_BASE_FILE_URL=emu.base_file_url,
                   TELEGRAM_WEBHOOK_URL="https://minyi.test/telegram/webhook",
                   TELEGRAM_WEBHOOK_SECRET=SECRET, BOT_PORT=str(bot_port))
        web_log, bot_log, worker_log = (tmp_path / f"{n}.log" for n in ("web", "bot", "worker"))
        with procs.started(env, web_log, "web", "--workers", "2", "--threads", "2", patience=30) as web, \
                procs.started(env, bot_log, "bot", patience=30) as bot, procs.started(env, worker_log, "worker", patience=30) as worker:
            login = _answer(env["PUBLIC_URL"] + "/login", web, web_log)
            assert login.status_code == 200 and "登录" in login.text
            assert web_log.read_text().count("Booting worker") == 2  # gunicorn, two processes

            hook = f"http://127.0.0.1:{bot_port}/telegram/webhook"
            update = emu.user_sends_text(4242, "/start")
            [posted] = [u for u in emu.updates() if u["update_id"] == update["update_id"]]
            refused = _answer(hook, bot, bot_log, json=posted)
            assert refused.status_code == 403
            assert emu.webhook == {"url": "https://minyi.test/telegram/webhook",
                                   "secret_token": SECRET}
            taken = httpx.post(hook, json=posted, timeout=5,
                               headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            assert taken.status_code == 200
            assert emu.wait_for_reply(4242, 0).text  # the bot answered the /start

            engine = make_engine(env["DATABASE_URL"])
            with make_sessionmaker(engine)() as session, session.begin():
                reporter = Reporter(channel=Channel.TELEGRAM, external_id="5151", chat_id="5151")
                session.add(reporter)
                session.flush()
                outbox.enqueue(session, reporter, "您反映的信息已被采用。")
            engine.dispose()
            emu.user_sends_text(5151, "你好")  # a chat exists once the user has written
            assert emu.wait_for_reply(5151, 0, timeout=30).text == "您反映的信息已被采用。"
            assert worker.poll() is None and bot.poll() is None
        assert "Telegram webhook listening" in bot_log.read_text()
        assert "worker running" in worker_log.read_text()
