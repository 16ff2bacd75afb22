"""The web chat: a collection point's link opens a chat with the same engine as Telegram.

The visitor is known by a random id in a long-lived signed cookie; that id is
both `Inbound.user_id` and `chat_id`. Every input and reply goes into the
transcript (`store.delivery.webchat`), which the page polls; console feedback arrives
there through the outbox.

The web chat speaks in buttons and plain words: its inputs carry
`BUTTONS_ONLY`, so the engine never tells a visitor to type a /command. The
page being opened is not something the visitor said: `open` lets the engine
answer it (news for a returning reporter, the form for a new one) and records
only the answer.

A message may carry a client message id (`mid`, 8-64 of A-Za-z0-9_-), which the
page keeps until it has an answer and sends again with every retry: a message
whose `mid` was applied already is not applied again, and is answered with what
it got the first time (`store.delivery.webchat.claim`). Old cached pages send none.
"""

from __future__ import annotations

import mimetypes
import os
import secrets
from typing import Any

from flask import Blueprint, current_app, jsonify, make_response, render_template, request
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.datastructures import FileStorage

from store import forms, limits
from store.conversation import commands
from store.conversation.types import BUTTONS_ONLY, Inbound, IncomingFile
from store.delivery import webchat
from store.i18n import t
from store.models import Channel
from store.network import points, scans, tokens
from store.reports import details, intake
from web import edge, i18n

bp = Blueprint("chat", __name__, url_prefix="/c")

COOKIE = "minyi_chat"
COOKIE_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie
# The browser a details link was first opened in (store.reports.details).
READER_COOKIE = "minyi_reader"
# A session cookie (no max-age) listing the points this browser session has
# opened, so a reload is not counted as another scan.
SCAN_COOKIE = "minyi_scanned"
# Typed /commands are not offered here, but one typed anyway is taken as in Telegram.
COMMANDS = commands.accepted(Channel.WEB)
TEXT_CAP = 20_000  # past the form's limits; the engine explains those
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic", "image/gif"})
# The page's standing menu: the commands that are also buttons, as the engine draws them.
MENU = tuple((f"~{c.name}:", c.button) for c in commands.buttons() if c.button)


class ApiError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


class Flood:
    """At most `burst` requests per `window` seconds per chat, before the database is touched:
    counted by every web process together through Redis (REDIS_URL), else by this app."""

    def __init__(self) -> None:
        self._local = limits.Local()

    def allow(self, key: str, burst: int, window: float) -> bool:
        shared = limits.redis()
        if shared is not None:
            return shared.hit(f"webchat:{key}", burst, window)
        return self._local.hit(key, burst, window)


def _flood() -> Flood:
    """This app's flood counters (one per app, so two apps in a process do not share them)."""
    return current_app.extensions.setdefault("chat_flood", Flood())  # type: ignore[no-any-return]


@bp.errorhandler(ApiError)
def api_error(exc: ApiError) -> Any:
    return jsonify(ok=False, error=i18n.said(exc.message)), exc.status


@bp.route("/<token>")
def page(token: str) -> Any:
    """The chat page for a point's link; sets the visitor's cookie on first visit."""
    if not tokens.TOKEN_RE.match(token):
        return render_template("error.html", code=404, title="二维码无效",
                               text="这个链接不是有效的采集点二维码。请重新扫描采集点张贴的二维码，"
                                    "或向工作人员询问。", chat=True), 404
    if not _address_allows():
        return render_template("error.html", code=429, title="操作太频繁",
                               text="打开得太频繁了，请稍等片刻再扫码。", chat=True), 429
    found = points.resolve(edge.db(), edge.settings().secret_key, token)
    chat_id = _chat_id()
    resp = make_response(render_template(
        "chat.html", token=token, point=found.point if found.ok else None, menu=_menu()))
    resp.headers["Cache-Control"] = "no-store"
    if found.ok and found.point is not None:
        _count_scan(resp, found.point.id)
    if chat_id is None:
        chat_id = "w" + secrets.token_urlsafe(18)
        resp.set_cookie(COOKIE, _signer().dumps(chat_id), max_age=COOKIE_AGE, httponly=True,
                        samesite="Lax", secure=current_app.config["CHAT_COOKIE_SECURE"])
    return resp


