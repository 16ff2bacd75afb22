"""Random conversations against the engine's promises (hypothesis' stateful testing).

A machine plays one Telegram reporter and one web-chat reporter who send
anything, in any order: text (empty, emoji, far too long), every command of
`store.conversation.commands` and unknown ones, the buttons of the latest
reply, stale buttons from earlier turns, forged button data, good and
unsupported files, locations, updates delivered twice, and restarts (a new
`Engine` over the same database, as after a process restart). After every input:

- nothing raises, and every input gets at least one reply with words in it
  (a refused input is told why or asked again);
- the reports in the database are exactly the ones a receipt (or a later
  mention) named: none filed twice, none filed without the reporter told;

and at any moment /cancel (at most twice: a side errand, then the draft it
paused) brings the chat back to the menu, from where a whole report can be
filled in and filed.

The default run is quick for CI; `MINYI_FUZZ=long` explores much further
(`MINYI_FUZZ=long .venv/bin/pytest tests/test_engine_fuzz.py`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tempfile
from pathlib import Path

import hypothesis.strategies as st
import sqlalchemy as sa
from hypothesis import HealthCheck, event, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from minyi.settings import Settings
from store.conversation.commands import COMMANDS
from store.conversation.engine import Engine
from store.conversation.modes import Mode
from store.conversation.types import BUTTONS_ONLY, Button, IncomingFile, Reply
from store.db import make_engine, make_sessionmaker
from store.models import (
    Base,
    Channel,
    Conversation,
    OutboxMessage,
    OutboxStatus,
    Report,
    Reporter,
    ReportStatus,
    Role,
    User,
)
from store.network import points as points_mod
from store.network import users
from store.reports import lifecycle
from store.reports.lifecycle import Action
from tests.chat_driver import Chat
from tests.conftest import PASSWORD, SECRET
from tests.form_walk import JPEG
from tests.review_support import adopt

settings.register_profile(
    "ci", max_examples=25, stateful_step_count=20, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.register_profile(
    "long", max_examples=500, stateful_step_count=50, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
PROFILE = "long" if os.environ.get("MINYI_FUZZ") == "long" else "ci"

TRACKING_NO = re.compile(r"\b\d{4}-\d{6}\b")
COMMAND_NAMES = [c.name for c in COMMANDS] + ["nonsense", "START", ""]

texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "\n", "😀🙏🏽👨‍👩‍👧", "跳过", "完成", "确认提交", "/cancel", "0", "1",
                     "城关镇人民路路灯长期不亮", "\x00", "\u202e反转"]),
    st.integers(min_value=2_000, max_value=20_000).map(lambda n: "长" * n),
)
forged = st.one_of(
    st.text(max_size=70),
    st.builds(lambda t, v, a: f"t{t}:{v}:{a}", st.integers(-3, 60),
              st.sampled_from(["ok", "edit", "ed", "ch", "yn", "skip", "done", "back", "cancel",
                               "resume", "restart", "rv", "sdone", "rcancel", "zz"]),
              st.text(max_size=12)),
    st.builds(lambda v, a: f"~{v}:{a}", st.sampled_from(["new", "my", "supp", "rate", "topic",
                                                          "topics", "x"]),
              st.one_of(st.integers(-5, 50).map(str), st.text(max_size=10))),
)
files = st.sampled_from([
    IncomingFile("photo", "photo.jpg", "image/jpeg", len(JPEG), JPEG, ref="p1"),
    IncomingFile("photo", "photo2.jpg", "image/jpeg", len(JPEG) + 1, JPEG + b"2", ref="p2"),
    IncomingFile("document", "virus.exe", "application/octet-stream", 4, b"MZ\x90\x00", ref="d1"),
    IncomingFile("document", "empty.pdf", "application/pdf", 0, b"", ref="d2"),
    IncomingFile("document", "huge.pdf", "application/pdf", 900 * 1024 * 1024, None, ref="d3"),
    IncomingFile("photo", "fake.jpg", "image/jpeg", 12, b"not a jpeg!!", ref="d4"),
])


class Conversations(RuleBasedStateMachine):
    """Two reporters, one on Telegram and one on the web chat, over one database."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="minyi-fuzz-"))
        self.settings = Settings(
            env="test", instance_dir=self.dir / "instance", database_url=f"sqlite:///{self.dir}/f.db",
            secret_key=SECRET, public_url="http://minyi.test", telegram_bot_username="minyi_test_bot")
        self.db = make_engine(self.settings.database_url)
        Base.metadata.create_all(self.db)
        self.Session = make_sessionmaker(self.db)
        self.engine = self._engine()
        self.chats = [
            Chat(self.Session, self.engine, user_id="2001"),
            Chat(self.Session, self.engine, user_id="web-2002", channel=Channel.WEB,
                 capabilities=BUTTONS_ONLY),
        ]
        self.told: set[str] = set()  # tracking numbers some reply named
        self.typed: list[str] = []  # what was typed, which a read-back may echo
        self.updates: set[tuple[int, int]] = set()  # (chat, update id) delivered

    def _engine(self) -> Engine:
        return Engine(dataclasses.replace(self.settings.engine_config(), flood_burst=1_000_000))

    def teardown(self) -> None:
        self.db.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- sending, with the per-input promises --------------------------------

    def send(self, who: int, **kw: object) -> list[Reply]:
        chat = self.chats[who]
        chat.engine = self.engine
        self.typed += [str(v) for v in kw.values() if isinstance(v, str)]
        replies = chat.send(**kw)
        assert replies, f"no answer to {kw}"
        assert all(r.text.strip() for r in replies), f"an empty reply to {kw}: {replies}"
        for r in replies:
            self.told.update(n for n in TRACKING_NO.findall(r.text)
                             if not any(n in typed for typed in self.typed))
            for row in r.buttons:
                for b in row:
                    assert b.label.strip() and len(b.data.encode()) <= 64, b
        return replies

    def mode(self, who: int) -> str:
        chat = self.chats[who]
        with self.Session() as s:
            return s.scalar(sa.select(Conversation.mode).where(
                Conversation.channel == chat.channel, Conversation.external_id == chat.user_id)) or ""

    # -- the rules -------------------------------------------------------------

    @initialize(who=st.sampled_from([0, 1]), filed=st.booleans())
    def open_with_a_point(self, who: int, filed: bool) -> None:
        """Both scan a point's code; one may have filed a report already (for the office to answer)."""
        with self.Session() as s, s.begin():
            point = points_mod.create_point(s, "城关镇便民服务中心", address="城关镇人民路1号")
            token = points_mod.token_for(point, SECRET)
        self.token = token
        with self.Session() as s, s.begin():
            self.admin_id = users.create_user(s, "fuzz-admin", PASSWORD, Role.ADMIN).id
        for i in (0, 1):
            self.send(i, command="start", args=token)
        if filed:
            self.chats[who].fill_report()
            self.send(who, callback=self.chats[who].button("确认提交"))

    @rule(who=st.sampled_from([0, 1]), text=texts)
    def type_text(self, who: int, text: str) -> None:
        self.send(who, text=text)

    @rule(who=st.sampled_from([0, 1]), name=st.sampled_from(COMMAND_NAMES),
          args=st.one_of(st.just(""), st.text(max_size=20), st.just("TOKEN")))
    def command(self, who: int, name: str, args: str) -> None:
        self.send(who, command=name, args=self.token if args == "TOKEN" else args)

    @rule(who=st.sampled_from([0, 1]), pick=st.integers(min_value=0))
    def press_a_current_button(self, who: int, pick: int) -> None:
        latest = next((r for r in reversed(self.chats[who].log) if r.buttons), None)
        if latest is None:
            return
        buttons = [b for row in latest.buttons for b in row]
        self.send(who, callback=buttons[pick % len(buttons)].data)

    @rule(who=st.sampled_from([0, 1]), pick=st.integers(min_value=0))
    def press_a_stale_button(self, who: int, pick: int) -> None:
        every = [b for r in self.chats[who].log for row in r.buttons for b in row]
        if every:
            self.send(who, callback=every[pick % len(every)].data)

    @rule(who=st.sampled_from([0, 1]), data=forged)
    def press_a_forged_button(self, who: int, data: str) -> None:
        self.send(who, callback=data)

    @rule(who=st.sampled_from([0, 1]), file=files)
    def send_a_file(self, who: int, file: IncomingFile) -> None:
        self.send(who, file=file)

    @rule(who=st.sampled_from([0, 1]), kind=st.sampled_from(["sticker", "voice", "video", "poll", "?"]))
    def send_something_unsupported(self, who: int, kind: str) -> None:
        self.send(who, unsupported=kind)

    @rule(who=st.sampled_from([0, 1]),
          lat=st.floats(min_value=-90, max_value=90, allow_nan=False),
          lon=st.floats(min_value=-180, max_value=180, allow_nan=False))
    def share_a_location(self, who: int, lat: float, lon: float) -> None:
        self.send(who, location=(lat, lon))

    @rule(who=st.sampled_from([0, 1]), text=texts)
    def edit_an_old_message(self, who: int, text: str) -> None:
        self.send(who, text=text, edited=True)

    def waiting(self) -> list[tuple[int, int]]:
        """(chat, report id) of the reports the office has not yet answered."""
        with self.Session() as s:
            rows = s.execute(sa.select(Reporter.channel, Reporter.external_id, Report.id)
                             .join(Reporter, Report.reporter_id == Reporter.id)
                             .where(Report.status == ReportStatus.SUBMITTED)).all()
        index = {(c.channel, c.user_id): i for i, c in enumerate(self.chats)}
        return [(index[(channel, external)], rid) for channel, external, rid in rows]

    @precondition(lambda self: bool(self.waiting()))
    @rule(pick=st.integers(min_value=0), close=st.booleans(), press=st.none() | st.integers(min_value=0))
    def the_office_answers_a_report(self, pick: int, close: bool, press: int | None) -> None:
        """A report is returned for more (退回补充) or adopted and closed; the reporter gets the
        message with its buttons (补充材料, the satisfaction rating), and may press one."""
        waiting = self.waiting()
        who, report_id = waiting[pick % len(waiting)]
        chat = self.chats[who]
        with self.Session() as s, s.begin():
            report = s.get(Report, report_id)
            admin = s.get(User, self.admin_id)
            assert report is not None and admin is not None
            if close:
                adopt(s, report, admin)
                lifecycle.apply(s, report, Action.CLOSE, user=admin)
            else:
                lifecycle.apply(s, report, Action.RETURN, user=admin, note="请补充具体位置和照片")
            for m in s.scalars(sa.select(OutboxMessage).where(
                    OutboxMessage.reporter_id == report.reporter_id,
                    OutboxMessage.status == OutboxStatus.PENDING)):
                chat.log.append(Reply(m.text, [[Button(b["label"], b["data"]) for b in row]
                                               for row in m.buttons or []]))
                m.status = OutboxStatus.SENT
        offered = [b for row in chat.log[-1].buttons for b in row]
        if press is not None and offered:
            self.send(who, callback=offered[press % len(offered)].data)  # 补充材料, or a rating

    @rule(who=st.sampled_from([0, 1]), uid=st.integers(1, 6), text=texts)
    def deliver_an_update_perhaps_again(self, who: int, uid: int, text: str) -> None:
        """A channel delivers an update again (after a crash, a retry): applied once only; the
        second delivery at most asks again the question that stands (the first one's answer may
        never have reached the person), and changes nothing."""
        if (who, uid) not in self.updates:
            self.updates.add((who, uid))
            self.send(who, text=text, update_id=f"u{uid}")
            return
        chat = self.chats[who]
        chat.engine = self.engine
        before = self.mode(who), len(self.reports())
        again = chat.send(text=text, update_id=f"u{uid}")
        assert all(r.text for r in again)
        assert (self.mode(who), len(self.reports())) == before

    @rule()
    def restart(self) -> None:
        self.engine = self._engine()

    @precondition(lambda self: len(self.chats[0].log) > 0)
    @rule(who=st.sampled_from([0, 1]))
    def escape_and_file_a_report(self, who: int) -> None:
        """Never stuck: /cancel reaches the menu, and from there a report can be filed."""
        event(f"escaped from {self.mode(who)}")  # --hypothesis-show-statistics: modes reached
        for _ in range(3):
            if self.mode(who) == Mode.IDLE:
                break
            self.send(who, command="cancel")
        assert self.mode(who) == Mode.IDLE, "/cancel did not bring the chat back to the menu"
        chat = self.chats[who]
        chat.engine = self.engine
        # The walk presses the Chinese buttons: a chat switched to English (/lang) goes back.
        self.send(who, command="lang", args="zh")
        self.send(who, command="new")
        assert self.mode(who) == Mode.FILLING, "/new from the menu did not start a report"
        before = self.reports()
        chat.fill_report()
        assert self.mode(who) == Mode.REVIEW
        receipt = self.send(who, callback=chat.button("确认提交"))
        numbers = TRACKING_NO.findall(receipt[0].text)
        assert len(numbers) == 1, receipt
        assert self.reports() == before | set(numbers)

    # -- promises that hold after every step ------------------------------------

    def reports(self) -> set[str]:
        with self.Session() as s:
            return set(s.scalars(sa.select(Report.tracking_no)))

    @invariant()
    def every_report_was_receipted_once(self) -> None:
        with self.Session() as s:
            numbers = list(s.scalars(sa.select(Report.tracking_no)))
        assert len(numbers) == len(set(numbers))
        assert set(numbers) == self.told, "a report filed without a receipt, or a receipt for none"


Conversations.TestCase.settings = settings.get_profile(PROFILE)
test_it_survives_random_conversations = Conversations.TestCase

