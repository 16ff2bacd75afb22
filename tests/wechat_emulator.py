"""A local WeChat Official Account API, served over real HTTP on 127.0.0.1 for tests.

minyi's client talks to it as it would to WeChat (`base=emu.base_url`); the
test plays WeChat's users and servers: `emu.text(openid, "...")` builds the
signed callback WeChat would POST to /wechat (plain or AES "safe" mode, with
wechatpy's crypto), and `emu.texts(openid)` reads what minyi sent them.

The API keeps WeChat's rules and error codes: access tokens that expire
(42001) or are invalidated by the test (40001), an older token living five
minutes after a new one is fetched; customer service messages only within 48
hours of the user's last message by the emulator's clock (45015), never to a
user who unfollowed (43004), at most 2048 bytes (45002); a quota per API
that runs out (45009); template messages for registered templates (40037);
permanent QR codes per scene; media a user sent. Every call is counted.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import itertools
import json
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import segno
from wechatpy.crypto import PrpCrypto

JSON = dict[str, Any]

APP_ID = "wx5f2c0a9d3e1b7c64"
APP_SECRET = "emulator-app-secret-0123456789ab"
TOKEN = "minyiWeChatToken42"
# 43 characters, as WeChat's console generates them (32 bytes, base64 without its `=`).
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
ACCOUNT = "gh_0123456789ab"  # the account's own id, ToUserName of every callback
WINDOW = 48 * 3600  # customer service messages: this long after the user last wrote
TEXT_LIMIT = 2048  # bytes of a customer service text
OLD_TOKEN_GRACE = 300  # an older token keeps working this long after a new one is fetched


@dataclass
class Delivered:
    """One message WeChat accepted for a user."""

    openid: str
    kind: str  # custom | template
    text: str
    at: float
    template_id: str | None = None
    data: JSON = field(default_factory=dict)
    url: str | None = None


@dataclass
class _User:
    subscribed: bool = True
    last_wrote: float | None = None


@dataclass
class _Token:
    expires_at: float
    invalid: bool = False


@dataclass(frozen=True)
class Callback:
    """A request WeChat's servers would make to the account's URL."""

    query: dict[str, str]
    body: bytes
    xml: str  # the message itself (what `body` carries encrypted in safe mode)

    @property
    def url(self) -> str:
        return "/wechat?" + urllib.parse.urlencode(self.query)

    def post(self, client: Any) -> Any:
        """POST it with a Flask test client; returns the response."""
        return client.post(self.url, data=self.body, content_type="text/xml")


class WeChatEmulator:
    """The API in a background thread; use as a context manager."""

    def __init__(self, *, app_id: str = APP_ID, app_secret: str = APP_SECRET, token: str = TOKEN,
                 aes_key: str | None = AES_KEY, token_lifetime: int = 7200) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.token = token
        self.aes_key = aes_key
        self.token_lifetime = token_lifetime
        self.offset = 0.0  # the emulator's clock runs this far ahead of the real one
        self.delivered: list[Delivered] = []
        self.calls: Counter[str] = Counter()
        self.bodies: list[bytes] = []
        self.templates: set[str] = set()
        self.quota: dict[str, int] = {}  # path -> calls left today
        self._users: dict[str, _User] = {}
        self._tokens: dict[str, _Token] = {}
        self._media: dict[str, tuple[bytes, str]] = {}
        self._qr: dict[str, str] = {}  # scene -> ticket
        self._qr_urls: dict[str, str] = {}  # ticket -> url
        self._faults: dict[str, list[tuple[int, JSON]]] = {}
        self._ids = itertools.count(1)
        self._msg_ids = itertools.count(24_000_000_000_000_001)
        self._lock = threading.Lock()
        self._event_time = 0  # the CreateTime of the last event (see _create_time)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    # -- lifecycle -------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> WeChatEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WeChatEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the test's levers -----------------------------------------------------

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock on (tokens expire, the 48-hour window closes)."""
        self.offset += seconds

    def invalidate_tokens(self) -> None:
        """Every token handed out so far is refused from now on with 40001."""
        with self._lock:
            for token in self._tokens.values():
                token.invalid = True

    def fail_next(self, path: str, errcode: int = -1, *, status: int = 200, times: int = 1,
                  errmsg: str = "system error") -> None:
        """Answer the next `times` calls of `path` with `errcode` (or an HTTP `status`)."""
        with self._lock:
            self._faults.setdefault(path, []).extend(
                (status, {"errcode": errcode, "errmsg": errmsg}) for _ in range(times))

    def add_template(self, template_id: str) -> None:
        self.templates.add(template_id)

    def add_media(self, data: bytes, content_type: str = "image/jpeg") -> str:
        media_id = f"MEDIA_{next(self._ids)}_{hashlib.sha1(data).hexdigest()[:16]}"
        with self._lock:
            self._media[media_id] = (data, content_type)
        return media_id

    def follow(self, openid: str) -> None:
        """`openid` follows the account and has just written to it (as a callback would record)."""
        self._wrote(openid, subscribed=True)

    def follows(self, openid: str) -> bool:
        with self._lock:
            user = self._users.get(openid)
            return bool(user and user.subscribed)

    # -- what minyi did ----------------------------------------------------------

    def delivered_to(self, openid: str) -> list[Delivered]:
        with self._lock:
            return [d for d in self.delivered if d.openid == openid]

    def texts(self, openid: str) -> list[str]:
        return [d.text for d in self.delivered_to(openid) if d.kind == "custom"]

    def last_text(self, openid: str) -> str:
        texts = self.texts(openid)
        assert texts, f"nothing was sent to {openid}"
        return texts[-1]

    # -- WeChat's servers calling the account (the callbacks) ----------------------

    def _wrote(self, openid: str, *, subscribed: bool | None = None) -> None:
        with self._lock:
            user = self._users.setdefault(openid, _User())
            user.last_wrote = self.now()
            if subscribed is not None:
                user.subscribed = subscribed

    def message(self, openid: str, msg_type: str, fields: dict[str, str | int | float], *,
                msg_id: bool = True, encrypt: bool = False, timestamp: int | None = None,
                nonce: str | None = None) -> Callback:
        """The callback for any message; the helpers below fill in the usual kinds."""
        lines = [f"<ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>",
                 f"<FromUserName><![CDATA[{openid}]]></FromUserName>",
                 f"<CreateTime>{self._create_time(event=not msg_id)}</CreateTime>",
                 f"<MsgType><![CDATA[{msg_type}]]></MsgType>"]
        for name, value in fields.items():
            lines.append(f"<{name}><![CDATA[{value}]]></{name}>" if isinstance(value, str)
                         else f"<{name}>{value}</{name}>")
        if msg_id:
            lines.append(f"<MsgId>{next(self._msg_ids)}</MsgId>")
        xml = "<xml>" + "".join(lines) + "</xml>"
        return self.sign(xml, openid=openid, encrypt=encrypt, timestamp=timestamp, nonce=nonce)

    def _create_time(self, *, event: bool) -> int:
        """WeChat's CreateTime, in seconds. An event has no MsgId, so WeChat's own key for it is
        sender + CreateTime (+ event): two events of one user never share a second, as a person
        cannot follow, unfollow and follow again within one. A fast test could, so events here
        take the next second when the last one took this one."""
        now = int(time.time())
        if not event:
            return now
        with self._lock:
            self._event_time = max(now, self._event_time + 1)
            return self._event_time

    def text(self, openid: str, content: str, **kw: Any) -> Callback:
        self._wrote(openid)
        return self.message(openid, "text", {"Content": content}, **kw)

    def image(self, openid: str, data: bytes, content_type: str = "image/jpeg", **kw: Any) -> Callback:
        self._wrote(openid)
        media_id = self.add_media(data, content_type)
        return self.message(openid, "image", {"PicUrl": f"{self.base_url}/pic/{media_id}",
                                              "MediaId": media_id}, **kw)

    def location(self, openid: str, latitude: float, longitude: float, label: str = "",
                 **kw: Any) -> Callback:
        self._wrote(openid)
        return self.message(openid, "location", {"Location_X": latitude, "Location_Y": longitude,
                                                 "Scale": 15, "Label": label}, **kw)

    def voice(self, openid: str, **kw: Any) -> Callback:
        self._wrote(openid)
        media_id = self.add_media(b"#!AMR\n voice", "audio/amr")
        return self.message(openid, "voice", {"MediaId": media_id, "Format": "amr"}, **kw)

    def event(self, openid: str, event: str, key: str | None = None, **kw: Any) -> Callback:
        fields: dict[str, str | int | float] = {"Event": event}
        if key is not None:
            fields["EventKey"] = key
        return self.message(openid, "event", fields, msg_id=False, **kw)

    def subscribe(self, openid: str, scene: str | None = None, **kw: Any) -> Callback:
        """The user follows the account, by scanning a point's QR code when `scene` is given."""
        self._wrote(openid, subscribed=True)
        return self.event(openid, "subscribe", f"qrscene_{scene}" if scene else None, **kw)

    def scan(self, openid: str, scene: str, **kw: Any) -> Callback:
        """A follower scans a point's QR code."""
        self._wrote(openid)
        return self.event(openid, "SCAN", scene, **kw)

    def click(self, openid: str, key: str, **kw: Any) -> Callback:
        """The user taps a menu item of kind `click`."""
        self._wrote(openid)
        return self.event(openid, "CLICK", key, **kw)

    def unsubscribe(self, openid: str, **kw: Any) -> Callback:
        with self._lock:
            self._users.setdefault(openid, _User()).subscribed = False
        return self.event(openid, "unsubscribe", **kw)

    def sign(self, xml: str, *, openid: str, encrypt: bool = False, timestamp: int | None = None,
             nonce: str | None = None) -> Callback:
        """Sign `xml` as WeChat does, and in safe mode encrypt it (wechatpy's PrpCrypto)."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or str(next(self._ids) * 7919 + 100_000_000)
        query = {"signature": signature(self.token, ts, nonce), "timestamp": ts, "nonce": nonce,
                 "openid": openid}
        if not encrypt:
            return Callback(query, xml.encode(), xml)
        assert self.aes_key, "safe mode needs an AES key"
        key = base64.b64decode(self.aes_key + "=")
        encrypted = PrpCrypto(key).encrypt(xml, self.app_id).decode()
        body = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
        query.update(encrypt_type="aes", msg_signature=signature(self.token, ts, nonce, encrypted))
        return Callback(query, body.encode(), xml)

    def verification(self, echostr: str = "echo-4711") -> dict[str, str]:
        """The GET WeChat makes when the account's URL is saved in its console."""
        ts, nonce = str(int(time.time())), "20261122"
        return {"signature": signature(self.token, ts, nonce), "timestamp": ts, "nonce": nonce,
                "echostr": echostr}

    # -- the API -----------------------------------------------------------------

    def call(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        with self._lock:
            self.calls[path] += 1
            if body:
                self.bodies.append(body)
            faults = self._faults.get(path)
            fault = faults.pop(0) if faults else None
        if fault is not None:
            status, payload = fault
            return status, "application/json", _dump(payload)
        if path == "/cgi-bin/token":
            return self._json(self._token(query))
        if path == "/cgi-bin/showqrcode":
            return self._showqrcode(query)
        refused = self._check_token(query.get("access_token"))
        if refused is not None:
            return self._json(refused)
        if path in self.quota:
            with self._lock:
                if self.quota[path] <= 0:
                    return self._json(_err(45009, "reach max api daily quota limit"))
                self.quota[path] -= 1
        if path == "/cgi-bin/media/get":
            return self._media_get(query)
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return self._json(_err(47001, "data format error"))
        handler = {"/cgi-bin/message/custom/send": self._custom_send,
                   "/cgi-bin/message/template/send": self._template_send,
                   "/cgi-bin/qrcode/create": self._qrcode_create}.get(path)
        if handler is None or method != "POST":
            return 404, "text/plain", b"Not Found"
        return self._json(handler(data))

    def _json(self, payload: JSON) -> tuple[int, str, bytes]:
        return 200, "application/json; encoding=utf-8", _dump(payload)

    def _token(self, q: dict[str, str]) -> JSON:
        if q.get("grant_type") != "client_credential":
            return _err(40002, "invalid grant_type")
        if q.get("appid") != self.app_id:
            return _err(40013, "invalid appid")
        if q.get("secret") != self.app_secret:
            return _err(40125, "invalid appsecret")
        now = self.now()
        value = base64.urlsafe_b64encode(hashlib.sha256(f"{next(self._ids)}".encode()).digest()).decode()
        with self._lock:
            for old in self._tokens.values():
                old.expires_at = min(old.expires_at, now + OLD_TOKEN_GRACE)
            self._tokens[value] = _Token(now + self.token_lifetime)
        return {"access_token": value, "expires_in": self.token_lifetime}

    def _check_token(self, value: str | None) -> JSON | None:
        if not value:
            return _err(41001, "access_token missing")
        with self._lock:
            token = self._tokens.get(value)
        if token is None or token.invalid:
            return _err(40001, "invalid credential, access_token is invalid or not latest")
        if token.expires_at <= self.now():
            return _err(42001, "access_token expired")
        return None

    def _user_refusal(self, openid: str) -> JSON | None:
        with self._lock:
            user = self._users.get(str(openid))
        if user is None:
            return _err(40003, "invalid openid")
        if not user.subscribed:
            return _err(43004, "require subscribe")
        return None

    def _custom_send(self, data: JSON) -> JSON:
        openid = str(data.get("touser") or "")
        if data.get("msgtype") != "text":
            return _err(40008, "invalid message type")
        content = str((data.get("text") or {}).get("content") or "")
        if not content:
            return _err(44004, "empty content")
        if len(content.encode()) > TEXT_LIMIT:
            return _err(45002, "content size out of limit")
        refused = self._user_refusal(openid)
        if refused is not None:
            return refused
        with self._lock:
            last = self._users[openid].last_wrote
        if last is None or self.now() - last > WINDOW:
            return _err(45015, "response out of time limit or subscription is canceled")
        with self._lock:
            self.delivered.append(Delivered(openid, "custom", content, self.now()))
        return _err(0, "ok")

    def _template_send(self, data: JSON) -> JSON:
        openid = str(data.get("touser") or "")
        if data.get("template_id") not in self.templates:
            return _err(40037, "invalid template_id")
        refused = self._user_refusal(openid)
        if refused is not None:
            return refused
        fields = {k: str((v or {}).get("value", "")) for k, v in (data.get("data") or {}).items()}
        with self._lock:
            self.delivered.append(Delivered(openid, "template", "\n".join(fields.values()),
                                            self.now(), data["template_id"], fields,
                                            data.get("url")))
        return {"errcode": 0, "errmsg": "ok", "msgid": next(self._ids)}

    def _qrcode_create(self, data: JSON) -> JSON:
        if data.get("action_name") != "QR_LIMIT_STR_SCENE":
            return _err(40097, "invalid args: only QR_LIMIT_STR_SCENE is emulated")
        scene = str(((data.get("action_info") or {}).get("scene") or {}).get("scene_str") or "")
        if not 1 <= len(scene) <= 64:
            return _err(40097, "invalid args: scene_str must be 1 to 64 characters")
        with self._lock:
            ticket = self._qr.get(scene)
            if ticket is None:
                ticket = base64.urlsafe_b64encode(hashlib.sha256(scene.encode()).digest()).decode()
                self._qr[scene] = ticket
                self._qr_urls[ticket] = f"{self.base_url}/q/{ticket[:22]}"
        return {"ticket": ticket, "url": self._qr_urls[ticket]}

    def _showqrcode(self, q: dict[str, str]) -> tuple[int, str, bytes]:
        url = self._qr_urls.get(q.get("ticket") or "")
        if url is None:
            return 404, "text/html", b"<html>ticket not found</html>"
        out = io.BytesIO()
        segno.make_qr(url).save(out, kind="png", scale=8)
        return 200, "image/png", out.getvalue()

    def _media_get(self, q: dict[str, str]) -> tuple[int, str, bytes]:
        with self._lock:
            found = self._media.get(q.get("media_id") or "")
        if found is None:
            return self._json(_err(40007, "invalid media_id"))
        data, ctype = found
        return 200, ctype, data


def signature(*parts: str) -> str:
    """WeChat's callback signature: SHA-1 of the sorted parts joined."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _err(code: int, message: str) -> JSON:
    return {"errcode": code, "errmsg": message}


def _dump(payload: JSON) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def _handler_for(emu: WeChatEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def _serve(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, ctype, payload = emu.call(self.command, url.path, query, body)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(payload)

        do_GET = do_POST = _serve  # noqa: N815

    return Handler


__all__ = ["WeChatEmulator", "Callback", "Delivered", "signature", "APP_ID",
           "APP_SECRET", "TOKEN", "AES_KEY", "ACCOUNT"]
