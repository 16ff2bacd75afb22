"""The minyi processes under test: their environment, start and SIGKILL, and the killer thread."""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.table import Wrong

ROOT = Path(__file__).resolve().parent.parent.parent
ADMIN, ADMIN_PASSWORD = "zhang", "Crash-drill-password-15"
# Settings a developer's environment or .env might carry: blanked for the processes.
SETTINGS = ("MINYI_ENV", "MINYI_INSTANCE", "DATABASE_URL", "SECRET_KEY", "PUBLIC_URL", "HOST",
            "PORT", "TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_USERNAME", "TELEGRAM_BASE_URL",
            "TELEGRAM_BASE_FILE_URL", "TELEGRAM_POLL_TIMEOUT", "TELEGRAM_WEBHOOK_URL",
            "TELEGRAM_WEBHOOK_SECRET", "MINYI_ADMIN_USER", "MINYI_ADMIN_PASSWORD",
            "WECHAT_APP_ID", "WECHAT_APP_SECRET", "WECHAT_TOKEN", "WECHAT_AES_KEY",
            "WECHAT_API_BASE", "WECHAT_TEMPLATE_ID", "MINYI_DATA_KEY", "MINYI_DATA_KEY_FILE",
            "REDIS_URL", "OUTBOX_LEASE_SECONDS", "WEB_WORKERS", "WEB_THREADS",
            "TRUSTED_PROXIES", "BOT_HOST", "BOT_PORT")
KILL_EVERY = 12.0  # seconds between SIGKILLs, about; a restart takes 2-6 s on a busy machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    """One `minyi` command, killed with its whole process group (gunicorn's workers too)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path,
                 ready: Callable[[], bool] | None = None) -> None:
        self.name, self.args, self.env, self.log, self.ready = name, args, env, log, ready
        self.proc: subprocess.Popen[bytes] | None = None
        self.up = threading.Event()

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "minyi", *self.args], env=self.env,
                                         cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=out, start_new_session=True)
        self.wait_ready()
        self.up.set()

    def wait_ready(self, patience: float = 90.0) -> None:
        deadline = time.monotonic() + patience
        while self.ready is not None and not self.ready():
            if self.proc is not None and self.proc.poll() is not None:
                raise Wrong(f"{self.name} exited with {self.proc.returncode}: see {self.log}")
            if time.monotonic() > deadline:
                raise Wrong(f"{self.name} did not come up within {patience}s: see {self.log}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a power cut would: nothing is finished."""
        self.up.clear()
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(40)
        except subprocess.TimeoutExpired:
            self.kill()


class Killer(threading.Thread):
    """Every `every` seconds or so, SIGKILL one of `procs` at random; start it again soon after."""

    def __init__(self, procs: list[Proc], every: float, seed: int) -> None:
        super().__init__(name="killer", daemon=True)
        self.procs, self.every = procs, every
        self.random = random.Random(seed)
        self.kills: Counter[str] = Counter()
        self.times: list[tuple[float, str]] = []  # (time.monotonic(), victim) of each SIGKILL
        self.halt = threading.Event()
        self.failed: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.halt.wait(self.random.uniform(0.3, 1.7) * self.every):
                victim = self.random.choice(self.procs)
                self.times.append((time.monotonic(), victim.name))
                victim.kill()
                self.kills[victim.name] += 1
                time.sleep(self.random.uniform(0.05, 0.5))  # the service manager's restart delay
                victim.start()
        except BaseException as exc:  # noqa: BLE001 - reported by the drill
            self.failed = exc

    def stop(self) -> None:
        self.halt.set()
        self.join(120)


def _env(base: Path, database_url: str, port: int, emu: Any, data_key: str,
         bot_port: int | None = None) -> dict[str, str]:
    from tests.botapi_emulator import TOKEN

    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update({name: "" for name in SETTINGS})
    env.update(
        MINYI_ENV="development", MINYI_INSTANCE=str(base / "instance"), DATABASE_URL=database_url,
        SECRET_KEY="crash-drill-secret-" + secrets.token_hex(8), HOST="127.0.0.1",
        PORT=str(port), PUBLIC_URL=f"http://127.0.0.1:{port}", PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1", MINYI_DATA_KEY=data_key, TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=emu.base_url, TELEGRAM_BASE_FILE_URL=emu.base_file_url,
        TELEGRAM_POLL_TIMEOUT="1",
        # A worker killed mid-send leaves its row to the others after this long.
        OUTBOX_LEASE_SECONDS="5", WEB_WORKERS="2", WEB_THREADS="8",
        # As behind nginx: each web client brings its own address (X-Forwarded-For).
        TRUSTED_PROXIES="1",
    )
    if bot_port is not None:
        # Telegram posts each update to `minyi bot` (the emulator does, as post_to_webhook).
        env.update(BOT_HOST="127.0.0.1", BOT_PORT=str(bot_port),
                   TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{bot_port}/telegram/webhook",
                   TELEGRAM_WEBHOOK_SECRET="crash-drill-hook_" + secrets.token_hex(8))
    return env


def _minyi(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "minyi", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=180)
    if done.returncode != 0:
        raise Wrong(f"minyi {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout


def _answers_web(url: str) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.TransportError:
            return False
    return ready
