"""Counter intake (代录): staff type in a walk-in citizen's report with the chat's own form.

What staff typed becomes a `store.reports.drafts.Draft`, checked by the form's own
rules and filed as the chat files one (numbering, version 1, files, the
SUBMIT event). Nothing pretends the citizen chatted: no conversation turn,
nothing in the transcript as theirs. The citizen becomes a fresh web-chat
reporter whose chat is bound to the point; the slip's follow link
(`follow_token`) lets their phone open that chat, where the receipt (one
message from us) and every later feedback appear.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from itsdangerous import BadSignature, Signer, URLSafeSerializer
from sqlalchemy.orm import Session

from store import access, forms
from store.conversation import messages as _messages  # noqa: F401  (the checkers' texts)
from store.conversation.steps import Invalid, check_file
from store.conversation.summary import summary
from store.conversation.types import IncomingFile
from store.delivery import webchat
from store.i18n import MESSAGES, register, t
from store.models import (
    Channel,
    CollectionPoint,
    Conversation,
    Report,
    Reporter,
    ReporterKind,
    Unit,
    User,
)
from store.reports import drafts, feedback, files, origins
from store.reports.files import StoredFile

POINT = "point"  # the errors key of the collection point
FOLLOW_SALT = "minyi-follow"
FILE_SALT = "minyi-intake-file"
CITIZEN_SALT = "minyi-intake-citizen"
TOKEN_CAP = 400  # longer than any token we sign; refused before any work

register({
    "intake.invalid.choose": {"zh": "请从选项中选择一项。", "en": "Please pick one of the options."},
    "intake.invalid.yesno": {"zh": "请选择“是”或“否”。", "en": "Please choose Yes or No."},
    "intake.invalid.too_long": {
        "zh": "内容太长了（{n} 字），这一项不能超过 {max} 字，请精简。",
        "en": "That is too long ({n} characters); keep it within {max}.",
    },
    "intake.invalid.location_or_text": {"zh": "请写出地址或地点。", "en": "Write the address or place."},
    "intake.invalid.file_too_big": {
        "zh": "文件太大（{mb} MB），单个文件不能超过 {max} MB，请压缩后重新选择。",
        "en": "The file is too large ({mb} MB); the limit is {max} MB. Compress it and choose it again.",
    },
    "intake.invalid.file_type": {
        "zh": "不支持这种文件（{type}），请上传照片（JPG/PNG）或 PDF、Word、Excel、文本文件。",
        "en": "This file type ({type}) is not supported: use a photo (JPG/PNG) "
              "or a PDF, Word, Excel or text file.",
    },
    "intake.invalid.too_many_files": {
        "zh": "最多上传 {max} 个文件，这个文件没有保存。",
        "en": "At most {max} files; this one was not kept.",
    },
    "intake.point.missing": {"zh": "请选择采集点。", "en": "Choose a collection point."},
    "intake.point.outside": {
        "zh": "这个采集点不在您负责的范围内，请重新选择。",
        "en": "That collection point is outside your area; choose another.",
    },
    "intake.receipt": {
        "zh": "✅ 您反映的社情民意信息已由工作人员代为录入并提交。\n信息编号：{no}\n采集点：{point}\n\n"
              "登记内容：\n{summary}\n\n我们会尽快审核，审核和办理结果都会在这里通知您，请收藏本页面。{expect}"
              "点“我的反映”可随时查看办理进度。",
        "en": "✅ Your report was entered by our staff and submitted.\nTracking number: {no}\n"
              "Collection point: {point}\n\nWhat was recorded:\n{summary}\n\nWe will review it soon and "
              "tell you every outcome here; bookmark this page. {expect} Tap My reports to follow it.",
    },
})


@dataclass
class Checked:
    """What staff entered, checked: the answers of the steps that apply, and what is wrong.

    `errors` maps a step key (or `POINT`) to a Chinese sentence; `files` holds,
    per file step, every file already saved, so a page shown again keeps them.
    """

    answers: dict[str, Any] = field(default_factory=dict)
    files: dict[str, list[StoredFile]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


# -- where staff may take reports ---------------------------------------------------

def points_for(session: Session, user: User) -> list[CollectionPoint]:
    """Active collection points whose reports `user` will see: their unit and the units below."""
    return list(session.scalars(
        sa.select(CollectionPoint)
        .where(CollectionPoint.active.is_(True), access.point_scope(session, user))
        .order_by(CollectionPoint.name, CollectionPoint.id)))


def default_point(available: Sequence[CollectionPoint], last_id: int | None) -> int | None:
    """The point the form starts at: the one used last, or the only one there is."""
    ids = [p.id for p in available]
    if last_id in ids:
        return last_id
    return ids[0] if len(ids) == 1 else None


def condition_text(form: forms.Form, step: forms.Step, lang: str = "zh") -> str:
    """When a per-category question is asked, in words: 类别为“生态环境” (category is "Ecology")."""
    parts = []
    for key, value in step.when.items():
        other = form.step(key)
        if other.kind == "yesno":
            shown = t("chat.yes" if value else "chat.no", lang)
        else:
            choice = other.choice(str(value))
            shown = (choice.label.get(lang) or choice.label["zh"]) if choice else str(value)
        parts.append(f'{other.name(lang)} is "{shown}"' if lang == "en" else f"{other.name(lang)}为“{shown}”")
    return (", " if lang == "en" else "、").join(parts)


# -- checking what was typed -----------------------------------------------------------

def _say(problem: Invalid) -> str:
    """A problem worded for a form on a page (`intake.<key>` where the chat's words talk of sending)."""
    key = f"intake.{problem.key}" if f"intake.{problem.key}" in MESSAGES else problem.key
    return t(key, "zh", **problem.params)


def check(form: forms.Form, raw: Mapping[str, str], uploads: Mapping[str, Sequence[IncomingFile]],
          kept: Mapping[str, Sequence[StoredFile]], upload_dir: Path, ceiling_mb: int) -> Checked:
    """Check the page as a `drafts.Draft`: the steps whose `when` holds, by the form's rules.

    `raw` maps step keys to what was typed or picked ("1"/"0" for yes/no);
    `uploads` are files chosen now, `kept` those saved by an earlier try.
    Usable new files are saved at once, so a page shown again can keep them.
    """
    chosen: dict[str, list[StoredFile]] = {}
    refused: dict[str, str] = {}
    for step in (s for s in form.steps if s.kind == "file"):
        chosen[step.key], problems = _files(step, uploads.get(step.key, ()),
                                            kept.get(step.key, ()), upload_dir, ceiling_mb)
        if problems:
            refused[step.key] = "\n".join(problems)
    checked = drafts.Draft(form=form, answers=raw, files=chosen).checked()
    errors = {key: _say(problem) for key, problem in checked.errors.items()}
    # A file refused on the way in says so, rather than that the step is empty.
    errors.update((key, why) for key, why in refused.items() if key in checked.answers)
    return Checked(answers=checked.answers,
                   files={k: v for k, v in chosen.items() if k in checked.answers},
                   errors={k: errors[k] for k in (s.key for s in form.steps) if k in errors})


def _files(step: forms.Step, chosen: Sequence[IncomingFile], kept: Sequence[StoredFile],
           upload_dir: Path, ceiling_mb: int) -> tuple[list[StoredFile], list[str]]:
    """The files this try keeps for `step` (earlier ones still on disk first), and why others were not."""
    keep = [f for f in kept if files.on_disk(upload_dir, f)][:step.max_files]
    problems = []
    for incoming in chosen:
        problem = check_file(step, incoming, len(keep), ceiling_mb)
        if problem is not None:
            problems.append(f"「{files.safe_filename(incoming.filename, incoming.content_type)}」"
                            f"{_say(problem)}")
            continue
        stored = files.keep(upload_dir, incoming)
        if all(f.sha256 != stored.sha256 for f in keep):  # the same file twice: one copy is enough
            keep.append(stored)
    return keep, problems


# -- filing it ------------------------------------------------------------------------

def new_citizen_id() -> str:
    """A fresh web-chat id, shaped like the ones the chat's cookie carries."""
    return "w" + secrets.token_urlsafe(18)


def filed_for(session: Session, citizen_id: str) -> Report | None:
    """The report already filed for this form's citizen id (a second press of 提交)."""
    return session.scalar(
        sa.select(Report).join(Reporter, Reporter.id == Report.reporter_id)
        .where(Reporter.channel == Channel.WEB, Reporter.external_id == citizen_id,
               Report.entered_by_id.is_not(None))
        .order_by(Report.id).limit(1))


def submit(session: Session, user: User, point: CollectionPoint | None, form_name: str,
           checked: Checked, citizen_id: str,
           origin: origins.Origin = origins.WALK_IN) -> Report:
    """File a checked page for a walk-in citizen; the receipt waits in their web chat.

    A report drawn from a proposal, a survey ... (`origin`) needs no point: it
    belongs to the member's unit or the clerk's. The caller has checked that
    `user` may take reports at `point` (`points_for`) and the origin (`origins.origin`).
    """
    if not checked.ok:
        raise ValueError("a draft with errors cannot be filed")
    if point is None and origin.needs_point:
        raise ValueError("a citizen's report is taken at a point")
    form = forms.load(form_name)
    reporter = Reporter(channel=Channel.WEB, external_id=citizen_id, chat_id=citizen_id,
                        kind=ReporterKind.CITIZEN, language="zh")
    session.add(reporter)
    session.flush()
    drawn = not origin.needs_point
    report = drafts.Draft(
        form=form, answers=checked.answers, files=checked.files, reporter=reporter,
        point_id=point.id if point is not None else None, entered_by=user,
        source=origin.source, source_ref=origin.ref,
        member_id=origin.member.id if origin.member is not None else None,
        unit_id=origin.unit_id(user) if drawn and point is None else None).file(session)
    if point is not None:
        _bind_chat(session, reporter, point, form_name)
    # Anyone holding the printed slip can read the receipt: identity answers stay out of it.
    receipt = t("intake.receipt", no=report.tracking_no,
                point=point.name if point is not None else origins.SOURCE_NAMES[origin.source],
                summary=summary(form, checked.answers, "zh", identity=False),
                expect=feedback.expect_answer(report, "zh"))
    webchat.record_out(session, citizen_id, [(receipt, None)])
    return report


def _bind_chat(session: Session, reporter: Reporter, point: CollectionPoint, form_name: str) -> None:
    """The citizen's web chat, idle and bound to the point as scanning its code binds one.

    Only the state the engine makes on first contact: no turn taken, no answer
    kept. So the follow page names the point, and a report the citizen starts
    later from that chat is taken at the same point.
    """
    session.add(Conversation(channel=Channel.WEB, external_id=reporter.external_id,
                             reporter_id=reporter.id, point_id=point.id, form=form_name,
                             mode="idle", answers={}, context={}, turn=0))
    session.flush()


def office_name(session: Session, report: Report) -> str | None:
    """Whose slip it is: the unit that handles the report (None: a point without a unit)."""
    unit = session.get(Unit, report.unit_id) if report.unit_id is not None else None
    return unit.name if unit is not None else None


# -- signed values the pages carry -------------------------------------------------------

def _load(secret: str, salt: str, token: str, cap: int = TOKEN_CAP) -> Any:
    if not token or len(token) > cap:
        return None
    try:
        return URLSafeSerializer(secret, salt=salt).loads(token)
    except BadSignature:
        return None


def citizen_token(secret: str, citizen_id: str) -> str:
    """The form's citizen id, signed, so a post cannot name someone else's chat."""
    return URLSafeSerializer(secret, salt=CITIZEN_SALT).dumps(citizen_id)


def citizen_from(secret: str, token: str) -> str | None:
    value = _load(secret, CITIZEN_SALT, token)
    return value if isinstance(value, str) and 8 <= len(value) <= 64 else None


def file_ref(secret: str, user: User, stored: StoredFile) -> str:
    """A saved file as the form carries it to the next try (only for the same staff member)."""
    return URLSafeSerializer(secret, salt=FILE_SALT).dumps([user.id, asdict(stored)])


def file_from(secret: str, user: User, ref: str) -> StoredFile | None:
    value = _load(secret, FILE_SALT, ref, cap=2000)
    if not isinstance(value, list) or len(value) != 2 or value[0] != user.id:
        return None
    try:
        return StoredFile(**value[1])
    except TypeError:
        return None


def _follow_signer(secret: str) -> Signer:
    return Signer(secret, salt=FOLLOW_SALT)


def follow_token(secret: str, reporter: Reporter) -> str:
    """The slip's link: whoever opens it follows this reporter's web chat.

    Short (`<reporter id>.<signature>`), as a citizen may have to type it.
    """
    return _follow_signer(secret).sign(str(reporter.id)).decode()


@dataclass(frozen=True)
class Followed:
    reporter: Reporter
    point: CollectionPoint | None  # where the chat is bound, for the page's header


def follower(session: Session, secret: str, token: str) -> Followed | None:
    """The web-chat reporter a follow link names, or None for a forged or stale link."""
    if not token or len(token) > TOKEN_CAP:
        return None
    try:
        raw = _follow_signer(secret).unsign(token).decode()
    except BadSignature:
        return None
    if not raw.isdigit() or len(raw) > 12:
        return None
    reporter = session.get(Reporter, int(raw))
    if reporter is None or reporter.channel is not Channel.WEB:
        return None
    point = session.scalar(
        sa.select(CollectionPoint).join(Conversation, Conversation.point_id == CollectionPoint.id)
        .where(Conversation.channel == Channel.WEB,
               Conversation.external_id == reporter.external_id))
    return Followed(reporter, point)
