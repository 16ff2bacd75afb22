"""Telegram updates → `Inbound`: pure functions, no network and no database.

The handler fetches a file's bytes (when allowed) between `file_ref` and
`to_inbound`; everything else about an update is read here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from telegram import Message, Update
from telegram.constants import ChatType

from bot.channels.telegram.sender import CAPABILITIES
from store.conversation.types import Inbound, IncomingFile
from store.models import Channel

# Bots cannot download files bigger than this from Telegram.
DOWNLOAD_LIMIT = 20 * 1024 * 1024

# Checked in this order: an animation also carries a `document`.
UNSUPPORTED = ("sticker", "voice", "video", "video_note", "audio", "animation", "contact",
               "poll", "dice", "game", "story", "invoice")


@dataclass(frozen=True)
class FileRef:
    """A file named in a message, before its bytes are fetched."""

    file_id: str
    unique_id: str
    kind: str  # photo | document
    filename: str
    content_type: str
    size: int | None


def is_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


def _message(update: Update) -> Message | None:
    return update.message or update.edited_message


def file_ref(update: Update) -> FileRef | None:
    """The photo (largest size) or document of the update's message, if any."""
    msg = _message(update)
    if msg is None or msg.animation is not None:
        return None
    if msg.photo:
        big = max(msg.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        return FileRef(big.file_id, big.file_unique_id, "photo",
                       f"photo_{big.file_unique_id}.jpg", "image/jpeg", big.file_size)
    if msg.document is not None:
        doc = msg.document
        return FileRef(doc.file_id, doc.file_unique_id, "document",
                       doc.file_name or f"document_{doc.file_unique_id}",
                       doc.mime_type or "application/octet-stream", doc.file_size)
    return None


def can_download(ref: FileRef, limit: int = DOWNLOAD_LIMIT) -> bool:
    """Whether the bot may fetch it; an unknown size is tried (and checked after)."""
    return ref.size is None or ref.size <= limit


def parse_command(text: str) -> tuple[str, str] | None:
    """`/start abc` → ("start", "abc"); `/help@minyi_bot` → ("help", ""); else None."""
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _, args = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    if not name or not name.replace("_", "").isalnum():
        return None
    return name, args.strip()


def _unsupported(msg: Message) -> str | None:
    for kind in UNSUPPORTED:
        if getattr(msg, kind, None):
            return kind
    return None


def to_inbound(update: Update, data: bytes | None = None) -> Inbound | None:
    """What the user did in a private chat, as the engine takes it.

    `data` is the fetched content of `file_ref(update)` (None when too big or
    not fetched). Returns None for updates that carry nothing to answer.
    """
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or user.is_bot:
        return None
    base = Inbound(channel=Channel.TELEGRAM, user_id=str(user.id), chat_id=str(chat.id),
                   language=user.language_code, display_name=user.full_name,
                   update_id=str(update.update_id), capabilities=CAPABILITIES)
    query = update.callback_query
    if query is not None:
        if not query.data:
            return None
        return replace(base, callback=query.data)
    msg = _message(update)
    if msg is None:
        return None
    edited = update.edited_message is not None
    if edited:
        return replace(base, text=msg.text or msg.caption, edited=True)
    kind = _unsupported(msg)
    if kind is not None:
        return replace(base, unsupported=kind)
    ref = file_ref(update)
    if ref is not None:
        size = ref.size if ref.size is not None else len(data or b"")
        incoming = IncomingFile(kind=ref.kind, filename=ref.filename,
                                content_type=ref.content_type, size=size, data=data,
                                ref=ref.unique_id)
        return replace(base, file=incoming, text=msg.caption)
    location = msg.location or (msg.venue.location if msg.venue else None)
    if location is not None:
        return replace(base, location=(location.latitude, location.longitude))
    if msg.text:
        command = parse_command(msg.text)
        if command is not None:
            return replace(base, command=command[0], args=command[1])
        return replace(base, text=msg.text)
    return None
