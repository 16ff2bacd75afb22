"""Exactly-once intake under crashes (issue 15, point 2): a drill, not a speed test.

Simulated citizens fill the report form over Telegram (through the Bot API
emulator, `tests/botapi_emulator.py`, which the real bot polls over HTTP, or
which posts each update to `minyi bot`'s webhook and posts it again until
answered 200, as Telegram does) and over the web chat (HTTP with cookies),
CONCURRENCY conversations at a time, each its own chat, while a killer thread
sends SIGKILL to the real processes at random moments and starts them again:
`minyi serve` on SQLite (polling), or `minyi web` + `minyi bot` (webhook) +
`minyi worker` on a fresh PostgreSQL database. Then every confirmed report is
adopted through the review code, and the worker delivers the feedback while
it is still being killed.

Where the wall time goes: a restart costs 2-6 s (Python imports, on a busy
machine), during which that process's clients wait; the server answers about
as many steps as 40 conversations with a person's thinking time ask for, so
more in flight only makes queues (and, for the polling bot, bigger batches
handled again after each kill).

Checked at the end:
- every receipt a client saw is exactly one report, and no report exists
  that no client saw a receipt for (except abandoned conversations);
- every stored answer is the one the client gave to that step (an input
  applied twice shows as an answer in the wrong step);
- every feedback message is delivered exactly once per chat, in the order written.

    python -m bench.crash_drill --conversations 1000 [--postgres URL]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.table import Options, Row, Wrong

ROOT = Path(__file__).resolve().parent.parent
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
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
# The receipt; or, when its first showing was lost to a crash, the answer to pressing 确认提交 again.
RECEIPT = re.compile(r"提交成功.*?信息编号：(\S+)|已经提交过了，编号 ([\w-]+)", re.S)
ABANDON_SHARE = 0.05  # conversations the client gives up on halfway
SECOND_REPORT_SHARE = 0.2  # chats that file a second report after the first receipt
THINK = (0.2, 1.2)  # seconds a person takes to read a question and answer it
PATIENCE = 8.0  # seconds a web client waits for an HTTP answer before it asks again
ANSWER_WITHIN = 60.0  # seconds with every process up before a Telegram input counts as lost
CONCURRENCY = 40  # conversations in flight at once: about what the server answers without a queue
KILL_EVERY = 12.0  # seconds between SIGKILLs, about; a restart takes 2-6 s on a busy machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the processes ---------------------------------------------------------------


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


# -- the citizens ----------------------------------------------------------------


@dataclass
class Filing:
    """One report a client means to file: its answers, and what it saw."""

    title: str
    answers: list[Any]  # tests.form_walk.Answer, in the order the form asks
    answered: list[str] = field(default_factory=list)  # steps whose answer got a reply
    receipt: str | None = None  # the tracking number the client was shown
    abandoned: bool = False
    confirmed: bool = False  # the client pressed 确认提交 at least once


@dataclass
class Client:
    """One chat: Telegram (user id) or the web (a cookie jar)."""

    n: int
    channel: str  # telegram | web
    filings: list[Filing] = field(default_factory=list)
    chat: str = ""  # Telegram: the chat id; web: filled from the transcript's owner
    stalls: int = 0  # seconds past PATIENCE an answer kept the client waiting with every process up
    problems: list[str] = field(default_factory=list)
    web_seen: dict[int, dict[str, Any]] = field(default_factory=dict)  # web transcript by id
    player: Any = None  # the web client, kept to poll for feedback afterwards


def _filing(n: int, k: int, rnd: random.Random) -> Filing:
    from tests.form_walk import CONTACT, SITUATION, SUGGESTION, form, walk

    categories = [c.value for c in form().step("category").choices]
    title = f"第{n}号会话第{k}件路灯问题"
    choose = {"category": rnd.choice(categories), "title": title,
              "situation": f"会话{n}-{k}：{SITUATION}", "suggestion": f"会话{n}-{k}：{SUGGESTION}",
              "place": f"城关镇人民路{n}号", "urgent": rnd.random() < 0.3, "anonymous": False,
              "contact": f"{CONTACT[:3]}{n} 13800000000"}
    return Filing(title, walk(choose=choose, skip=("analysis", "photos")))


def _asks(text: str, filing: Filing) -> Any:
    """The step (an Answer of the walk) whose question `text` is, else None."""
    for a in filing.answers:
        if a.step.prompt["zh"][:10] in text:
            return a
    return None


class Conversations:
    """The clients' side: play each conversation on its channel, with a human's patience."""

    def __init__(self, emu: Any, web_url: str, token: str, procs: dict[str, Proc],
                 seed: int) -> None:
        self.emu, self.web_url, self.token, self.procs = emu, web_url, token, procs
        self.seed = seed

    def everyone_up(self) -> bool:
        return all(p.up.is_set() for p in self.procs.values())

    def play(self, client: Client) -> None:
        rnd = random.Random(self.seed * 100_003 + client.n)
        try:
            if client.channel == "telegram":
                TelegramPlayer(self, client, rnd).play()
            else:
                client.player = WebPlayer(self, client, rnd)
                client.player.play()
        except Exception as exc:  # noqa: BLE001 - a client's failure is one problem, not the drill's end
            seen = (self.emu.texts(int(client.chat)) if client.channel == "telegram" else
                    [m["text"] for _, m in sorted(client.web_seen.items())])
            client.problems.append(f"{client.channel} #{client.n}: the client failed: {exc!r}; "
                                   f"the chat's last lines: {[t[:40] for t in seen[-8:]]}")


class Player:
    """What both channels' clients do: answer the question the chat shows, as a person would."""

    def __init__(self, convs: Conversations, client: Client, rnd: random.Random) -> None:
        self.convs, self.client, self.rnd = convs, client, rnd

    # Each channel: send one input, return the newest prompt (text, buttons) once answered.
    def start(self) -> tuple[str, list[tuple[str, str]]] | None: ...
    def text(self, value: str) -> tuple[str, list[tuple[str, str]]] | None: ...
    def press(self, data: str) -> tuple[str, list[tuple[str, str]]] | None: ...

    def play(self) -> None:
        c = self.client
        c.filings.append(_filing(c.n, 1, self.rnd))
        if self.rnd.random() < SECOND_REPORT_SHARE:
            c.filings.append(_filing(c.n, 2, self.rnd))
        abandon_at = (self.rnd.randrange(len(c.filings[0].answers) + 1)
                      if self.rnd.random() < ABANDON_SHARE else None)
        prompt = self._until_answered(self.start)
        for i, filing in enumerate(c.filings):
            if i > 0:
                if prompt is None or not (data := _button(prompt[1], "反映新问题")):
                    c.problems.append(f"{c.channel} #{c.n}: no 反映新问题 button after a receipt")
                    return
                prompt = self._until_answered(functools.partial(self.press, data))
            prompt = self._fill(filing, prompt, abandon_at if i == 0 else None)
            if filing.abandoned or filing.receipt is None:
                return

    def _until_answered(self, send: Callable[[], Any]) -> Any:
        """Send once, after reading the question; the answer, or `Wrong` when it never comes."""
        time.sleep(self.rnd.uniform(*THINK))
        got = send()
        if got is None:
            # Telegram hands an update over until the bot confirms it, and the web client sends
            # the same mid until it is answered: no answer is an input lost.
            raise Wrong(f"an input was never answered ({ANSWER_WITHIN:.0f} s with every process up)")
        return got

    def lines(self) -> list[str]:
        """Everything the chat has shown so far, oldest first."""
        raise NotImplementedError

    def later(self) -> tuple[str, list[tuple[str, str]]] | None:
        """A prompt newer than the one answered last, once one comes; None when none will."""
        return None  # the web chat answers a turn whole

    def _fill(self, filing: Filing, prompt: Any, abandon_at: int | None) -> Any:
        steps = 0
        shown = len(self.lines())
        for _ in range(len(filing.answers) * 6 + 20):
            text, buttons = prompt
            # A receipt counts wherever it came, also above a question asked again after a crash.
            if m := next(filter(None, map(RECEIPT.search, self.lines()[shown:])), None):
                filing.receipt = m.group(1) or m.group(2)
                return prompt
            if abandon_at is not None and steps >= abandon_at:
                filing.abandoned = True
                return prompt
            if "请核对" in text and (data := _button(buttons, "确认提交")):
                filing.confirmed = True
                prompt = self._until_answered(functools.partial(self.press, data))
                steps += 1
                continue
            asked = _asks(text, filing)
            if asked is None:
                # Not a question of the form (a notice after a restart, a stale button's
                # answer): the question comes again with the next message, or on 继续.
                data = _button(buttons, "继续") or _button(buttons, "返回")
                if data is None and (later := self.later()) is not None:
                    prompt = later  # the last of an earlier turn's replies, come in late
                    continue
                if data is None:
                    raise Wrong(f"cannot tell what the chat asks: {text[:120]!r} {buttons}")
                prompt = self._until_answered(functools.partial(self.press, data))
                continue
            prompt = self._until_answered(functools.partial(self._answer, asked, buttons))
            filing.answered.append(asked.key)
            steps += 1
        raise Wrong(f"conversation #{self.client.n} went round in circles: {prompt[0][:200]!r}")

    def _answer(self, a: Any, buttons: list[tuple[str, str]]) -> Any:
        if a.skip or a.kind in ("choice", "yesno"):
            data = _button(buttons, a.label)
            if data is None:
                raise Wrong(f"no button {a.label!r} for step {a.key}: {buttons}")
            return self.press(data)
        return self.text(str(a.value))


