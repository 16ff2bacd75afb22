"""The simulated citizens: what each files, and how a player answers the chat, on either channel."""

from __future__ import annotations

import functools
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.table import Wrong

if TYPE_CHECKING:
    from bench.crash_drill.conversations import Conversations

# The receipt; or, when its first showing was lost to a crash, the answer to pressing 确认提交 again.
RECEIPT = re.compile(r"提交成功.*?信息编号：(\S+)|已经提交过了，编号 ([\w-]+)", re.S)
ABANDON_SHARE = 0.05  # conversations the client gives up on halfway
SECOND_REPORT_SHARE = 0.2  # chats that file a second report after the first receipt
THINK = (0.2, 1.2)  # seconds a person takes to read a question and answer it
PATIENCE = 8.0  # seconds a web client waits for an HTTP answer before it asks again
ANSWER_WITHIN = 60.0  # seconds with every process up before a Telegram input counts as lost


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
