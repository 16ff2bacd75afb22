"""`minyi serve` as people run it: a separate process, real HTTP, real signals.

The first test runs without a Telegram token (what a newcomer gets); the
second points the bot at the Bot API emulator and plays the whole loop across
the one process: a citizen scans, staff adopt in the console over HTTP, and
the notifier inside `serve` brings the news to the citizen's chat.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from store.db import make_engine, make_sessionmaker
from store.review import separation
from tests.botapi_emulator import TOKEN, BotAPIEmulator
from tests.conftest import DATA_KEY
from tests.domain_support import make_report
from tests.wechat_emulator import AES_KEY, APP_ID, APP_SECRET, WeChatEmulator
from tests.wechat_emulator import TOKEN as WECHAT_TOKEN

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
ADMIN, ADMIN_PASSWORD = "zhang", "serve-test-password"
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
SETTINGS = ("MINYI_ENV", "MINYI_INSTANCE", "DATABASE_URL", "SECRET_KEY", "PUBLIC_URL", "HOST",
            "PORT", "TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_USERNAME", "TELEGRAM_BASE_URL",
            "TELEGRAM_BASE_FILE_URL", "TELEGRAM_POLL_TIMEOUT", "MINYI_ADMIN_USER",
            "MINYI_ADMIN_PASSWORD", "WECHAT_APP_ID", "WECHAT_APP_SECRET", "WECHAT_TOKEN",
            "WECHAT_AES_KEY", "WECHAT_API_BASE", "WECHAT_TEMPLATE_ID", "MINYI_DATA_KEY",
            "MINYI_DATA_KEY_FILE")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of a fresh installation on SQLite; blanks keep a developer's .env out."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update({name: "" for name in SETTINGS})
    env.update(
        MINYI_ENV="development", MINYI_INSTANCE=str(tmp_path / "instance"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'instance' / 'minyi.sqlite3'}",
        SECRET_KEY="serve-test-secret-0123456789", HOST="127.0.0.1", PORT=str(port),
        PUBLIC_URL=f"http://127.0.0.1:{port}", PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1",
        # The tests' own key: what they write beside the server, it must read, and back.
        MINYI_DATA_KEY=DATA_KEY,
    )
    return env


def _minyi(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "minyi", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _set_up(env: dict[str, str]) -> str:
    """`minyi init` and `minyi point add`; returns the point's token."""
    _minyi(env, "init", "--admin-user", ADMIN, "--admin-password", ADMIN_PASSWORD)
    out = _minyi(env, "point", "add", "城关镇便民服务中心", "--address", "人民路1号")
    token = re.search(r"token:\s+(\S+)", out)
    assert token is not None, out
    return token.group(1)


