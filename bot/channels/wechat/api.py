"""The WeChat Official Account API, as minyi uses it: a small httpx client of our own.

Why not wechatpy's `WeChatClient`: its token lives per client object (its
expiry in the instance, so another process's token is taken on trust), its
retry after an expired token calls itself with no bound, and every error code
arrives as an exception to be unpicked. minyi needs the opposite: one token
for all processes (`tokens.TokenStore`), one retry after 40001/42001, and each
error code turned into what the caller should do (`Outcome`). wechatpy is used
for what it is good at: the callback's crypto and message parsing
(`inbound.py`).

`WECHAT_API_BASE` replaces WeChat's host: a private gateway, or the emulator
in tests. Every method opens its own short database transactions (token,
QR cache) and none of the caller's.
"""

from __future__ import annotations

import enum
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.wechat import state
from bot.channels.wechat.tokens import Token, TokenError, TokenStore

log = logging.getLogger(__name__)

DEFAULT_BASE = "https://api.weixin.qq.com"
# WeChat serves QR images from its web host, not the API host.
DEFAULT_QR_BASE = "https://mp.weixin.qq.com"
BEIJING = ZoneInfo("Asia/Shanghai")

# The token was refused: fetch a new one and try once more.
TOKEN_REFUSED = {40001: "invalid access token", 40014: "invalid access token",
                 42001: "access token expired"}
# The user cannot be written to at all.
GONE = {43004: "the user does not follow the account (43004)",
        40003: "not a user of this account (40003)"}
# Customer service messages may not reach the user now; a template message may.
OUTSIDE = {45015: "the user last wrote more than 48 hours ago (45015)",
           45047: "too many customer service messages since the user last wrote (45047)"}
QUOTA = 45009  # the API's daily quota is used up
BUSY = -1  # "system busy": try again shortly


