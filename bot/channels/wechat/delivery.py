"""Getting text to a user: customer service messages, and a template message when they cannot go.

A customer service (客服) message reaches a user only within 48 hours of their
last message to the account (45015, or 45047 after too many). Past that, a
template message (模板消息, `WECHAT_TEMPLATE_ID`) tells them there is news
and to open the account; once it is accepted the message counts as delivered.
Replies to what a user just wrote go the same way, so both the inbox worker
and the notifier's feedback use `deliver`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.wechat import render, state
from bot.channels.wechat.api import BEIJING, Outcome, Status, WeChatAPI
from store.conversation.types import Button, Reply
from store.i18n import t

log = logging.getLogger(__name__)

# The template's field for the message itself: long enough to be read, short enough for WeChat.
EXCERPT = 120


@dataclass(frozen=True)
class Delivery:
    """How a delivery ended, and how many parts went out (the `start` of a retry)."""

    outcome: Outcome
    sent: int


def template_data(text: str, at: datetime, lang: str = "zh") -> dict[str, str]:
    """The fields of the fallback template: first / keyword1 (the text) / keyword2 (time) / remark."""
    flat = " ".join(text.split())
    excerpt = flat if len(flat) <= EXCERPT else flat[:EXCERPT - 1] + "…"
    return {"first": t("wechat.template.first", lang), "keyword1": excerpt,
            "keyword2": at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M"),
            "remark": t("wechat.template.remark", lang)}


def deliver(api: WeChatAPI, openid: str, parts: Sequence[str], *, start: int = 0,
            template_id: str | None = None, url: str | None = None,
            on_sent: Callable[[int], None] | None = None,
            now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Delivery:
    """Send `parts[start:]` in order; outside the 48-hour window, one template message instead.

    `on_sent(n)` is called after each accepted part with the count sent so
    far, so a caller can record progress and a retry never repeats a part.
    """
    for i in range(start, len(parts)):
        outcome = api.send_text(openid, parts[i])
        if outcome.sent:
            if on_sent is not None:
                on_sent(i + 1)
            continue
        if outcome.status != Status.OUTSIDE_WINDOW:
            return Delivery(outcome, i)
        if not template_id:
            return Delivery(Outcome(Status.FAILED, f"{outcome.error}; no WECHAT_TEMPLATE_ID to "
                                                   "send a template message instead",
                                    outcome.errcode), i)
        fallback = api.send_template(openid, template_id,
                                     template_data("\n".join(parts[i:]), now()), url)
        if fallback.sent:
            # No openid in the log: who wrote to the office is read through the console only.
            log.info("wechat: outside the 48-hour window (%s), sent template %s instead",
                     outcome.errcode, template_id)
            if on_sent is not None:
                on_sent(len(parts))
            return Delivery(fallback, len(parts))
        return Delivery(fallback, i)
    return Delivery(Outcome(Status.SENT, via="custom"), len(parts))


def send_message(api: WeChatAPI, sessions: sessionmaker[Session], openid: str, text: str,
                 buttons: list[list[dict[str, str]]] | None = None, *,
                 template_id: str | None = None, url: str | None = None) -> Outcome:
    """One outbox message (feedback, a reminder) with its buttons as numbered options.

    When the text went out as itself, the options are remembered so the
    user's "1" means the first; a template message shows no options.
    """
    reply = Reply(text, [[Button(b["label"], b["data"]) for b in row] for row in buttons or []])
    rendered = render.render([reply])
    delivery = deliver(api, openid, rendered.parts, template_id=template_id, url=url)
    if delivery.outcome.sent and delivery.outcome.via == "custom" and rendered.offered:
        with sessions() as s, s.begin():
            state.save_offer(s, openid, rendered.offered)
    return delivery.outcome
