"""WeChat's callbacks checked (signature, time, safe mode, XML) and turned into the engine's Inbound."""

from __future__ import annotations

import time

import pytest

from bot.channels.wechat.inbound import Gate, Refused, parse, photo, to_inbound
from store.conversation.types import Inbound
from store.models import Channel
from tests.wechat_emulator import AES_KEY, APP_ID, TOKEN, Callback, WeChatEmulator, signature

OPENID = "oR5Gk0xQ7nT2mW9sL4vB1cY8dE6f"


@pytest.fixture
def gate() -> Gate:
    return Gate(TOKEN, APP_ID, AES_KEY)


def test_it_opens_a_plain_text_message(emu: WeChatEmulator, gate: Gate) -> None:
    cb = emu.text(OPENID, "人民路路灯不亮")

    env = gate.open(cb.query, cb.body)

    assert env.xml == cb.xml
    assert (env.openid, env.msg_type, env.nonce) == (OPENID, "text", cb.query["nonce"])
    assert env.key.startswith("m") and env.key[1:].isdigit()


def test_it_opens_a_safe_mode_message_by_decrypting_it(emu: WeChatEmulator, gate: Gate) -> None:
    cb = emu.text(OPENID, "加密模式下的消息", encrypt=True)
    assert b"Encrypt" in cb.body and "加密".encode() not in cb.body

    env = gate.open(cb.query, cb.body)

    assert env.xml == cb.xml
    assert parse(env.xml).content == "加密模式下的消息"


def test_it_answers_the_url_check_with_the_echo(emu: WeChatEmulator, gate: Gate) -> None:
    assert gate.echo(emu.verification("hello-4711")) == "hello-4711"


def _refusal(gate: Gate, query: dict[str, str], body: bytes) -> Refused:
    with pytest.raises(Refused) as exc:
        gate.open(query, body)
    return exc.value


def test_it_refuses_a_wrong_signature(emu: WeChatEmulator, gate: Gate) -> None:
    cb = emu.text(OPENID, "你好")

    refusal = _refusal(gate, {**cb.query, "signature": "0" * 40}, cb.body)

    assert (refusal.status, refusal.reason) == (403, "wrong signature")


def test_it_refuses_a_callback_signed_with_another_token(gate: Gate) -> None:
    other = WeChatEmulator(token="someoneElsesToken")

    refusal = _refusal(gate, *_parts(other.text(OPENID, "你好")))

    assert refusal.status == 403


@pytest.mark.parametrize("drop", ["signature", "timestamp", "nonce"])
def test_it_refuses_a_callback_without_its_signature_parts(emu: WeChatEmulator, gate: Gate,
                                                           drop: str) -> None:
    cb = emu.text(OPENID, "你好")
    query = {k: v for k, v in cb.query.items() if k != drop}

    assert _refusal(gate, query, cb.body).status == 403


@pytest.mark.parametrize("age", [301, 3600, -301])
def test_it_refuses_a_timestamp_outside_five_minutes(emu: WeChatEmulator, gate: Gate, age: int) -> None:
    cb = emu.text(OPENID, "你好", timestamp=int(time.time()) - age)

    refusal = _refusal(gate, cb.query, cb.body)

    assert refusal.status == 403 and "more than 300 s" in refusal.reason


def test_it_takes_a_timestamp_a_little_off(emu: WeChatEmulator, gate: Gate) -> None:
    cb = emu.text(OPENID, "你好", timestamp=int(time.time()) - 200)

    assert gate.open(cb.query, cb.body).timestamp == int(cb.query["timestamp"])


@pytest.mark.parametrize("body", [b"<xml><ToUserName>x</ToUser", b"not xml at all", b"",
                                  b"<other><MsgType>text</MsgType></other>", b"\xff\xfe<xml/>"])
def test_it_refuses_a_body_that_is_not_xml(emu: WeChatEmulator, gate: Gate, body: bytes) -> None:
    cb = emu.text(OPENID, "你好")

    refusal = _refusal(gate, cb.query, body)

    assert refusal.status == 400


def test_it_refuses_xml_that_is_not_a_wechat_message(emu: WeChatEmulator, gate: Gate) -> None:
    cb = emu.sign("<xml><Content>你好</Content></xml>", openid=OPENID)

    refusal = _refusal(gate, cb.query, cb.body)

    assert refusal.status == 400
    assert "no ToUserName, FromUserName, CreateTime, MsgType" in refusal.reason


def test_it_does_not_expand_entities(emu: WeChatEmulator, gate: Gate) -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            '<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName>'
            '<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&b;</Content></xml>')
    cb = emu.sign(bomb, openid=OPENID)

    assert _refusal(gate, cb.query, cb.body).status == 400


def test_it_refuses_a_body_too_large(emu: WeChatEmulator, gate: Gate) -> None:
    cb = emu.text(OPENID, "长" * 30_000)

    assert _refusal(gate, cb.query, cb.body).status == 413


def test_it_refuses_safe_mode_with_a_wrong_msg_signature(emu: WeChatEmulator, gate: Gate) -> None:
    cb = emu.text(OPENID, "你好", encrypt=True)

    refusal = _refusal(gate, {**cb.query, "msg_signature": "f" * 40}, cb.body)

    assert (refusal.status, refusal.reason) == (403, "wrong msg_signature")


def test_it_refuses_a_ciphertext_made_for_another_app(gate: Gate) -> None:
    other = WeChatEmulator(app_id="wx0000000000000000")

    refusal = _refusal(gate, *_parts(other.text(OPENID, "你好", encrypt=True)))

    assert (refusal.status, refusal.reason) == (403, "ciphertext made for another app id")


