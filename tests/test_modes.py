"""The modes table walked whole: every mode × every input, the typed context, the one command list.

Like tests/test_lifecycle.py for reports: a mode or an input added to
`store.conversation.modes.TABLE` is sent here in every mode, so it cannot
ship untested.
"""

from __future__ import annotations

import inspect

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.telegram.app import COMMANDS as TELEGRAM_MENU
from store import forms
from store.conversation import commands, context
from store.conversation.engine import Engine
from store.conversation.modes import CONTENT, FILE, INPUTS, LOCATION, TABLE, TEXT, Mode
from store.conversation.turn import Turn
from store.conversation.types import Inbound, IncomingFile, Reply
from store.i18n import t
from store.models import Channel, Conversation, Report, User
from store.reports import lifecycle
from tests.chat_driver import Chat
from tests.form_walk import JPEG, TITLE
from tests.review_support import adopt
from web import chat as webchat

USER = "2001"
# Inputs no mode lists: each must get the mode's polite default.
UNLISTED = ("/nosuchcommand", "~nosuchbutton", "nosuchverb")


@pytest.fixture
def chat(Session_: sessionmaker[Session], engine: Engine) -> Chat:  # noqa: N803
    return Chat(Session_, engine, user_id=USER)


def _conversation(session: Session) -> Conversation:
    session.expire_all()  # the row as the engine last left it
    conv = session.scalar(sa.select(Conversation).where(Conversation.external_id == USER))
    assert conv is not None
    return conv


def _file(chat: Chat, session: Session) -> Report:
    chat.command("new")
    chat.fill_report(photo=False)
    chat.press("确认提交")
    session.rollback()
    return session.scalars(sa.select(Report).order_by(Report.id.desc())).first()  # type: ignore[return-value]


class World:
    """A reporter with a returned report and a closed one, and their conversation in `mode`."""

    def __init__(self, chat: Chat, session: Session, admin: User, clerk: User,
                 point_token: str, mode: Mode) -> None:
        self.chat, self.session = chat, session
        chat.command("start", point_token)
        chat.command("cancel")
        self.returned = _file(chat, session)
        lifecycle.apply(session, self.returned, lifecycle.Action.RETURN, user=clerk, note="请补充照片")
        session.commit()
        self.closed = _file(chat, session)
        adopt(session, self.closed, admin)
        lifecycle.apply(session, self.closed, lifecycle.Action.CLOSE, user=admin)
        session.commit()
        chat.command("my")
        if mode is not Mode.IDLE:
            chat.command("new")
            chat.fill_report(until="situation")  # a draft with answers, waiting at a text step
        if mode in (Mode.REVIEW, Mode.EDITING):
            chat.fill_report(since="situation", photo=False)
        if mode is Mode.EDITING:
            chat.press("修改")
            chat.send(callback=chat.button("标题"))
        if mode is Mode.SUPPLEMENT:
            chat.send(callback=f"~supp:{self.returned.id}")
        if mode is Mode.REOPEN:
            chat.send(callback=f"~rate:{self.closed.id}:unsatisfied")
        session.rollback()
        assert _conversation(session).mode == mode

    def inbound(self, key: str, conv: Conversation) -> Inbound:
        base = {"channel": Channel.TELEGRAM, "user_id": USER, "chat_id": USER, "language": "zh"}
        if key.startswith("/"):
            return Inbound(**base, command=key[1:])
        if key == TEXT:
            return Inbound(**base, text="路灯还是不亮，请尽快处理")
        if key == FILE:
            return Inbound(**base, file=IncomingFile("photo", "p.jpg", "image/jpeg", len(JPEG), JPEG))
        if key == LOCATION:
            return Inbound(**base, location=(30.27, 120.15))
        args = {"~supp": str(self.returned.id), "~rate": f"{self.closed.id}:unsatisfied",
                "~topic": "0", "ed": "title", "yn": "1"}
        arg = args.get(key, "")
        if key == "ch":
            step = forms.load(conv.form).step(conv.step or "category")
            arg = step.choices[0].value if step.choices else "nothing"
        if key.startswith("~"):
            return Inbound(**base, callback=f"{key}:{arg}")
        return Inbound(**base, callback=f"t{conv.turn}:{key}:{arg}")

    def send(self, Session_: sessionmaker[Session], engine: Engine,  # noqa: N803
             key: str) -> tuple[Conversation, Conversation, list[Reply]]:
        """`key` sent in the world's mode, and rolled back: (before, after, replies)."""
        with Session_() as s:
            before = _copy(_conversation(s))
            replies = engine.handle(s, self.inbound(key, before))
            after = _copy(_conversation(s))
            s.rollback()
        return before, after, replies


