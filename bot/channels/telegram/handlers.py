"""The one Telegram handler: an update in, the engine's replies out.

It knows no question of any form. It parses the update (`bot.translate`),
fetches a file's bytes when Telegram lets bots have them, runs the engine in
a unit of work of its own, and sends back what the engine said.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot, Update
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from bot.channels import group_commit
from bot.channels.group_commit import GroupCommit, Outcome
from bot.channels.telegram.sender import retry_after_seconds, send
from bot.channels.telegram.translate import DOWNLOAD_LIMIT, can_download, file_ref, is_private, to_inbound
from store import db, limits
from store.conversation.types import Inbound, Reply
from store.i18n import lang_of, register, t

log = logging.getLogger(__name__)

KEY = "minyi"
# A group is told once in this long that reports go to a private chat.
REFUSAL_INTERVAL = 3600.0

register({
    "bot.busy": {
        "zh": "系统繁忙，请稍后再试。您已填写的内容不会丢失。",
        "en": "The system is busy, please try again later. Nothing you answered is lost.",
    },
    "bot.private_only": {
        "zh": "请私聊我反映社情民意：点击我的头像，进入对话后发送 /start。\n"
              "Please talk to me in a private chat to send a report: open my profile and send /start.",
        "en": "Please talk to me in a private chat to send a report: open my profile and send /start.",
    },
})


class HandlesInbound(Protocol):
    """The conversation engine, as the bot sees it."""

    def handle(self, work: db.Unit, inbound: Inbound) -> list[Reply]: ...

    def handle_all(self, work: db.Unit, inbounds: Sequence[Inbound]) -> list[list[Reply]]: ...


@dataclass
class BotContext:
    """What the handler needs, kept in `application.bot_data[KEY]`."""

    session_factory: sessionmaker[Session]
    engine: HandlesInbound
    download_limit: int = DOWNLOAD_LIMIT
    # Which group chats were told to use a private chat, this past hour (bounded: a bot
    # added to ever more groups must not grow with them).
    refused: limits.Local = field(default_factory=limits.Local)
    # The inputs waiting together answered in one transaction (made in the event loop).
    rounds: GroupCommit | None = field(default=None, repr=False)

    def answer(self, inbound: Inbound) -> list[Reply]:
        """Run the engine in a unit of work of its own (blocking: call it in a thread)."""
        with db.unit(self.session_factory) as work:
            return self.engine.handle(work, inbound)

    def answer_all(self, inbounds: Sequence[Inbound]) -> list[Outcome]:
        """Several chats' inputs in one unit of work (`group_commit.answer_all`; blocking)."""
        return group_commit.answer_all(self.session_factory, self.engine.handle_all, inbounds)

    async def answer_soon(self, inbound: Inbound) -> list[Reply]:
        """`inbound`'s replies, committed together with the inputs waiting beside it."""
        if self.rounds is None or not self.rounds.serves_this_loop():
            self.rounds = GroupCommit(self.answer_all)
        return await self.rounds.answer(inbound)


async def on_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer any update: private chats reach the engine, other chats get a refusal."""
    deps: BotContext = context.bot_data[KEY]
    chat = update.effective_chat
    if chat is None:
        return
    if not is_private(update):
        await _refuse_outside_private(update, context.bot, deps)
        return
    lang = lang_of(update.effective_user.language_code if update.effective_user else None)
    try:
        await _acknowledge(update)
        inbound = to_inbound(update, await _fetch(context.bot, update, deps.download_limit))
        if inbound is None:
            return
        replies = await deps.answer_soon(inbound)
    except Exception:
        log.exception("update %s failed", update.update_id)
        await _send_quietly(context.bot, chat.id, t("bot.busy", lang))
        return
    for reply in replies:
        if not await _send_quietly(context.bot, chat.id, reply.text, reply.buttons_json()):
            break


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log what escaped a handler and tell a private-chat user to try again."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and is_private(update) and update.effective_chat:
        user = update.effective_user
        lang = lang_of(user.language_code if user else None)
        await _send_quietly(context.bot, update.effective_chat.id, t("bot.busy", lang))


async def _acknowledge(update: Update) -> None:
    """Stop the button's spinner and take the buttons away, so a second tap finds none."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer()
    except BadRequest as exc:  # answered already, or too old to answer
        log.info("callback %s not answered: %s", query.id, exc)
    if query.message is not None and query.message.is_accessible:
        try:
            await query.edit_message_reply_markup(reply_markup=None)
        except BadRequest as exc:  # "message is not modified": a double tap
            log.info("buttons of message %s not removed: %s", query.message.message_id, exc)


async def _fetch(bot: Bot, update: Update, limit: int) -> bytes | None:
    """The bytes of the update's photo or document, or None when Telegram won't give them."""
    ref = file_ref(update)
    if ref is None or update.edited_message is not None or not can_download(ref, limit):
        return None
    try:
        remote = await bot.get_file(ref.file_id)
    except BadRequest as exc:  # "file is too big": the declared size was missing or wrong
        log.info("file %s not fetched: %s", ref.unique_id, exc)
        return None
    data = bytes(await remote.download_as_bytearray())
    return data if len(data) <= limit else None


async def _refuse_outside_private(update: Update, bot: Bot, deps: BotContext) -> None:
    """Tell a group (once an hour at most) that reports are taken in private chats only."""
    if update.callback_query is not None:
        await _acknowledge(update)
        return
    chat = update.effective_chat
    assert chat is not None
    if not deps.refused.first(str(chat.id), REFUSAL_INTERVAL):
        return
    await _send_quietly(bot, chat.id, t("bot.private_only", "zh"))


async def _send_quietly(bot: Bot, chat_id: int, text: str,
                        buttons: list[list[dict[str, str]]] | None = None) -> bool:
    """Send, waiting out one flood-control pause; log any other failure. True if sent."""
    for _ in range(2):
        try:
            await send(bot, chat_id, text, buttons)
            return True
        except RetryAfter as exc:
            await asyncio.sleep(retry_after_seconds(exc))
        except Forbidden as exc:
            # Not the chat id: for a private chat it is the reporter's Telegram id (保密).
            log.info("a chat cannot be written to: %s", exc)
            return False
        except TelegramError as exc:
            log.warning("a reply failed: %s", exc)
            return False
    return False
