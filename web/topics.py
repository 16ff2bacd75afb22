"""Topic calls (选题): staff publish what the office wants to hear about, until a deadline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from store.models import utcnow
from store.network import topics
from web import edge
from web.i18n import _

bp = Blueprint("topics", __name__)

PUBLISHERS = edge.OFFICE  # the office publishes its topic calls
ERRORS = {"title": "请填写选题标题（不超过 200 字）。",
          "description": "请填写选题说明（不超过 2000 字）。",
          "deadline": "请填写一个晚于现在的截止时间。"}


@bp.route("/topics")
@edge.roles_required(*PUBLISHERS)
def index() -> Any:
    return render_template("topics.html", topics=topics.recent(edge.db()), now=utcnow())


@bp.route("/topics", methods=["POST"])
@edge.roles_required(*PUBLISHERS)
def publish() -> Any:
    """Publish a topic; subscribers are messaged through the outbox."""
    form = request.form
    try:
        raw = (form.get("deadline") or "").strip()
        try:
            # <input type="datetime-local"> gives Beijing wall time.
            deadline = datetime.fromisoformat(raw).replace(tzinfo=topics.LOCAL)
        except ValueError:
            raise ValueError("deadline") from None
        topic, queued = topics.publish(edge.db(), title=form.get("title", ""),
                                       description=form.get("description", ""),
                                       deadline=deadline, created_by_id=edge.staff().id)
    except ValueError as exc:
        edge.rollback()
        flash(ERRORS.get(str(exc), "填写有误。"), "error")
        return redirect(url_for("topics.index"))
    edge.commit()
    flash(_("已发布选题「%(title)s」，已向 %(count)s 位订阅者发送通知。", title=topic.title, count=queued),
          "success")
    return redirect(url_for("topics.index"))