def _copy(conv: Conversation) -> Conversation:
    return Conversation(mode=conv.mode, step=conv.step, turn=conv.turn, form=conv.form,
                        answers=dict(conv.answers), context=dict(conv.context))


def _default_marker(mode: Mode, before: Conversation) -> str:
    """What the mode's prompt always shows, from the texts themselves."""
    if mode is Mode.IDLE:
        return t("chat.idle_hint")
    if mode in (Mode.FILLING, Mode.EDITING):
        return forms.load("report").step(before.step or "").text("zh")
    if mode is Mode.REVIEW:
        return t("chat.review", summary="\0").split("\0")[0]
    if mode is Mode.SUPPLEMENT:
        return t("btn.supplement_done")
    return t("btn.rate_cancel")


def _shown(replies: list[Reply]) -> str:
    return "\n".join([r.text for r in replies] + [b.label for r in replies for row in r.buttons
                                                   for b in row])


@pytest.mark.parametrize("mode", list(Mode))
def test_it_walks_every_input_in_every_mode(mode: Mode, chat: Chat, session: Session,
                                            Session_: sessionmaker[Session],  # noqa: N803
                                            engine: Engine, admin: User, clerk: User,
                                            point_token: str) -> None:
    world = World(chat, session, admin, clerk, point_token, mode)
    reached: set[Mode] = set()
    for key in sorted(INPUTS) + list(UNLISTED):
        before, after, replies = world.send(Session_, engine, key)
        assert replies, (mode, key)
        listed = TABLE[mode].get(key if key != "/nosuchcommand" else "/help")
        result = Mode(after.mode)
        reached.add(result)
        if listed is not None:
            assert result in listed.to | {mode}, (mode, key, result)
            context.load(result, after.context)  # what was written is the mode's kind
            continue
        # Not listed: the mode's prompt again, and nothing stored changes.
        assert result is mode, (mode, key)
        assert (after.step, after.answers, after.context) == (
            before.step, before.answers, before.context), (mode, key)
        assert _default_marker(mode, before) in _shown(replies), (mode, key, _shown(replies))
    assert mode in reached


def test_the_table_names_every_mode_and_real_moves() -> None:
    assert set(TABLE) == set(Mode) == set(context.OF_MODE)
    for mode, moves in TABLE.items():
        for key, on in moves.items():
            move = getattr(Turn, on.move, None)
            assert callable(move), (mode, key, on.move)
            # Every move takes the input's argument (or has a default for it).
            assert len(inspect.signature(move).parameters) >= 2, on.move
            assert on.to <= set(Mode)
    # Content is answered somewhere; every typed command is in the one command list.
    assert set(CONTENT) <= INPUTS
    typed = {k[1:] for k in INPUTS if k.startswith("/")}
    assert typed == set(commands.BY_NAME)
    # Stored mode strings never change (rows written before the enum still read).
    assert [m.value for m in Mode] == ["idle", "filling", "review", "editing", "supplement",
                                       "reopen"]


# -- one list of commands ---------------------------------------------------------


def test_it_shows_one_command_list_on_telegram_the_web_chat_and_in_help(chat: Chat) -> None:
    listed = commands.menu(Channel.TELEGRAM)
    for lang in ("zh", "en"):
        assert TELEGRAM_MENU[lang] == [(c.name, c.description(lang)) for c in listed]
        help_text = t("chat.help", lang)
        assert [line.split(" ")[0] for line in help_text.splitlines()[1:]] == [
            f"/{c.name}" for c in listed]
    assert "link" not in [c.name for c in listed] and "/link" not in t("chat.help")
    assert "（/bind 绑定码）" in dict(TELEGRAM_MENU["zh"])["bind"]

    # The web chat takes the same commands (its capabilities refuse /link) ...
    assert webchat.COMMANDS == commands.accepted(Channel.WEB) == {c.name for c in commands.COMMANDS}
    # ... and its standing menu is the engine's menu row, label for label.
    [reply] = chat.command("help")
    first_row = [(b.data, b.label) for b in reply.buttons[0]]
    assert first_row == [(data, t(key)) for data, key in webchat.MENU]
    assert [d for d, _ in first_row] == ["~new:", "~my:"]
    # The buttons-only help names each menu button.
    for _, key in webchat.MENU:
        assert t(key).split(" ", 1)[1] in t("chat.help.buttons")


