"""委员履职: the roster of members and informants with their yearly progress, a member's
page (their chats, reports and commissions; a code to link a chat), adding and editing.

The office's staff see the roster of their unit and the units below; a member
outside that is "not found". A member's contact is shown only on request
(`access.reveal_member_contact`, logged), never on the list.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for

from store import access
from store.models import Member, MemberRole, Role, utcnow
from store.network import members, roster, rosterio, units
from store.network.roster import RosterError
from web import edge
from web.i18n import _

bp = Blueprint("roster", __name__, url_prefix="/roster")

EDITORS = (Role.ADMIN, Role.CLERK)  # who keep the roster and issue binding codes


def _year() -> int:
    raw = request.args.get("year", "")
    this = utcnow().astimezone(roster.LOCAL).year
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= this + 1 else this


def _units() -> list[tuple[Any, int]]:
    """The units the staff member may put people in: theirs and those below."""
    session, user = edge.db(), edge.staff()
    visible = access.visible_units(session, user)
    return [(u, d) for u, d in units.tree(session, include_retired=False)
            if visible is None or u.id in visible]


def _member(member_id: int) -> Member:
    member = roster.visible(edge.db(), edge.staff(), member_id)
    if member is None:
        abort(404)
    return member


@bp.route("")
@edge.roles_required(*edge.OFFICE)
def index() -> Any:
    """The roster with each person's progress this year, filtered by unit, 界别, role, year."""
    session, user = edge.db(), edge.staff()
    args = request.args
    raw_unit, raw_role = args.get("unit_id", ""), args.get("role", "")
    filters = roster.Filters(
        year=_year(), unit_id=int(raw_unit) if raw_unit.isdigit() else None,
        sector=args.get("sector") or None,
        role=MemberRole(raw_role) if raw_role in {r.value for r in MemberRole} else None,
        include_inactive=args.get("all") == "1")
    return render_template("roster.html", rows=roster.listing(session, user, filters),
                           filters=filters, units=_units(), sectors=roster.sectors(session, user),
                           role_names=roster.ROLE_NAMES, editor=user.role in EDITORS,
                           values={}, errors={})


@bp.route("", methods=["POST"])
@edge.roles_required(*EDITORS)
def add() -> Any:
    """Put a person on the roster; a mistake shows the list again with what was typed."""
    session = edge.db()
    try:
        member = roster.add(session, _entry())
    except RosterError as exc:
        edge.rollback()
        flash(str(exc), "error")
        user = edge.staff()
        filters = roster.Filters(year=_year())
        return render_template("roster.html", rows=roster.listing(session, user, filters),
                               filters=filters, units=_units(),
                               sectors=roster.sectors(session, user),
                               role_names=roster.ROLE_NAMES, editor=True,
                               values=request.form, errors={exc.field: str(exc)}), 422
    edge.commit()
    flash(_("已将「%(name)s」加入名册。可在其页面生成绑定码，让本人绑定聊天账号。", name=member.name),
          "success")
    return redirect(url_for("roster.member", member_id=member.id))


def _entry() -> roster.Entry:
    form = request.form
    raw_unit = form.get("unit_id", "")
    unit_id = int(raw_unit) if raw_unit.isdigit() else None
    if unit_id is None or all(u.id != unit_id for u, _ in _units()):
        raise RosterError("unit_id", "请选择所在单位（您负责范围内的单位）。")
    return roster.entry(name=form.get("name", ""), role=form.get("role", ""),
                        sector=form.get("sector", ""), unit_id=unit_id,
                        contact=form.get("contact", ""),
                        yearly_target=form.get("yearly_target", "2"))


@bp.route("/<int:member_id>")
@edge.roles_required(*edge.OFFICE)
def member(member_id: int) -> Any:
    return _member_page(_member(member_id))


def _member_page(person: Member, *, contact: str | None = None, status: int = 200) -> Any:
    session, user = edge.db(), edge.staff()
    year = _year()
    return render_template(
        "roster_member.html", person=person, year=year,
        progress=roster.progress(session, person, year),
        chats=roster.chats_of(session, person),
        reports=roster.reports_of(session, user, person, year),
        asked=roster.commissions_of(session, person),
        role_names=roster.ROLE_NAMES,
        editor=user.role in EDITORS, may_reveal=access.can_see_identity(user),
        contact=contact, ttl_days=(1, 3, 7, 14, 30)), status


