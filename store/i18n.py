"""User-facing text, Chinese first, English second.

Code names a message by key; the catalogue holds the words. Form prompts
live in the form files, not here.
"""

from __future__ import annotations

from typing import Any

LANGS = ("zh", "en")

MESSAGES: dict[str, dict[str, str]] = {
    # Feedback owed by lifecycle moves (sent through the outbox).
    "feedback.adopted": {
        "zh": "您反映的信息《{title}》（编号 {no}）已被采用。感谢您对政协工作的支持！",
        "en": "Your report \"{title}\" ({no}) has been adopted. Thank you for your support!",
    },
    "feedback.not_adopted": {
        "zh": "您反映的信息《{title}》（编号 {no}）经研究暂不采用。\n原因：{note}\n感谢您的参与，欢迎继续反映。",
        "en": "Your report \"{title}\" ({no}) was not adopted.\nReason: {note}\nThank you, and please keep reporting.",
    },
    "feedback.returned": {
        "zh": "您反映的信息《{title}》（编号 {no}）需要补充：\n{note}\n请点击下方按钮补充说明或照片。",
        "en": "Your report \"{title}\" ({no}) needs more information:\n{note}\nTap the button below to add it.",
    },
    "button.supplement": {"zh": "补充信息", "en": "Add information"},
    # Errors raised by the domain, shown by any channel or the console.
    "error.transition_not_allowed": {
        "zh": "该信息当前状态不允许此操作。",
        "en": "This action is not allowed in the report's current state.",
    },
    "error.forbidden": {"zh": "您没有权限执行此操作。", "en": "You are not allowed to do this."},
    "error.note_required": {"zh": "请填写原因或说明。", "en": "Please give a reason or a note."},
    "error.note_too_long": {
        "zh": "说明太长了，请控制在 {limit} 字以内。",
        "en": "The note is too long; keep it under {limit} characters.",
    },
    "error.conflict": {
        "zh": "该信息刚刚已被其他人处理，请刷新后查看最新状态。",
        "en": "Someone else has just acted on this report. Reload to see where it stands.",
    },
    # Report statuses, as reporters and staff see them.
    "status.submitted": {"zh": "已提交，待审核", "en": "Submitted, awaiting review"},
    "status.returned": {"zh": "退回补充", "en": "Returned for more information"},
    "status.resubmitted": {"zh": "已补充，待审核", "en": "Supplemented, awaiting review"},
    "status.adopted": {"zh": "已采用", "en": "Adopted"},
    "status.not_adopted": {"zh": "不采用", "en": "Not adopted"},
    "urgency.normal": {"zh": "一般", "en": "Normal"},
    "urgency.urgent": {"zh": "紧急", "en": "Urgent"},
}


def lang_of(code: str | None) -> str:
    """Map a client's language code (e.g. Telegram's `en-GB`) to ours; Chinese by default."""
    if code and code.lower().startswith("en"):
        return "en"
    return "zh"


def t(key: str, lang: str = "zh", **params: Any) -> str:
    """The message `key` in `lang`, falling back to Chinese, with `params` filled in."""
    entry = MESSAGES.get(key)
    if entry is None:
        raise KeyError(f"no message {key!r}")
    text = entry.get(lang) or entry["zh"]
    return text.format(**params) if params else text


def register(messages: dict[str, dict[str, str]]) -> None:
    """Add a module's messages to the catalogue; a duplicate key is a bug."""
    clash = MESSAGES.keys() & messages.keys()
    if clash:
        raise KeyError(f"messages defined twice: {sorted(clash)}")
    MESSAGES.update(messages)
