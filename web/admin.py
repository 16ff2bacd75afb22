"""The admin's pages: staff accounts, decline reasons, the review chain (units: `admin_units`)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from store import search
from store.delivery import health
from store.i18n import t
from store.models import AdoptionLevel, Role, User
from store.network import addresses, staff, units, users
from store.review import chain as review
from store.review import separation, templates
from web import edge
from web.i18n import _, lang, said

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin")
admin_only = edge.roles_required(Role.ADMIN)

CHAIN_NAMES = {"three": "三级：初审 → 审核 → 审定", "two": "两级：初审 → 审定"}


@bp.route("/users", methods=["GET", "POST"])
@admin_only
def user_list() -> Any:
    """Staff accounts; adding one needs a role and a unit chosen on purpose (no defaults)."""
    if request.method == "GET":
        return _users_page()
    session, form = edge.db(), request.form
    errors: dict[str, str] = {}
    username = form.get("username", "").strip()
    if not username:
        errors["username"] = "请填写用户名。"
    role = _role(form.get("role", ""))
    if role is None:
        errors["role"] = "请选择角色。"
    unit_id, unit_error = _unit_choice(form.get("unit_id", ""), role)
    if unit_error:
        errors["unit_id"] = unit_error
    password = form.get("password", "")
    problem = users.password_problem(password, form.get("username", "")) if password else None
    if problem:
        errors["password"] = problem + "（留空则自动生成）"
    if errors or role is None:
        return _users_page(values=form, errors=errors, status=422)
    made_up = not password
    password = password or users.random_password()
    try:
        user = users.create_user(session, username, password, role,
                                 form.get("display_name", "").strip() or None)
        staff.update_user(session, user, role=role, unit_id=unit_id, active=True)
    except ValueError as exc:
        edge.rollback()
        field = "unit_id" if isinstance(exc, staff.StaffError) else "username"
        return _users_page(values=form, errors={field: str(exc).split(" / ")[0]}, status=422)
    edge.commit()
    log.info("staff account %s (%s) added by %s", user.username, role.value,
             edge.staff().username)
    flash(_("已添加工作人员「%(name)s」。", name=user.username), "success")
    if made_up:
        return _users_page(issued=(user, password))
    return redirect(url_for("admin.user_list", _anchor=f"user-{user.id}"))


@bp.route("/users/<int:user_id>", methods=["POST"])
@admin_only
def user_update(user_id: int) -> Any:
    """Change a staff member's role, unit or whether the account is active."""
    session = edge.db()
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    role = _role(request.form.get("role", ""))
    if role is None:
        abort(400)
    active = request.form.get("active") == "1"
    if user.id == edge.staff().id and (not active or role is not Role.ADMIN):
        flash("不能停用自己的账号或取消自己的管理员权限。", "error")
        return redirect(url_for("admin.user_list"))
    unit_id, unit_error = _unit_choice(request.form.get("unit_id", ""), role)
    if unit_error:
        flash(_("「%(name)s」未保存：%(reason)s", name=user.username, reason=said(unit_error)), "error")
        return redirect(url_for("admin.user_list", _anchor=f"user-{user.id}"))
    try:
        staff.update_user(session, user, role=role, unit_id=unit_id, active=active)
    except ValueError as exc:
        edge.rollback()
        flash(str(exc).split(" / ")[0], "error")
        return redirect(url_for("admin.user_list"))
    edge.commit()
    flash(_("已更新「%(name)s」。", name=user.username), "success")
    return redirect(url_for("admin.user_list", _anchor=f"user-{user.id}"))


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@admin_only
def user_password(user_id: int) -> Any:
    """重设密码 for a colleague: a made-up one shown once, or one the admin types twice.

    The colleague is told (a notice, and Telegram if linked), which is also the
    record of who reset it. Their sessions already open stay open: sessions
    carry no password stamp yet.
    """
    session, admin = edge.db(), edge.staff()
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    if user.id == admin.id:
        flash("请在“我的账号”中修改自己的密码（需要输入当前密码）。", "info")
        return redirect(url_for("office.account"))
    if request.method == "GET":
        return _password_page(user)
    typed = None
    if request.form.get("mode") != "generate":
        typed = request.form.get("password", "")
        errors = {}
        problem = users.password_problem(typed, user.username)
        if problem:
            errors["password"] = problem
        elif request.form.get("password2", "") != typed:
            errors["password2"] = "两次输入的新密码不一致。"
        if errors:
            return _password_page(user, errors, 422)
    password = staff.reset_password(session, user, admin, typed)
    edge.commit()
    log.info("password of staff account %s reset by %s", user.username, admin.username)
    if typed is None:
        return _password_page(user, issued=password)
    flash(_("已重设「%(name)s」的密码，并已通知本人。", name=user.username), "success")
    return redirect(url_for("admin.user_list", _anchor=f"user-{user.id}"))


@bp.route("/users/<int:user_id>/link", methods=["POST"])
@admin_only
def user_link(user_id: int) -> Any:
    """A one-time link code for a staff member, to hand to them (/link CODE from any chat)."""
    session = edge.db()
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    code = staff.issue_link_code(session, user)
    edge.commit()
    return _users_page(linked=(user, code))