def _button(buttons: list[tuple[str, str]], label: str) -> str | None:
    return next((data for text, data in buttons if label in text), None)


class TelegramPlayer(Player):
    """A Telegram user: each input is a new update; an answer is the bot's next message."""

    def __init__(self, convs: Conversations, client: Client, rnd: random.Random) -> None:
        super().__init__(convs, client, rnd)
        self.user = 700_000 + client.n
        client.chat = str(self.user)
        self.prompt_id = 0  # the message whose buttons the user presses

    def _wait(self, before: int) -> tuple[str, list[tuple[str, str]]] | None:
        """The newest message with buttons after the first `before` ones, once one arrives."""
        emu = self.convs.emu
        # Only time with every process up counts: the kills go on all through the play, so
        # an unbroken ANSWER_WITHIN of it may never come.
        up_for, counted, last = 0.0, 0, time.monotonic()
        while up_for < ANSWER_WITHIN:
            now = time.monotonic()
            if self.convs.everyone_up():
                up_for += now - last
            last = now
            if up_for > PATIENCE + counted:
                self.client.stalls += 1  # slow, counted once a second past PATIENCE
                counted += 1
            news = [s for s in emu.sent_to(self.user)[before:] if s.reply_markup]
            if news:
                time.sleep(0.05)  # the rest of a turn's replies
                news = [s for s in emu.sent_to(self.user)[before:] if s.reply_markup]
                # The receipt, when a question asked again after a crash came in behind it.
                last = next((s for s in news if RECEIPT.search(s.text or "")), news[-1])
                self.prompt_id = last.message_id
                return last.text or "", [(t, d) for row in last.buttons for t, d in row]
            # Woken by the bot's next message to this chat (a turn may send several).
            emu.wait_sent(self.user, len(emu.sent_to(self.user)), 1.0)
        return None

    def lines(self) -> list[str]:
        return self.convs.emu.texts(self.user)

    def later(self) -> Any:
        # A turn's replies are separate sends: the idle prompt after a receipt can come in
        # after the client pressed 反映新问题, and pass for that press's answer.
        sent = self.convs.emu.sent_to(self.user)
        at = next((i for i, s in enumerate(sent) if s.message_id == self.prompt_id), None)
        return None if at is None else self._wait(at + 1)

    def start(self) -> Any:
        before = len(self.convs.emu.sent_to(self.user))
        self.convs.emu.user_sends_command(self.user, "start", self.convs.token)
        return self._wait(before)

    def text(self, value: str) -> Any:
        before = len(self.convs.emu.sent_to(self.user))
        self.convs.emu.user_sends_text(self.user, value)
        return self._wait(before)

    def press(self, data: str) -> Any:
        before = len(self.convs.emu.sent_to(self.user))
        self.convs.emu.user_presses(self.user, data, self.prompt_id)
        return self._wait(before)