@bp.route("/f/<token>")
def follow(token: str) -> Any:
    """A counter slip's link (代录): this browser joins the citizen's chat and sees its transcript.

    Any number of phones may follow the same slip; each is the same reporter.
    """
    found = intake.follower(edge.db(), edge.settings().secret_key, token)
    if found is None:
        return render_template("error.html", code=404, title="回执链接无效",
                               text="这个链接无法识别，可能抄写有误或已损坏。请重新扫描回执上的二维码，"
                                    "或带上回执到采集点请工作人员查询办理进度。", chat=True), 404
    # No point token: opening the page shows the news of their report; no form starts.
    resp = make_response(render_template("chat.html", token="", point=found.point, menu=_menu()))
    resp.headers["Cache-Control"] = "no-store"
    if _chat_id() != found.reporter.external_id:
        resp.set_cookie(COOKIE, _signer().dumps(found.reporter.external_id), max_age=COOKIE_AGE,
                        httponly=True, samesite="Lax", secure=current_app.config["CHAT_COOKIE_SECURE"])
    return resp


@bp.route("/r/<token>")
def details_page(token: str) -> Any:
    """A marked report's details, for the reporter a foreign carrier sent the link to.

    The first browser to open the link is bound to it (a random id in a signed
    cookie); another browser, or one that belongs to another web-chat reporter,
    is refused, and every asking is logged (`store.reports.details`).
    """
    if not _address_allows():
        return render_template("error.html", code=429, title="操作太频繁",
                               text="打开得太频繁了，请稍等片刻再试。", chat=True), 429
    browser = _reader() or "b" + secrets.token_urlsafe(18)
    session = edge.db()
    asked_by = details.web_reporter(session, _chat_id())
    opened = details.open_link(session, token, browser, asked_by, request.remote_addr)
    if opened is None:
        return render_template("error.html", code=404, title="链接无效",
                               text="这个链接无法识别。请在聊天中发送“我的反映”获取新的链接。",
                               chat=True), 404
    edge.commit()
    if not opened.shown:
        text = REFUSED.get(opened.outcome, REFUSED[details.Outcome.OTHER_BROWSER])
        return render_template("error.html", code=403, title="无法查看", text=text, chat=True), 403
    resp = make_response(render_template("details.html", page=details.page(session, opened)))
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    if _reader() != browser:
        resp.set_cookie(READER_COOKIE, _signer().dumps(browser), max_age=COOKIE_AGE, httponly=True,
                        samesite="Lax", secure=current_app.config["CHAT_COOKIE_SECURE"])
    return resp


REFUSED = {
    details.Outcome.OTHER_REPORTER: "这个链接是发给另一位反映人的，只有本人可以查看。",
    details.Outcome.OTHER_BROWSER: "这个链接已在另一台设备上打开过，只能在那台设备上查看。"
                                   "如需在这里查看，请在聊天中发送“我的反映”获取新的链接。",
    details.Outcome.EXPIRED: "这个链接已过期。请在聊天中发送“我的反映”获取新的链接。",
}


def _reader() -> str | None:
    """This browser's id for details links, from its signed cookie."""
    raw = request.cookies.get(READER_COOKIE)
    if not raw:
        return None
    try:
        value = _signer().loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) and 8 <= len(value) <= 40 else None


def _count_scan(resp: Any, point_id: int) -> None:
    seen = set((request.cookies.get(SCAN_COOKIE) or "").split("."))
    if str(point_id) in seen:
        return
    # Counted once a day per client address, whatever cookies it brings.
    visitor = scans.visitor_key(edge.settings().secret_key, f"web:{request.remote_addr}")
    scans.record(edge.db(), point_id, Channel.WEB, visitor=visitor)
    edge.commit()
    seen = {s for s in seen if s.isdigit()} | {str(point_id)}
    resp.set_cookie(SCAN_COOKIE, ".".join(sorted(seen))[-1000:], httponly=True, samesite="Lax",
                    secure=current_app.config["CHAT_COOKIE_SECURE"])


