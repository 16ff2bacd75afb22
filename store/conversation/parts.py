"""What the mode mixins of `Turn` (review, supplement, closure, membership) use of it.

Declared once here so that each mixin type-checks on its own; `Turn`
provides the real attributes and methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from store import forms
from store.conversation.context import Context, Paused
from store.conversation.modes import Mode
from store.conversation.row import ConvRow
from store.conversation.sender import Sender
from store.conversation.types import Button, EngineConfig, Inbound, IncomingFile, Reply
from store.models import Report, Reporter
from store.reports import details, files, marks

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class TurnParts:
    config: EngineConfig
    inbound: Inbound
    sender: Sender
    conv: ConvRow
    form: forms.Form
    lang: str
    ctx: Context
    new_reporter: bool

    def room_for(self, file: IncomingFile) -> Reply | None:
        """None if the chat may hold `file` besides what it holds unsubmitted; else why not.

        The cap keeps one chat from filling the disk with drafts it never sends;
        what it already holds stays, and so does the draft.
        """
        cap = self.config.chat_files_mb * 1024 * 1024
        if files.held_bytes(self.session, self.conv.id) + file.size <= cap:
            return None
        return Reply(self.t("invalid.chat_files_full", mb=self.config.chat_files_mb))

    # -- a marked report on a foreign carrier (store.reports.marks.withheld) --

    def withheld(self, report: Report) -> bool:
        """Whether this chat may not be told `report`'s words (title, text, place, notes)."""
        return marks.withheld(self.session, report, self.inbound.capabilities.external)

    def title_of(self, report: Report) -> str:
        """`report`'s title, or where this chat may not carry it, its mark in its place."""
        if not self.withheld(report):
            return report.title
        return self.t("chat.withheld.title", mark=marks.rules(self.session).label(report.mark))

    def details_link(self, report: Report) -> str:
        """A new link to the page where this reporter reads `report`'s details."""
        return details.link_url(self.session, report, self.reporter, self.config.public_url)

    if TYPE_CHECKING:  # provided by Turn
        @property
        def session(self) -> Session: ...
        @property
        def reporter(self) -> Reporter: ...
        def t(self, key: str, **params: object) -> str: ...
        @property
        def mode(self) -> Mode: ...
        def enter(self, mode: Mode, context: Context | None = None, *,
                  step: str | None = None) -> None: ...
        def keep(self, context: Context) -> None: ...
        def has_draft(self) -> bool: ...
        def pause(self) -> Paused | None: ...
        def errand_report_id(self) -> int: ...
        def btn(self, key: str, verb: str, arg: str = "", *, stateless: bool = False,
                style: str = "") -> Button: ...
        def advance(self) -> None: ...
        def menu(self, text: str) -> list[Reply]: ...
        def menu_replies(self) -> list[Reply]: ...
        def current_prompt(self) -> list[Reply]: ...
        def leave_supplement(self) -> list[Reply]: ...
        def needs_point(self) -> bool: ...
        def begin(self, greeting: str | None = None, topic_id: int | None = None) -> list[Reply]: ...
        def menu_buttons(self) -> list[list[Button]]: ...
        def ask(self) -> list[Reply]: ...
        def drop_closed_topic(self) -> str | None: ...
        def discard_draft(self) -> None: ...
        def report_news(self, report: Report) -> str: ...