# -- the context, typed per mode ------------------------------------------------------


def test_it_reads_each_modes_context_and_refuses_what_does_not_fit() -> None:
    draft = context.load(Mode.FILLING, {"last_receipt": "2026-000001", "topic_id": 3, "old": 1})
    assert draft == context.DraftContext(last_receipt="2026-000001", topic_id=3)
    assert context.dump(Mode.FILLING, draft) == {"last_receipt": "2026-000001", "topic_id": 3}
    supp = context.load(Mode.SUPPLEMENT, {"report_id": 7, "texts": ["a"], "files": 1,
                                          "paused": {"mode": "review", "step": None}})
    assert isinstance(supp, context.SupplementContext)
    assert supp.paused == context.Paused(mode=Mode.REVIEW)
    assert context.dump(Mode.SUPPLEMENT, supp)["texts"] == ["a"]
    for mode, raw in [(Mode.SUPPLEMENT, {"texts": []}), (Mode.REOPEN, {"report_id": "7"}),
                      (Mode.SUPPLEMENT, {"report_id": 7, "texts": "abc"}),
                      (Mode.REOPEN, {"report_id": 7, "paused": {"mode": "reopen"}}),
                      (Mode.FILLING, {"topic_id": True}), (Mode.IDLE, [])]:
        with pytest.raises(context.Malformed):
            context.load(mode, raw)
    with pytest.raises(context.Malformed):
        context.mode_of("rating")
    with pytest.raises(TypeError):
        context.dump(Mode.IDLE, draft)


@pytest.mark.parametrize("mode,step,ctx", [
    ("supplement", None, {"texts": 5}),  # no report, texts of the wrong type
    ("rating", None, {}),  # a mode no longer known
    ("filling", "no_such_step", {}),  # a step the form does not have
    ("reopen", None, {"report_id": 1, "paused": "filling"}),
])
def test_a_malformed_conversation_recovers_to_the_menu_keeping_its_answers(
        chat: Chat, session: Session, point_token: str, mode: str, step: str | None,
        ctx: dict[str, object]) -> None:
    chat.command("start", point_token)
    chat.fill_report(until="situation")
    session.rollback()
    conv = _conversation(session)
    answers = dict(conv.answers)
    assert answers == {"category": "livelihood", "title": TITLE}
    conv.mode, conv.step, conv.context = mode, step, ctx
    session.commit()

    [reply] = chat.text("人民路的路灯坏了")
    assert "已回到主菜单" in reply.text and "2 项" in reply.text
    assert [b.data for b in reply.buttons[0]] == ["~new:", "~my:"]
    session.rollback()
    conv = _conversation(session)
    assert (conv.mode, conv.step, conv.context, conv.answers) == ("idle", None, {}, answers)

    # The kept answers come back: 反映新问题 → 继续填写 goes on at the first question left.
    [kept] = chat.press("反映新问题")
    assert "继续填写" in _shown([kept])
    chat.press("继续填写")
    assert "请描述具体情况" in chat.last.text
    session.rollback()
    conv = _conversation(session)
    assert (conv.mode, conv.step, conv.answers) == ("filling", "situation", answers)


def test_a_side_errand_brings_back_the_paused_drafts_topic(
        chat: Chat, session: Session, clerk: User, point_token: str) -> None:
    chat.command("start", point_token)
    chat.command("cancel")
    returned = _file(chat, session)
    lifecycle.apply(session, returned, lifecycle.Action.RETURN, user=clerk, note="请补充照片")
    session.commit()
    chat.command("new")
    chat.fill_report(until="title")
    session.rollback()
    conv = _conversation(session)
    conv.context = {**conv.context, "topic_id": 42}
    session.commit()

    chat.send(callback=f"~supp:{returned.id}")
    [busy, prompt] = chat.command("new")
    assert "请先完成" in busy.text and t("btn.supplement_done") in _shown([prompt])
    chat.text("路灯在人民路与解放路交叉口")
    chat.press("提交补充")
    session.rollback()
    conv = _conversation(session)
    assert conv.mode == "filling" and conv.step == "title"
    assert conv.context.get("topic_id") == 42 and conv.answers == {"category": "livelihood"}