def _menu() -> list[tuple[str, str]]:
    return [(data, t(key, i18n.lang())) for data, key in MENU]


@bp.route("/api/open", methods=["POST"])
def open_chat() -> Any:
    """The page was opened ({token} of the point's code, or none for a follow link).

    Nothing goes into the transcript as the visitor's: they did not say it.
    """
    body = request.get_json(silent=True)
    token = body.get("token", "") if isinstance(body, dict) else None
    if not isinstance(token, str) or (token and not tokens.TOKEN_RE.fullmatch(token)):
        raise ApiError("链接格式不正确，请重新扫描采集点二维码。")
    return _run(_require_chat(), None, command="start", args=token, again_ok=False)


@bp.route("/api/send", methods=["POST"])
def send() -> Any:
    """Text, a /command, or a pressed button ({text}, {command, args} or {callback})."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError("消息格式不正确，请刷新页面后重试。")
    text, callback, command = body.get("text"), body.get("callback"), body.get("command")
    args = body.get("args") or ""
    if not isinstance(args, str):
        raise ApiError("消息格式不正确，请刷新页面后重试。")
    mid = _mid(body.get("mid"))
    chat_id = _require_chat()
    session = edge.db()
    if isinstance(callback, str) and callback:
        if len(callback.encode()) > 64:
            raise ApiError("按钮数据无效，请刷新页面后重试。")
        label = dict(_menu()).get(callback) or webchat.button_label(session, chat_id, callback)
        return _run(chat_id, f"［{label}］" if label else None, mid=mid, callback=callback)
    if isinstance(text, str) and text.strip():
        if len(text) > TEXT_CAP:
            raise ApiError(f"消息太长了（{len(text)} 字），请分几次发送或精简内容。")
        if text.startswith("/"):
            name, _, rest = text[1:].partition(" ")
            command, args = name.strip().lower(), rest.strip()
        else:
            return _run(chat_id, text, mid=mid, text=text)
    if isinstance(command, str) and command:
        if command not in COMMANDS:
            command = "help"
        # The start token is noise in the visitor's transcript.
        shown = "/start" if command == "start" else f"/{command} {args}".strip()
        return _run(chat_id, shown, mid=mid, command=command, args=args[:200])
    raise ApiError("请输入内容后再发送。")


@bp.route("/api/upload", methods=["POST"])
def upload() -> Any:
    """A photo or document; over the form's size limit the engine is told it was too big."""
    mid = _mid(request.form.get("mid"))
    chat_id = _require_chat()
    item = request.files.get("file")
    if item is None or not item.filename:
        raise ApiError("没有收到文件，请重新选择。")
    incoming = incoming_file(item, _size_limit())
    shown = f"［{'图片' if incoming.kind == 'photo' else '文件'}］{item.filename[:80]}"
    return _run(chat_id, shown, mid=mid, file=incoming)


def incoming_file(item: FileStorage, limit: int) -> IncomingFile:
    """An uploaded file as the engine's checkers take it; over `limit` bytes it has no data,
    as a file Telegram would not hand over, and the checker says it is too big.

    The size is taken from the spooled upload before a byte of it is read into memory."""
    stream = item.stream
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    data = item.read() if size <= limit else b""
    name = item.filename or ""
    content_type = item.mimetype or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return IncomingFile(kind="photo" if content_type in PHOTO_TYPES else "document",
                        filename=name[:255], content_type=content_type, size=size,
                        data=None if size > limit else data)


@bp.route("/api/location", methods=["POST"])
def location() -> Any:
    body = request.get_json(silent=True)
    try:
        lat, lng = float(body["lat"]), float(body["lng"])  # type: ignore[index]
    except (TypeError, KeyError, ValueError):
        raise ApiError("位置格式不正确。") from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise ApiError("位置格式不正确。")
    # A dict by now: body["lat"] was read.
    mid = _mid(body.get("mid"))  # type: ignore[union-attr]
    chat_id = _require_chat()
    return _run(chat_id, f"［位置］{lat:.5f}, {lng:.5f}", mid=mid, location=(lat, lng))


