"""Logging staff in and out of the console, and changing one's own password."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user

from store.network import logins, users
from web import Staff, edge, sessions
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
    username = request.form.get("username", "")[:200]
    password = request.form.get("password", "")
    session, address = edge.db(), request.remote_addr or "unknown"
    if not (username.strip() and password):
        return _refused(username, "请输入用户名和密码。", 401)
    try:
        logins.check(session, username, address, _policy())
    except logins.LockedOut as exc:
        edge.commit()  # the attempt is recorded
        return _refused(username, str(exc).split(" / ")[0], 429)
    user = users.authenticate(session, username, password)
    if user is None:
        logins.record(session, username, address)
        edge.commit()
        return _refused(username, "用户名或密码错误。", 401)
    edge.commit()  # keeps last_login_at
    login_user(Staff(user))
    sessions.begin(user)
    return redirect(_safe_next(request.form.get("next")))


def _refused(username: str, message: str, status: int) -> Any:
    flash(message, "error")
    return render_template("login.html", next=request.form.get("next", ""),
                           username=username), status


def _policy() -> logins.Policy:
    settings = edge.settings()
    return logins.Policy(account=settings.login_account_failures,
                         address=settings.login_address_failures,
                         lock=timedelta(minutes=settings.login_lock_minutes))


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    """Sign out here and everywhere: a copy of this session's cookie stops working too."""
    users.end_sessions(edge.db(), edge.staff())
    edge.commit()
    logout_user()
    flash("您已退出登录。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password() -> Any:
    """修改密码: the current password, then the new one twice.

    Every other session of the account ends (a copied cookie included); this one goes on.
    """
    user, form = edge.staff(), request.form
    current, new = form.get("current", ""), form.get("password", "")
    errors: dict[str, str] = {}
    if not users.check_password(user.password_hash, current):
        errors["current"] = "当前密码不正确。"
    problem = users.password_problem(new, user.username)
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
    sessions.restamp(user)
    log.info("staff account %s changed its password", user.username)
    flash("密码已修改，下次登录请使用新密码。其他设备上的登录已全部退出。", "success")
    return redirect(url_for("office.account"))
