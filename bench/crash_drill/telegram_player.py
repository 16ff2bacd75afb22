"""A Telegram user of the drill, playing through the Bot API emulator."""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any

from bench.crash_drill.citizens import ANSWER_WITHIN, PATIENCE, RECEIPT, Client, Player

if TYPE_CHECKING:
    from bench.crash_drill.conversations import Conversations


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
