"""Delivery: parts in order, resumed where they stopped, a template message outside the 48-hour window."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.wechat import state
from bot.channels.wechat.api import Status, WeChatAPI
from bot.channels.wechat.delivery import deliver, send_message, template_data
from store.conversation.types import Button
from tests.wechat_emulator import APP_ID, APP_SECRET, WeChatEmulator

ALICE = "oAlice000000000000000000000"
SEND = "/cgi-bin/message/custom/send"
TEMPLATE = "TPL_minyi_feedback"


@pytest.fixture
def emu(emu: WeChatEmulator) -> WeChatEmulator:
    """The shared emulator, with Alice having written in (her 48 hours have begun)."""
    emu.text(ALICE, "你好")
    return emu


@pytest.fixture
def api(emu: WeChatEmulator, Session_: sessionmaker[Session]) -> Iterator[WeChatAPI]:  # noqa: N803
    client = WeChatAPI(Session_, app_id=APP_ID, app_secret=APP_SECRET, base=emu.base_url,
                       clock=emu.now)
    yield client
    client.close()


def test_it_sends_every_part_in_order_and_reports_progress(emu: WeChatEmulator, api: WeChatAPI) -> None:
    progress: list[int] = []

    delivery = deliver(api, ALICE, ["一", "二", "三"], on_sent=progress.append)

    assert delivery.outcome.sent and delivery.sent == 3
    assert emu.texts(ALICE) == ["一", "二", "三"]
    assert progress == [1, 2, 3]


def test_a_retry_resumes_after_the_last_part_that_went_out(emu: WeChatEmulator, api: WeChatAPI) -> None:
    emu.quota[SEND] = 1

    first = deliver(api, ALICE, ["一", "二", "三"])
    emu.quota[SEND] = 10
    second = deliver(api, ALICE, ["一", "二", "三"], start=first.sent)

    assert (first.outcome.status, first.sent) == (Status.RETRY, 1)
    assert second.outcome.sent and second.sent == 3
    assert emu.texts(ALICE) == ["一", "二", "三"]


def test_outside_the_window_one_template_message_goes_instead(emu: WeChatEmulator, api: WeChatAPI) -> None:
    emu.advance(49 * 3600)
    progress: list[int] = []

    delivery = deliver(api, ALICE, ["您反映的信息《人民路路灯》已被采用。", "感谢您的支持！"],
                       template_id=TEMPLATE, url="https://minyi.example.gov.cn/x",
                       on_sent=progress.append)

    assert delivery.outcome.sent and delivery.outcome.via == "template"
    assert delivery.sent == 2 and progress == [2]
    assert emu.texts(ALICE) == []
    [template] = emu.delivered_to(ALICE)
    assert template.template_id == TEMPLATE and template.url == "https://minyi.example.gov.cn/x"
    assert template.data["keyword1"] == "您反映的信息《人民路路灯》已被采用。 感谢您的支持！"
    assert template.data["first"] == "民意直通车有新的消息"


def test_outside_the_window_without_a_template_it_fails_and_says_why(emu: WeChatEmulator,
                                                                     api: WeChatAPI) -> None:
    emu.advance(49 * 3600)

    delivery = deliver(api, ALICE, ["办理结果"])

    assert delivery.outcome.status == Status.FAILED and delivery.sent == 0
    assert "48 hours" in delivery.outcome.error and "WECHAT_TEMPLATE_ID" in delivery.outcome.error
    assert emu.delivered_to(ALICE) == []


def test_a_template_that_fails_too_is_reported_as_such(emu: WeChatEmulator, api: WeChatAPI) -> None:
    emu.advance(49 * 3600)

    delivery = deliver(api, ALICE, ["办理结果"], template_id="TPL_deleted")

    assert (delivery.outcome.status, delivery.outcome.errcode) == (Status.FAILED, 40037)
    assert delivery.outcome.via == ""


def test_the_template_shows_an_excerpt_and_the_time_in_beijing() -> None:
    data = template_data("很长" * 100, datetime(2026, 11, 22, 16, 5, tzinfo=UTC))

    assert len(data["keyword1"]) == 120 and data["keyword1"].endswith("…")
    assert data["keyword2"] == "2026-11-23 00:05"
    assert data["remark"] == "请进入公众号查看完整内容并回复。"


def test_feedback_with_buttons_offers_numbered_options_and_remembers_them(
        emu: WeChatEmulator, api: WeChatAPI, Session_: sessionmaker[Session], session: Session) -> None:  # noqa: N803
    buttons = [[{"label": "补充信息", "data": "~supp:12"}]]

    outcome = send_message(api, Session_, ALICE, "您反映的信息需要补充：请提供照片。", buttons,
                           template_id=TEMPLATE)

    assert outcome.sent
    assert emu.texts(ALICE) == ["您反映的信息需要补充：请提供照片。\n\n回复数字选择：\n1. 补充信息"]
    assert state.offer(session, ALICE) == [Button("补充信息", "~supp:12")]


def test_feedback_sent_as_a_template_offers_nothing(emu: WeChatEmulator, api: WeChatAPI,
                                                    Session_: sessionmaker[Session],  # noqa: N803
                                                    session: Session) -> None:
    emu.advance(49 * 3600)

    outcome = send_message(api, Session_, ALICE, "需要补充", [[{"label": "补充信息", "data": "~supp:12"}]],
                           template_id=TEMPLATE)

    assert outcome.sent and outcome.via == "template"
    assert state.offer(session, ALICE) == []
