"""One input being answered: the dispatcher reads the modes table (`store.conversation.modes`).

`Turn.run` names the input, looks it up under the conversation's mode and
calls that move; an input the mode does not list gets the mode's prompt
again. Mode and context change only through `enter` and `keep`, which write
the typed context of `store.conversation.context`.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import forms
from store.conversation import context as ctxs
from store.conversation.closure import ClosureMoves
from store.conversation.commands import BY_NAME, buttons
from store.conversation.flood import FloodGuard
from store.conversation.membership import MemberMoves
from store.conversation.messages import UNSUPPORTED_NAMES, worded
from store.conversation.modes import DRAFT_MODES, FILE, LOCATION, TABLE, TEXT, Mode
from store.conversation.opening import OpeningMoves
from store.conversation.review import ReviewMoves
from store.conversation.row import ConvRow
from store.conversation.sender import Sender
from store.conversation.steps import CHECKERS, SKIP, Invalid, check_file
from store.conversation.supplement import SupplementMoves
from store.conversation.types import MINOR, Button, EngineConfig, Inbound, IncomingFile, Reply
from store.db import Unit
from store.i18n import t
from store.models import Attachment, Channel, Reporter, ReportStatus
from store.reports import drafts, files
from store.reports import queries as reports

log = logging.getLogger(__name__)


class Turn(OpeningMoves, ReviewMoves, SupplementMoves, ClosureMoves, MemberMoves):
    """One input being answered; holds what every handler needs."""

    def __init__(self, config: EngineConfig, flood: FloodGuard, unit: Unit,
                 inbound: Inbound, sender: Sender, conv: ConvRow, *,
                 new_reporter: bool = False) -> None:
        self.config = config
        # This input made the reporter's row: they have no reports to give news of.
        self.new_reporter = new_reporter
        self.flood = flood
        self.unit = unit
        self.inbound = inbound
        self.sender = sender
        self.conv = conv
        self.lang = sender.language
        self.form = forms.load(conv.form)
        self.ctx = ctxs.Context()

    @property
    def session(self) -> Session:
        """The unit of work's session, for a move that needs the ORM (made at first use)."""
        return self.unit.session

    @property
    def reporter(self) -> Reporter:
        """The mapped reporter, for a move that files, lists or binds (no statement)."""
        return self.sender.reporter(self.session)

    def t(self, key: str, **params: object) -> str:
        """Message `key` in the reporter's language, worded for the channel's capabilities."""
        return t(worded(key, self.inbound.capabilities), self.lang, **params)

    def btn(self, key: str, verb: str, arg: str = "", *, stateless: bool = False,
            style: str = "") -> Button:
        """A button; turn-bound ones stop working once the conversation moves on."""
        data = f"~{verb}:{arg}" if stateless else f"t{self.conv.turn}:{verb}:{arg}"
        return Button(self.t(key), data, style)

    # -- the mode and its context --------------------------------------------

    @property
    def mode(self) -> Mode:
        return Mode(self.conv.mode)

    def enter(self, mode: Mode, context: ctxs.Context | None = None, *,
              step: str | None = None) -> None:
        """Move to `mode` at `step`; without `context` the current one is kept (same kind)."""
        context = self.ctx if context is None else context
        self.conv.context = ctxs.dump(mode, context)
        self.conv.mode, self.conv.step, self.ctx = mode.value, step, context

    def keep(self, context: ctxs.Context) -> None:
        """Replace the context, staying in the mode."""
        self.enter(self.mode, context, step=self.conv.step)

    def load_state(self) -> None:
        """Read the stored mode and context; `Malformed` when the row cannot go on."""
        mode = ctxs.mode_of(self.conv.mode)
        self.ctx = ctxs.load(mode, self.conv.context)
        if not isinstance(self.conv.answers, dict):
            raise ctxs.Malformed("answers must be an object")
        if mode in (Mode.FILLING, Mode.EDITING):
            step = next((s for s in self.form.steps if s.key == self.conv.step), None)
            if step is None or not self.form.applies(step, self.conv.answers):
                raise ctxs.Malformed(f"no step {self.conv.step!r} to answer")

    def recover(self, problem: ctxs.Malformed) -> list[Reply]:
        """Back to the menu; the answers of the form are kept for 继续填写."""
        log.warning("conversation %s recovered to the menu: %s", self.conv.id, problem)
        answers = self.conv.answers if isinstance(self.conv.answers, dict) else {}
        self.conv.answers = {k: v for k, v in answers.items() if k in {s.key for s in self.form.steps}}
        self.enter(Mode.IDLE, ctxs.Context())
        self.advance()
        kept = self.answered()
        text = self.t("chat.recovered_draft", n=kept) if kept else self.t("chat.recovered")
        return self.menu(text)

    # -- dispatch ----------------------------------------------------------

    def run(self) -> list[Reply]:
        try:
            self.load_state()
        except ctxs.Malformed as problem:
            return self.recover(problem)
        ib = self.inbound
        if ib.edited:
            return [Reply(self.t("chat.edited")), *self.current_prompt()]
        if ib.command:
            name = ib.command if ib.command in BY_NAME else "help"
            return self.dispatch(f"/{name}", ib.args.strip())
        if ib.callback:
            return self.callback(ib.callback)
        if ib.unsupported:
            zh, en = UNSUPPORTED_NAMES.get(ib.unsupported, ("这类消息", "this kind of message"))
            what = zh if self.lang == "zh" else en
            return [Reply(self.t("chat.unsupported", what=what)), *self.current_prompt()]
        return self.dispatch(FILE if ib.file is not None else
                             LOCATION if ib.location is not None and ib.text is None else TEXT)

    def dispatch(self, key: str, arg: str = "") -> list[Reply]:
        """The move the modes table names for `key` in this mode, or the mode's prompt again."""
        found = TABLE[self.mode].get(key)
        if found is None:
            return self.current_prompt()
        move = getattr(self, found.move)
        replies: list[Reply] = move(arg)
        return replies

    def callback(self, data: str) -> list[Reply]:
        if data.startswith("~"):
            verb, _, arg = data[1:].partition(":")
            return self.dispatch(f"~{verb}", arg)
        turn, _, rest = data.partition(":")
        verb, _, arg = rest.partition(":")
        if turn != f"t{self.conv.turn}":
            if verb == "ok" and self.ctx.submitted_turn == turn:
                no = self.ctx.last_receipt
                return [Reply(self.t("chat.already_submitted", no=no), self.menu_buttons())]
            return [Reply(self.t("chat.stale_button")), *self.current_prompt()]
        if verb.startswith(("~", "/", "<")):
            return self.current_prompt()
        return self.dispatch(verb, arg)

    def help(self, _arg: str = "") -> list[Reply]:
        return [Reply(self.t("chat.help"), self.menu_buttons())]

    def side_busy(self, _arg: str = "") -> list[Reply]:
        """/new during a side errand: the errand (and any draft it paused) is kept."""
        return [Reply(self.t("chat.side_busy")), *self.current_prompt()]

    # -- starting, resuming, stopping ---------------------------------------

    def has_draft(self) -> bool:
        """A form in progress, or answers kept when the conversation was recovered."""
        return self.mode in DRAFT_MODES or (self.mode is Mode.IDLE and bool(self.conv.answers))

    def new_report(self, _arg: str = "") -> list[Reply]:
        if self.has_draft():
            return [self.draft_kept()]
        return self.begin()

    def begin(self, greeting: str | None = None, topic_id: int | None = None) -> list[Reply]:
        """Start the form from its first step (one message, to spare the rate limit).

        Not where `needs_point` says so: `chat.need_point` asks for a valid scan.
        """
        if self.needs_point():
            return self.menu(self.t("chat.need_point"))
        first = self.form.next_step(None, {})
        assert first is not None
        self.conv.answers = {}
        self.enter(Mode.FILLING, ctxs.DraftContext(**vars(self.ctx.receipt()), topic_id=topic_id),
                   step=first.key)
        intro = f"{self.form.intro.get(self.lang) or self.form.intro['zh']}\n{self.t('chat.form_nav')}"
        if greeting:
            intro = f"{greeting}\n\n{intro}"
        return [Reply(intro), *self.ask()]

    def needs_point(self) -> bool:
        """Whether a report may not be started or filed here yet: no point is bound, the
        reporter has no unit (not a member), and either the chat opened with a code that was
        refused (forged, unknown, retired without a successor, inactive) or it is the web chat,
        whose only way in is a point's code. Such a report would reach nobody."""
        if self.conv.point_id is not None or self.sender.unit_id is not None:
            return False
        return self.conv.refused_code is not None or self.inbound.channel is Channel.WEB

    def resume(self, _arg: str = "") -> list[Reply]:
        if self.mode is Mode.IDLE:
            # Answers kept by a recovery: the first question not answered, or the read-back.
            pending = next((s for s in self.form.active_steps(self.conv.answers)
                            if s.key not in self.conv.answers), None)
            self.enter(Mode.FILLING if pending else Mode.REVIEW,
                       ctxs.DraftContext(**vars(self.ctx.receipt())),
                       step=pending.key if pending else None)
        elif isinstance(self.ctx, ctxs.DraftContext):
            self.keep(ctxs.DraftContext(**{**vars(self.ctx), "pending_point_id": None}))
        return [Reply(self.t("chat.resumed")), *self.current_prompt()]

    def restart(self, _arg: str = "") -> list[Reply]:
        pending = getattr(self.ctx, "pending_point_id", None)
        self.discard_draft()
        if pending is not None:
            self.conv.point_id = pending
        return self.begin()

    def cancel(self, _arg: str = "") -> list[Reply]:
        if self.mode is Mode.IDLE:
            return [Reply(self.t("chat.nothing_to_cancel"), self.menu_buttons())]
        if self.mode not in DRAFT_MODES:
            # Only the side errand ends; a draft paused for it comes back.
            return [Reply(self.t("chat.side_cancelled")), *self.leave_supplement()]
        self.discard_draft()
        return [Reply(self.t("chat.cancelled"), self.menu_buttons())]

    def discard_draft(self) -> None:
        self.session.execute(sa.delete(Attachment).where(
            Attachment.conversation_id == self.conv.id, Attachment.report_id.is_(None)))
        self.conv.answers = {}
        self.enter(Mode.IDLE, self.ctx.receipt())
        self.advance()

    def back(self, _arg: str = "") -> list[Reply]:
        if self.mode is Mode.REVIEW:
            last = self.form.active_steps(self.conv.answers)[-1]
            self.enter(Mode.FILLING, step=last.key)
            return self.ask()
        if self.mode not in (Mode.FILLING, Mode.EDITING) or self.conv.step is None:
            return self.current_prompt()
        prev = self.form.previous_step(self.conv.step, self.conv.answers)
        if prev is None:
            return [Reply(self.t("chat.cannot_go_back")), *self.ask()]
        self.enter(Mode.FILLING, step=prev.key)
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
        if self.mode is Mode.EDITING:
            nav.append(self.btn("btn.to_review", "rv", style=MINOR))
        rows.append([*nav, self.btn("btn.cancel", "cancel", style=MINOR)])
        return [Reply(text, rows)]

    def current_prompt(self) -> list[Reply]:
        """The mode's polite default: its question, read-back or menu again, nothing changed."""
        mode = self.mode
        if mode in (Mode.FILLING, Mode.EDITING) and self.conv.step:
            return self.ask()
        if mode is Mode.REVIEW:
            return self.review()
        if mode is Mode.SUPPLEMENT:
            return [self.supplement_prompt()]
        if mode is Mode.REOPEN:
            return [self.comment_prompt()]
        return self.menu_replies()

    def answer(self, _arg: str = "") -> list[Reply]:
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

    def answer_choice(self, value: str) -> list[Reply]:
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
        if (full := self.room_for(file)) is not None:
            # The files this step has so far can still be kept with 完成.
            return [Reply(full.text, [[self.btn("btn.done", "done")]] if kept else [])]
        stored = files.keep(self.config.upload_dir, file)
        if any(a.sha256 == stored.sha256 for a in kept):
            return [Reply(self.t("invalid.duplicate_file"))]
        self.session.add(stored.attachment(conversation_id=self.conv.id))
        self.session.flush()
        self.conv.answers = {**self.conv.answers, step.key: len(kept) + 1}
        return [Reply(self.t("chat.file_received", n=len(kept) + 1),
                      [[self.btn("btn.done", "done")]])]

    def draft_files(self) -> list[Attachment]:
        return drafts.held_files(self.session, self.conv)

    def files_done(self, _arg: str = "") -> list[Reply]:
        step = self.form.step(self.conv.step or "")
        if step.kind != "file":
            return self.current_prompt()
        self.unit.flush()  # files this input added (none, when the step is skipped)
        count = drafts.held_count(self.unit.conn, self.conv)
        return self.store(step.key, count or None)

    def store(self, key: str, value: object) -> list[Reply]:
        """Keep an answer, then ask what comes next (or read the draft back)."""
        self.conv.answers = {**self.conv.answers, key: value}
        # While editing, a changed answer can open a step not yet answered
        # (say, contact details after turning anonymity off): ask it first.
        if self.mode is Mode.EDITING:
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

    def my_reports(self, _arg: str = "") -> list[Reply]:
        rows = reports.for_reporter(self.session, self.sender.id)
        if not rows:
            return [Reply(self.t("chat.my.none"), self.menu_buttons())]
        lines = [self.t("chat.my.header", n=len(rows))]
        buttons: list[list[Button]] = []
        for r in rows:
            lines.append(self.t("chat.my.row", no=r.tracking_no, title=self.title_of(r),
                                status=self.t(f"status.{r.status.value}"),
                                date=r.created_at.strftime("%Y-%m-%d")))
            if r.status is ReportStatus.RETURNED:
                buttons.append([Button(f"{self.t('button.supplement')} {r.tracking_no}",
                                       f"~supp:{r.id}")])
        return [Reply("\n".join(lines), [*buttons, *self.menu_buttons()])]

    def menu_buttons(self) -> list[list[Button]]:
        standing = [self.btn(c.button, c.name, stateless=True) for c in buttons() if c.button]
        return [standing, *self.topic_buttons()]

    def menu(self, text: str) -> list[Reply]:
        return [Reply(text, self.menu_buttons())]

    def menu_replies(self) -> list[Reply]:
        return self.menu(self.t("chat.idle_hint"))
