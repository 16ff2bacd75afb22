"""Counter intake (代录): staff type in a walk-in citizen's report with the chat's own form.

The form file, the checkers (`store.conversation.steps`) and the making of
the report (`store.reports.create_from_answers`: numbering, version 1, files,
the SUBMIT event) are the chat's. The citizen becomes a fresh web-chat
reporter; the slip's follow link (`follow_token`) binds their phone to that
chat, where the receipt and every later feedback appear.
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

from store import access, files, forms, reports, webchat
from store.conversation import messages as _messages  # noqa: F401  (the checkers' texts)
from store.conversation.steps import CHECKERS, SKIP, Answer, Invalid, check_file, clean
from store.conversation.summary import report_fields, summary
from store.conversation.types import Inbound, IncomingFile
from store.i18n import MESSAGES, register, t
from store.models import (
    Attachment,
    Channel,
    CollectionPoint,
    Conversation,
    Report,
    Reporter,
    ReporterKind,
    Unit,
    User,
)

POINT = "point"  # the errors key of the collection point
FOLLOW_SALT = "minyi-follow"
FILE_SALT = "minyi-intake-file"
CITIZEN_SALT = "minyi-intake-citizen"
TOKEN_CAP = 400  # longer than any token we sign; refused before any work

register({
    "intake.required": {"zh": "请填写“{label}”。", "en": "Please fill in \"{label}\"."},
    "intake.choose": {"zh": "请选择“{label}”。", "en": "Please choose \"{label}\"."},
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
              "登记内容：\n{summary}\n\n我们会尽快审核，审核和办理结果都会在这里通知您，请收藏本页面。"
              "点“我的反映”可随时查看办理进度。",
        "en": "✅ Your report was entered by our staff and submitted.\nTracking number: {no}\n"
              "Collection point: {point}\n\nWhat was recorded:\n{summary}\n\nWe will review it soon and "
              "tell you every outcome here; bookmark this page. Tap My reports to follow it.",
    },
})


@dataclass(frozen=True)
class StoredFile:
    """A chosen file already on disk (content-addressed), not yet attached to anything."""

    kind: str  # photo | document
    filename: str
    content_type: str
    size: int
    sha256: str
    path: str


@dataclass
class Draft:
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


def condition_text(form: forms.Form, step: forms.Step) -> str:
    """When a per-category question is asked, in words: 类别为“生态环境”."""
    parts = []
    for key, value in step.when.items():
        other = form.step(key)
        if other.kind == "yesno":
            shown = t("chat.yes" if value else "chat.no")
        else:
            choice = other.choice(str(value))
            shown = choice.label["zh"] if choice else str(value)
        parts.append(f"{other.name('zh')}为“{shown}”")
    return "、".join(parts)


# -- checking what was typed -----------------------------------------------------------

def _say(problem: Invalid) -> str:
    key = f"intake.{problem.key}" if f"intake.{problem.key}" in MESSAGES else problem.key
    return t(key, "zh", **problem.params)


def check(form: forms.Form, raw: Mapping[str, str], uploads: Mapping[str, Sequence[IncomingFile]],
          kept: Mapping[str, Sequence[StoredFile]], upload_dir: Path, ceiling_mb: int) -> Draft:
    """Check the steps whose `when` holds, in order, with the chat's checkers.

    `raw` maps step keys to what was typed or picked ("1"/"0" for yes/no);
    `uploads` are files chosen now, `kept` those saved by an earlier try.
    Usable new files are saved at once, so a page shown again can keep them.
    """
    draft = Draft()
    for step in form.steps:
        if not form.applies(step, draft.answers):
            continue
        if step.kind == "file":
            _files(draft, step, uploads.get(step.key, ()), kept.get(step.key, ()), upload_dir,
                   ceiling_mb)
            continue
        typed = raw.get(step.key) or ""
        if not clean(typed):
            if step.optional:
                draft.answers[step.key] = None
            else:
                key = "intake.choose" if step.kind in ("choice", "yesno") else "intake.required"
                draft.errors[step.key] = t(key, label=step.name("zh"))
            continue
        outcome = CHECKERS[step.kind](step, Inbound(channel=Channel.WEB, user_id="counter",
                                                    chat_id="counter", text=typed))
        if isinstance(outcome, Invalid):
            draft.errors[step.key] = _say(outcome)
        elif isinstance(outcome, Answer):
            draft.answers[step.key] = outcome.value
        else:
            assert outcome is SKIP
            draft.answers[step.key] = None
    return draft


def _files(draft: Draft, step: forms.Step, chosen: Sequence[IncomingFile],
           kept: Sequence[StoredFile], upload_dir: Path, ceiling_mb: int) -> None:
    keep = [f for f in kept if _on_disk(upload_dir, f)][:step.max_files]
    problems = []
    for incoming in chosen:
        problem = check_file(step, incoming, len(keep), ceiling_mb)
        if problem is not None:
            problems.append(f"「{files.safe_filename(incoming.filename, incoming.content_type)}」"
                            f"{_say(problem)}")
            continue
        assert incoming.data is not None
        rel, digest = files.save(upload_dir, incoming.data, incoming.content_type)
        if any(f.sha256 == digest for f in keep):
            continue  # the same file twice: one copy is enough
        keep.append(StoredFile(kind=incoming.kind,
                               filename=files.safe_filename(incoming.filename, incoming.content_type),
                               content_type=incoming.content_type, size=len(incoming.data),
                               sha256=digest, path=rel))
    draft.files[step.key] = keep
    draft.answers[step.key] = len(keep) or None
    if problems:
        draft.errors[step.key] = "\n".join(problems)
    elif not keep and not step.optional:
        draft.errors[step.key] = t("intake.required", label=step.name("zh"))


def _on_disk(upload_dir: Path, stored: StoredFile) -> bool:
    try:
        return files.open_path(upload_dir, stored.path).is_file()
    except FileNotFoundError:
        return False


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


def submit(session: Session, user: User, point: CollectionPoint, form_name: str, draft: Draft,
           citizen_id: str) -> Report:
    """File a checked draft for a walk-in citizen; the receipt waits in their web chat.

    The caller has checked that `user` may take reports at `point` (`points_for`).
    """
    if not draft.ok:
        raise ValueError("a draft with errors cannot be filed")
    form = forms.load(form_name)
    reporter = Reporter(channel=Channel.WEB, external_id=citizen_id, chat_id=citizen_id,
                        kind=ReporterKind.CITIZEN, language="zh")
    session.add(reporter)
    session.flush()
    conv = Conversation(channel=Channel.WEB, external_id=citizen_id, reporter_id=reporter.id,
                        point_id=point.id, form=form_name, mode="idle", answers=dict(draft.answers),
                        context={}, turn=0)
    session.add(conv)
    session.flush()
    for stored in (f for step_files in draft.files.values() for f in step_files):
        session.add(Attachment(conversation_id=conv.id, kind=stored.kind, filename=stored.filename,
                               content_type=stored.content_type, size=stored.size,
                               sha256=stored.sha256, storage_path=stored.path))
    session.flush()
    report = reports.create_from_answers(session, conv, reporter, report_fields(form, draft.answers),
                                         entered_by=user)
    # The web chat starts idle at this point, as after a confirmed draft.
    conv.answers = {}
    conv.context = {"last_receipt": report.tracking_no}
    # Anyone holding the printed slip can read the receipt: identity answers stay out of it.
    receipt = t("intake.receipt", no=report.tracking_no, point=point.name,
                summary=summary(form, draft.answers, "zh", identity=False))
    webchat.record_out(session, citizen_id, [(receipt, None)])
    return report


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
