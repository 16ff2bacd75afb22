"""Adding to a returned report (退回补充) from the chat."""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from store import forms
from store.conversation.context import DraftContext, Paused, SideContext, SupplementContext
from store.conversation.modes import DRAFT_MODES, Mode
from store.conversation.parts import TurnParts
from store.conversation.steps import check_file, clean
from store.conversation.types import MAIN, MINOR, Reply
from store.models import Attachment, Report, ReportStatus
from store.reports import feedback, files, lifecycle


class SupplementMoves(TurnParts):
    """The supplement mode of `Turn`: collect text and files, then resubmit."""

    # -- supplementing a returned report -------------------------------------

    def returned_report(self, report_id: int) -> Report | None:
        report = self.session.get(Report, report_id)
        if report is None or report.reporter_id != self.sender.id:
            return None
        return report

    def supplement_start(self, arg: str) -> list[Reply]:
        """`~supp:<report id>`: collect what the office asked for (a draft waits meanwhile)."""
        if not arg.isdigit():
            return self.current_prompt()
        report = self.returned_report(int(arg))
        if report is None:
            return self.menu_replies()
        if report.status is not ReportStatus.RETURNED:
            return self.menu(self.no_longer_returned(report))
        self.enter(Mode.SUPPLEMENT, SupplementContext(
            **vars(self.ctx.receipt()), report_id=report.id, paused=self.pause()))
        return [self.supplement_prompt()]

    def pause(self) -> Paused | None:
        """The draft to come back to after a side errand (the one already paused, if any)."""
        if isinstance(self.ctx, SideContext):
            return self.ctx.paused
        if self.mode in DRAFT_MODES:
            topic = self.ctx.topic_id if isinstance(self.ctx, DraftContext) else None
            return Paused(mode=self.mode, step=self.conv.step, topic_id=topic)
        return None

    def errand_report_id(self) -> int:
        return self.ctx.report_id if isinstance(self.ctx, SideContext) else 0

    def supplement_prompt(self) -> Reply:
        self.advance()
        report = self.returned_report(self.errand_report_id())
        question = ""
        if report is not None:
            asked = [e for e in report.events if e.action == lifecycle.Action.RETURN.value]
            question = asked[-1].note or "" if asked else ""
            if self.withheld(report):
                question = self.t("chat.withheld.question", link=self.details_link(report))
        return Reply(
            self.t("chat.supplement.start", no=report.tracking_no if report else "",
                   title=self.title_of(report) if report else "", question=question),
            [[self.btn("btn.supplement_done", "sdone", style=MAIN),
              self.btn("btn.cancel", "cancel", style=MINOR)]])

    def supplement_input(self, _arg: str = "") -> list[Reply]:
        report = self.returned_report(self.errand_report_id())
        assert isinstance(self.ctx, SupplementContext)
        if report is None or report.status is not ReportStatus.RETURNED:
            return self.end_supplement(report)
        ib = self.inbound
        if ib.file is not None:
            problem = check_file(self.form_file_step(), ib.file, 0, self.config.max_file_mb)
            if problem is not None:
                return [Reply(self.t(problem.key, **problem.params))]
            if (full := self.room_for(ib.file)) is not None:
                return [full]
            # Held by the conversation until 提交补充, so an unsent supplement
            # never shows up on the report.
            self.session.add(files.keep(self.config.upload_dir, ib.file).attachment(
                conversation_id=self.conv.id, supplement=True))
            self.keep(replace(self.ctx, files=self.ctx.files + 1))
        elif ib.text is not None:
            text = clean(ib.text)
            if len(text) > lifecycle.NOTE_LIMIT:
                return [Reply(self.t("invalid.too_long", n=len(text), max=lifecycle.NOTE_LIMIT))]
            if not text:
                return [Reply(self.t("invalid.no_content"))]
            self.keep(replace(self.ctx, texts=(*self.ctx.texts, text)))
        else:
            return [Reply(self.t("invalid.location_or_text"))]
        return [Reply(self.t("chat.supplement.noted"),
                      [[self.btn("btn.supplement_done", "sdone", style=MAIN)]])]

    def form_file_step(self) -> forms.Step:
        step = next((s for s in self.form.steps if s.kind == "file"), None)
        return step or forms.Step(key="files", kind="file", prompt={"zh": ""}, label={"zh": ""})

    def supplement_done(self, _arg: str = "") -> list[Reply]:
        report = self.returned_report(self.errand_report_id())
        if report is None or report.status is not ReportStatus.RETURNED:
            return self.end_supplement(report)
        assert isinstance(self.ctx, SupplementContext)
        texts, added = list(self.ctx.texts), self.ctx.files
        if not texts and not added:
            return [Reply(self.t("chat.supplement.empty")), self.supplement_prompt()]
        note = "\n".join(texts) or self.t("chat.supplement.files_only", n=added)
        if len(note) > lifecycle.NOTE_LIMIT:
            note = note[: lifecycle.NOTE_LIMIT]
        lifecycle.apply(self.session, report, lifecycle.Action.RESUBMIT, reporter=self.reporter,
                        note=note)
        self.session.execute(sa.update(Attachment).where(*self.held_files()).values(
            report_id=report.id, conversation_id=None))
        done = "\n".join(filter(None, (self.t("chat.supplement.done", no=report.tracking_no),
                                        feedback.expect_answer(report, self.lang),
                                        self.report_news(report))))
        after = self.leave_supplement()
        if self.mode is Mode.IDLE:
            # That report's news and the menu: no form, no idle hint.
            return [Reply(done, self.menu_buttons())]
        return [Reply(done), *after]

    def end_supplement(self, report: Report | None) -> list[Reply]:
        if report is None:
            out = [Reply(self.t("chat.supplement.closed", no=""))]
        else:
            out = [Reply(self.no_longer_returned(report))]
        return out + self.leave_supplement()

    def no_longer_returned(self, report: Report) -> str:
        """Why an answer to the question is no longer taken; nothing sent is kept."""
        last = report.events[-1] if report.events else None
        if last is not None and last.action == lifecycle.Action.EXPIRE.value:
            return self.t("chat.supplement.expired", no=report.tracking_no)
        return self.t("chat.supplement.closed", no=report.tracking_no)

    def held_files(self) -> tuple[sa.ColumnElement[bool], ...]:
        return (Attachment.conversation_id == self.conv.id, Attachment.report_id.is_(None),
                Attachment.supplement.is_(True))

    def leave_supplement(self) -> list[Reply]:
        """End the side errand (supplement or reopen comment); a paused draft comes back."""
        self.session.execute(sa.delete(Attachment).where(*self.held_files()))
        paused = self.ctx.paused if isinstance(self.ctx, SideContext) else None
        if paused and self.conv.answers:
            self.enter(paused.mode, DraftContext(**vars(self.ctx.receipt()), topic_id=paused.topic_id),
                       step=paused.step)
            return [Reply(self.t("chat.resumed")), *self.current_prompt()]
        if paused:
            # A form opened but not yet answered: nothing to come back to.
            self.discard_draft()
        self.enter(Mode.IDLE, self.ctx.receipt())
        self.advance()
        return self.menu_replies()
