"""The WeChat channel's parts put together for one process, from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.wechat.api import WeChatAPI
from bot.channels.wechat.inbound import Gate
from bot.channels.wechat.inbox import Handler, Worker
from bot.channels.wechat.web import create_blueprint
from minyi.settings import Settings


@dataclass(frozen=True)
class WeChat:
    api: WeChatAPI
    gate: Gate
    worker: Worker
    blueprint: Blueprint

    def close(self) -> None:
        self.worker.stop()
        self.api.close()


def build(settings: Settings, sessions: sessionmaker[Session], handle: Handler,
          api: WeChatAPI | None = None) -> WeChat | None:
    """The channel, or None when WECHAT_APP_ID / _APP_SECRET / _TOKEN are not set.

    `handle(session, inbound)` answers one input (the conversation engine's
    `handle`); the caller registers `blueprint` (`web.install`) and starts
    `worker`. `api` is the process's client when it has one already (the channel's).
    """
    if not settings.wechat_enabled:
        return None
    assert settings.wechat_app_id and settings.wechat_app_secret and settings.wechat_token
    api = api or WeChatAPI(sessions, app_id=settings.wechat_app_id, app_secret=settings.wechat_app_secret,
                           base=settings.wechat_api_base)
    gate = Gate(settings.wechat_token, settings.wechat_app_id, settings.wechat_aes_key)
    worker = Worker(sessions, api, handle, template_id=settings.wechat_template_id,
                    max_file_mb=settings.max_upload_mb)
    return WeChat(api, gate, worker, create_blueprint(gate, sessions, worker.wake))
