"""Reading a draft back, changing one answer, and filing it (modes `review` and `editing`).

Filing goes through `store.reports.drafts`, as counter intake and any other way in do.
"""

from __future__ import annotations

import sqlalchemy as sa

from store.conversation.context import Context
from store.conversation.modes import Mode
from store.conversation.parts import TurnParts
from store.conversation.summary import render_answer, summary
from store.conversation.types import MAIN, MINOR, Button, Reply
from store.models import Attachment
from store.reports import drafts, feedback


class ReviewMoves(TurnParts):
    """The read-back with 确认提交 / 修改 / 取消, the edit menu, and confirm."""

    def to_review(self, _arg: str = "") -> list[Reply]:
        self.enter(Mode.REVIEW)
        return self.review()

    def review(self, _arg: str = "") -> list[Reply]:
        self.advance()
        text = self.t("chat.review", summary=summary(self.form, self.conv.answers, self.lang))
        return [Reply(text, [[self.btn("btn.confirm", "ok", style=MAIN), self.btn("btn.edit", "edit")],
                             [self.btn("btn.cancel", "cancel", style=MINOR)]])]

    def edit_menu(self, _arg: str = "") -> list[Reply]:
        self.advance()
        steps = self.form.active_steps(self.conv.answers)
        rows = [[self.btn_raw(s.name(self.lang), "ed", s.key) for s in steps[i:i + 2]]
                for i in range(0, len(steps), 2)]
        rows.append([self.btn("btn.to_review", "rv")])
        return [Reply(self.t("chat.edit_which"), rows)]

    def btn_raw(self, label: str, verb: str, arg: str) -> Button:
        return Button(label, f"t{self.conv.turn}:{verb}:{arg}")

    def edit_step(self, key: str) -> list[Reply]:
        try:
            step = self.form.step(key)
        except KeyError:
            return self.current_prompt()
        if not self.form.applies(step, self.conv.answers):
            return self.current_prompt()
        self.enter(Mode.EDITING, step=step.key)
        out: list[Reply] = []
        if step.kind == "file":
            # Files add up; starting the step again means replacing them.
            self.session.execute(sa.delete(Attachment).where(
                Attachment.conversation_id == self.conv.id, Attachment.report_id.is_(None)))
        current = render_answer(step, self.conv.answers.get(step.key), self.lang)
        if step.kind == "text" and self.conv.answers.get(step.key):
            out.append(Reply(f"{step.name(self.lang)}：{current}"))
        return [*out, *self.ask()]

    def confirm(self, _arg: str = "") -> list[Reply]:
        if self.needs_point():
            # Kept as it is: scanning a point's code binds the point, then 确认提交 files it.
            return [Reply(self.t("chat.need_point"))]
        draft = drafts.from_conversation(self.session, self.conv, self.reporter)
        checked = draft.checked()  # once: filing takes these answers as they are
        wrong = checked.errors
        if wrong:
            # Only a form changed under a draft gets here: ask the first step it now refuses.
            self.enter(Mode.FILLING, step=next(s.key for s in self.form.steps if s.key in wrong))
            return self.ask()
        closed = self.drop_closed_topic()
        draft.topic_id = self.conv.context.get("topic_id")  # a call closed meanwhile was let go
        report = drafts.file_as_is(self.session, draft, checked.answers)
        # The files now belong to the report; the draft's copies of the rows go.
        drafts.drop_held(self.session, self.conv)
        submitted_turn = f"t{self.conv.turn}"
        self.conv.answers = {}
        self.enter(Mode.IDLE, Context(last_receipt=report.tracking_no,
                                      submitted_turn=submitted_turn))
        self.advance()
        receipt = self.t("chat.receipt", no=report.tracking_no, title=self.title_of(report),
                         expect=feedback.expect_answer(report, self.lang))
        return [Reply(f"{receipt}\n\n{closed}" if closed else receipt, self.menu_buttons())]

