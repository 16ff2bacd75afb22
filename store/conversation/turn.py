"""One input being answered: the modes of a conversation and their moves.

Modes:
  idle        nothing in progress
  filling     answering `step`
  review      reading back the draft before confirming
  editing     answering `step` again, chosen from the review
  supplement  adding to a returned report (`context.report_id`)
  reopen      saying why a closed report left them unsatisfied (`context.report_id`)
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import files, forms, reports
from store.conversation.closure import ClosureMoves
from store.conversation.flood import FloodGuard
from store.conversation.membership import MemberMoves
from store.conversation.messages import UNSUPPORTED_NAMES, worded
from store.conversation.opening import OpeningMoves
from store.conversation.review import ReviewMoves
from store.conversation.steps import CHECKERS, SKIP, Invalid, check_file
from store.conversation.supplement import DRAFT_MODES, SupplementMoves
from store.conversation.types import MINOR, Button, EngineConfig, Inbound, IncomingFile, Reply
from store.i18n import t
from store.models import Attachment, Conversation, Reporter, ReportStatus


class Turn(OpeningMoves, ReviewMoves, SupplementMoves, ClosureMoves, MemberMoves):
    """One input being answered; holds what every handler needs."""

    def __init__(self, config: EngineConfig, flood: FloodGuard, session: Session,
                 inbound: Inbound, reporter: Reporter, conv: Conversation) -> None:
        self.config = config
        self.flood = flood
        self.session = session
        self.inbound = inbound
        self.reporter = reporter
        self.conv = conv
        self.lang = reporter.language
        self.form = forms.load(conv.form)

    def t(self, key: str, **params: object) -> str:
        """Message `key` in the reporter's language, worded for the channel's capabilities."""
        return t(worded(key, self.inbound.capabilities), self.lang, **params)

    def btn(self, key: str, verb: str, arg: str = "", *, stateless: bool = False,
            style: str = "") -> Button:
        """A button; turn-bound ones stop working once the conversation moves on."""
        data = f"~{verb}:{arg}" if stateless else f"t{self.conv.turn}:{verb}:{arg}"
        return Button(self.t(key), data, style)

    # -- dispatch ----------------------------------------------------------

    def run(self) -> list[Reply]:
        ib = self.inbound
        if ib.edited:
            return [Reply(self.t("chat.edited")), *self.current_prompt()]
        if ib.command:
            return self.command(ib.command, ib.args.strip())
        if ib.callback:
            return self.callback(ib.callback)
        if ib.unsupported:
            zh, en = UNSUPPORTED_NAMES.get(ib.unsupported, ("这类消息", "this kind of message"))
            what = zh if self.lang == "zh" else en
            return [Reply(self.t("chat.unsupported", what=what)), *self.current_prompt()]
        mode = self.conv.mode
        if mode in ("filling", "editing"):
            return self.answer()
        if mode == "supplement":
            return self.supplement_input()
        if mode == "reopen":
            return self.comment_input()
        if mode == "review":
            return self.review()
        return self.menu(self.t("chat.idle_hint"))

    def command(self, name: str, args: str) -> list[Reply]:
        if name == "start":
            return self.start(args)
        if name == "new":
            return self.new_report()
        if name == "cancel":
            return self.cancel()
        if name == "back":
            return self.back()
        if name == "my":
            return self.my_reports()
        if name == "link":
            return self.link(args)
        if name == "bind":
            return self.bind(args)
        if name == "mystats":
            return self.mystats()
        if name == "topics":
            return self.topic_list()
        if name in ("subscribe", "unsubscribe"):
            return self.subscribe(name == "subscribe")
        return [Reply(self.t("chat.help"), self.menu_buttons())]

    def callback(self, data: str) -> list[Reply]:
        if data.startswith("~"):
            verb, _, arg = data[1:].partition(":")
            if verb == "new":
                return self.new_report()
            if verb == "my":
                return self.my_reports()
            if verb == "supp" and arg.isdigit():
                return self.supplement_start(int(arg))
            if verb == "rate":
                return self.rate(arg)
            if verb == "topics":
                return self.topic_list()
            if verb == "topic":
                return self.topic_start(arg)
            return self.current_prompt()
        turn, _, rest = data.partition(":")
        verb, _, arg = rest.partition(":")
        if turn != f"t{self.conv.turn}":
            if verb == "ok" and self.conv.context.get("submitted_turn") == turn:
                no = self.conv.context.get("last_receipt")
                return [Reply(self.t("chat.already_submitted", no=no), self.menu_buttons())]
            return [Reply(self.t("chat.stale_button")), *self.current_prompt()]
        handlers: dict[str, Callable[[str], list[Reply]]] = {
            "ch": self.answer_with_text, "yn": self.answer_yesno, "skip": self.skip,
            "done": self.files_done, "ok": self.confirm, "edit": self.edit_menu,
            "ed": self.edit_step, "rv": self.to_review, "resume": self.resume,
            "restart": self.restart, "cancel": lambda _a: self.cancel(),
            "back": lambda _a: self.back(), "sdone": self.supplement_done,
            "rcancel": self.comment_cancel,
        }
        handler = handlers.get(verb)
        return handler(arg) if handler else self.current_prompt()

    # -- starting, resuming, stopping ---------------------------------------

    def new_report(self) -> list[Reply]:
        if self.conv.mode in DRAFT_MODES:
            return [self.draft_kept()]
        return self.begin()

    def begin(self, greeting: str | None = None) -> list[Reply]:
        """Start the form from its first step (one message, to spare the rate limit)."""
        self.conv.mode = "filling"
        self.conv.answers = {}
        self.conv.context = {k: v for k, v in self.conv.context.items()
                             if k in ("last_receipt", "submitted_turn")}
        first = self.form.next_step(None, {})
        assert first is not None
        self.conv.step = first.key
        intro = f"{self.form.intro.get(self.lang) or self.form.intro['zh']}\n{self.t('chat.form_nav')}"
        if greeting:
            intro = f"{greeting}\n\n{intro}"
        return [Reply(intro), *self.ask()]

    def resume(self, _arg: str = "") -> list[Reply]:
        self.conv.context = {k: v for k, v in self.conv.context.items() if k != "pending_point_id"}
        return [Reply(self.t("chat.resumed")), *self.current_prompt()]

    def restart(self, _arg: str = "") -> list[Reply]:
        pending = self.conv.context.get("pending_point_id")
        self.discard_draft()
        if pending is not None:
            self.conv.point_id = pending
        return self.begin()

    def cancel(self) -> list[Reply]:
        if self.conv.mode == "idle":
            return [Reply(self.t("chat.nothing_to_cancel"), self.menu_buttons())]
        if self.conv.mode in ("supplement", "reopen"):
            # Only the side errand ends; a draft paused for it comes back.
            return [Reply(self.t("chat.side_cancelled")), *self.leave_supplement()]
        self.discard_draft()
        return [Reply(self.t("chat.cancelled"), self.menu_buttons())]

    def discard_draft(self) -> None:
        self.session.execute(sa.delete(Attachment).where(
            Attachment.conversation_id == self.conv.id, Attachment.report_id.is_(None)))
        self.conv.mode, self.conv.step, self.conv.answers = "idle", None, {}
        self.conv.context = {k: v for k, v in self.conv.context.items()
                             if k in ("last_receipt", "submitted_turn")}
        self.advance()

    def back(self) -> list[Reply]:
        if self.conv.mode == "review":
            last = self.form.active_steps(self.conv.answers)[-1]
            self.conv.mode, self.conv.step = "filling", last.key
            return self.ask()
        if self.conv.mode not in ("filling", "editing") or self.conv.step is None:
            return self.current_prompt()
        prev = self.form.previous_step(self.conv.step, self.conv.answers)
        if prev is None:
            return [Reply(self.t("chat.cannot_go_back")), *self.ask()]
        self.conv.mode, self.conv.step = "filling", prev.key
        return self.ask()

    # -- asking and answering ------------------------------------------------

    def advance(self) -> None:
        """Move to a new turn: every button shown so far stops working."""
        self.conv.turn += 1

    def ask(self) -> list[Reply]:
        """Show the current step's prompt with its buttons (a new turn)."""
        self.advance()
        step = self.form.step(self.conv.step or "")
        index, total = self.form.progress(step.key, self.conv.answers)
        text = f"{step.text(self.lang)}\n{self.t('chat.progress', i=index, n=total)}"
        rows: list[list[Button]] = []
        if step.kind == "choice":
            row: list[Button] = []
            for choice in step.choices:
                row.append(Button(choice.label.get(self.lang) or choice.label["zh"],
                                  f"t{self.conv.turn}:ch:{choice.value}"))
                if len(row) == max(1, step.columns):
                    rows.append(row)
                    row = []
            if row:
                rows.append(row)
        elif step.kind == "yesno":
            rows.append([self.btn("chat.yes", "yn", "1"), self.btn("chat.no", "yn", "0")])
        elif step.kind == "file":
            rows.append([self.btn("btn.done", "done"), self.btn("btn.skip", "skip")])
        if step.optional and step.kind != "file":
            rows.append([self.btn("btn.skip", "skip")])
        nav = ([self.btn("btn.back", "back", style=MINOR)]
               if self.form.previous_step(step.key, self.conv.answers) else [])
        if self.conv.mode == "editing":
            nav.append(self.btn("btn.to_review", "rv", style=MINOR))
        rows.append([*nav, self.btn("btn.cancel", "cancel", style=MINOR)])
        return [Reply(text, rows)]

    def current_prompt(self) -> list[Reply]:
        mode = self.conv.mode
        if mode in ("filling", "editing") and self.conv.step:
            return self.ask()
        if mode == "review":
            return self.review()
        if mode == "supplement":
            return [self.supplement_prompt()]
        if mode == "reopen":
            return [self.comment_prompt()]
        return self.menu_replies()

    def answer(self) -> list[Reply]:
        step = self.form.step(self.conv.step or "")
        ib = self.inbound
        if step.kind == "file":
            if ib.file is not None:
                return self.take_file(ib.file)
            word = (ib.text or "").strip().lower()
            if word in ("完成", "done", "好了", "ok"):
                return self.files_done()
            if word in ("跳过", "skip", "没有", "无"):
                return self.skip()
            return [Reply(self.t("invalid.need_file")), *self.ask()]
        if ib.file is not None:
            return [Reply(self.t("invalid.need_text")), *self.ask()]
        outcome = CHECKERS[step.kind](step, ib)
        if isinstance(outcome, Invalid):
            return [Reply(self.t(outcome.key, **outcome.params)), *self.ask()]
        return self.store(step.key, None if outcome is SKIP else outcome.value)  # type: ignore[union-attr]

    def answer_with_text(self, value: str) -> list[Reply]:
        step = self.form.step(self.conv.step or "")
        if step.kind != "choice" or step.choice(value) is None:
            return self.current_prompt()
        return self.store(step.key, value)

    def answer_yesno(self, value: str) -> list[Reply]:
        step = self.form.step(self.conv.step or "")
        if step.kind != "yesno" or value not in ("0", "1"):
            return self.current_prompt()
        return self.store(step.key, value == "1")

    def skip(self, _arg: str = "") -> list[Reply]:
        step = self.form.step(self.conv.step or "")
        if step.kind == "file":
            return self.files_done()
        if not step.optional:
            return self.current_prompt()
        return self.store(step.key, None)

    def take_file(self, file: IncomingFile) -> list[Reply]:
        step = self.form.step(self.conv.step or "")
        kept = self.draft_files()
        problem = check_file(step, file, len(kept), self.config.max_file_mb)
        if problem is not None:
            return [Reply(self.t(problem.key, **problem.params))]
        stored = files.keep(self.config.upload_dir, file)
        if any(a.sha256 == stored.sha256 for a in kept):
            return [Reply(self.t("invalid.duplicate_file"))]
        self.session.add(stored.attachment(conversation_id=self.conv.id))
        self.session.flush()
        self.conv.answers = {**self.conv.answers, step.key: len(kept) + 1}
        return [Reply(self.t("chat.file_received", n=len(kept) + 1),
                      [[self.btn("btn.done", "done")]])]

    def draft_files(self) -> list[Attachment]:
        return list(self.session.scalars(sa.select(Attachment).where(
            Attachment.conversation_id == self.conv.id, Attachment.report_id.is_(None),
            Attachment.supplement.is_(False))))

    def files_done(self, _arg: str = "") -> list[Reply]:
        step = self.form.step(self.conv.step or "")
        if step.kind != "file":
            return self.current_prompt()
        count = len(self.draft_files())
        return self.store(step.key, count or None)

    def store(self, key: str, value: object) -> list[Reply]:
        """Keep an answer, then ask what comes next (or read the draft back)."""
        self.conv.answers = {**self.conv.answers, key: value}
        # While editing, a changed answer can open a step not yet answered
        # (say, contact details after turning anonymity off): ask it first.
        if self.conv.mode == "editing":
            pending = next((s for s in self.form.active_steps(self.conv.answers)
                            if s.key not in self.conv.answers), None)
            if pending is None:
                return self.to_review()
            self.conv.step = pending.key
            return self.ask()
        nxt = self.form.next_step(key, self.conv.answers)
        if nxt is None:
            return self.to_review()
        self.conv.step = nxt.key
        return self.ask()

    # -- my reports, menus --------------------------------------------------

    def my_reports(self) -> list[Reply]:
        rows = reports.for_reporter(self.session, self.reporter.id)
        if not rows:
            return [Reply(self.t("chat.my.none"), self.menu_buttons())]
        lines = [self.t("chat.my.header", n=len(rows))]
        buttons: list[list[Button]] = []
        for r in rows:
            lines.append(self.t("chat.my.row", no=r.tracking_no, title=r.title,
                                status=self.t(f"status.{r.status.value}"),
                                date=r.created_at.strftime("%Y-%m-%d")))
            if r.status is ReportStatus.RETURNED:
                buttons.append([Button(f"{self.t('button.supplement')} {r.tracking_no}",
                                       f"~supp:{r.id}")])
        return [Reply("\n".join(lines), [*buttons, *self.menu_buttons()])]

    def menu_buttons(self) -> list[list[Button]]:
        return [[self.btn("btn.report", "new", stateless=True),
                 self.btn("btn.my", "my", stateless=True)], *self.topic_buttons()]

    def menu(self, text: str) -> list[Reply]:
        return [Reply(text, self.menu_buttons())]

    def menu_replies(self) -> list[Reply]:
        return self.menu(self.t("chat.idle_hint"))
