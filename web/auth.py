"""Logging staff in and out of the console."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user

from store import users
from web import Staff, edge

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
