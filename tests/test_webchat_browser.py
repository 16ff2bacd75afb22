"""The web chat on a phone-sized page in a real Chromium: opening, reloading, coming back.

Skipped when /usr/bin/chromium is absent; never downloads a browser. With
MINYI_SHOTS=<folder> the screenshots are kept there to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import Channel, CollectionPoint, Reporter, User, WebChatMessage
from store.reports import lifecycle
from tests.browser_support import PHONE, needs_chromium
from tests.domain_support import make_report

pytestmark = needs_chromium


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A browser context the size of a phone (one cookie jar, tabs of its own)."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="zh-CN")
    yield context
    context.close()


def _shot(page: object, name: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("MINYI_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)  # type: ignore[attr-defined]


def _area(box: dict[str, float] | None) -> float:
    assert box is not None
    return box["width"] * box["height"]


def test_a_phone_opens_the_chat_once_and_comes_back_to_its_news(
    base_url: str, phone: object, point: CollectionPoint, point_token: str, session: Session,
    admin: User, tmp_path: Path,
) -> None:
    page = phone.new_page()  # type: ignore[attr-defined]
    page.goto(f"{base_url}/c/{point_token}")
    page.locator(".bubble", has_text="请选择信息类别").wait_for()
    assert page.locator(".msg.me").count() == 0  # no bubble the visitor did not type
    assert "/" not in page.inner_text("#log").replace("1/11", "")
    # One 取消, smaller than the answers; none in the standing menu.
    cancel = page.locator("button.choice", has_text="取消")
    assert cancel.count() == 1
    assert _area(cancel.bounding_box()) < _area(
        page.locator("button.choice", has_text="民生保障").bounding_box()) / 2
    assert "取消" not in page.inner_text("#menu")
    _shot(page, "first-visit.png", tmp_path)

    # A reload of the tab with nothing filled in simply goes on: nothing new is said.
    shown = page.locator(".msg").count()
    page.reload()
    page.locator(".bubble", has_text="请选择信息类别").wait_for()
    page.wait_for_timeout(500)
    assert page.locator(".msg").count() == shown

    page.locator("button.choice", has_text="民生保障").last.click()
    page.locator(".bubble", has_text="请用一句话概括").wait_for()
    assert "第 2/10 项" in page.inner_text("#log")
    # The earlier question's buttons no longer work, and look it.
    assert page.locator("button.choice", has_text="民生保障").first.is_disabled()

    # Meanwhile the office declined an earlier report of this phone.
    session.rollback()
    chat_id = session.scalars(sa.select(Reporter.external_id)
                              .where(Reporter.channel == Channel.WEB)).one()
    earlier = make_report(session, point, title="建议夜市延长营业时间", external_id=chat_id)
    lifecycle.apply(session, earlier, lifecycle.Action.DECLINE, user=admin,
                    note="该问题已列入今年城管工作计划")
    session.commit()

    # The phone comes back from its history, in a new tab: the news first, then the draft.
    again = phone.new_page()  # type: ignore[attr-defined]
    again.goto(f"{base_url}/c/{point_token}")
    again.locator(".bubble", has_text="您反映的信息最新进展").wait_for()
    again.locator(".bubble", has_text="已填 1 项").wait_for()
    log = again.inner_text("#log")
    assert "暂不采用。原因：该问题已列入今年城管工作计划" in log
    assert log.index("最新进展") < log.rindex("请用一句话概括")
    assert again.locator(".msg.me").count() == 1  # only the ［民生保障］ the visitor pressed
    _shot(again, "returning.png", tmp_path)


def _typed(session: Session, text: str) -> int:
    """How many times the visitor's transcript holds `text` as theirs."""
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).select_from(WebChatMessage)
                          .where(WebChatMessage.direction == "in", WebChatMessage.text == text)) or 0


def _at_the_title(phone: Any, base_url: str, point_token: str) -> Any:
    """A page opened at the point, a category chosen, the title asked for."""
    page = phone.new_page()
    page.goto(f"{base_url}/c/{point_token}")
    page.locator("button.choice", has_text="民生保障").last.click()
    page.locator(".bubble", has_text="请用一句话概括").wait_for()
    return page


def test_a_message_whose_answer_was_lost_is_sent_again_with_its_id_and_applied_once(
    base_url: str, phone: Any, point_token: str, session: Session,
) -> None:
    page = _at_the_title(phone, base_url, point_token)

    # The server gets the message and answers, but the answer never reaches the phone.
    bodies: list[dict[str, Any]] = []

    def lose_first_answer(route: Any) -> None:
        bodies.append(route.request.post_data_json)
        if len(bodies) == 1:
            route.fetch()
            route.abort()
        else:
            route.continue_()

    page.route("**/c/api/send*", lose_first_answer)
    page.fill("#text", "路灯坏了三个月没人修")
    page.click("#send")
    page.locator(".bubble", has_text="请描述具体情况").wait_for()
    assert len(bodies) == 2 and bodies[0]["mid"] == bodies[1]["mid"]
    assert _typed(session, "路灯坏了三个月没人修") == 1
    assert page.locator(".msg.me", has_text="路灯坏了三个月没人修").count() == 1


def test_a_message_still_unsent_when_the_page_closed_is_sent_when_it_opens_again(
    base_url: str, phone: Any, point_token: str, session: Session,
) -> None:
    page = _at_the_title(phone, base_url, point_token)

    # No connection: the page keeps trying, then the phone closes it.
    tries: list[str] = []

    def no_connection(route: Any) -> None:
        tries.append(route.request.url)
        route.abort()

    phone.route("**/c/api/send*", no_connection)
    page.fill("#text", "路灯坏了三个月没人修")
    page.click("#send")
    page.wait_for_timeout(1500)
    assert tries and _typed(session, "路灯坏了三个月没人修") == 0
    page.close()
    phone.unroute("**/c/api/send*")

    again = phone.new_page()
    again.goto(f"{base_url}/c/{point_token}")
    again.locator(".bubble", has_text="请描述具体情况").last.wait_for()  # opening may ask it again
    assert _typed(session, "路灯坏了三个月没人修") == 1