@bp.route("/templates", methods=["GET", "POST"])
@admin_only
def template_list() -> Any:
    """不采用 reasons: add, reword, switch off."""
    session = edge.db()
    if request.method == "POST":
        text = (request.form.get("text") or "").strip()
        raw = request.form.get("id", "")
        if not text or len(text) > 500:
            flash("请填写原因内容（不超过 500 字）。", "error")
            return redirect(url_for("admin.template_list"))
        try:
            if raw.isdigit():
                templates.update(session, int(raw), text, request.form.get("active") == "1")
            else:
                templates.add(session, text, already_handled=request.form.get("already") == "1")
        except (KeyError, LookupError, ValueError) as exc:
            edge.rollback()
            flash(str(exc).split(" / ")[0] or "找不到该模板。", "error")
            return redirect(url_for("admin.template_list"))
        edge.commit()
        flash("已保存不采用原因模板。", "success")
        return redirect(url_for("admin.template_list"))
    return render_template("admin_templates.html", rows=templates.all_templates(session))


# Above this many reports the index is rebuilt from the command line, not in a request.
CONSOLE_REBUILD_LIMIT = 50_000


@bp.route("/chain", methods=["GET", "POST"])
@admin_only
def chain() -> Any:
    """The review chain: three levels (初审 → 审核 → 审定) or two (初审 → 审定)."""
    session = edge.db()
    if request.method == "POST":
        name = request.form.get("chain", "")
        if name not in CHAIN_NAMES:
            abort(400)
        review.set_chain(session, name)
        edge.commit()
        flash(_("审核流程已改为%(chain)s。", chain=said(CHAIN_NAMES[name])), "success")
        return redirect(url_for("admin.chain"))
    return render_template("admin_chain.html", current=review.chain_name(session),
                           chains=CHAIN_NAMES, levels=review.chain(session),
                           fold=search.fold_traditional(session),
                           office_level=review.office_level(session),
                           single_reviewer=separation.single_reviewer(session),
                           adoption_levels=list(AdoptionLevel))


@bp.route("/separation", methods=["POST"])
@admin_only
def separation_setting() -> Any:
    """一人审核: an office with one reviewer lets them sign off every level (issue 14)."""
    on = request.form.get("single_reviewer") == "1"
    separation.set_single_reviewer(edge.db(), on)
    edge.commit()
    flash("已设为一人审核：同一人可签批各级，代录人员也可初审。" if on else
          "已恢复分级审核：代录人员不能初审，同一人不能签批同一信息的两级。", "success")
    return redirect(url_for("admin.chain", _anchor="separation"))


@bp.route("/office-level", methods=["POST"])
@admin_only
def office_level() -> Any:
    """本机关级别: the level this office adopts at, which the adoption menu then starts at."""
    session = edge.db()
    try:
        level = review.set_office_level(session, request.form.get("level", ""))
    except review.ReviewError:
        edge.rollback()
        flash("请选择本机关的级别。", "error")
        return redirect(url_for("admin.chain", _anchor="office-level"))
    edge.commit()
    flash(_("本机关级别已设为%(level)s，采用时将预选此级别。", level=t(f"adoption.{level.value}", lang())),
          "success")
    return redirect(url_for("admin.chain", _anchor="office-level"))


@bp.route("/search", methods=["POST"])
@admin_only
def search_settings() -> Any:
    """繁简通搜: fold traditional characters in the index and in queries (rebuilds the index)."""
    session = edge.db()
    on = request.form.get("fold_traditional") == "1"
    try:
        count = search.set_fold_traditional(session, on, limit=CONSOLE_REBUILD_LIMIT)
    except search.TooMany as exc:
        edge.rollback()
        flash(_("信息有 %(count)s 条，在页面上重建索引太慢。请在服务器上运行：%(command)s",
                count=exc.count, command="minyi search fold " + ("on" if on else "off")), "error")
        return redirect(url_for("admin.chain"))
    edge.commit()
    flash(_("已开启繁简通搜，重建了 %(count)s 条信息的索引。", count=count) if on else
          _("已关闭繁简通搜，重建了 %(count)s 条信息的索引。", count=count), "success")
    return redirect(url_for("admin.chain"))


def _role(raw: str) -> Role | None:
    try:
        return Role(raw)
    except ValueError:
        return None


# The unit menu's "not limited to a unit" entry: picked on purpose, never the default.
ALL_UNITS = "all"


def _unit_choice(raw: str, role: Role | None) -> tuple[int | None, str | None]:
    """The unit chosen (None: the whole network), or why the choice will not do."""
    if raw == ALL_UNITS:
        if role in staff.UNIT_REQUIRED:
            return None, staff.unit_rule(role)  # type: ignore[arg-type]
        return None, None
    if raw.isdigit():
        return int(raw), None
    return None, "请选择单位；可看全部单位信息的，请选“全部单位（不限）”。"


def _users_page(linked: tuple[User, str] | None = None, *, values: Any = None,
                errors: dict[str, str] | None = None, issued: tuple[User, str] | None = None,
                status: int = 200) -> Any:
    session = edge.db()
    people = users.list_users(session)
    return render_template("admin_users.html", users=people,
                           chats=addresses.of(session, [u.id for u in people]),
                           channel_name=edge.channels().name_of,
                           link_channels=edge.link_channel_names(),
                           channel_health=health.read(session),
                           units=units.tree(session), roles=list(Role), linked=linked,
                           values=values or {}, errors=errors or {}, issued=issued,
                           all_units=ALL_UNITS,
                           unit_required=[r.value for r in staff.UNIT_REQUIRED]), status


def _password_page(user: User, errors: dict[str, str] | None = None, status: int = 200,
                   issued: str | None = None) -> Any:
    return render_template("admin_password.html", user=user, errors=errors or {},
                           issued=issued, min_length=users.MIN_PASSWORD), status
