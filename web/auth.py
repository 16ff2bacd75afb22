"""Logging staff in and out of the console, and changing one's own password."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user

from store.network import users
from web import Staff, edge
from web.office import account_page

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only paths on this site, so a crafted link cannot bounce staff elsewhere.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("reports.inbox")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Check the username and password; on success go where the user was heading."""
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    user = users.authenticate(edge.db(), username, password) if username and password else None
    if user is None:
        flash("用户名或密码错误。", "error")
        return render_template("login.html", next=request.form.get("next", ""),
                               username=username), 401
    edge.commit()  # keeps last_login_at
    login_user(Staff(user))
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    logout_user()
    flash("您已退出登录。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password() -> Any:
    """修改密码: the current password, then the new one twice.

    Sessions open elsewhere stay open: sessions carry no password stamp yet.
    """
    user, form = edge.staff(), request.form
    current, new = form.get("current", ""), form.get("password", "")
    errors: dict[str, str] = {}
    if not users.check_password(user.password_hash, current):
        errors["current"] = "当前密码不正确。"
    problem = users.password_problem(new)
    if problem:
        errors["password"] = problem
    elif new == current:
        errors["password"] = "新密码不能与当前密码相同。"
    elif form.get("password2", "") != new:
        errors["password2"] = "两次输入的新密码不一致。"
    if errors:
        return account_page(user, None, errors, 422)
    users.change_own_password(edge.db(), user, current, new)
    edge.commit()
    log.info("staff account %s changed its password", user.username)
    flash("密码已修改，下次登录请使用新密码。", "success")
    return redirect(url_for("office.account"))