@bp.route("/api/poll")
def poll() -> Any:
    """The transcript after message id `after` (all of it, up to a limit, for 0)."""
    chat_id = _require_chat()
    return jsonify(ok=True, messages=_since(chat_id))


def _run(chat_id: str, shown: str | None, *, again_ok: bool = True, mid: str | None = None,
         **what: Any) -> Any:
    """Record the input, let the engine answer, record the replies, commit.

    `again_ok=False` (opening the page): replies the transcript already ends with are not
    recorded twice. `mid` (the page's message id): claimed in the same transaction; a
    message already applied under it gets the lines it wrote then, and nothing is applied.
    """
    cfg = current_app.config
    if not (_address_allows()
            and _flood().allow(chat_id, cfg["CHAT_FLOOD_BURST"], cfg["CHAT_FLOOD_WINDOW"])):
        raise ApiError("您发送得太快了，请稍等片刻再继续。", 429)
    engine = edge.wiring().engine
    if engine is None:
        raise ApiError("网页反映暂时不可用，请稍后再试。", 503)
    session = edge.db()
    if mid is not None:
        earlier = webchat.claim(session, chat_id, mid)
        if earlier is not None:
            replayed = webchat.replay(session, earlier, _after())
            edge.commit()
            return jsonify(ok=True, replayed=True, messages=[webchat.as_json(m) for m in replayed])
    lines = []
    if shown:
        lines.append(webchat.record_in(session, chat_id,
                                       shown if len(shown) <= 2000 else shown[:2000] + "…"))
    inbound = Inbound(channel=Channel.WEB, user_id=chat_id, chat_id=chat_id,
                      language=request.accept_languages.best_match(["zh", "en"]) or "zh",
                      capabilities=BUTTONS_ONLY, **what)
    replies = engine.handle(session, inbound)
    record = webchat.record_out if again_ok else webchat.record_out_unless_shown
    lines += record(session, chat_id, [(r.text, r.buttons_json()) for r in replies])
    if mid is not None:
        webchat.answered(session, chat_id, mid, lines)
    edge.commit()
    return jsonify(ok=True, messages=_since(chat_id))


def _since(chat_id: str) -> list[dict[str, Any]]:
    return [webchat.as_json(m) for m in webchat.since(edge.db(), chat_id, _after())]


def _after() -> int:
    """The id of the last transcript line the page has shown (0: none)."""
    raw = request.args.get("after", "0")
    if not raw.isdigit() or len(raw) > 12:
        raise ApiError("参数不正确。")
    return int(raw)


def _mid(value: Any) -> str | None:
    """The page's message id: None for a page that sends none; refused when malformed."""
    if value is None:
        return None
    if not isinstance(value, str) or not webchat.MID_RE.fullmatch(value):
        raise ApiError("消息编号（mid）格式不正确，应为 8 到 64 个字母、数字、“_”或“-”，请刷新页面后重试。"
                       " / Malformed message id (mid): it must be 8 to 64 letters, digits, "
                       "'_' or '-'. Please reload the page and try again.")
    return value


def _address_allows() -> bool:
    """The client address's share: fresh cookies do not buy one device more requests.

    The address is the one `request.remote_addr` gives, which honours
    X-Forwarded-For only from the proxies the deployment trusts (TRUSTED_PROXIES).
    """
    cfg = current_app.config
    return _flood().allow(f"address:{request.remote_addr}", cfg["CHAT_FLOOD_ADDRESS_BURST"],
                        cfg["CHAT_FLOOD_WINDOW"])


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(edge.settings().secret_key, salt="minyi-webchat")


def _chat_id() -> str | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        value = _signer().loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) and 8 <= len(value) <= 64 else None


def _require_chat() -> str:
    chat_id = _chat_id()
    if chat_id is None:
        raise ApiError("会话已失效，请重新扫描采集点二维码打开本页面。", 401)
    return chat_id


def _size_limit() -> int:
    """Bytes: the smaller of the deployment's upload limit and the form's file steps."""
    form = forms.load(edge.settings().form)
    form_mb = max((s.max_mb for s in form.steps if s.kind == "file"), default=20)
    return min(edge.settings().max_upload_mb, form_mb) * 1024 * 1024
