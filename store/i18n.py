"""User-facing text, Chinese first, English second.

Code names a message by key; the catalogue holds the words. Form prompts
live in the form files, not here.
"""

from __future__ import annotations

from typing import Any

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
    "feedback.merged": {
        "zh": "您反映的信息《{title}》（编号 {no}）与其他群众反映的问题相同，已合并办理。后续进展会继续在这里通知您。",
        "en": "Your report \"{title}\" ({no}) matches another report and is handled together with it. We will keep you posted here.",
    },
    "feedback.raised": {
        "zh": "好消息！您反映的信息《{title}》（编号 {no}）已被{level}采用。",
        "en": "Good news! Your report \"{title}\" ({no}) has been adopted by the {level}.",
    },
    "feedback.transferred": {
        "zh": "您反映的信息《{title}》（编号 {no}）已转交{department}办理，办理结果会通知您。",
        "en": "Your report \"{title}\" ({no}) has been passed to {department}; we will tell you how it was handled.",
    },
    "feedback.handled": {
        "zh": "您反映的信息《{title}》（编号 {no}）有了办理回复：\n{note}",
        "en": "Your report \"{title}\" ({no}) has a reply from the department:\n{note}",
    },
    "feedback.instructed": {
        "zh": "您反映的信息《{title}》（编号 {no}）得到了{leader}的批示，有关方面将按批示要求研究办理。",
        "en": "Your report \"{title}\" ({no}) received a written instruction from {leader}; it will be acted upon.",
    },
    "feedback.instruction_done": {
        "zh": "您反映的信息《{title}》（编号 {no}）获{leader}批示后，{department}已按批示要求办理，办理结果已报送领导。感谢您的参与！",
        "en": "Your report \"{title}\" ({no}): {department} has acted on the written instruction from {leader}, and the result has been reported to the leader. Thank you!",
    },
    "feedback.referred": {
        "zh": "您反映的信息《{title}》（编号 {no}）虽未采用，但已函送{department}参考。",
        "en": "Your report \"{title}\" ({no}) was not adopted, but it has been passed to {department} for reference.",
    },
    "feedback.reference_replied": {
        "zh": "您反映的信息《{title}》（编号 {no}）函送{department}参考后，该部门回复：\n{note}",
        "en": "Your report \"{title}\" ({no}), passed to {department} for reference, has this reply from them:\n{note}",
    },
    "feedback.closed": {
        "zh": "您反映的信息《{title}》（编号 {no}）已办结。请您对办理情况作出评价：",
        "en": "Your report \"{title}\" ({no}) is concluded. How satisfied are you with how it was handled?",
    },
    "feedback.return_reminder": {
        "zh": "提醒：您反映的信息《{title}》（编号 {no}）还需要补充：\n{note}\n请点击下方按钮补充，逾期未补充将办结。",
        "en": "Reminder: your report \"{title}\" ({no}) still needs more information:\n{note}\nTap below to add it; otherwise it will be closed.",
    },
    "feedback.return_expired": {
        "zh": "您反映的信息《{title}》（编号 {no}）因长时间未补充，已办结。如情况仍存在，欢迎重新反映。",
        "en": "Your report \"{title}\" ({no}) was closed because the requested information did not arrive. You are welcome to report again.",
    },
    "adoption.county": {"zh": "县（区）政协", "en": "county CPPCC"},
    "adoption.city": {"zh": "市政协", "en": "city CPPCC"},
    "adoption.province": {"zh": "省政协", "en": "provincial CPPCC"},
    "adoption.national": {"zh": "全国政协", "en": "National Committee of the CPPCC"},
    "satisfaction.satisfied": {"zh": "满意", "en": "Satisfied"},
    "satisfaction.basically": {"zh": "基本满意", "en": "Mostly satisfied"},
    "satisfaction.unsatisfied": {"zh": "不满意", "en": "Not satisfied"},
    "notice.urgent": {
        "zh": "【紧急】{no}《{title}》待{level}，请尽快处理。",
        "en": "[URGENT] {no} \"{title}\" awaits {level}.",
    },
    "notice.resubmitted": {
        "zh": "{no}《{title}》反映人已补充，待{level}。",
        "en": "{no} \"{title}\" was supplemented and awaits {level}.",
    },
    "notice.overdue": {
        "zh": "【督办】转办事项 {no}《{title}》已超过办理期限（{due}），请尽快回复。",
        "en": "[OVERDUE] transfer {no} \"{title}\" passed its deadline ({due}).",
    },
    "notice.escalated": {
        "zh": "【督办升级】{department} 对 {no}《{title}》的转办已严重逾期（期限 {due}），请督促办理。",
        "en": "[ESCALATED] {department} is well past the deadline ({due}) on {no} \"{title}\".",
    },
    "notice.transfer": {
        "zh": "新的转办事项：{no}《{title}》，办理期限 {due}。",
        "en": "New transfer: {no} \"{title}\", due {due}.",
    },
    "error.final_level": {
        "zh": "采用须在最后一级（审定）决定；本级请点“通过，报送上一级”。",
        "en": "Adoption is decided at the final level; sign this level off to pass it up.",
    },
    "error.not_final_level": {
        "zh": "这已是最后一级审核，请直接决定采用或不采用。",
        "en": "This is the final level: adopt or decline it.",
    },
    "error.level_required": {
        "zh": "请选择采用级别。",
        "en": "Choose the level that adopts it.",
    },
    "error.not_higher": {
        "zh": "新的采用级别必须高于原采用级别。",
        "en": "The new adoption level must be higher than the current one.",
    },
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
    "status.reviewing": {"zh": "审核中", "en": "Under review"},
    "status.reopened": {"zh": "重新办理", "en": "Reopened"},
    "status.adopted": {"zh": "已采用", "en": "Adopted"},
    "status.not_adopted": {"zh": "不采用", "en": "Not adopted"},
    "status.merged": {"zh": "已合并", "en": "Merged"},
    "status.transferred": {"zh": "已转办", "en": "With a department"},
    "status.handled": {"zh": "已办理回复", "en": "Department replied"},
    "status.closed": {"zh": "已办结", "en": "Closed"},
    "urgency.normal": {"zh": "一般", "en": "Normal"},
    "urgency.urgent": {"zh": "紧急", "en": "Urgent"},
    # 通报 (store.outputs.bulletin): each unit liaison and each member gets their own figures.
    "bulletin.unit": {
        "zh": "【{period}社情民意信息通报】{unit}：收到信息 {received} 条，采用 {adopted} 条（{levels}），获领导批示 {instructed} 件。{rank}\n不想再收到通报，可在控制台“我的账号”中关闭。",
        "en": "[{period} bulletin] {unit}: {received} reports received, {adopted} adopted ({levels}), {instructed} leader instructions. {rank}\nTo stop these, switch them off under My account in the console.",
    },
    "bulletin.rank": {
        "zh": "在“{series}”考评序列中得分 {score}，排名第 {rank} / {of}。",
        "en": "In the series \"{series}\": {score} points, ranked {rank} of {of}.",
    },
    "button.nobulletin": {"zh": "不再接收通报", "en": "Stop these bulletins"},
    "bulletin.levels": {
        "zh": "县级 {county}、市级 {city}、省级 {province}、全国 {national}",
        "en": "county {county}, city {city}, province {province}, national {national}",
    },
    "bulletin.member": {
        "zh": "【{period}社情民意信息通报】{name}：本期您反映信息 {received} 条，被采用 {adopted} 条，获领导批示 {instructed} 件。感谢您的履职！\n不想再收到通报，请点击下方“不再接收通报”。",
        "en": "[{period} bulletin] {name}: this period you filed {received} reports; {adopted} were adopted and {instructed} received a leader's instruction. Thank you!\nTo stop these, press \"Stop these bulletins\" below.",
    },
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
