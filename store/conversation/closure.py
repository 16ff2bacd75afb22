"""After closure: one-tap satisfaction (满意 / 基本满意 / 不满意), and staff linking a chat.

The CLOSE feedback carries `~rate:<report id>:<satisfied|basically|unsatisfied>`.
Satisfied or mostly satisfied is recorded (lifecycle RATE) with thanks; not
satisfied asks for a comment (mode `reopen`) and then reopens the report with
it (lifecycle REOPEN: back to the first review level).

`/link CODE` is for staff: the one-time code from the console ties this
chat to their account, so alerts reach them here, on any channel whose
capabilities allow it (not the web chat, which is the citizens').
"""

from __future__ import annotations

import sqlalchemy as sa

from store.conversation.context import ReopenContext
from store.conversation.modes import Mode
from store.conversation.parts import TurnParts
from store.conversation.steps import clean
from store.conversation.types import Reply
from store.models import Report, ReportEvent, ReportStatus
from store.network import staff
from store.reports import feedback, lifecycle

RATINGS = ("satisfied", "basically", "unsatisfied")


class ClosureMoves(TurnParts):
    """The `reopen` mode of `Turn` and the stateless `~rate:` buttons; `/link`."""

    # -- satisfaction ---------------------------------------------------------

    def rate(self, arg: str) -> list[Reply]:
        """A satisfaction button from the CLOSE feedback: record it, or ask why not."""
        raw_id, _, rating = arg.partition(":")
        report = self.session.get(Report, int(raw_id)) if raw_id.isdigit() else None
        if report is None or rating not in RATINGS:
            return self.menu_replies()
        if report.reporter_id != self.sender.id:
            merged = self.session.scalar(sa.select(Report.id).where(
                Report.merged_into_id == report.id, Report.reporter_id == self.sender.id))
            key = "chat.rate.merged" if merged is not None else "chat.rate.not_yours"
            return self.menu(self.t(key, no=report.tracking_no))
        refused = self.cannot_rate(report)
        if refused is not None:
            return self.menu(self.t(refused, no=report.tracking_no))
        if rating == "unsatisfied":
            return self.ask_comment(report)
        lifecycle.apply(self.session, report, lifecycle.Action.RATE, reporter=self.reporter,
                        values={"satisfaction": rating})
        out = [Reply(self.t("chat.rate.thanks", rating=self.t(f"satisfaction.{rating}"),
                            no=report.tracking_no))]
        if self.mode is Mode.REOPEN:
            return out + self.leave_supplement()
        return out + self.menu_replies()

    def cannot_rate(self, report: Report) -> str | None:
        """Why `report` cannot be rated now (already rated, reopened, not closed), or None."""
        if report.satisfaction is not None:
            return "chat.rate.already"
        if report.status is ReportStatus.CLOSED:
            return None
        reopened = self.session.scalar(sa.select(ReportEvent.id).where(
            ReportEvent.report_id == report.id,
            ReportEvent.action == lifecycle.Action.REOPEN.value).limit(1))
        return "chat.rate.already" if reopened is not None else "chat.rate.not_closed"

    def ask_comment(self, report: Report) -> list[Reply]:
        # A draft waits; it comes back after the comment.
        self.enter(Mode.REOPEN, ReopenContext(**vars(self.ctx.receipt()), report_id=report.id,
                                              paused=self.pause()))
        return [self.comment_prompt(report)]

    def comment_prompt(self, report: Report | None = None) -> Reply:
        self.advance()
        report = report or self.session.get(Report, self.errand_report_id())
        return Reply(self.t("chat.rate.ask_comment", no=report.tracking_no if report else ""),
                     [[self.btn("btn.rate_cancel", "rcancel")]])

    def comment_input(self, _arg: str = "") -> list[Reply]:
        """The reason for 不满意: reopen the report with it."""
        report = self.session.get(Report, self.errand_report_id())
        if report is None or report.reporter_id != self.sender.id:
            return self.leave_supplement()
        refused = self.cannot_rate(report)
        if refused is not None:
            return [Reply(self.t(refused, no=report.tracking_no)), *self.leave_supplement()]
        text = clean(self.inbound.text or "")
        if not text:
            return [Reply(self.t("chat.rate.need_text")), self.comment_prompt(report)]
        if len(text) > lifecycle.NOTE_LIMIT:
            return [Reply(self.t("invalid.too_long", n=len(text), max=lifecycle.NOTE_LIMIT))]
        lifecycle.apply(self.session, report, lifecycle.Action.REOPEN, reporter=self.reporter,
                        note=text)
        reopened = self.t("chat.rate.reopened", no=report.tracking_no)
        expect = feedback.expect_answer(report, self.lang)
        return [Reply(f"{reopened}\n{expect}" if expect else reopened), *self.leave_supplement()]

    def comment_cancel(self, _arg: str = "") -> list[Reply]:
        return [Reply(self.t("chat.rate.comment_cancelled")), *self.leave_supplement()]

    # -- staff linking a chat ----------------------------------------------------

    def link(self, code: str = "") -> list[Reply]:
        """`/link CODE`: tie this chat to the staff account that made the code."""
        if not self.inbound.capabilities.staff_alerts:
            return [Reply(self.t("chat.link.not_here"))]
        if not code:
            return [Reply(self.t("chat.link.usage"))]
        try:
            user = staff.link_chat(self.session, code, self.inbound.channel, self.inbound.chat_id)
        except staff.LinkRefused as refused:
            return [Reply(self.t(f"chat.link.{refused.reason}"))]
        return [Reply(self.t("chat.link.ok", name=user.display_name or user.username))]
