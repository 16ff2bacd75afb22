"""The WeChat API client against the emulator: one shared token, and each error code handled."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.wechat.api import (
    Status,
    WeChatAPI,
    WeChatError,
    outcome_of,
    seconds_to_quota_reset,
)
from bot.channels.wechat.tokens import MARGIN
from store.models import ChannelState, WeChatToken
from tests.wechat_emulator import APP_ID, APP_SECRET, WeChatEmulator

ALICE = "oAlice000000000000000000000"
BOB = "oBob00000000000000000000000"
TOKEN_PATH = "/cgi-bin/token"
SEND = "/cgi-bin/message/custom/send"


def _api(emu: WeChatEmulator, sessions: sessionmaker[Session], **kw: object) -> WeChatAPI:
    return WeChatAPI(sessions, app_id=APP_ID, app_secret=kw.pop("secret", APP_SECRET),  # type: ignore[arg-type]
                     base=emu.base_url, clock=emu.now, **kw)  # type: ignore[arg-type]


@pytest.fixture
def api(emu: WeChatEmulator, Session_: sessionmaker[Session]) -> Iterator[WeChatAPI]:  # noqa: N803
    client = _api(emu, Session_)
    yield client
    client.close()


@pytest.fixture
def alice(emu: WeChatEmulator) -> str:
    """A follower who has just written to the account."""
    emu.text(ALICE, "你好")
    return ALICE


# -- the access token ------------------------------------------------------------------

def test_it_fetches_one_token_for_many_sends(emu: WeChatEmulator, api: WeChatAPI, alice: str,
                                              session: Session) -> None:
    outcomes = [api.send_text(alice, f"第{i}条") for i in range(3)]

    assert [o.status for o in outcomes] == [Status.SENT] * 3
    assert emu.texts(alice) == ["第0条", "第1条", "第2条"]
    assert emu.calls[TOKEN_PATH] == 1
    row = session.get(WeChatToken, APP_ID)
    assert row is not None and row.version == 1 and row.access_token


def test_a_second_process_uses_the_stored_token(emu: WeChatEmulator, api: WeChatAPI, alice: str,
                                                Session_: sessionmaker[Session]) -> None:  # noqa: N803
    api.send_text(alice, "一")
    other = _api(emu, Session_)

    assert other.send_text(alice, "二").sent

    assert emu.calls[TOKEN_PATH] == 1
    assert emu.texts(alice) == ["一", "二"]


def test_an_invalidated_token_mid_delivery_is_refreshed_once_and_delivered_once(
        emu: WeChatEmulator, api: WeChatAPI, alice: str, session: Session) -> None:
    api.send_text(alice, "第一条")
    emu.invalidate_tokens()

    outcome = api.send_text(alice, "第二条")

    assert outcome.sent
    assert emu.texts(alice) == ["第一条", "第二条"]
    assert emu.calls[TOKEN_PATH] == 2
    assert emu.calls[SEND] == 3  # the first, the one refused with 40001, and its one retry
    assert session.get(WeChatToken, APP_ID).version == 2  # type: ignore[union-attr]


def test_two_processes_refused_at_once_fetch_one_new_token(
        emu: WeChatEmulator, Session_: sessionmaker[Session]) -> None:  # noqa: N803
    users = [f"oUser{i:022d}" for i in range(6)]
    for openid in users:
        emu.text(openid, "你好")
    processes = [_api(emu, Session_) for _ in range(3)]
    for p in processes:
        p.tokens.current()
    assert emu.calls[TOKEN_PATH] == 1
    emu.invalidate_tokens()
    start = threading.Barrier(len(users))
    results: dict[str, Status] = {}

    def send(p: WeChatAPI, openid: str) -> None:
        start.wait()
        results[openid] = p.send_text(openid, "办理结果").status

    threads = [threading.Thread(target=send, args=(processes[i % 3], u)) for i, u in enumerate(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert results == {u: Status.SENT for u in users}
    assert emu.calls[TOKEN_PATH] == 2
    assert all(emu.texts(u) == ["办理结果"] for u in users)
    assert sum(p.tokens.fetches for p in processes) == 2


def test_a_token_near_its_end_is_refreshed_before_use(emu: WeChatEmulator, api: WeChatAPI,
                                                      alice: str) -> None:
    api.send_text(alice, "一")
    emu.advance(7200 - MARGIN + 10)

    assert api.send_text(alice, "二").sent

    assert emu.calls[TOKEN_PATH] == 2
    assert emu.calls[SEND] == 2  # never sent with the old token


def test_a_token_refused_twice_is_retried_later_not_looped(emu: WeChatEmulator, api: WeChatAPI,
                                                           alice: str) -> None:
    api.tokens.current()
    emu.fail_next(SEND, 40001, times=2)

    outcome = api.send_text(alice, "你好")

    assert outcome.status == Status.RETRY and outcome.errcode == 40001
    assert emu.calls[SEND] == 2 and emu.calls[TOKEN_PATH] == 2
    assert emu.texts(alice) == []


def test_a_refused_secret_is_logged_and_retried_later(emu: WeChatEmulator, alice: str,
                                                      Session_: sessionmaker[Session],  # noqa: N803
                                                      caplog: pytest.LogCaptureFixture,
                                                      session: Session) -> None:
    wrong = _api(emu, Session_, secret="not-the-secret")

    with caplog.at_level(logging.ERROR):
        outcome = wrong.send_text(alice, "你好")

    assert outcome.status == Status.RETRY and outcome.retry_after == 300.0
    assert "40125" in outcome.error
    assert "refused an access token" in caplog.text
    assert emu.texts(alice) == []
    # The failed fetch let go of its claim: the next try may fetch at once.
    assert session.get(WeChatToken, APP_ID).refreshing_until is None  # type: ignore[union-attr]


# -- what a send can come to -------------------------------------------------------------

def test_it_sends_chinese_as_itself_not_escaped(emu: WeChatEmulator, api: WeChatAPI, alice: str) -> None:
    api.send_text(alice, "您反映的信息已被采用")

    assert "您反映的信息已被采用".encode() in emu.bodies[-1]
    assert b"\\u" not in emu.bodies[-1]


def test_outside_the_48_hour_window_it_says_so(emu: WeChatEmulator, api: WeChatAPI, alice: str) -> None:
    emu.advance(48 * 3600 + 60)

    outcome = api.send_text(alice, "办理结果")

    assert (outcome.status, outcome.errcode) == (Status.OUTSIDE_WINDOW, 45015)
    assert emu.texts(alice) == []


def test_a_user_who_unfollowed_is_gone(emu: WeChatEmulator, api: WeChatAPI, alice: str) -> None:
    emu.unsubscribe(alice)

    outcome = api.send_text(alice, "办理结果")

    assert (outcome.status, outcome.errcode) == (Status.GONE, 43004)


def test_a_stranger_is_gone(api: WeChatAPI) -> None:
    outcome = api.send_text("oNeverSeen000000000000000000", "你好")

    assert (outcome.status, outcome.errcode) == (Status.GONE, 40003)


def test_a_used_up_quota_is_retried_within_the_hour(emu: WeChatEmulator, api: WeChatAPI,
                                                    alice: str) -> None:
    emu.quota[SEND] = 1
    assert api.send_text(alice, "一").sent

    outcome = api.send_text(alice, "二")

    assert (outcome.status, outcome.errcode) == (Status.RETRY, 45009)
    assert outcome.retry_after is not None and 0 < outcome.retry_after <= 3600
    assert emu.texts(alice) == ["一"]


def test_the_quota_retry_waits_only_until_midnight_in_beijing() -> None:
    at = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)  # 23:30 in Beijing

    outcome = outcome_of({"errcode": 45009, "errmsg": "quota"}, via="custom", now=lambda: at)

    assert seconds_to_quota_reset(at) == 1800
    assert outcome.retry_after == 1800


@pytest.mark.parametrize(("fault", "status", "after"), [
    ({"errcode": -1}, Status.RETRY, 5.0),
    ({"errcode": 45047}, Status.OUTSIDE_WINDOW, None),
    ({"errcode": 40003}, Status.GONE, None),
    ({"errcode": 45002}, Status.FAILED, None),
])
def test_error_codes_map_to_outcomes(emu: WeChatEmulator, api: WeChatAPI, alice: str,
                                     fault: dict[str, int], status: Status, after: float | None) -> None:
    emu.fail_next(SEND, fault["errcode"])

    outcome = api.send_text(alice, "你好")

    assert (outcome.status, outcome.errcode, outcome.retry_after) == (status, fault["errcode"], after)
    assert emu.texts(alice) == []


def test_a_text_over_the_limit_is_refused_by_wechat(api: WeChatAPI, alice: str) -> None:
    outcome = api.send_text(alice, "长" * 700)  # 2,100 bytes

    assert (outcome.status, outcome.errcode) == (Status.FAILED, 45002)


def test_a_server_error_is_retried_with_the_callers_backoff(emu: WeChatEmulator, api: WeChatAPI,
                                                            alice: str) -> None:
    api.tokens.current()
    emu.fail_next(SEND, status=502)

    outcome = api.send_text(alice, "你好")

    assert outcome.status == Status.RETRY and outcome.retry_after is None
    assert "HTTP 502" in outcome.error


def test_an_unreachable_api_is_retried(Session_: sessionmaker[Session], alice: str) -> None:  # noqa: N803
    down = WeChatAPI(Session_, app_id=APP_ID, app_secret=APP_SECRET, base="http://127.0.0.1:9",
                     timeout=2.0)

    outcome = down.send_text(alice, "你好")

    assert outcome.status == Status.RETRY and "no access token" in outcome.error


# -- template messages ------------------------------------------------------------------

def test_it_sends_a_template_message(emu: WeChatEmulator, api: WeChatAPI, alice: str) -> None:
    emu.add_template("TPL_feedback")
    emu.advance(72 * 3600)  # templates do not care about the 48-hour window

    outcome = api.send_template(alice, "TPL_feedback", {"first": "新消息", "keyword1": "已采用"},
                                url="https://minyi.example.gov.cn/c/f/abc")

    assert outcome.sent and outcome.via == "template"
    [got] = emu.delivered_to(alice)
    assert (got.kind, got.template_id, got.data) == ("template", "TPL_feedback",
                                                     {"first": "新消息", "keyword1": "已采用"})
    assert got.url == "https://minyi.example.gov.cn/c/f/abc"


def test_an_unknown_template_fails(api: WeChatAPI, alice: str) -> None:
    outcome = api.send_template(alice, "TPL_nope", {"first": "x"})

    assert (outcome.status, outcome.errcode) == (Status.FAILED, 40037)


# -- a point's QR code --------------------------------------------------------------------

def test_a_points_qr_code_is_fetched_once(emu: WeChatEmulator, api: WeChatAPI, session: Session,
                                          Session_: sessionmaker[Session]) -> None:  # noqa: N803
    scene = "p12_3_abcdefghijklmnopqrstuv"

    first = api.create_point_qr(scene)
    second = api.create_point_qr(scene)
    from_another_process = _api(emu, Session_).create_point_qr(scene)

    assert first == second == from_another_process
    assert first.ticket and first.url.startswith(emu.base_url)
    assert emu.calls["/cgi-bin/qrcode/create"] == 1
    stored = session.get(ChannelState, f"wechat:qr:{APP_ID}:{scene}")
    assert stored is not None and stored.value == {"ticket": first.ticket, "url": first.url}


def test_a_rotated_point_gets_a_new_code(emu: WeChatEmulator, api: WeChatAPI) -> None:
    old = api.create_point_qr("p12_3_abcdefghijklmnopqrstuv")
    new = api.create_point_qr("p12_4_ZYXWVUTSRQPONMLKJIHGFE")

    assert old.ticket != new.ticket
    assert emu.calls["/cgi-bin/qrcode/create"] == 2


def test_the_qr_image_is_a_png(api: WeChatAPI) -> None:
    qr = api.create_point_qr("p1_1_abcdefghijklmnopqrstuv")

    assert api.qr_image(qr.ticket).startswith(b"\x89PNG\r\n")
    with pytest.raises(WeChatError, match="not a PNG"):
        api.qr_image("no-such-ticket")


def test_a_scene_too_long_is_refused_before_asking(emu: WeChatEmulator, api: WeChatAPI,
                                                   session: Session) -> None:
    with pytest.raises(WeChatError, match="1 to 64 characters"):
        api.create_point_qr("p" * 65)

    assert emu.calls["/cgi-bin/qrcode/create"] == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(ChannelState)) == 0


def test_a_refused_qr_code_is_not_cached(emu: WeChatEmulator, api: WeChatAPI, session: Session) -> None:
    emu.fail_next("/cgi-bin/qrcode/create", 45009)

    with pytest.raises(WeChatError) as exc:
        api.create_point_qr("p1_1_abcdefghijklmnopqrstuv")

    assert exc.value.errcode == 45009 and exc.value.retry
    assert session.scalar(sa.select(sa.func.count()).select_from(ChannelState)) == 0
    assert api.create_point_qr("p1_1_abcdefghijklmnopqrstuv").ticket


# -- what users send -------------------------------------------------------------------------

def test_it_downloads_a_picture_a_user_sent(emu: WeChatEmulator, api: WeChatAPI) -> None:
    media_id = emu.add_media(b"\xff\xd8\xff\xe0photo", "image/jpeg")

    media = api.download_media(media_id, 1024)

    assert (media.data, media.content_type, media.size) == (b"\xff\xd8\xff\xe0photo", "image/jpeg", 9)


def test_a_picture_over_the_limit_comes_without_its_bytes(emu: WeChatEmulator, api: WeChatAPI) -> None:
    media_id = emu.add_media(b"x" * 2048, "image/png")

    media = api.download_media(media_id, 1024)

    assert (media.data, media.size) == (None, 2048)


def test_an_unknown_media_id_is_a_permanent_error(api: WeChatAPI) -> None:
    with pytest.raises(WeChatError) as exc:
        api.download_media("MEDIA_gone", 1024)

    assert exc.value.errcode == 40007 and not exc.value.retry
