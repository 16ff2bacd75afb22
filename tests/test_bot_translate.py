"""Telegram updates, as the emulator shapes them, read into `Inbound` (no network)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from telegram import Update

from bot.channels.telegram.sender import chunks, keyboard
from bot.channels.telegram.translate import can_download, file_ref, is_private, parse_command, to_inbound
from store.models import Channel
from tests.botapi_emulator import BotAPIEmulator


@pytest.fixture
def emu() -> Iterator[BotAPIEmulator]:
    with BotAPIEmulator() as e:
        yield e


def last(emu: BotAPIEmulator) -> Update:
    update = Update.de_json(emu.updates()[-1], None)
    assert update is not None
    return update


def test_it_reads_plain_text_with_who_and_where(emu: BotAPIEmulator) -> None:
    emu.user_sends_text(7, "路灯坏了", language_code="en-GB")
    update = last(emu)
    inbound = to_inbound(update)
    assert inbound is not None
    assert (inbound.channel, inbound.user_id, inbound.chat_id) == (Channel.TELEGRAM, "7", "7")
    assert inbound.text == "路灯坏了" and inbound.command is None
    assert inbound.language == "en-GB"
    assert inbound.update_id == str(update.update_id)
    assert inbound.display_name == "用户7"


def test_it_reads_start_with_its_payload(emu: BotAPIEmulator) -> None:
    emu.user_sends_command(7, "start", "p1_1_abcDEF-123")
    inbound = to_inbound(last(emu))
    assert inbound is not None
    assert (inbound.command, inbound.args, inbound.text) == ("start", "p1_1_abcDEF-123", None)


@pytest.mark.parametrize(("text", "parsed"), [
    ("/help", ("help", "")),
    ("/My@minyi_test_bot", ("my", "")),
    ("/start  p1_x ", ("start", "p1_x")),
    ("/", None),
    ("/ 你好", None),
    ("不是指令", None),
])
def test_it_parses_commands(text: str, parsed: tuple[str, str] | None) -> None:
    assert parse_command(text) == parsed


def test_it_reads_a_button_press(emu: BotAPIEmulator) -> None:
    emu.user_sends_text(7, "hi")
    emu._api_sendMessage({"chat_id": 7, "text": "选择", "reply_markup": {
        "inline_keyboard": [[{"text": "是", "callback_data": "t3:yes"}]]}}, {})
    message_id = emu.sent_to(7)[-1].message_id
    emu.user_presses(7, "t3:yes", message_id)
    inbound = to_inbound(last(emu))
    assert inbound is not None
    assert inbound.callback == "t3:yes" and inbound.chat_id == "7"


def test_it_takes_the_largest_photo_size(emu: BotAPIEmulator) -> None:
    emu.user_sends_photo(7, b"the-big-one", caption="现场照片")
    update = last(emu)
    ref = file_ref(update)
    assert ref is not None
    assert ref.kind == "photo" and ref.content_type == "image/jpeg"
    assert ref.file_id == update.message.photo[-1].file_id  # type: ignore[union-attr]
    inbound = to_inbound(update, b"the-big-one")
    assert inbound is not None and inbound.file is not None
    assert inbound.file.data == b"the-big-one" and inbound.file.size == len(b"the-big-one")
    assert inbound.file.ref == ref.unique_id
    assert inbound.text == "现场照片"


def test_it_passes_a_document_too_big_to_fetch_without_data(emu: BotAPIEmulator) -> None:
    emu.user_sends_document(7, size=25 * 1024 * 1024, file_name="调查报告.pdf")
    update = last(emu)
    ref = file_ref(update)
    assert ref is not None and not can_download(ref)
    inbound = to_inbound(update, None)
    assert inbound is not None and inbound.file is not None
    assert inbound.file.data is None
    assert inbound.file.size == 25 * 1024 * 1024
    assert (inbound.file.filename, inbound.file.content_type) == ("调查报告.pdf", "application/pdf")


def test_it_reads_a_location(emu: BotAPIEmulator) -> None:
    emu.user_sends_location(7, 25.04, 102.71)
    inbound = to_inbound(last(emu))
    assert inbound is not None and inbound.location == (25.04, 102.71)


@pytest.mark.parametrize("kind", ["sticker", "voice"])
def test_it_names_what_it_cannot_take(emu: BotAPIEmulator, kind: str) -> None:
    getattr(emu, f"user_sends_{kind}")(7)
    inbound = to_inbound(last(emu))
    assert inbound is not None
    assert inbound.unsupported == kind and inbound.file is None and inbound.text is None


MEDIA = {
    "video": {"file_id": "F", "file_unique_id": "U", "width": 1, "height": 1, "duration": 1},
    "video_note": {"file_id": "F", "file_unique_id": "U", "length": 1, "duration": 1},
    "audio": {"file_id": "F", "file_unique_id": "U", "duration": 1},
    "animation": {"file_id": "F", "file_unique_id": "U", "width": 1, "height": 1, "duration": 1},
    "contact": {"phone_number": "13800000000", "first_name": "张"},
    "dice": {"emoji": "🎲", "value": 3},
}


@pytest.mark.parametrize("kind", sorted(MEDIA))
def test_it_names_other_media_as_unsupported(emu: BotAPIEmulator, kind: str) -> None:
    extra = {kind: MEDIA[kind]}
    if kind == "animation":  # Telegram sends an animation as a document too
        extra["document"] = {"file_id": "F", "file_unique_id": "U"}
    emu._message(7, extra)
    update = last(emu)
    assert file_ref(update) is None
    inbound = to_inbound(update)
    assert inbound is not None and inbound.unsupported == kind


def test_it_marks_an_edit_as_an_edit(emu: BotAPIEmulator) -> None:
    sent = emu.user_sends_text(7, "原来的标题")
    emu.user_edits_message(7, sent["message_id"], "新的标题")
    inbound = to_inbound(last(emu))
    assert inbound is not None
    assert inbound.edited and inbound.text == "新的标题"


def test_it_tells_private_chats_from_groups(emu: BotAPIEmulator) -> None:
    emu.user_sends_text(7, "hi")
    assert is_private(last(emu))
    emu.group_message(-100123, 7, "hi", chat_type="supergroup")
    assert not is_private(last(emu))
    emu.group_message(-100456, 7, "post", chat_type="channel")
    assert not is_private(last(emu))


def test_it_renders_buttons_and_splits_long_text() -> None:
    markup = keyboard([[{"label": "是", "data": "t1:y"}, {"label": "否", "data": "t1:n"}]])
    assert markup is not None
    assert [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard] == [
        [("是", "t1:y"), ("否", "t1:n")]]
    assert keyboard(None) is None and keyboard([[]]) is None
    text = "\n".join(f"第{i}行" + "字" * 50 for i in range(200))
    pieces = chunks(text)
    assert len(pieces) > 1 and all(len(p) <= 4096 for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
