"""All the conversations, CONCURRENCY at a time, each played on its channel."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

from bench.crash_drill.citizens import Client
from bench.crash_drill.processes import Proc
from bench.crash_drill.telegram_player import TelegramPlayer
from bench.crash_drill.web_player import WebPlayer

CONCURRENCY = 40  # conversations in flight at once: about what the server answers without a queue


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
