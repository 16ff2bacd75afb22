"""Logging staff in and out of the console, and changing one's own password."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import login_required, login_user, logout_user

from store.models import User
from store.network import logins, second_factor, users
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
    db, address = edge.db(), request.remote_addr or "unknown"
    if not (username.strip() and password):
        return _refused(username, "请输入用户名和密码。", 401)
    try:
        logins.check(db, username, address, _policy())
    except logins.LockedOut as exc:
        edge.commit()  # the attempt is recorded
        return _refused(username, str(exc).split(" / ")[0], 429)
    user = users.authenticate(db, username, password, stamp=False)
    if user is None:
        logins.record(db, username, address)
        edge.commit()
        return _refused(username, "用户名或密码错误。", 401)
    if second_factor.enrolled(user):
        # The password was right; a code from the app (or a recovery code) comes next.
        session[PENDING] = {"user": user.id, "gen": user.session_generation,
                            "at": int(time.time()), "next": request.form.get("next", "")}
        return redirect(url_for("auth.login_code"))
    return _open(user, request.form.get("next"))


def _open(user: User, target: str | None) -> Any:
    users.stamp_login(user)
    edge.commit()  # keeps last_login_at
    session.pop(PENDING, None)
    login_user(Staff(user))
    sessions.begin(user)
    return redirect(_safe_next(target))


# The session key of a login waiting for its second factor, and how long it waits.
PENDING = "_pending_2fa"
CODE_SECONDS = 300


def _pending() -> tuple[User, str] | None:
    """The user whose password was right in this browser a moment ago, and where they go."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - int(pending.get("at", 0)) > CODE_SECONDS:
        return None
    user = edge.db().get(User, int(pending.get("user", 0)))
    if (user is None or not user.active or user.session_generation != pending.get("gen")
            or not second_factor.enrolled(user)):
        return None
    return user, str(pending.get("next", ""))


@bp.route("/login/code", methods=["GET", "POST"])
def login_code() -> Any:
    """The second step: a code from the authenticator app, or a recovery code."""
    found = _pending()
    if found is None:
        session.pop(PENDING, None)
        flash("请先输入用户名和密码。", "info")
        return redirect(url_for("auth.login"))
    user, target = found
    if request.method == "GET":
        return render_template("login_code.html")
    db, address = edge.db(), request.remote_addr or "unknown"
    try:
        logins.check(db, user.username, address, _policy())
    except logins.LockedOut as exc:
        edge.commit()
        session.pop(PENDING, None)
        return _refused(user.username, str(exc).split(" / ")[0], 429)
    if not second_factor.verify(db, user, request.form.get("code", "")[:40]):
        logins.record(db, user.username, address, logins.CODE)
        edge.commit()
        flash("验证码不正确或已用过，请输入手机上当前显示的 6 位数字，或一个恢复码。", "error")
        return render_template("login_code.html"), 401
    return _open(user, target)


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
