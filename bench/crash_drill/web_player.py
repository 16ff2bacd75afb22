"""A web chat visitor of the drill, playing over HTTP with cookies."""

from __future__ import annotations

import random
import re
import secrets
import time
from typing import TYPE_CHECKING, Any

import httpx

from bench.crash_drill.citizens import PATIENCE, RECEIPT, Client, Player
from bench.table import Wrong

if TYPE_CHECKING:
    from bench.crash_drill.conversations import Conversations

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


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
