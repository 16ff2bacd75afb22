"""The WeChat channel running for a test: the console app with /wechat installed, the inbox worker
drained by hand, and the emulator as WeChat.

Loaded as a pytest plugin (tests/conftest.py): `emu` (the emulator, serving, with the office's
feedback template) and `wx` (the channel running over the test's engine) are every WeChat test's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import Registry
from bot.channels.wechat.channel import WeChatChannel
from bot.channels.wechat.wiring import WeChat
from minyi.settings import Settings
from store.conversation.engine import Engine
from store.conversation.types import Inbound, Reply
from store.models import Channel as ChannelKind
from store.models import utcnow
from tests.wechat_emulator import AES_KEY, APP_ID, APP_SECRET, TOKEN, Callback, WeChatEmulator

TEMPLATE = "TPL_minyi_feedback"


def wechat_settings(settings: Settings, emu: WeChatEmulator, **overrides: Any) -> Settings:
    """`settings` with the WeChat channel on, talking to `emu`."""
    values: dict[str, Any] = {"wechat_app_id": APP_ID, "wechat_app_secret": APP_SECRET,
                              "wechat_token": TOKEN, "wechat_aes_key": AES_KEY,
                              "wechat_api_base": emu.base_url, "wechat_template_id": TEMPLATE}
    return dataclasses.replace(settings, **{**values, **overrides})


@dataclass
class Recorder:
    """A stand-in for the engine: records each input, answers with `answer(inbound)`."""

    answer: Callable[[Inbound], list[Reply]] = lambda ib: [Reply(f"收到：{ib.text}")]
    seen: list[Inbound] = field(default_factory=list)
    fail: int = 0  # raise on this many calls first

    def __call__(self, session: Session, inbound: Inbound) -> list[Reply]:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("the engine fell over")
        self.seen.append(inbound)
        return self.answer(inbound)


class Running:
    """The app with the channel installed; `say()` posts a callback and lets the worker answer."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], emu: WeChatEmulator,
                 handle: Callable[[Session, Inbound], list[Reply]] | None = None,
                 engine: Engine | None = None) -> None:
        from web import create_app

        self.emu = emu
        self.settings = settings
        self.engine = engine or Engine(settings.engine_config())
        self.app = create_app(settings, session_factory=sessions, engine=self.engine)
        self.app.config["TESTING"] = True
        self.registry = edge_channels(self.app)
        wechat = self.registry.get(ChannelKind.WECHAT)
        assert isinstance(wechat, WeChatChannel) and wechat.inbound is not None
        if handle is not None:  # a stand-in for the engine behind the same endpoint
            wechat.inbound.worker.handle = handle
        self.channel: WeChat = wechat.inbound
        self.client: FlaskClient = self.app.test_client()
        self.offset = timedelta()
        self.channel.worker.clock = lambda: utcnow() + self.offset

    def post(self, cb: Callback) -> Any:
        return cb.post(self.client)

    def drain(self) -> int:
        return self.channel.worker.drain()

    def later(self, **delta: float) -> None:
        """Move the worker's clock on (rows waiting to be retried become due)."""
        self.offset += timedelta(**delta)

    def now(self) -> datetime:
        return utcnow() + self.offset

    def say(self, cb: Callback) -> list[str]:
        """Post `cb`, let the worker answer, and return what the user was sent meanwhile."""
        openid = cb.query["openid"]
        before = len(self.emu.texts(openid))
        response = self.post(cb)
        assert response.status_code == 200, response.status_code
        assert response.get_data(as_text=True) == "success"
        self.drain()
        return self.emu.texts(openid)[before:]

    def close(self) -> None:
        self.registry.close()


def edge_channels(app: Any) -> Registry:
    """The registry `create_app` put together."""
    return app.extensions["minyi"].channels  # type: ignore[no-any-return]


@pytest.fixture
def emu() -> Iterator[WeChatEmulator]:
    """The emulated WeChat API, serving, with the office's feedback template."""
    with WeChatEmulator() as e:
        e.add_template(TEMPLATE)
        yield e


@pytest.fixture
def wx(settings: Settings, Session_: sessionmaker[Session], emu: WeChatEmulator,  # noqa: N803
       engine: Engine) -> Iterator[Running]:
    """The WeChat channel switched on against `emu`, answering through the test's engine."""
    running = Running(wechat_settings(settings, emu), Session_, emu, engine=engine)
    yield running
    running.close()
