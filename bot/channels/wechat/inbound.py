"""WeChat's callbacks: is it WeChat, is it fresh, what does it say, and what the engine gets.

`Gate.open` checks one POST to /wechat and returns the message in clear:

1. the signature, SHA-1 of the sorted (token, timestamp, nonce): else 403;
2. the timestamp, within `WINDOW` seconds of our clock either way: else 403;
3. in safe mode (`encrypt_type=aes`) the `msg_signature` over the ciphertext
   too (else 403), then AES decryption with the account's EncodingAESKey
   (wechatpy's crypto; a ciphertext for another app id is refused 403);
4. the XML (expat, entities off, through xmltodict as wechatpy parses it):
   a body that is not a WeChat message is refused 400.

The caller then records (timestamp, nonce) in the database (`state.first_sight`)
and refuses a pair seen before: the window bounds how long that record must
live, and the database, unlike a per-process set, is shared by every process
that may receive the replay. In plain mode the signature does not cover the
body, which is why a nonce is good for one request only; safe mode signs the
ciphertext as well.

`to_inbound` turns a parsed message into the engine's `Inbound` (pure): text
(a leading slash is a command, as in Telegram), image (its bytes fetched by
the caller through the media API), location, a menu click (its key is the
command), following or scanning a point's code (`qrscene_<token>` / `<token>`
→ `/start <token>`), and anything else as `unsupported`. A message's MsgId,
or for events the sender, time and event, is its `update_id`, so WeChat's
retries of one message are recognised.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
import time
import xml.parsers.expat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import BaseMessage

from bot.channels.wechat.render import CAPABILITIES
from store.conversation.types import Inbound, IncomingFile
from store.models import Channel

# How far a callback's timestamp may be from our clock; also how long a nonce is remembered.
WINDOW = 300
# WeChat's messages are a few hundred bytes; an image arrives as a media id, not its bytes.
MAX_BODY = 64 * 1024
_NONCE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_COMMAND = re.compile(r"[a-z][a-z0-9_]{0,31}")
_REQUIRED = ("ToUserName", "FromUserName", "CreateTime", "MsgType")
# Message kinds the engine cannot take, by the name its polite refusal uses.
UNSUPPORTED = {"voice": "voice", "video": "video", "shortvideo": "video"}
# Events that tell us something but ask for no answer.
SILENT_EVENTS = {"unsubscribe", "location", "view", "templatesendjobfinish", "masssendjobfinish",
                 "view_miniprogram", "kf_create_session", "kf_close_session", "kf_switch_session"}


class Refused(Exception):
    """A callback that is not taken: `status` for WeChat (or whoever sent it), `reason` for the log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Envelope:
    """A callback that passed the checks: its message in clear, and what identifies it."""

    xml: str
    key: str  # `update_id`: MsgId, or a digest of sender, time and event
    openid: str
    msg_type: str
    timestamp: int
    nonce: str


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


class Gate:
    """Checks callbacks for one account (`token`, and for safe mode `aes_key` and `app_id`)."""

    def __init__(self, token: str, app_id: str, aes_key: str | None = None, *,
                 clock: Callable[[], float] = time.time, window: int = WINDOW) -> None:
        self.token = token
        self.app_id = app_id
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None
        self.clock = clock
        self.window = window

    def echo(self, args: Mapping[str, str]) -> str:
        """The GET WeChat makes when the URL is saved: its `echostr` back, if the signature holds."""
        self._signed(args)
        echostr = args.get("echostr") or ""
        if not echostr or len(echostr) > 128:
            raise Refused(400, "verification without an echostr")
        return echostr

    def open(self, args: Mapping[str, str], body: bytes) -> Envelope:
        """The checked, decrypted, parsed message of a POST; `Refused` says why not."""
        timestamp, nonce = self._signed(args)
        if len(body) > MAX_BODY:
            raise Refused(413, f"body of {len(body)} bytes is larger than {MAX_BODY}")
        if args.get("encrypt_type", "raw").lower() == "aes":
            text = self._decrypt(args, body, timestamp, nonce)
        else:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise Refused(400, "body is not UTF-8") from None
        fields = _fields(text)
        return Envelope(text, message_key(fields), fields["FromUserName"],
                        fields["MsgType"].lower(), timestamp, nonce)

    def _signed(self, args: Mapping[str, str]) -> tuple[int, str]:
        given, stamp, nonce = (args.get(k) or "" for k in ("signature", "timestamp", "nonce"))
        if not (given and stamp.isascii() and stamp.isdigit() and len(stamp) <= 12
                and _NONCE.fullmatch(nonce)):
            raise Refused(403, "signature, timestamp or nonce missing or malformed")
        if not hmac.compare_digest(signature(self.token, stamp, nonce), given.lower()):
            raise Refused(403, "wrong signature")
        timestamp = int(stamp)
        skew = self.clock() - timestamp
        if abs(skew) > self.window:
            raise Refused(403, f"timestamp {timestamp} is {skew:+.0f} s from our clock "
                               f"(more than {self.window} s: a replay, or a clock far off)")
        return timestamp, nonce

    def _decrypt(self, args: Mapping[str, str], body: bytes, timestamp: int, nonce: str) -> str:
        if self.crypto is None:
            raise Refused(400, "an encrypted (safe mode) callback, but WECHAT_AES_KEY is not set")
        outer = _parse_xml(body)
        encrypted = outer.get("Encrypt")
        if not isinstance(encrypted, str) or not encrypted:
            raise Refused(400, "a safe mode callback without <Encrypt>")
        try:
            return str(self.crypto.decrypt_message(
                {"Encrypt": encrypted}, args.get("msg_signature") or "", str(timestamp), nonce))
        except InvalidSignatureException:
            raise Refused(403, "wrong msg_signature") from None
        except InvalidAppIdException:
            raise Refused(403, "ciphertext made for another app id") from None
        except (ValueError, TypeError, IndexError, struct.error) as exc:
            raise Refused(400, f"ciphertext does not decrypt: {type(exc).__name__}") from None


