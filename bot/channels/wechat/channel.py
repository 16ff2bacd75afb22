"""WeChat as a `ChannelPort`: outbox messages as customer service messages (a template message
outside the 48-hour window), and a point's parametric QR code as its link."""

from __future__ import annotations

import asyncio
import logging

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import BaseChannel, Handle, Message, Outcome, PointLinks, RatePolicy
from bot.channels.wechat import delivery, render, web, wiring
from bot.channels.wechat.api import Status, WeChatAPI, WeChatError
from minyi.settings import Settings
from store.models import Channel

log = logging.getLogger(__name__)

# WeChat publishes no per-second limit for customer service messages; its daily quota
# (45009) is answered with a retry. Keep well under what one account is allowed.
# Each send holds a thread (its client is synchronous): a few at once.
RATE = RatePolicy(overall=20, per_recipient=0.5, at_once=4)


class WeChatChannel(BaseChannel):
    """On when WECHAT_APP_ID, _APP_SECRET and _TOKEN are set; one API client per process."""

    kind = Channel.WECHAT
    name = "微信"
    capabilities = render.CAPABILITIES
    rate = RATE

    def __init__(self, settings: Settings, sessions: sessionmaker[Session],
                 api: WeChatAPI | None = None) -> None:
        assert settings.wechat_app_id and settings.wechat_app_secret
        self.sessions = sessions
        self.template_id = settings.wechat_template_id
        self.api = api or WeChatAPI(sessions, app_id=settings.wechat_app_id,
                                    app_secret=settings.wechat_app_secret,
                                    base=settings.wechat_api_base)
        self.settings = settings
        # The callback endpoint and the inbox worker, once `listen` has run.
        self.inbound: wiring.WeChat | None = None

    async def deliver(self, message: Message) -> Outcome:
        sent = await asyncio.to_thread(delivery.send_message, self.api, self.sessions,
                                       message.chat_id, message.text, message.buttons,
                                       template_id=self.template_id)
        if sent.status == Status.SENT:
            return Outcome.sent()
        if sent.status == Status.RETRY:
            return Outcome.retry(sent.error, sent.retry_after)
        if sent.status == Status.GONE:
            return Outcome.gone(sent.error)
        return Outcome.failed(sent.error)

    def links(self, token: str) -> PointLinks | None:
        """The point's permanent parametric QR code (asked of WeChat once, then cached)."""
        try:
            code = self.api.create_point_qr(token)
        except WeChatError as exc:
            log.warning("wechat: no QR code for a point now: %s", exc)
            return None
        return PointLinks(Channel.WECHAT, "微信公众号", "微信扫码反映", None, code.url)

    def listen(self, app: Flask, handle: Handle) -> None:
        """Install `/wechat` (callbacks kept in the inbox) with a worker that answers them."""
        built = wiring.build(self.settings, self.sessions, handle, api=self.api)
        assert built is not None
        self.inbound = built
        web.install(app, built.blueprint)

    def start(self) -> None:
        if self.inbound is not None:
            self.inbound.worker.start()

    def close(self) -> None:
        if self.inbound is not None:
            self.inbound.worker.stop()
        self.api.close()