@bp.route("/<int:member_id>/contact", methods=["POST"])
@edge.roles_required(*edge.OFFICE)
def contact(member_id: int) -> Any:
    """Show the member's contact: a logged look (查看联系方式)."""
    person = _member(member_id)
    shown = access.reveal_member_contact(edge.db(), edge.staff(), person, "member_contact")
    if shown is None and access.can_see_identity(edge.staff()):
        flash("名册中没有登记联系方式。", "info")
    elif shown is None:
        edge.refuse("您的角色不能查看委员的联系方式。")
    edge.commit()
    resp = make_response(_member_page(person, contact=shown))
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.route("/<int:member_id>/edit")
@edge.roles_required(*EDITORS)
def edit(member_id: int) -> Any:
    """The edit form; the contact is not shown here (left empty, it stays as it was)."""
    person = _member(member_id)
    return render_template(
        "roster_edit.html", person=person, units=_units(), role_names=roster.ROLE_NAMES,
        values={"name": person.name, "role": person.role.value, "sector": person.sector or "",
                "unit_id": str(person.unit_id or ""), "yearly_target": str(person.yearly_target)},
        errors={})


@bp.route("/<int:member_id>", methods=["POST"])
@edge.roles_required(*EDITORS)
def update(member_id: int) -> Any:
    person = _member(member_id)
    try:
        form = request.form
        keep = not (form.get("contact") or "").strip() and form.get("clear_contact") != "1"
        roster.update(edge.db(), person, _entry(), keep_contact=keep)
    except RosterError as exc:
        edge.rollback()
        return render_template("roster_edit.html", person=person, units=_units(),
                               role_names=roster.ROLE_NAMES, values=request.form,
                               errors={exc.field: str(exc)}), 422
    edge.commit()
    flash("已保存。", "success")
    return redirect(url_for("roster.member", member_id=person.id))


@bp.route("/<int:member_id>/active", methods=["POST"])
@edge.roles_required(*EDITORS)
def set_active(member_id: int) -> Any:
    person = _member(member_id)
    roster.set_active(edge.db(), person, request.form.get("active") == "1")
    edge.commit()
    flash("已恢复为在册。" if person.active else "已移出在册名单，其已报送的信息仍计入统计。", "success")
    return redirect(url_for("roster.member", member_id=person.id))


@bp.route("/<int:member_id>/code", methods=["POST"])
@edge.roles_required(*EDITORS)
def issue_code(member_id: int) -> Any:
    """A one-time code that links the chat it is sent from to this person."""
    person = _member(member_id)
    raw = request.form.get("days", "7")
    days = int(raw) if raw.isdigit() and int(raw) in (1, 3, 7, 14, 30) else 7
    code = members.issue_code(edge.db(), member=person, created_by_id=edge.staff().id,
                              ttl=timedelta(days=days))
    edge.commit()
    flash(_("已为「%(name)s」生成绑定码 %(code)s，%(days)s 天内有效，只能使用一次。"
            "请告知本人在 Telegram、微信或网页反映页面发送：/bind %(code)s",
            name=person.name, code=code.code, days=days), "success")
    return redirect(url_for("roster.member", member_id=person.id))


@bp.route("/import", methods=["POST"])
@edge.roles_required(*EDITORS)
def import_file() -> Any:
    """Add people from an uploaded XLSX or CSV; any bad line and nothing is added."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要导入的 XLSX 或 CSV 文件。", "error")
        return redirect(url_for("roster.index"))
    result = rosterio.import_roster(edge.db(), edge.staff(), upload.filename, upload.read())
    if not result.ok:
        edge.rollback()
        return render_template("roster_import.html", filename=upload.filename,
                               errors=result.errors, ignored=result.ignored), 422
    edge.commit()
    note = f"导入完成：{result.added} 人加入名册"
    if result.ignored:
        note += "；未使用的列：" + "、".join(result.ignored)
    flash(note + "。", "success")
    return redirect(url_for("roster.index"))
