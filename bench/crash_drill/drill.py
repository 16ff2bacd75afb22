"""The drill: the processes started, the conversations played under the killer, then checked."""

from __future__ import annotations

import contextlib
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.crash_drill.checks import _adopt_all, _await_feedback, _check, _feedback_count
from bench.crash_drill.citizens import Client
from bench.crash_drill.conversations import CONCURRENCY, Conversations, _play_all
from bench.crash_drill.processes import (
    ADMIN,
    ADMIN_PASSWORD,
    KILL_EVERY,
    Killer,
    Proc,
    _answers_web,
    _env,
    _free_port,
    _minyi,
)
from bench.table import Wrong


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
    # Telegram messages delivered twice because a SIGKILL of the sender fell in the moment
    # between Telegram's answer and its note: not problems (no code can close that moment).
    in_doubt: list[str] = field(default_factory=list)

    def summary(self) -> str:
        kills = ", ".join(f"{k} {n}" for k, n in sorted(self.kills.items())) or "none"
        posts = (f"; webhook posts {self.webhook_posts}" if self.webhook_posts else "")
        return (f"crash drill ({self.mode}): {self.conversations} conversations, kills: {kills}; "
                f"{self.receipts} receipts, {self.reports} reports, {self.feedback} feedback "
                f"messages; {self.stalls} waits for an answer; {len(self.problems)} problems; "
                f"{len(self.in_doubt)} doubled by a kill in the moment of doubt "
                f"({self.seconds:.0f} s wall, {self.cpu:.0f} s CPU{posts})")


def _cpu() -> float:
    """CPU seconds of this process and its reaped children (PostgreSQL's own not included)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


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
        wrong, in_doubt = _check(url, emu, clients, killer.times)
        problems += wrong
        sealing.install(None)
        receipts = sum(1 for c in clients for f in c.filings if f.receipt)
        for p in procs.values():
            p.stop()  # reaped, so that their CPU time counts
        result = Result(conversations, killer.kills, problems, receipts, len(adopted),
                        _feedback_count(url), sum(c.stalls for c in clients), mode,
                        time.monotonic() - started, _cpu() - cpu_before,
                        dict(emu.webhook_posts), in_doubt)
    say(result.summary())
    for problem in problems[:50]:
        say("  problem:", problem)
    for line in in_doubt:
        say("  doubled in the moment of doubt:", line)
    return result