def _parse_xml(data: str | bytes) -> dict[str, Any]:
    try:
        doc = xmltodict.parse(data, disable_entities=True)
    except (xml.parsers.expat.ExpatError, ValueError) as exc:
        raise Refused(400, f"malformed XML: {exc}") from None
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise Refused(400, "XML without an <xml> root element")
    return root


def _fields(text: str) -> dict[str, str]:
    """The message's top-level fields, each a plain string, the required ones present."""
    root = _parse_xml(text)
    fields = {k: v for k, v in root.items() if isinstance(v, str)}
    missing = [name for name in _REQUIRED if not fields.get(name)]
    if missing:
        raise Refused(400, f"not a WeChat message: no {', '.join(missing)}")
    if not fields["CreateTime"].isdigit() or len(fields["FromUserName"]) > 64:
        raise Refused(400, "not a WeChat message: bad CreateTime or FromUserName")
    return fields


def message_key(fields: Mapping[str, str]) -> str:
    """What WeChat's retries of one message share: its MsgId, or for events sender + time + event."""
    msg_id = fields.get("MsgId") or ""
    if msg_id.isdigit():
        return f"m{msg_id}"
    raw = "|".join(fields.get(k) or "" for k in ("FromUserName", "CreateTime", "Event", "EventKey"))
    return "e" + hashlib.sha1(raw.encode()).hexdigest()[:40]


# -- into the engine ------------------------------------------------------------------

def parse(text: str) -> BaseMessage:
    """The typed message (wechatpy) of XML that `Gate.open` accepted."""
    return parse_message(text)


def media_id(message: BaseMessage) -> str | None:
    """The media to fetch before `to_inbound`, for an image."""
    return message.media_id if message.type == "image" and message.media_id else None


def photo(message: BaseMessage, data: bytes | None, content_type: str, size: int) -> IncomingFile:
    """An image's fetched bytes as the engine takes a photo (`data` None when too big)."""
    ext = {"image/png": "png", "image/gif": "gif", "image/webp": "webp"}.get(content_type, "jpg")
    return IncomingFile(kind="photo", filename=f"wechat_{message.id or message.time}.{ext}",
                        content_type=content_type, size=size, data=data, ref=message.media_id)


def to_inbound(message: BaseMessage, key: str, file: IncomingFile | None = None) -> Inbound | None:
    """What the user did, as the engine takes it; None for events that ask for no answer."""
    openid = str(message.source)
    base = Inbound(channel=Channel.WECHAT, user_id=openid, chat_id=openid, update_id=key,
                   capabilities=CAPABILITIES)
    kind = message.type
    if kind == "unknown":  # wechatpy's name for any type it has no class for: use WeChat's own
        kind = str(getattr(message, "_data", {}).get("MsgType") or kind).lower()
    if kind == "text":
        text = str(message.content or "")
        command = parse_command(text)
        if command is not None:
            return replace(base, command=command[0], args=command[1])
        return replace(base, text=text)
    if kind == "image":
        return replace(base, file=file) if file is not None else replace(base, unsupported="image")
    if kind == "location":
        try:
            where = (float(message.location_x), float(message.location_y))
        except (TypeError, ValueError):
            return replace(base, unsupported="location")
        return replace(base, location=where)
    if kind == "event":
        return _event(message, base)
    return replace(base, unsupported=UNSUPPORTED.get(kind, kind))


def _event(message: BaseMessage, base: Inbound) -> Inbound | None:
    event = str(message.event).lower()
    if event in ("subscribe", "subscribe_scan", "scan"):
        # wechatpy strips `qrscene_` from a scan that also follows (subscribe_scan).
        scene = str(getattr(message, "scene_id", None) or getattr(message, "key", None) or "")
        return replace(base, command="start", args=scene.removeprefix("qrscene_").strip())
    if event == "click":
        command = parse_command("/" + str(message.key or ""))
        return replace(base, command=command[0], args=command[1]) if command else None
    if event in SILENT_EVENTS:
        return None
    return replace(base, unsupported=event)


def parse_command(text: str) -> tuple[str, str] | None:
    """`/new` → ("new", ""); `/bind ABC123` → ("bind", "ABC123"); anything else None."""
    if not text.startswith("/"):
        return None
    head, _, args = text[1:].partition(" ")
    name = head.strip().lower()
    return (name, args.strip()) if _COMMAND.fullmatch(name) else None
