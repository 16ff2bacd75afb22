"""The read-back of a draft, as the reporter sees it before confirming, and its report columns.

Answers the form marks `identity = true` (who the reporter is) appear in the
reporter's own read-back only: the console's table of answers and any text a
third party may read leave them out (staff see them through
`store.access.reveal_identity`, which logs the look).
"""

from __future__ import annotations

from typing import Any

from store.forms import Form, Step
from store.i18n import register, t

# Telegram messages stop at 4,096 characters; long answers are shortened here.
EXCERPT = 300

register({
    "summary.identity_kept": {
        "zh": "已登记（保密：仅审核工作人员可查看，每次查看都有记录）",
        "en": "Recorded (confidential: only reviewing staff may look, and each look is logged)",
    },
})


def render_answer(step: Step, value: Any, lang: str) -> str:
    if value is None:
        return t("chat.skipped", lang)
    if step.kind == "choice":
        choice = step.choice(str(value))
        return (choice.label.get(lang) or choice.label["zh"]) if choice else str(value)
    if step.kind == "yesno":
        return t("chat.yes" if value else "chat.no", lang)
    if step.kind == "file":
        return t("chat.files", lang, n=value)
    if step.kind == "location" and isinstance(value, dict):
        return t("chat.location", lang, lat=value["latitude"], lon=value["longitude"])
    return str(value)


def summary(form: Form, answers: dict[str, Any], lang: str, *, identity: bool = True) -> str:
    """The answers of the steps that apply, one `【label】answer` a line.

    `identity=False` for a text someone other than the reporter may read (the
    counter receipt, which anyone holding the printed slip can open): identity
    answers are said to be recorded, not shown.
    """
    lines = []
    for step in form.active_steps(answers):
        if step.identity and not identity and answers.get(step.key) is not None:
            lines.append(f"【{step.name(lang)}】{t('summary.identity_kept', lang)}")
            continue
        text = render_answer(step, answers.get(step.key), lang)
        if len(text) > EXCERPT:
            more = f"…（共 {len(text)} 字）" if lang == "zh" else f"… ({len(text)} characters)"
            text = text[:EXCERPT] + more
        lines.append(f"【{step.name(lang)}】{text}")
    return "\n".join(lines)


def answer_rows(form: Form, answers: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    """The console's table of every answer: (label, answer) in the form's order.

    Identity answers are left out, and so are answers the form no longer
    describes (whether they said who the reporter is, only the form could tell).
    """
    return [(step.name(lang), render_answer(step, answers[step.key], lang))
            for step in form.steps if step.key in answers and not step.identity]


def report_fields(form: Form, answers: dict[str, Any]) -> dict[str, Any]:
    """Report columns from the answers of the steps that apply (chat and counter alike)."""
    fields: dict[str, Any] = {}
    for step in form.active_steps(answers):
        value = answers.get(step.key)
        if step.field is None or value is None:
            continue
        if step.kind == "location" and isinstance(value, dict):
            fields["latitude"], fields["longitude"] = value["latitude"], value["longitude"]
            fields[step.field] = render_answer(step, value, "zh")
        else:
            fields[step.field] = value
    return fields
