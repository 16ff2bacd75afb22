"""约稿: the office asks named members for a report on a topic by a date, and sees who answered.

Sending is `store.network.commissions.commission` (the members' chats get
it through the outbox); a commission of another unit is "not found".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from store.models import utcnow
from store.network import commissions, roster, topics
from store.network.commissions import CommissionError
from web import edge
from web.i18n import _

bp = Blueprint("commissions", __name__, url_prefix="/commissions")


@bp.route("")
@edge.roles_required(*edge.OFFICE)
def index() -> Any:
    session, user = edge.db(), edge.staff()
    listed = commissions.recent(session, user)
    return render_template("commissions.html", commissions=listed, now=utcnow(),
                           counts=commissions.counts(session, [c.id for c in listed]),
                           deadline_text=topics.deadline_text)


@bp.route("/new")
@edge.roles_required(*edge.OFFICE)
def new() -> Any:
    return _form(values={}, chosen=set(), errors={})


def _form(*, values: Any, chosen: set[int], errors: dict[str, str], status: int = 200) -> Any:
    people = roster.all_visible(edge.db(), edge.staff())
    return render_template("commission_new.html", people=people, values=values, chosen=chosen,
                           errors=errors, role_names=roster.ROLE_NAMES), status


@bp.route("", methods=["POST"])
@edge.roles_required(*edge.OFFICE)
def create() -> Any:
    """Send the commission; a mistake shows the form again with everything chosen."""
    form = request.form
    ids = [int(x) for x in form.getlist("member_id") if x.isdigit()]
    try:
        try:
            # <input type="datetime-local"> gives Beijing wall time.
            deadline = datetime.fromisoformat((form.get("deadline") or "").strip()).replace(
                tzinfo=topics.LOCAL)
        except ValueError:
            raise CommissionError("deadline", commissions.FIELD_ERRORS["deadline"]) from None
        topic, queued = commissions.commission(
            edge.db(), edge.staff(), title=form.get("title", ""),
            description=form.get("description", ""), deadline=deadline, member_ids=ids)
    except CommissionError as exc:
        edge.rollback()
        flash(str(exc), "error")
        return _form(values=form, chosen=set(ids), errors={exc.field: str(exc)}, status=422)
    edge.commit()
    flash(_("已发出约稿「%(title)s」，共约 %(people)s 人，已通过聊天发送 %(count)s 条通知。"
            "尚未绑定聊天账号的委员收不到通知，请另行告知。",
            title=topic.title, people=len(set(ids)), count=queued), "success")
    return redirect(url_for("commissions.detail", topic_id=topic.id))


@bp.route("/<int:topic_id>")
@edge.roles_required(*edge.OFFICE)
def detail(topic_id: int) -> Any:
    """Who was asked, who answered (with their reports) and who has not yet."""
    session = edge.db()
    topic = commissions.visible(session, edge.staff(), topic_id)
    if topic is None:
        abort(404)
    asked = commissions.roll(session, topic)
    return render_template("commission.html", topic=topic, asked=asked, now=utcnow(),
                           deadline=topics.deadline_text(topic),
                           answered=sum(a.answered for a in asked),
                           role_names=roster.ROLE_NAMES)
