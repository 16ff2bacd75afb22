"""WeChat has no buttons: options are numbered in the text and read back from the user's answer."""

from __future__ import annotations

import pytest

from bot.channels.wechat.render import TEXT_LIMIT, choose, render, split
from store.conversation.types import Button, Reply

CATEGORY = Reply("请选择信息类别：", [
    [Button("经济发展", "t3:ch:economy"), Button("民生保障", "t3:ch:livelihood")],
    [Button("生态环境", "t3:ch:ecology")],
])
CONFIRM = Reply("请核对：……", [[Button("✅ 确认提交", "t7:ok:"), Button("✏️ 修改", "t7:edit:")]])


def test_it_numbers_the_buttons_under_the_text() -> None:
    rendered = render([CATEGORY])

    assert rendered.parts == ["请选择信息类别：\n\n回复数字选择：\n1. 经济发展\n2. 民生保障\n3. 生态环境"]
    assert [b.data for b in rendered.offered] == ["t3:ch:economy", "t3:ch:livelihood", "t3:ch:ecology"]


def test_it_joins_an_answer_into_one_message_and_numbers_on_across_replies() -> None:
    rendered = render([Reply("已保存。"), CATEGORY, CONFIRM])

    text = rendered.parts[0]
    assert len(rendered.parts) == 1
    assert text.startswith("已保存。\n\n请选择信息类别：")
    assert "4. ✅ 确认提交\n5. ✏️ 修改" in text
    assert [b.label for b in rendered.offered][3:] == ["✅ 确认提交", "✏️ 修改"]


def test_it_renders_nothing_for_no_replies() -> None:
    assert render([]).parts == []
    assert render([Reply("   ")]).parts == []


def test_it_speaks_english_to_english_speakers() -> None:
    assert "Reply with a number:\n1. 经济发展" in render([CATEGORY], lang="en").parts[0]


@pytest.mark.parametrize("answer", ["2", "２", "二", "两", " 2. ", "（2）", "2、", "民生保障", "【民生保障】"])
def test_it_reads_the_second_option_however_it_is_typed(answer: str) -> None:
    assert choose(render([CATEGORY]).offered, answer) == "t3:ch:livelihood"


def test_it_reads_an_option_by_its_words_without_the_emoji() -> None:
    offered = render([CATEGORY, CONFIRM]).offered

    assert choose(offered, "确认提交") == "t7:ok:"
    assert choose(offered, "修改") == "t7:edit:"
    assert choose(offered, "五") == "t7:edit:"


def test_it_reads_two_digit_numbers_and_numerals() -> None:
    offered = [Button(f"选项{i}", f"d{i}") for i in range(1, 24)]

    assert choose(offered, "12") == "d12"
    assert choose(offered, "十二") == "d12"
    assert choose(offered, "十") == "d10"
    assert choose(offered, "二十三") == "d23"


@pytest.mark.parametrize("answer", ["0", "4", "九", "1234", "民生", "城关镇人民路路灯长期不亮", "", "   ",
                                    "2 号楼", "一二"])
def test_it_leaves_anything_else_as_text(answer: str) -> None:
    assert choose(render([CATEGORY]).offered, answer) is None


def test_it_reads_nothing_when_nothing_was_offered() -> None:
    assert choose([], "1") is None


def test_an_ambiguous_label_names_no_button() -> None:
    offered = [Button("其他", "a"), Button("其他", "b")]

    assert choose(offered, "其他") is None
    assert choose(offered, "2") == "b"


def test_it_splits_long_text_within_the_byte_limit_at_line_ends() -> None:
    paragraph = "人民路共有路灯40盏，其中12盏已经损坏超过3个月。" * 10  # about 700 bytes
    text = "\n".join([paragraph] * 8)

    parts = split(text)

    assert len(parts) > 1
    assert all(len(p.encode()) <= TEXT_LIMIT for p in parts)
    assert all(p == paragraph or p.startswith(paragraph) for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")


def test_it_splits_a_line_without_breaks_at_sentence_ends_and_never_inside_a_character() -> None:
    text = ("这是一句话。" * 300) + ("长" * 1000)

    parts = split(text)

    assert all(len(p.encode()) <= TEXT_LIMIT for p in parts)
    assert all(p.endswith("。") for p in parts[:-2])
    assert "".join(parts) == text


def test_the_options_stay_whole_when_a_long_reply_is_split() -> None:
    long_reply = Reply("基本情况：" + "很长的描述。" * 400, CATEGORY.buttons)

    parts = render([long_reply]).parts

    assert all(len(p.encode()) <= TEXT_LIMIT for p in parts)
    assert parts[-1].endswith("回复数字选择：\n1. 经济发展\n2. 民生保障\n3. 生态环境")
