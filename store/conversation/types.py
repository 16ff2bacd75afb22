"""What a channel hands the conversation engine, and what it gets back.

Channels (bot/channels/: Telegram, web chat, WeChat) translate their own updates into `Inbound`
and render `Reply` objects; they never look inside a conversation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from store.models import Channel


@dataclass(frozen=True)
class IncomingFile:
    """A photo or document the user sent. `data` is None when it was too big to fetch."""

    kind: str  # photo | document
    filename: str
    content_type: str
    size: int
    data: bytes | None
    ref: str | None = None  # the channel's stable id for the file, if any


@dataclass(frozen=True)
class Capabilities:
    """What people can do on a channel, so the engine words its replies to fit.

    Each channel adapter says what its channel has; the engine never asks
    which channel it is talking to.
    """

    # People can type /commands (Telegram's menu). Without them (the web chat)
    # the engine speaks only of buttons and plain words.
    commands: bool = True
    # Buttons under a message; without them (WeChat) a choice is numbered options.
    buttons: bool = True
    # Photos and documents can be sent to us.
    files: bool = True
    # The longest text one message may carry (None: no limit); longer text is split.
    longest_text: int | None = None
    # Bold, links and the like; without it, plain text only.
    rich_text: bool = False
    # Staff may link a chat here (/link CODE) and get their alerts in it. Not
    # in the web chat: its chats are citizens' browser sessions, no place to
    # page a colleague.
    staff_alerts: bool = True
    # Messages pass through someone else's servers (Telegram, WeChat): a marked report's
    # words stay off it (store.reports.marks.withheld). The web chat is ours.
    external: bool = True


# The web chat's: buttons and plain words, no typed commands, no staff links; our own server.
BUTTONS_ONLY = Capabilities(commands=False, staff_alerts=False, external=False)


@dataclass(frozen=True)
class Inbound:
    """One thing a user did: a message, a command, a button, a file or a location."""

    channel: Channel
    user_id: str
    chat_id: str
    text: str | None = None
    # A slash command without the slash ("start", "cancel", "back", "my", "help", "new").
    command: str | None = None
    args: str = ""
    # The `data` of a button the user pressed.
    callback: str | None = None
    file: IncomingFile | None = None
    location: tuple[float, float] | None = None
    # What the user sent that we cannot take ("sticker", "voice", "video" ...).
    unsupported: str | None = None
    language: str | None = None
    display_name: str | None = None
    # The channel's id for this update; a repeated id is ignored.
    update_id: str | None = None
    # An edit of an earlier message (Telegram): answered, never applied silently.
    edited: bool = False
    capabilities: Capabilities = Capabilities()


# How a channel that can show it draws a button (Telegram draws them all alike).
MAIN = "main"  # the step's main action: submit, send the supplement
MINOR = "minor"  # going back or calling off: drawn smaller than the main action


@dataclass(frozen=True)
class Button:
    label: str
    data: str  # at most 64 bytes (Telegram's callback_data limit)
    style: str = ""  # "", MAIN or MINOR


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: list[list[Button]] = field(default_factory=list)

    def buttons_json(self) -> list[list[dict[str, str]]] | None:
        if not self.buttons:
            return None
        return [[{"label": b.label, "data": b.data, **({"style": b.style} if b.style else {})}
                 for b in row] for row in self.buttons]


@dataclass(frozen=True)
class EngineConfig:
    secret_key: str
    upload_dir: Path
    form: str = "report"
    # Where the site is served: the address of a details page (store.reports.details).
    public_url: str = "http://127.0.0.1:8000"
    # The channel's upload ceiling (MAX_UPLOAD_MB); a form step may ask for less.
    max_file_mb: int = 20
    # What one chat may hold in files not yet submitted (a draft's and a supplement's).
    chat_files_mb: int = 100
    # Flood control: at most `flood_burst` inputs per `flood_window` seconds per user.
    flood_burst: int = 20
    flood_window: float = 10.0
