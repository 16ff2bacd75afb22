"""A draft report filed without any conversation (the future API's way in) and the chat's confirm."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import forms, sealing
from store.conversation.types import EngineConfig, IncomingFile
from store.models import (
    Attachment,
    Channel,
    CollectionPoint,
    Conversation,
    Report,
    Reporter,
    ReportEvent,
    ReportVersion,
    Urgency,
)
from store.reports import drafts, files
from tests.chat_driver import Chat
from tests.conftest import Network
from tests.form_walk import JPEG, Answer, answers, walk

TRACKING = re.compile(r"\d{4}-\d{6}")
# The chat's report: the shipped form walked with a photo, urgent, the analysis skipped.
WALKED = walk(choose={"urgent": True}, skip={"analysis"})


def _as_words(a: Answer) -> str:
    """An answer as an API would send it: words (a button's label), not the chat's stored values."""
    return a.label if a.skip or a.kind in ("choice", "yesno") else a.value


SENT = {a.key: _as_words(a) for a in WALKED if a.kind != "file"}
COLUMNS = ("category", "title", "situation", "analysis", "suggestion", "place", "latitude",
           "longitude", "urgency", "anonymous", "contact", "answers", "form", "point_id",
           "unit_id", "topic_id", "entered_by_id", "status", "version", "review_level")


@pytest.fixture
def uploads(engine_config: EngineConfig) -> Path:
    return engine_config.upload_dir


def _walker(session: Session) -> Reporter:
    someone = Reporter(channel=Channel.WEB, external_id="api-walker-1", chat_id="api-walker-1")
    session.add(someone)
    session.flush()
    return someone


def _photo(uploads: Path) -> files.StoredFile:
    return files.keep(uploads, IncomingFile("photo", "photo.jpg", "image/jpeg", len(JPEG), JPEG))


def _opened(kept: dict[str, Any]) -> dict[str, Any]:
    return {k: sealing.open_json(v) for k, v in kept.items()}


def test_it_files_a_draft_without_a_conversation_as_the_chat_would(
    chat: Chat, session: Session, point: CollectionPoint, point_token: str,
    uploads: Path, network: Network,
) -> None:
    point.unit_id = network.county.id
    session.commit()
    chat.command("start", point_token)
    chat.fill_report(photo=True, urgent=True)
    chat.press("确认提交")
    session.rollback()
    (by_chat,) = session.scalars(sa.select(Report))

    draft = drafts.Draft(form=forms.load("report"), answers=SENT, files={"photos": [_photo(uploads)]},
                         reporter=_walker(session), point_id=point.id)
    assert draft.check() == {}
    by_api = draft.file(session)
    session.commit()

    for column in COLUMNS:
        if column == "answers":  # identity answers are sealed afresh each time
            assert _opened(by_api.answers) == _opened(by_chat.answers)
            continue
        assert getattr(by_api, column) == getattr(by_chat, column), column
    assert _opened(by_api.answers) == {**answers(WALKED), "photos": 1}
    assert sealing.is_sealed(by_api.answers["contact"])
    assert by_api.answers["category"] == "livelihood" and by_api.answers["analysis"] is None
    assert by_api.unit_id == network.county.id
    # Numbered from the same counter: the next number of the year.
    first, second = (TRACKING.fullmatch(r.tracking_no) for r in (by_chat, by_api))
    assert first and second
    assert int(by_api.tracking_no[-6:]) == int(by_chat.tracking_no[-6:]) + 1
    for report in (by_chat, by_api):
        (version,) = session.scalars(sa.select(ReportVersion).where(ReportVersion.report_id == report.id))
        assert (version.number, version.title, version.situation, version.user_id) == (
            1, report.title, report.situation, None)
        (event,) = session.scalars(sa.select(ReportEvent).where(ReportEvent.report_id == report.id))
        assert (event.action, event.to_status, event.reporter_id) == (
            "submit", "submitted", report.reporter_id)
        (att,) = session.scalars(sa.select(Attachment).where(Attachment.report_id == report.id))
        assert (att.sha256, att.content_type, att.size, att.conversation_id) == (
            by_chat.attachments[0].sha256, "image/jpeg", len(JPEG), None)
        assert (uploads / att.storage_path).read_bytes() == JPEG
    # The chat's draft held its photo until confirm; nothing is left behind with the conversation.
    assert session.scalar(sa.select(sa.func.count()).select_from(Attachment)
                          .where(Attachment.report_id.is_(None))) == 0
    # No conversation was needed, and none was made.
    assert session.scalar(sa.select(Conversation).where(
        Conversation.reporter_id == by_api.reporter_id)) is None


def test_it_returns_every_error_of_an_invalid_draft_at_once(session: Session) -> None:
    form = forms.load("report")
    draft = drafts.Draft(form=form, answers={
        "category": "9", "title": "短", "situation": "没有数字的描述" * 3, "suggestion": "请重视",
        "urgent": "也许", "anonymous": "", "place": "x" * 2000, "contact": "李女士 13900000000",
    }, reporter=_walker(session))

    errors = draft.check()

    assert {key: problem.key for key, problem in errors.items()} == {
        "category": "invalid.choose", "title": "invalid.too_short",
        "situation": "invalid.no_fact", "suggestion": "invalid.empty_suggestion",
        "place": "invalid.too_long", "urgent": "invalid.yesno", "anonymous": "draft.choose",
    }
    assert errors["anonymous"].params == {"label": "是否匿名"}
    with pytest.raises(drafts.DraftError) as refused:
        draft.file(session)
    assert refused.value.errors == errors
    assert str(refused.value).startswith("这些项需要修改：类别、标题、基本情况、意见建议、地点、是否紧急、是否匿名 / ")
    assert session.scalar(sa.select(sa.func.count()).select_from(Report)) == 0


def test_it_keeps_only_the_answers_of_the_steps_that_apply(session: Session, uploads: Path) -> None:
    form = forms.load("report")
    answers: dict[str, Any] = {**SENT, "category": "law", "agency": "城关镇综合执法队",
                               "pollution": "water", "anonymous": True}
    draft = drafts.Draft(form=form, answers=answers, reporter=_walker(session))

    checked = draft.checked()

    assert checked.errors == {}
    assert checked.answers["agency"] == "城关镇综合执法队" and checked.answers["anonymous"] is True
    # Another category's question and a contact given before choosing anonymity are dropped.
    assert "pollution" not in checked.answers and "contact" not in checked.answers
    report = draft.file(session)
    assert report.contact is None and report.anonymous and "contact" not in report.answers


def test_checked_answers_pass_again_unchanged(session: Session) -> None:
    form = forms.load("report")
    first = drafts.Draft(form=form, answers={**SENT, "place": {"latitude": 31.2, "longitude": 121.5}})
    again = drafts.Draft(form=form, answers=first.checked().answers)
    assert again.checked() == first.checked()
    assert first.checked().answers["place"] == {"latitude": 31.2, "longitude": 121.5}
    off_the_map = drafts.Draft(form=form, answers={**SENT, "place": {"latitude": 91, "longitude": 0}})
    assert off_the_map.check()["place"].key == "invalid.location_or_text"


def test_a_file_step_counts_its_files(session: Session, uploads: Path) -> None:
    form = forms.load("report")
    ten = [_photo(uploads)] * 10
    draft = drafts.Draft(form=form, answers=SENT, files={"photos": ten}, reporter=_walker(session))
    assert {k: p.key for k, p in draft.check().items()} == {"photos": "invalid.too_many_files"}
    assert drafts.Draft(form=form, answers=SENT).checked().answers["photos"] is None


def test_a_draft_needs_its_reporter_to_be_filed(session: Session) -> None:
    with pytest.raises(ValueError, match="reporter"):
        drafts.Draft(form=forms.load("report"), answers=SENT).file(session)
    assert session.scalar(sa.select(sa.func.count()).select_from(Report)) == 0


def test_it_files_a_report_made_at_the_moment_its_deadlines_count_from(session: Session) -> None:
    from store.review import deadlines

    report = drafts.Draft(form=forms.load("report"), answers=SENT, reporter=_walker(session)).file(session)
    session.commit()
    session.expire_all()
    (event,) = session.scalars(sa.select(ReportEvent).where(ReportEvent.report_id == report.id))
    # Settled before the INSERT from one moment: made, submitted and timed alike.
    assert report.created_at == event.created_at
    rules = deadlines.rules(session)
    assert report.urgency is Urgency.URGENT  # SENT says so: clock hours, not working days
    assert report.answer_due_at == rules.due("answer", report.created_at, urgent=True)
    assert report.due_at == rules.due("first", report.created_at, urgent=True)
    assert (report.status.value, report.version, report.review_level, report.chased_at) == (
        "submitted", 1, 0, None)