class Status(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"  # try again after `retry_after` seconds (None: the caller's own backoff)
    GONE = "gone"  # the user unfollowed (or never was ours): never again
    FAILED = "failed"  # permanent for this message
    OUTSIDE_WINDOW = "outside_window"  # 45015: send a template message instead


@dataclass(frozen=True)
class Outcome:
    """What became of one send, and so what the caller does next."""

    status: Status
    error: str = ""
    errcode: int | None = None
    retry_after: float | None = None
    via: str = ""  # "custom" or "template" for a message that went out

    @property
    def sent(self) -> bool:
        return self.status == Status.SENT


class WeChatError(Exception):
    """A call other than a send failed; `retry` says whether trying later may help."""

    def __init__(self, message: str, *, errcode: int | None = None, retry: bool = True,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.errcode = errcode
        self.retry = retry
        self.retry_after = retry_after


@dataclass(frozen=True)
class PointQR:
    """A collection point's parametric QR code: WeChat's ticket and the URL the code encodes."""

    scene: str
    ticket: str
    url: str


@dataclass(frozen=True)
class Media:
    data: bytes | None  # None when bigger than the limit asked for
    content_type: str
    size: int


def seconds_to_quota_reset(now: datetime) -> float:
    """Until the next midnight in Beijing, when WeChat's daily quotas start again."""
    local = now.astimezone(BEIJING)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - local).total_seconds()


def outcome_of(body: Mapping[str, Any], *, via: str,
               now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Outcome:
    """A send's JSON answer as an `Outcome` (after any token retry)."""
    code = _errcode(body)
    message = str(body.get("errmsg") or "")
    if code == 0:
        return Outcome(Status.SENT, via=via)
    if code in GONE:
        return Outcome(Status.GONE, GONE[code], code)
    if code in OUTSIDE:
        return Outcome(Status.OUTSIDE_WINDOW, OUTSIDE[code], code)
    if code == QUOTA:
        # The quota is daily; an hour on, a window may have opened (or midnight come).
        wait = min(3600.0, seconds_to_quota_reset(now()))
        return Outcome(Status.RETRY, f"API quota used up (45009): {message}", code, wait)
    if code == BUSY:
        return Outcome(Status.RETRY, "WeChat is busy (-1)", code, 5.0)
    if code in TOKEN_REFUSED:
        return Outcome(Status.RETRY, f"access token refused twice ({code})", code)
    return Outcome(Status.FAILED, f"WeChat refused the message ({code}): {message}", code)


def _errcode(body: Mapping[str, Any]) -> int:
    try:
        return int(body.get("errcode") or 0)
    except (TypeError, ValueError):
        return -1


class WeChatAPI:
    """The calls minyi makes; one instance per process, safe to share between threads."""

    def __init__(self, sessions: sessionmaker[Session], *, app_id: str, app_secret: str,
                 base: str = DEFAULT_BASE, qr_base: str | None = None,
                 http: httpx.Client | None = None, timeout: float = 10.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.sessions = sessions
        self.app_id = app_id
        self._secret = app_secret
        self.base = base.rstrip("/")
        # A gateway or test double serves the QR images too; WeChat itself does not.
        self.qr_base = (qr_base or (DEFAULT_QR_BASE if self.base == DEFAULT_BASE
                                    else self.base)).rstrip("/")
        self.http = http or httpx.Client(timeout=timeout)
        self.clock = clock
        self.tokens = TokenStore(sessions, app_id, self._fetch_token, clock=clock)

    def close(self) -> None:
        self.http.close()

    # -- sends: an Outcome, never an exception -----------------------------------

    def send_text(self, openid: str, text: str) -> Outcome:
        """A customer service (客服) text message; the caller keeps it within `render.TEXT_LIMIT`."""
        return self._send("/cgi-bin/message/custom/send",
                          {"touser": openid, "msgtype": "text", "text": {"content": text}}, "custom")

    def send_template(self, openid: str, template_id: str, data: Mapping[str, str],
                      url: str | None = None) -> Outcome:
        """A template message (模板消息): `data` maps the template's fields to their values."""
        payload: dict[str, Any] = {"touser": openid, "template_id": template_id,
                                   "data": {k: {"value": v} for k, v in data.items()}}
        if url:
            payload["url"] = url
        return self._send("/cgi-bin/message/template/send", payload, "template")

    def _send(self, path: str, payload: dict[str, Any], via: str) -> Outcome:
        try:
            response = self._call("POST", path, payload)
            body = _json(response)
        except WeChatError as exc:
            return Outcome(Status.RETRY if exc.retry else Status.FAILED, str(exc), exc.errcode,
                           exc.retry_after)
        if body is None:
            return Outcome(Status.RETRY, f"not a JSON answer (HTTP {response.status_code})")
        return outcome_of(body, via=via,
                          now=lambda: datetime.fromtimestamp(self.clock(), UTC))

    # -- QR codes and media: a value, or WeChatError ------------------------------

    def create_point_qr(self, scene: str) -> PointQR:
        """The permanent QR code (QR_LIMIT_STR_SCENE) for `scene`, asked of WeChat once and kept.

        Scanning it opens the account and sends us `scene` (`qrscene_<scene>`
        when the scan also follows it). Kept in `channel_state` per app and
        scene; a point's token carries its version, so a rotated point gets a
        new code. Two processes asking at the same moment may both fetch; the
        first stored answer is the one both return.
        """
        if not 1 <= len(scene) <= 64:
            raise WeChatError(f"a QR scene must be 1 to 64 characters, got {len(scene)}", retry=False)
        key = f"wechat:qr:{self.app_id}:{scene}"
        with self.sessions() as s:
            cached = state.get(s, key)
        if cached is not None:
            return PointQR(scene, cached["ticket"], cached["url"])
        body = self._json_call("POST", "/cgi-bin/qrcode/create", {
            "action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}})
        if not isinstance(body.get("ticket"), str) or not isinstance(body.get("url"), str):
            raise WeChatError(f"qrcode/create answered without a ticket: {body!r}")
        with self.sessions() as s, s.begin():
            state.add_once(s, key, {"ticket": body["ticket"], "url": body["url"]})
            stored = state.get(s, key)
        assert stored is not None
        return PointQR(scene, stored["ticket"], stored["url"])

    def qr_image(self, ticket: str) -> bytes:
        """The PNG WeChat draws for `ticket` (showqrcode; no access token needed)."""
        try:
            response = self.http.get(f"{self.qr_base}/cgi-bin/showqrcode", params={"ticket": ticket})
        except httpx.HTTPError as exc:
            raise WeChatError(f"showqrcode failed: {exc}") from exc
        if response.status_code != 200 or not response.content.startswith(b"\x89PNG"):
            raise WeChatError(f"showqrcode answered HTTP {response.status_code}, not a PNG",
                              retry=response.status_code >= 500)
        return response.content

    def download_media(self, media_id: str, limit: int) -> Media:
        """A file a user sent (media/get), read up to `limit` bytes; larger ones come without data."""
        response = self._call("GET", "/cgi-bin/media/get", params={"media_id": media_id})
        body = _json(response)
        if body is not None:
            code = _errcode(body)
            raise WeChatError(f"media/get refused {media_id!r} ({code}): {body.get('errmsg')}",
                              errcode=code, retry=code in (BUSY, QUOTA))
        if response.status_code != 200:
            raise WeChatError(f"media/get answered HTTP {response.status_code}",
                              retry=response.status_code >= 500)
        ctype = response.headers.get("content-type", "application/octet-stream").split(";")[0]
        data = response.content
        return Media(data if len(data) <= limit else None, ctype, len(data))

    # -- inside ------------------------------------------------------------------

    def _fetch_token(self) -> tuple[str, int]:
        try:
            response = self.http.get(f"{self.base}/cgi-bin/token", params={
                "grant_type": "client_credential", "appid": self.app_id, "secret": self._secret})
        except httpx.HTTPError as exc:
            raise TokenError(f"cgi-bin/token failed: {exc}") from exc
        body = _json(response) or {}
        token, expires_in = body.get("access_token"), body.get("expires_in", 7200)
        if not isinstance(token, str) or not token:
            # 40013 bad app id, 40125 bad secret, 40164 this server's IP is not whitelisted ...
            log.error("wechat refused an access token: %s", body or response.status_code)
            raise TokenError(f"cgi-bin/token refused ({body.get('errcode')}): {body.get('errmsg')}")
        return token, int(expires_in)

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None, *,
              params: dict[str, str] | None = None) -> httpx.Response:
        """One API call with the shared token; refused once for the token, it is refreshed and
        sent again, so a message is never sent twice for it."""
        try:
            token = self.tokens.current()
            response = self._request(method, path, token, payload, params)
            body = _json(response)
            if body is not None and _errcode(body) in TOKEN_REFUSED:
                log.info("wechat refused token version %d (%s); refreshing", token.version,
                         body.get("errcode"))
                response = self._request(method, path, self.tokens.refresh(token), payload, params)
        except TokenError as exc:
            # Usually configuration (secret, the server's IP not whitelisted): not soon mended.
            raise WeChatError(f"no access token: {exc}", retry_after=300.0) from exc
        return response

    def _request(self, method: str, path: str, token: Token, payload: dict[str, Any] | None,
                 params: dict[str, str] | None) -> httpx.Response:
        query = {**(params or {}), "access_token": token.value}
        # WeChat shows \\uXXXX escapes literally in some clients: send the characters themselves.
        content = (json.dumps(payload, ensure_ascii=False).encode() if payload is not None
                   else None)
        headers = {"Content-Type": "application/json; charset=utf-8"} if content else None
        try:
            response = self.http.request(method, f"{self.base}{path}", params=query,
                                         content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise WeChatError(f"{path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise WeChatError(f"{path} answered HTTP {response.status_code}")
        return response

    def _json_call(self, method: str, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        response = self._call(method, path, payload)
        body = _json(response)
        if body is None:
            raise WeChatError(f"{path} answered HTTP {response.status_code} without JSON")
        code = _errcode(body)
        if code != 0:
            raise WeChatError(f"{path} refused ({code}): {body.get('errmsg')}", errcode=code,
                              retry=code in (BUSY, QUOTA) or code in TOKEN_REFUSED)
        return body


def _json(response: httpx.Response) -> dict[str, Any] | None:
    """The body as a JSON object, or None for anything else (an image, an HTML error page)."""
    ctype = response.headers.get("content-type", "")
    if "json" not in ctype and "text/plain" not in ctype and not response.content.startswith(b"{"):
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
