"""The admin's pages: staff accounts, decline reasons, the review chain (units: `admin_units`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from store import review, search, staff, templates, units, users
from store.models import Role, User
from web import edge

bp = Blueprint("admin", __name__, url_prefix="/admin")
admin_only = edge.roles_required(Role.ADMIN)

CHAIN_NAMES = {"three": "三级：初审 → 审核 → 审定", "two": "两级：初审 → 审定"}


@bp.route("/users", methods=["GET", "POST"])
@admin_only
def user_list() -> Any:
    session = edge.db()
    if request.method == "POST":
        form = request.form
        try:
            user = users.create_user(session, form.get("username", ""), form.get("password", ""),
                                     form.get("role", ""), form.get("display_name") or None)
            staff.update_user(session, user, role=user.role, unit_id=_unit_id(), active=True)
        except ValueError as exc:
            edge.rollback()
            flash(str(exc).split(" / ")[0], "error")
            return redirect(url_for("admin.user_list"))
        edge.commit()
        flash(f"已添加工作人员「{user.username}」。", "success")
        return redirect(url_for("admin.user_list"))
    return _users_page()


@bp.route("/users/<int:user_id>", methods=["POST"])
@admin_only
def user_update(user_id: int) -> Any:
    """Change a staff member's role, unit or whether the account is active."""
    session = edge.db()
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    try:
        role = Role(request.form.get("role", ""))
    except ValueError:
        abort(400)
    active = request.form.get("active") == "1"
    if user.id == edge.staff().id and (not active or role is not Role.ADMIN):
        flash("不能停用自己的账号或取消自己的管理员权限。", "error")
        return redirect(url_for("admin.user_list"))
    try:
        staff.update_user(session, user, role=role, unit_id=_unit_id(), active=active)
    except ValueError as exc:
        edge.rollback()
        flash(str(exc).split(" / ")[0], "error")
        return redirect(url_for("admin.user_list"))
    edge.commit()
    flash(f"已更新「{user.username}」。", "success")
    return redirect(url_for("admin.user_list", _anchor=f"user-{user.id}"))


@bp.route("/users/<int:user_id>/link", methods=["POST"])
@admin_only
def user_link(user_id: int) -> Any:
    """A one-time Telegram link code for a staff member, to hand to them."""
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
        flash(f"审核流程已改为{CHAIN_NAMES[name]}。", "success")
        return redirect(url_for("admin.chain"))
    return render_template("admin_chain.html", current=review.chain_name(session),
                           chains=CHAIN_NAMES, levels=review.chain(session),
                           fold=search.fold_traditional(session))


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
        flash(f"信息有 {exc.count} 条，在页面上重建索引太慢。请在服务器上运行："
              f"minyi search fold {'on' if on else 'off'}", "error")
        return redirect(url_for("admin.chain"))
    edge.commit()
    flash(f"已{'开启' if on else '关闭'}繁简通搜，重建了 {count} 条信息的索引。", "success")
    return redirect(url_for("admin.chain"))


def _unit_id() -> int | None:
    raw = request.form.get("unit_id", "")
    return int(raw) if raw.isdigit() else None


def _users_page(linked: tuple[User, str] | None = None) -> Any:
    session = edge.db()
    return render_template("admin_users.html", users=users.list_users(session),
                           units=units.tree(session), roles=list(Role), linked=linked)
