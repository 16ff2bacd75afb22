"""The admin's 办理时限 page (系统管理 → 办理时限): each step's working days, urgent hours, the calendar.

The routes hang on the admin blueprint. The page says which years the
holiday table does not know yet: their deadlines count weekends only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from store import workdays
from store.models import utcnow
from store.review import deadlines
from store.review.deadlines import DeadlineError
from web import edge
from web.admin import admin_only, bp

# Dates the office lists by hand: at most this many a box.
MAX_LISTED = 200


@bp.route("/deadlines", methods=["GET", "POST"])
@admin_only
def deadline_settings() -> Any:
    """办理时限: read, or save what was typed (every mistake beside its field, all of it kept)."""
    session = edge.db()
    if request.method == "GET":
        return _page(deadlines.rules(session))
    form = request.form
    errors: dict[str, str] = {}
    days = _numbers(form, "days", deadlines.MAX_DAYS, errors)
    hours = _numbers(form, "hours", deadlines.MAX_HOURS, errors)
    days_off = _dates(form, "days_off", errors)
    days_on = _dates(form, "days_on", errors)
    calendar = form.get("calendar", "")
    if calendar not in deadlines.CALENDAR_NAMES:
        errors["calendar"] = "请选择工作日历。"
    if errors:
        return _page(deadlines.rules(session), values=form, errors=errors, status=422)
    try:
        deadlines.save(session, calendar=calendar, days=days, hours=hours, days_off=days_off,
                       days_on=days_on)
    except DeadlineError as exc:
        edge.rollback()
        return _page(deadlines.rules(session), values=form,
                     errors={"form": str(exc).split(" / ")[0]}, status=422)
    edge.commit()
    flash("已保存办理时限。新的期限自现在起计算，已告知反映人和承办部门的期限不变。", "success")
    return redirect(url_for("admin.deadline_settings"))


def _numbers(form: Mapping[str, str], kind: str, limit: int, errors: dict[str, str]) -> dict[str, int]:
    out = {}
    for step in deadlines.STEPS:
        if kind == "hours" and step.hours is None:
            continue
        name = f"{kind}_{step.key}"
        raw = (form.get(name) or "").strip()
        if raw.isdigit() and 1 <= int(raw) <= limit:
            out[step.key] = int(raw)
        else:
            errors[name] = f"请填写 1～{limit} 的整数。"
    return out


def _dates(form: Mapping[str, str], name: str, errors: dict[str, str]) -> frozenset[date]:
    """One date a line (2027-02-08), or separated by spaces or commas; a wrong one is named."""
    raw = (form.get(name) or "").replace(",", " ").replace("，", " ").replace("、", " ").split()
    out, wrong = set(), []
    for item in raw:
        try:
            out.add(date.fromisoformat(item))
        except ValueError:
            wrong.append(item)
    if wrong:
        errors[name] = f"看不懂的日期：{'、'.join(wrong[:5])}。请按 2027-02-08 的格式，每行一个。"
    elif len(out) > MAX_LISTED:
        errors[name] = f"最多填写 {MAX_LISTED} 个日期。"
    return frozenset(out)


def _page(rules: deadlines.Rules, *, values: Any = None, errors: dict[str, str] | None = None,
          status: int = 200) -> Any:
    today = workdays.local_day(utcnow())
    first, last = workdays.known_range()
    return render_template(
        "admin_deadlines.html", rules=rules, steps=deadlines.STEPS,
        calendars=deadlines.CALENDAR_NAMES, values=values, errors=errors or {},
        unknown=rules.unknown_years(today), known=(first, last),
        days_off="\n".join(sorted(d.isoformat() for d in rules.days_off)),
        days_on="\n".join(sorted(d.isoformat() for d in rules.days_on)),
        max_days=deadlines.MAX_DAYS, max_hours=deadlines.MAX_HOURS), status
