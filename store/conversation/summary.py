"""The read-back of a draft, as the reporter sees it before confirming, and its report columns."""

from __future__ import annotations

from typing import Any

from store.forms import Form, Step
from store.i18n import t

# Telegram messages stop at 4,096 characters; long answers are shortened here.
EXCERPT = 300


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


def summary(form: Form, answers: dict[str, Any], lang: str) -> str:
    lines = []
    for step in form.active_steps(answers):
        text = render_answer(step, answers.get(step.key), lang)
        if len(text) > EXCERPT:
            more = f"…（共 {len(text)} 字）" if lang == "zh" else f"… ({len(text)} characters)"
            text = text[:EXCERPT] + more
        lines.append(f"【{step.name(lang)}】{text}")
    return "\n".join(lines)


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