def test_it_refuses_a_ciphertext_that_does_not_decrypt(emu: WeChatEmulator, gate: Gate) -> None:
    ts, nonce, junk = str(int(time.time())), "12345", "bm90IGEgY2lwaGVydGV4dA=="
    query = {"signature": signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce,
             "encrypt_type": "aes", "msg_signature": signature(TOKEN, ts, nonce, junk)}

    refusal = _refusal(gate, query, f"<xml><Encrypt>{junk}</Encrypt></xml>".encode())

    assert refusal.status == 400 and "does not decrypt" in refusal.reason


def test_it_refuses_safe_mode_when_no_aes_key_is_set(emu: WeChatEmulator) -> None:
    cb = emu.text(OPENID, "你好", encrypt=True)

    refusal = _refusal(Gate(TOKEN, APP_ID), cb.query, cb.body)

    assert refusal.status == 400 and "WECHAT_AES_KEY is not set" in refusal.reason


def test_the_same_event_twice_has_the_same_key_and_another_event_another(emu: WeChatEmulator,
                                                                         gate: Gate) -> None:
    first = gate.open(*_parts(emu.click(OPENID, "new")))
    again = emu.sign(first.xml, openid=OPENID)  # WeChat's retry: same message, new signature

    assert gate.open(again.query, again.body).key == first.key
    assert gate.open(*_parts(emu.click(OPENID, "my"))).key != first.key


# -- into the engine's Inbound ------------------------------------------------------

def _inbound(gate: Gate, cb_query: dict[str, str], body: bytes) -> Inbound | None:
    env = gate.open(cb_query, body)
    return to_inbound(parse(env.xml), env.key)


def _parts(cb: Callback) -> tuple[dict[str, str], bytes]:
    return cb.query, cb.body


def test_text_becomes_text(emu: WeChatEmulator, gate: Gate) -> None:
    cb = emu.text(OPENID, "城关镇人民路")
    env = gate.open(cb.query, cb.body)

    ib = to_inbound(parse(env.xml), env.key)

    assert ib is not None
    assert (ib.channel, ib.user_id, ib.chat_id, ib.text) == (Channel.WECHAT, OPENID, OPENID, "城关镇人民路")
    assert ib.update_id == env.key


def test_a_slash_becomes_a_command(emu: WeChatEmulator, gate: Gate) -> None:
    ib = _inbound(gate, *_parts(emu.text(OPENID, "/bind K7M2QX")))

    assert (ib.command, ib.args, ib.text) == ("bind", "K7M2QX", None)


def test_following_by_a_points_code_starts_there(emu: WeChatEmulator, gate: Gate) -> None:
    ib = _inbound(gate, *_parts(emu.subscribe(OPENID, scene="p12_3_abcdefghijklmnopqrstuv")))

    assert (ib.command, ib.args) == ("start", "p12_3_abcdefghijklmnopqrstuv")


def test_a_follower_scanning_a_points_code_starts_there(emu: WeChatEmulator, gate: Gate) -> None:
    ib = _inbound(gate, *_parts(emu.scan(OPENID, "p12_3_abcdefghijklmnopqrstuv", encrypt=True)))

    assert (ib.command, ib.args) == ("start", "p12_3_abcdefghijklmnopqrstuv")


def test_following_without_a_code_starts_without_a_point(emu: WeChatEmulator, gate: Gate) -> None:
    ib = _inbound(gate, *_parts(emu.subscribe(OPENID)))

    assert (ib.command, ib.args) == ("start", "")


def test_a_menu_click_is_the_command_of_its_key(emu: WeChatEmulator, gate: Gate) -> None:
    ib = _inbound(gate, *_parts(emu.click(OPENID, "my")))

    assert (ib.command, ib.args) == ("my", "")


def test_a_menu_key_that_is_no_command_asks_nothing(emu: WeChatEmulator, gate: Gate) -> None:
    assert _inbound(gate, *_parts(emu.click(OPENID, "V1001_非命令"))) is None


def test_a_location_becomes_latitude_and_longitude(emu: WeChatEmulator, gate: Gate) -> None:
    ib = _inbound(gate, *_parts(emu.location(OPENID, 30.2741, 120.1551, "城关镇人民路1号")))

    assert ib.location == (30.2741, 120.1551)


def test_an_image_becomes_a_photo_once_fetched(emu: WeChatEmulator, gate: Gate) -> None:
    env = gate.open(*_parts(emu.image(OPENID, b"\xff\xd8jpeg")))
    message = parse(env.xml)

    ib = to_inbound(message, env.key, photo(message, b"\xff\xd8jpeg", "image/jpeg", 6))

    assert ib is not None and ib.file is not None
    assert (ib.file.kind, ib.file.content_type, ib.file.data) == ("photo", "image/jpeg", b"\xff\xd8jpeg")
    assert ib.file.ref == message.media_id and ib.file.filename.endswith(".jpg")


@pytest.mark.parametrize("kind", ["voice", "shortvideo", "link", "file", "miniprogrampage", "hologram"])
def test_other_kinds_are_unsupported_not_lost(emu: WeChatEmulator, gate: Gate, kind: str) -> None:
    ib = _inbound(gate, *_parts(emu.message(OPENID, kind, {"MediaId": "m1", "Title": "标题"})))

    assert ib is not None
    assert ib.unsupported == {"voice": "voice", "shortvideo": "video"}.get(kind, kind)


@pytest.mark.parametrize("event", ["unsubscribe", "LOCATION", "VIEW", "TEMPLATESENDJOBFINISH"])
def test_events_that_ask_nothing_become_nothing(emu: WeChatEmulator, gate: Gate, event: str) -> None:
    assert _inbound(gate, *_parts(emu.event(OPENID, event, "k"))) is None