class Served:
    def __init__(self, proc: subprocess.Popen[bytes], log: Path, url: str) -> None:
        self.proc, self.log_path, self.url = proc, log, url

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> int:
        """SIGTERM, as a service manager sends it; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


@contextmanager
def _serve(env: dict[str, str], tmp_path: Path) -> Iterator[Served]:
    log = tmp_path / "serve.log"
    with log.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "minyi", "serve"], env=env, cwd=ROOT,
                                stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    served = Served(proc, log, env["PUBLIC_URL"])
    try:
        _wait_until_listening(served)
        yield served
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def _wait_until_listening(served: Served, patience: float = 60.0) -> None:
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        if served.proc.poll() is not None:
            pytest.fail(f"minyi serve exited with {served.proc.returncode}:\n{served.log}")
        try:
            httpx.get(served.url + "/login", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"minyi serve did not answer within {patience}s:\n{served.log}")


def _csrf(client: httpx.Client, path: str) -> str:
    m = CSRF.search(client.get(path).text)
    assert m, f"no CSRF token on {path}"
    return m.group(1)


def _log_in(client: httpx.Client) -> None:
    page = client.post("/login", data={"username": ADMIN, "password": ADMIN_PASSWORD,
                                       "csrf_token": _csrf(client, "/login")})
    assert page.status_code == 200 and 'action="/logout"' in page.text, page.text


def test_it_serves_the_console_and_the_web_chat_without_a_bot(
    env: dict[str, str], tmp_path: Path
) -> None:
    token = _set_up(env)

    with _serve(env, tmp_path) as served:
        login = httpx.get(served.url + "/login")
        chat = httpx.get(f"{served.url}/c/{token}")
        forged = httpx.get(f"{served.url}/c/p1_1_AAAAAAAAAAAAAAAAAAAAAA")
        status = served.stop()

    assert login.status_code == 200 and 'name="password"' in login.text
    assert chat.status_code == 200 and "城关镇便民服务中心" in chat.text
    assert "城关镇便民服务中心" not in forged.text
    assert status == 0, served.log
    log = served.log
    assert "Telegram bot is off" in log
    assert f"web chat is available at {served.url}/c/" in log
    # One line per event, key=value, each request's line tagged with its request id (minyi.logs).
    assert re.search(r"^ts=\d{4}-\d\d-\d\dT\S+Z level=info ", log, re.M), log
    assert re.search(r'^ts=\S+ level=info logger=web.health event="req=[0-9a-f]{32}" msg="GET /login 200 ',
                     log, re.M), log
    assert "stopped" in log and "Traceback" not in log


def test_it_runs_bot_console_and_notifier_in_one_process(
    env: dict[str, str], tmp_path: Path
) -> None:
    token = _set_up(env)
    citizen = 5001
    with BotAPIEmulator() as emu:
        env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_BASE_URL=emu.base_url,
                   TELEGRAM_BASE_FILE_URL=emu.base_file_url, TELEGRAM_POLL_TIMEOUT="1")
        with _serve(env, tmp_path) as served, httpx.Client(base_url=served.url,
                                                           follow_redirects=True) as client:
            # The username came from getMe: the console's links use it once the bot, started in
            # the background beside the console, has been answered.
            _log_in(client)
            link = f"https://t.me/minyi_test_bot?start={token}"
            _wait(lambda: [link] if link in client.get("/points").text else [], 30)

            emu.user_sends_command(citizen, "start", token)
            welcome = emu.wait_for_reply(citizen, 0, timeout=60)
            assert "城关镇便民服务中心" in (welcome.text or "")

            # A writer beside the running server: BEGIN IMMEDIATE, so it queues on
            # the lock instead of failing when the server wrote after its first read.
            engine = make_engine(env["DATABASE_URL"])
            with make_sessionmaker(engine)() as s:
                report = make_report(s, external_id=str(citizen))
                report_id, tracking_no, version = report.id, report.tracking_no, report.version
                # One admin signs every level: an office configured for a single reviewer.
                separation.set_single_reviewer(s, True)
                s.commit()
            engine.dispose()
            # The admin may act at every level: 初审 and 审核 sign off, 审定 adopts.
            for step, action in enumerate(("sign_off", "sign_off", "adopt")):
                page = client.post(f"/reports/{report_id}/act", data={
                    "action": action, "version": str(version + step),
                    "adoption_level": "county",  # read by 采用 only
                    "csrf_token": _csrf(client, f"/reports/{report_id}")})
                assert page.status_code == 200

            feedback = emu.wait_for(
                lambda: [t for t in emu.texts(citizen) if tracking_no in t], timeout=60)
            status = served.stop()

    assert "已被采用" in feedback[0]
    assert status == 0, served.log
    assert "Telegram bot @minyi_test_bot is polling" in served.log
    assert "Traceback" not in served.log


def test_it_answers_wechat_and_brings_feedback_there_in_one_process(
    env: dict[str, str], tmp_path: Path
) -> None:
    token = _set_up(env)
    citizen = "oServeCitizen00000000000000"
    with WeChatEmulator() as emu:
        emu.add_template("TPL_serve")
        env.update(WECHAT_APP_ID=APP_ID, WECHAT_APP_SECRET=APP_SECRET, WECHAT_TOKEN=WECHAT_TOKEN,
                   WECHAT_AES_KEY=AES_KEY, WECHAT_API_BASE=emu.base_url,
                   WECHAT_TEMPLATE_ID="TPL_serve")
        with _serve(env, tmp_path) as served, httpx.Client(base_url=served.url,
                                                           follow_redirects=True) as client:
            # WeChat's servers post the scan of the point's code to the callback URL.
            scan = emu.subscribe(citizen, scene=token, encrypt=True)
            answer = client.post(scan.url, content=scan.body, headers={"Content-Type": "text/xml"})
            assert (answer.status_code, answer.text) == (200, "success")
            # The inbox worker that `serve` started answers it.
            welcome = _wait(lambda: emu.texts(citizen), 30)
            assert "城关镇便民服务中心" in welcome[0]

            engine = make_engine(env["DATABASE_URL"])
            with make_sessionmaker(engine)() as s:
                report = make_report(s, external_id=citizen)
                report_id, tracking_no, version = report.id, report.tracking_no, report.version
                separation.set_single_reviewer(s, True)
                s.commit()
            engine.dispose()
            _log_in(client)
            # The points page offers the point's WeChat code beside the others.
            assert "/qr/wechat.png" in client.get("/points").text
            for step, action in enumerate(("sign_off", "sign_off", "adopt")):
                page = client.post(f"/reports/{report_id}/act", data={
                    "action": action, "version": str(version + step),
                    "adoption_level": "county",
                    "csrf_token": _csrf(client, f"/reports/{report_id}")})
                assert page.status_code == 200

            feedback = _wait(lambda: [t for t in emu.texts(citizen) if tracking_no in t], 60)
            status = served.stop()

    assert "已被采用" in feedback[0]
    assert status == 0, served.log
    assert "channels switched on: web, wechat" in served.log
    assert "Traceback" not in served.log


def _wait(found: Callable[[], list[str]], timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if got := found():
            return got
        time.sleep(0.1)
    pytest.fail(f"nothing arrived within {timeout}s")
