"""Opening the chat: a first visit starts the form, a return shows what happened first.

`start` answers Telegram's `/start [token]` and the web chat's page being
opened (the point's QR code, a counter slip's follow link, the browser's
history). A reporter who has reports sees their news and the menu, and no
form starts until they ask for one; a form in progress is taken up where it
stood (a form with nothing filled in simply goes on); a reporter with no
reports is greeted and asked the first question.
"""

from __future__ import annotations

from dataclasses import replace

from store.conversation import news
from store.conversation.context import DraftContext, SideContext
from store.conversation.parts import TurnParts
from store.conversation.types import MAIN, Button, Reply
from store.models import Channel, CollectionPoint, Report, ReportStatus
from store.network import points, scans
from store.review import transfers


class OpeningMoves(TurnParts):
    """`start`, the news of a reporter's reports, and a draft taken up again."""

    def start(self, token: str = "") -> list[Reply]:
        """`/start [token]`: bind the point from the QR code; news first for a returning reporter."""
        out: list[Reply] = []
        point = self.scanned_point(token, out)
        if self.has_draft():
            return [*out, *self.take_up_draft(point)]
        if isinstance(self.ctx, SideContext):
            if point is not None:
                self.keep(replace(self.ctx, pending_point_id=point.id))
            latest = self.news_reply()
            return [*out, *([latest] if latest else []), *self.current_prompt()]
        if point is not None:
            self.conv.point_id = point.id
        bound = "\n" + self.t("chat.point_bound", point=point.name) if point is not None else ""
        latest = self.news_reply(self.t("chat.welcome_back") + bound, menu=True)
        if latest is not None:
            return [*out, latest]
        if token and point is None:
            return [*out, *self.menu_replies()]
        if point is None:
            self.conv.point_id = None
        return [*out, *self.begin(self.t("chat.welcome") + bound)]

    def scanned_point(self, token: str, out: list[Reply]) -> CollectionPoint | None:
        """The point a start token names; what is wrong with the token goes to `out`."""
        # A plain start (a bot found by name) is no refused code; a valid one clears it.
        self.conv.refused_code = None
        if not token:
            return None
        found = points.resolve(self.session, self.config.secret_key, token)
        if not found.ok:
            out.append(Reply(self.t(f"chat.token.{found.reason}")))
            self.conv.refused_code = found.reason
            return None
        if found.point is None:
            return None
        if found.replaced is not None:
            out.append(Reply(self.t("chat.token.routed", point=found.point.name)))
        # Every chat channel's scan counts here; the web chat counts its page opens
        # itself (once per browser session), before its page starts the conversation.
        if self.inbound.channel != Channel.WEB:
            who = scans.visitor_key(self.config.secret_key,
                                    f"{self.inbound.channel}:{self.inbound.user_id}")
            scans.record(self.session, found.point.id, self.inbound.channel, visitor=who)
        return found.point

    def take_up_draft(self, point: CollectionPoint | None) -> list[Reply]:
        """The news, then the question the draft stands at (or, when a new point's code
        was scanned over a draft with answers, whether to keep it)."""
        latest = self.news_reply()
        out = [latest] if latest else []
        if point is not None and point.id != self.conv.point_id:
            if self.conv.answers and self.conv.point_id is not None:
                if isinstance(self.ctx, DraftContext):
                    self.keep(replace(self.ctx, pending_point_id=point.id))
                return [*out, self.draft_kept()]
            # Nothing filled in yet: the form simply goes on, for the new point.
            self.conv.point_id = point.id
        filled = self.answered()
        if filled:
            out.append(Reply(self.t("chat.draft_resumed", n=filled)))
        return [*out, *self.current_prompt()]

    def answered(self) -> int:
        return len([k for k, v in self.conv.answers.items() if v is not None])

    def draft_kept(self) -> Reply:
        self.advance()
        return Reply(self.t("chat.draft_kept", n=self.answered()),
                     [[self.btn("btn.resume", "resume", style=MAIN),
                       self.btn("btn.restart", "restart")]])

    # -- the news ------------------------------------------------------------

    def news_line(self, item: news.News) -> str:
        if self.withheld(item.report):
            return self.t("chat.news.withheld_row", mark=news.MARKS.get(item.report.status, "🕓"),
                          no=item.report.tracking_no,
                          status=self.t(f"status.{item.report.status.value}"),
                          link=self.details_link(item.report), date=transfers.local_date(item.at))
        return self.t("chat.news.row", mark=news.MARKS.get(item.report.status, "🕓"),
                      no=item.report.tracking_no, title=item.report.title,
                      news=item.text(self.lang), date=transfers.local_date(item.at))

    def news_reply(self, greeting: str | None = None, *, menu: bool = False) -> Reply | None:
        """Where the reporter's reports stand, with a 补充 button for each one returned to
        them (and the menu, when nothing else is going on); None without reports."""
        if self.new_reporter:  # a first /start: nothing to look up
            return None
        items, more = news.recent(self.session, self.sender.id)
        if not items:
            return None
        lines = [self.t("chat.news.header"), *(self.news_line(n) for n in items)]
        if more:
            lines.append(self.t("chat.news.more", n=more))
        if menu:
            lines.append(self.t("chat.news.footer"))
        buttons = [[Button(f"{self.t('button.supplement')} {n.report.tracking_no}",
                           f"~supp:{n.report.id}", MAIN)]
                   for n in items if n.report.status is ReportStatus.RETURNED]
        if menu:
            buttons += self.menu_buttons()
        text = "\n\n".join(lines)
        return Reply(f"{greeting}\n\n{text}" if greeting else text, buttons)

    def report_news(self, report: Report) -> str:
        """One report's standing, as a sentence (after its supplement was sent)."""
        if self.withheld(report):
            return self.t("chat.news.one_withheld", no=report.tracking_no,
                          status=self.t(f"status.{report.status.value}"),
                          link=self.details_link(report))
        [item] = news.of_reports(self.session, [report])
        return self.t("chat.news.one", no=report.tracking_no, title=report.title,
                      news=item.text(self.lang))
