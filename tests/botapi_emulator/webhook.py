"""Webhook posting (`post_to_webhook`): each chat's updates POSTed in order until answered 2xx."""

from __future__ import annotations

import json
import threading
from typing import Any

from tests.botapi_emulator.state import EmulatorState
from tests.botapi_emulator.wire import JSON, _chat_of_update, _ok, _public


class Webhook(EmulatorState):
    """setWebhook, and the thread that posts the updates there as Telegram does."""

    def _api_setWebhook(self, p: JSON, f: Any) -> tuple[int, JSON]:  # noqa: N802
        # Recorded for the test, which posts the updates there itself, as Telegram would.
        self.webhook = {"url": p.get("url"), "secret_token": p.get("secret_token")}
        with self._cond:
            if self.post_to_webhook and self._hook_thread is None:
                self._hook_thread = threading.Thread(target=self._post_updates, daemon=True,
                                                     name="webhook-poster")
                self._hook_thread.start()
        return _ok(True)

    def _post_updates(self) -> None:
        """Hand each chat's oldest unanswered update to a poster thread, until stopped."""
        while not self._stopping.is_set():
            with self._cond:
                while (self._hook_from < len(self._updates) and
                       self._updates[self._hook_from]["update_id"] in self._hooked):
                    self._hook_from += 1
                ready: list[JSON] = []
                seen: set[int | None] = set()
                for u in self._updates[self._hook_from:]:
                    chat = _chat_of_update(u)
                    if u["update_id"] in self._hooked or chat in seen:
                        continue
                    seen.add(chat)  # later ones of this chat wait for this one
                    if chat not in self._hook_busy:
                        self._hook_busy.add(chat)
                        ready.append(u)
                if not ready:
                    self._cond.wait(0.5)
            for u in ready:
                threading.Thread(target=self._post_one, args=(u,), daemon=True).start()

    def _post_one(self, update: JSON) -> None:
        import urllib.request

        hook = self.webhook or {}
        request = urllib.request.Request(
            str(hook.get("url")), data=json.dumps(_public(update), ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json",
                     "X-Telegram-Bot-Api-Secret-Token": str(hook.get("secret_token") or "")})
        ok = False
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - a test URL
                ok = 200 <= answer.status < 300
        except (OSError, ValueError) as exc:
            self.webhook_posts[type(exc).__name__] += 1
        if not ok:
            self._stopping.wait(0.3)  # Telegram waits before it posts the update again
        with self._cond:
            self.webhook_posts["answered" if ok else "failed"] += 1
            if ok:
                self._hooked.add(update["update_id"])
            self._hook_busy.discard(_chat_of_update(update))
            self._cond.notify_all()

    def webhook_pending(self) -> int:
        """Updates the webhook has not answered 2xx yet."""
        with self._cond:
            return sum(1 for u in self._updates[self._hook_from:]
                       if u["update_id"] not in self._hooked)