class WebPlayer(Player):
    """A browser: each input carries a message id (mid) it sends again, unchanged, until answered."""

    def __init__(self, convs: Conversations, client: Client, rnd: random.Random) -> None:
        super().__init__(convs, client, rnd)
        n = client.n
        self.http = httpx.Client(base_url=convs.web_url, timeout=PATIENCE, headers={
            "X-Forwarded-For": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"})
        self.after = 0
        self.csrf = ""

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        """POST until an answer comes (only then, and with the same mid each time)."""
        body = {**body, "mid": secrets.token_urlsafe(12)}
        for _ in range(200):
            try:
                resp = self.http.post(f"{path}?after={self.after}", json=body,
                                      headers={"X-CSRFToken": self.csrf})
            except httpx.TransportError:
                self._patience()
                continue
            if resp.status_code >= 500 or resp.status_code == 429:
                self._patience()
                continue
            if resp.status_code != 200:
                raise Wrong(f"{path} answered {resp.status_code}: {resp.text[:200]}")
            return self._take(resp.json()["messages"])
        raise Wrong(f"{path} never answered")

    def _patience(self) -> None:
        if self.convs.everyone_up():
            self.client.stalls += 1
        time.sleep(0.3)

    def _take(self, messages: list[dict[str, Any]]) -> Any:
        for m in messages:
            self.client.web_seen[m["id"]] = m
            self.after = max(self.after, m["id"])
        # Answered: the question now is the newest one the transcript shows (an input the
        # engine let pass, as in a flood, leaves the last question standing).
        shown = [m for _, m in sorted(self.client.web_seen.items())
                 if m["dir"] == "out" and m["buttons"]]
        if not shown:
            return None
        last = next((m for m in messages if m["dir"] == "out" and RECEIPT.search(m["text"])),
                    shown[-1])
        return last["text"], [(b["label"], b["data"]) for row in last["buttons"] for b in row]

    def lines(self) -> list[str]:
        return [m["text"] for _, m in sorted(self.client.web_seen.items()) if m["dir"] == "out"]

    def start(self) -> Any:
        for _ in range(200):
            try:
                page = self.http.get(f"/c/{self.convs.token}")
                if page.status_code == 200 and (m := CSRF.search(page.text)):
                    self.csrf = m.group(1)
                    break
            except httpx.TransportError:
                pass
            self._patience()
        return self._post("/c/api/open", {"token": self.convs.token})

    def text(self, value: str) -> Any:
        return self._post("/c/api/send", {"text": value})

    def press(self, data: str) -> Any:
        return self._post("/c/api/send", {"callback": data})

    def poll(self) -> None:
        """Fetch the transcript's new lines, as the open page does."""
        for _ in range(200):
            try:
                resp = self.http.get("/c/api/poll", params={"after": self.after})
                if resp.status_code == 200:
                    self._take(resp.json()["messages"])
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)


# -- the drill -------------------------------------------------------------------


@dataclass
class Result:
    conversations: int
    kills: Counter[str]
    problems: list[str]
    receipts: int
    reports: int
    feedback: int
    stalls: int
    mode: str
    seconds: float
    cpu: float = 0.0  # seconds: the drill's own process and the reaped minyi processes
    webhook_posts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        kills = ", ".join(f"{k} {n}" for k, n in sorted(self.kills.items())) or "none"
        posts = (f"; webhook posts {self.webhook_posts}" if self.webhook_posts else "")
        return (f"crash drill ({self.mode}): {self.conversations} conversations, kills: {kills}; "
                f"{self.receipts} receipts, {self.reports} reports, {self.feedback} feedback "
                f"messages; {self.stalls} waits for an answer; {len(self.problems)} problems "
                f"({self.seconds:.0f} s wall, {self.cpu:.0f} s CPU{posts})")


def _cpu() -> float:
    """CPU seconds of this process and its reaped children (PostgreSQL's own not included)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


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


@contextlib.contextmanager
def _database(postgres_url: str | None, base: Path) -> Iterator[str]:
    if postgres_url is None:
        yield f"sqlite:///{base / 'instance' / 'minyi.sqlite3'}"
        return
    from bench import pg

    with pg.fresh(postgres_url) as url:
        yield url


def run(conversations: int, *, postgres_url: str | None = None, seed: int = 15,
        kill_every: float = KILL_EVERY, concurrency: int = CONCURRENCY, base: Path | None = None,
        webhook: bool | None = None, say: Callable[..., None] = print) -> Result:
    """The drill: `conversations` chats, half on Telegram and half on the web chat.

    `webhook` (default: on PostgreSQL) has the emulator post updates to `minyi bot`'s webhook
    instead of the bot polling; only the split deployment takes a webhook.
    """
    import tempfile

    from store import sealing
    from tests.botapi_emulator import BotAPIEmulator

    webhook = postgres_url is not None if webhook is None else webhook
    if webhook and postgres_url is None:
        raise ValueError("the webhook is `minyi bot`'s: run it on PostgreSQL (--postgres)")
    started, cpu_before = time.monotonic(), _cpu()
    with contextlib.ExitStack() as stack:
        if base is None:
            base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="crash-drill-")))
        (base / "instance").mkdir(parents=True, exist_ok=True)
        emu = stack.enter_context(BotAPIEmulator(post_to_webhook=webhook))
        url = stack.enter_context(_database(postgres_url, base))
        port = _free_port()
        data_key = sealing.new_key()
        env = _env(base, url, port, emu, data_key, _free_port() if webhook else None)
        _minyi(env, "init", "--admin-user", ADMIN, "--admin-password", ADMIN_PASSWORD)
        found = re.search(r"token:\s+(\S+)", _minyi(env, "point", "add", "城关镇便民服务中心",
                                                    "--address", "人民路1号"))
        if found is None:
            raise Wrong("minyi point add printed no token")
        web_url = env["PUBLIC_URL"]
        if postgres_url is None:
            mode = "minyi serve on SQLite"
            procs = {"serve": Proc("serve", ["serve"], env, base / "serve.log",
                                   _answers_web(web_url + "/login"))}
        else:
            mode = ("minyi web + bot (webhook) + worker on PostgreSQL" if webhook else
                    "minyi web + bot (polling) + worker on PostgreSQL")
            procs = {"web": Proc("web", ["web", "--bind", f"127.0.0.1:{port}"], env,
                                 base / "web.log", _answers_web(web_url + "/login")),
                     "bot": Proc("bot", ["bot"], env, base / "bot.log",
                                 _answers_web(f"http://127.0.0.1:{env['BOT_PORT']}/healthz")
                                 if webhook else None),
                     "worker": Proc("worker", ["worker"], env, base / "worker.log")}
        for p in procs.values():
            stack.callback(p.stop)
            p.start()
        say(f"crash drill: {mode}, {conversations} conversations, logs in {base}")
        convs = Conversations(emu, web_url, found.group(1), procs, seed)
        clients = [Client(n, "telegram" if n % 2 else "web") for n in range(conversations)]
        killer = Killer(list(procs.values()), kill_every, seed)
        killer.start()
        _play_all(convs, clients, concurrency, say)
        sealing.install(sealing.Keyring.of([data_key]))
        adopted = _adopt_all(url, clients, say)
        problems = _await_feedback(url, emu, clients, say)
        say("  feedback delivered while the killer was at work")
        killer.stop()
        if killer.failed is not None:
            raise Wrong(f"the killer failed: {killer.failed!r}")
        for p in procs.values():
            if not p.up.is_set():
                p.start()
        problems += _await_feedback(url, emu, clients, say, final=True)
        if webhook and (left := emu.webhook_pending()):
            problems.append(f"{left} updates never answered 200 by the webhook")
        problems += _check(url, emu, clients, killer.times)
        sealing.install(None)
        receipts = sum(1 for c in clients for f in c.filings if f.receipt)
        for p in procs.values():
            p.stop()  # reaped, so that their CPU time counts
        result = Result(conversations, killer.kills, problems, receipts, len(adopted),
                        _feedback_count(url), sum(c.stalls for c in clients), mode,
                        time.monotonic() - started, _cpu() - cpu_before,
                        dict(emu.webhook_posts))
    say(result.summary())
    for problem in problems[:50]:
        say("  problem:", problem)
    return result


def _play_all(convs: Conversations, clients: list[Client], concurrency: int,
              say: Callable[..., None]) -> None:
    queue = list(reversed(clients))
    lock = threading.Lock()
    done = [0]

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                client = queue.pop()
            convs.play(client)
            with lock:
                done[0] += 1
                if done[0] % 100 == 0:
                    say(f"  {done[0]} conversations played")

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _sessions(url: str) -> Any:
    from store.db import make_engine, make_sessionmaker

    return make_engine(url), make_sessionmaker


def _adopt_all(url: str, clients: list[Client], say: Callable[..., None]) -> dict[str, str]:
    """Adopt every report, as an office with a single reviewer would; tracking no -> title."""
    import sqlalchemy as sa

    from store.db import make_engine, make_sessionmaker
    from store.models import Report, User
    from store.review import separation
    from tests.review_support import adopt

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    adopted: dict[str, str] = {}
    try:
        with sessions() as s:
            separation.set_single_reviewer(s, True)
            s.commit()
            ids = list(s.scalars(sa.select(Report.id).order_by(Report.id)))

        def one(report_id: int) -> None:
            with sessions() as s:
                admin = s.scalars(sa.select(User).where(User.username == ADMIN)).one()
                report = s.get(Report, report_id)
                assert report is not None
                adopted[report.tracking_no] = report.title
                adopt(s, report, admin)
                s.commit()

        # Reviewers side by side on PostgreSQL; SQLite takes one writer at a time anyway.
        with ThreadPoolExecutor(1 if engine.dialect.name == "sqlite" else 4) as pool:
            list(pool.map(one, ids))
    finally:
        engine.dispose()
    say(f"  {len(adopted)} reports adopted")
    return adopted


def _feedback_count(url: str) -> int:
    import sqlalchemy as sa

    from store.db import make_engine
    from store.models import OutboxMessage

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) or 0)
    finally:
        engine.dispose()


def _await_feedback(url: str, emu: Any, clients: list[Client], say: Callable[..., None],
                    *, final: bool = False, patience: float = 90.0) -> list[str]:
    """Wait until no outbox row is left unsent (the killer may still be at work)."""
    import sqlalchemy as sa

    from store.db import make_engine
    from store.models import OutboxMessage, OutboxStatus

    engine = make_engine(url)
    deadline = time.monotonic() + patience
    try:
        while True:
            with engine.connect() as conn:
                left = conn.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status != OutboxStatus.SENT))
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        engine.dispose()
    if left and final:
        return [f"{left} feedback messages still unsent after {patience:.0f}s"]
    return []


def _check(url: str, emu: Any, clients: list[Client], kills: list[tuple[float, str]]) -> list[str]:
    import sqlalchemy as sa

    from store.db import make_engine, make_sessionmaker
    from store.models import Report

    problems = [p for c in clients for p in c.problems]
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            problems += _check_filings(clients, list(s.scalars(sa.select(Report).order_by(Report.id))))
            problems += _check_feedback(s, emu, clients, kills)
    finally:
        engine.dispose()
    return problems


def _check_filings(clients: list[Client], reports: list[Any]) -> list[str]:
    """Each receipt one report, no report without one, each stored answer the one given."""
    from store import sealing

    problems: list[str] = []
    by_title: dict[str, list[Any]] = {}
    for r in reports:
        by_title.setdefault(r.title, []).append(r)
    filings = {f.title: (c, f) for c in clients for f in c.filings}
    for title, rs in by_title.items():
        if len(rs) > 1:
            problems.append(f"{title}: {len(rs)} reports ({', '.join(r.tracking_no for r in rs)})")
        if title not in filings:
            problems.append(f"report {rs[0].tracking_no} ({title!r}) matches no filing")
    for title, (c, f) in filings.items():
        rs = by_title.get(title, [])
        if f.receipt is not None:
            if [r.tracking_no for r in rs] != [f.receipt]:
                problems.append(f"{c.channel} #{c.n}: receipt {f.receipt} but reports "
                                f"{[r.tracking_no for r in rs]}")
        elif rs and not f.abandoned:
            problems.append(f"{c.channel} #{c.n}: report {rs[0].tracking_no} stored but the "
                            "client saw no receipt")
        for r in rs[:1]:
            for a in f.answers:
                got = sealing.open_json((r.answers or {}).get(a.key))
                if a.key in f.answered and got != a.answer:
                    problems.append(f"{c.channel} #{c.n} {r.tracking_no}: step {a.key} stored "
                                    f"{got!r}, answered {a.answer!r}")
    return problems


def _check_feedback(s: Any, emu: Any, clients: list[Client],
                    kills: list[tuple[float, str]]) -> list[str]:
    """Each outbox row delivered once, each chat's in the order written. A Telegram message
    delivered twice says how long before a SIGKILL of the sending process its first copy was
    accepted: a kill between Telegram's answer and its record is the one way a send can go
    twice that no code can close (Telegram cannot be asked whether a message arrived)."""
    import sqlalchemy as sa

    from store.models import Channel, OutboxMessage

    problems: list[str] = []
    rows = list(s.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
    owed: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        owed.setdefault((row.channel.value, row.chat_id), []).append(row.text)
    for (channel, chat), texts in owed.items():
        if channel == Channel.TELEGRAM.value:
            got = [t for t in emu.texts(int(chat)) if t in set(texts)]
        else:
            got = _web_delivered(s, chat, clients, set(texts))
        counts = Counter(got)
        for text in set(texts):
            if counts[text] != texts.count(text):
                why = (_why_twice([m.at for m in emu.sent_to(int(chat)) if m.text == text], kills)
                       if channel == Channel.TELEGRAM.value and counts[text] > 1 else "")
                problems.append(f"{channel} chat {chat}: feedback delivered {counts[text]}× "
                                f"(owed {texts.count(text)}×){why}: {text[:60]!r}")
        if got != texts and all(counts[t] == texts.count(t) for t in set(texts)):
            problems.append(f"{channel} chat {chat}: feedback out of order")
    return problems


# The processes that send feedback, and how soon after a copy went a SIGKILL of one of them
# may have caught that send's answer before it was recorded.
SENDERS = {"serve", "worker"}
IN_DOUBT = 5.0


def _why_twice(copies: list[float], kills: list[tuple[float, str]]) -> str:
    """Where a doubled Telegram message came from: the kill that followed its first copy."""
    first = min(copies, default=math.inf)
    after = [(at - first, name) for at, name in kills if name in SENDERS and at >= first]
    if after and min(after)[0] <= IN_DOUBT:
        gap, name = min(after)
        return f"; first copy accepted {gap * 1000:.0f} ms before a SIGKILL of {name}"
    return f"; no SIGKILL of a sending process within {IN_DOUBT:.0f} s after the first copy"


def _web_delivered(s: Any, chat: str, clients: list[Client], texts: set[str]) -> list[str]:
    """What the web chat's visitor was shown of `texts`, by the page's own polling."""
    import sqlalchemy as sa

    from store.models import WebChatMessage

    stored = list(s.scalars(sa.select(WebChatMessage).where(
        WebChatMessage.chat_id == chat, WebChatMessage.outbox_id.is_not(None))
        .order_by(WebChatMessage.id)))
    ids = {m.id for m in stored}
    for c in clients:
        if c.channel == "web" and ids & set(c.web_seen):
            player = c.player
            if player is not None:
                player.poll()
            return [m["text"] for _, m in sorted(c.web_seen.items()) if m["id"] in ids
                    and m["text"] in texts] + [m.text for m in stored if m.id not in c.web_seen]
    return [m.text for m in stored if m.text in texts]


# -- python -m bench and the command line -----------------------------------------


def rows(opts: Options) -> list[Row]:
    """One row: the full drill (1,000 conversations; 40 with `quick`), problems found."""
    n = 40 if opts.quick else 1000
    found = [run(n, say=opts.say)]
    if opts.postgres_url:
        found.append(run(n, postgres_url=opts.postgres_url, say=opts.say))
    out = []
    for r in found:
        kills = sum(r.kills.values())
        out.append(Row(key=f"15.2 {'pg' if 'PostgreSQL' in r.mode else 'sqlite'}",
                       what=f"{r.conversations} conversations, {kills} SIGKILLs ({r.mode})",
                       figure=float(len(r.problems)), unit="problems", goal="= 0",
                       met=not r.problems and kills > 0, higher_is_better=False,
                       note=f"{r.receipts} receipts, {r.reports} reports, {r.feedback} feedback; "
                            f"{r.seconds:.0f} s wall, {r.cpu:.0f} CPU s"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--postgres", help="a PostgreSQL server URL: run the split deployment "
                                           "on a fresh database there (else minyi serve on SQLite)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--kill-every", type=float, default=KILL_EVERY,
                        help="seconds between kills, about")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY,
                        help="conversations in flight at once")
    parser.add_argument("--telegram", choices=("polling", "webhook"),
                        help="how `minyi bot` takes updates (default: webhook on PostgreSQL)")
    parser.add_argument("--keep", type=Path, help="a folder to keep the processes' logs in")
    args = parser.parse_args(argv)
    # Stopped from outside: the processes are stopped on the way out, not left running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t0 = time.monotonic()

    def say(*parts: Any) -> None:
        print(f"[{time.monotonic() - t0:5.0f} s]", *parts, flush=True)

    result = run(args.conversations, say=say, postgres_url=args.postgres, seed=args.seed,
                 kill_every=args.kill_every, concurrency=args.concurrency, base=args.keep,
                 webhook=None if args.telegram is None else args.telegram == "webhook")
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
