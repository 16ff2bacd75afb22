"""What the mode mixins of `Turn` (review, supplement, closure, membership) use of it.

Declared once here so that each mixin type-checks on its own; `Turn`
provides the real attributes and methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from store import forms
from store.conversation.types import Button, EngineConfig, Inbound, Reply
from store.models import Conversation, Reporter

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class TurnParts:
    config: EngineConfig
    session: Session
    inbound: Inbound
    reporter: Reporter
    conv: Conversation
    form: forms.Form
    lang: str

    if TYPE_CHECKING:  # provided by Turn
        def t(self, key: str, **params: object) -> str: ...
        def btn(self, key: str, verb: str, arg: str = "", *, stateless: bool = False) -> Button: ...
        def advance(self) -> None: ...
        def menu(self, text: str) -> list[Reply]: ...
        def menu_replies(self) -> list[Reply]: ...
        def current_prompt(self) -> list[Reply]: ...
        def leave_supplement(self) -> list[Reply]: ...
        def begin(self, greeting: str | None = None) -> list[Reply]: ...
        def menu_buttons(self) -> list[list[Button]]: ...
        def ask(self) -> list[Reply]: ...
        def drop_closed_topic(self) -> str | None: ...
