"""Members and topic calls in the chat: `/bind CODE`, `/mystats`, `/topics`, `/subscribe`.

`/bind CODE` redeems a one-time code from the console (store.network.members): the
reporter becomes a member or informant of the code's unit. `/mystats` shows
their own figures. `/topics` lists open topic calls (选题) with a button each
(`~topic:<id>`) that starts the form with the topic attached; `/subscribe`
and `/unsubscribe` opt in and out of new calls arriving as messages.
"""

from __future__ import annotations

from dataclasses import replace

from store.conversation.context import DraftContext
from store.conversation.modes import Mode
from store.conversation.parts import TurnParts
from store.conversation.types import Button, Reply
from store.models import Topic
from store.network import members, topics


class MemberMoves(TurnParts):
    """Commands for members and topic calls; stateless buttons `~topics`, `~topic:<id>`."""

    def after(self, text: str) -> list[Reply]:
        """`text`, then whatever the reporter was doing (a draft is never lost)."""
        if self.mode is Mode.IDLE:
            return self.menu(text)
        return [Reply(text), *self.current_prompt()]

    # -- members ---------------------------------------------------------------

    def bind(self, code: str = "") -> list[Reply]:
        if not code:
            return self.after(self.t("chat.bind.usage"))
        result = members.redeem(self.session, self.reporter, code)
        if not result.ok:
            return self.after(self.t(f"chat.bind.{result.reason}"))
        assert result.code is not None
        role = self.t(f"chat.bind.role.{result.code.role}")
        return self.after(self.t("chat.bind.ok", name=result.code.name, role=role))

    def mystats(self, _arg: str = "") -> list[Reply]:
        f = members.figures(self.session, self.sender.id, self.reporter.member_id)
        key = "chat.mystats.member" if self.reporter.member_name else "chat.mystats.citizen"
        return self.after(self.t(key, name=self.reporter.member_name or "",
                                 submitted=f.submitted, adopted=f.adopted,
                                 upward=f.adopted_upward, instructions=f.instructions))

    # -- topic calls -------------------------------------------------------------

    def topic_list(self, _arg: str = "") -> list[Reply]:
        open_ = topics.current(self.session, reporter=self.reporter)
        if not open_:
            return self.after(self.t("chat.topics.none"))
        lines = [self.t("chat.topics.header", n=len(open_))]
        rows: list[list[Button]] = []
        for i, topic in enumerate(open_, start=1):
            lines.append(self.t("chat.topics.row", i=i, title=topic.title,
                                description=topic.description,
                                deadline=topics.deadline_text(topic)))
            rows.append([Button(f"{i}. {topic.title}"[:60], f"~topic:{topic.id}")])
        return [Reply("\n\n".join(lines), [*rows, *self.menu_buttons()])]

    def topic_start(self, arg: str) -> list[Reply]:
        topic = self.session.get(Topic, int(arg)) if arg.isdigit() else None
        if topic is None or not topics.may_answer(self.session, topic, self.reporter):
            return self.after(self.t("chat.topics.unknown"))
        if not topics.is_open(topic):
            return self.after(self.t("chat.topics.closed", title=topic.title,
                                     deadline=topics.deadline_text(topic)))
        if self.mode is not Mode.IDLE or self.has_draft():
            return self.after(self.t("chat.topics.busy"))
        return self.begin(self.t("chat.topics.started", title=topic.title), topic_id=topic.id)

    def drop_closed_topic(self) -> str | None:
        """At confirm: a topic call that closed while the draft was filled is let go.

        The report is filed as an ordinary one (nothing typed is lost); the
        returned note tells the reporter why, for the receipt. None: nothing changed.
        """
        if not isinstance(self.ctx, DraftContext) or self.ctx.topic_id is None:
            return None
        topic_id = self.ctx.topic_id
        topic = self.session.get(Topic, topic_id)
        if topic is not None and topics.is_open(topic):
            return None
        self.keep(replace(self.ctx, topic_id=None))
        if topic is None:
            return None
        return self.t("chat.topics.closed_at_confirm", title=topic.title,
                      deadline=topics.deadline_text(topic))

    def subscribe(self, _arg: str = "") -> list[Reply]:
        topics.set_opt_in(self.session, self.reporter, True)
        return self.after(self.t("chat.subscribed"))

    def unsubscribe(self, _arg: str = "") -> list[Reply]:
        topics.set_opt_in(self.session, self.reporter, False)
        return self.after(self.t("chat.unsubscribed"))

    def language(self, arg: str = "") -> list[Reply]:
        """/lang zh|en: the chat's language, kept from now on over the client's own; bare, it toggles."""
        wanted = arg.strip().lower()
        if wanted in ("中文", "zh", "cn", "chinese", "汉语", "中"):
            choice = "zh"
        elif wanted.startswith("en") or wanted == "英文":
            choice = "en"
        elif not wanted:
            choice = "zh" if self.lang == "en" else "en"
        else:
            return self.after(self.t("chat.language.unknown"))
        self.reporter.language = choice
        self.reporter.language_chosen = True
        self.lang = choice
        return self.after(self.t("chat.language"))

    def bulletin_off(self, _arg: str = "") -> list[Reply]:
        """/nobulletin: the monthly 通报 of their figures is no longer sent to them."""
        self.reporter.bulletin_opt_out = True
        return self.after(self.t("chat.bulletin_off"))

    def bulletin_on(self, _arg: str = "") -> list[Reply]:
        self.reporter.bulletin_opt_out = False
        return self.after(self.t("chat.bulletin_on"))

    def topic_buttons(self) -> list[list[Button]]:
        """The menu's 选题 button, shown while some topic call is open."""
        if not topics.any_open(self.session, self.reporter):
            return []
        return [[self.btn("btn.topics", "topics", stateless=True)]]
