"""两步验证 in the console: enrol on 我的账号, a code after the password, an admin's reset.

The login's second step lives in `web.auth` (`begin_code`, `login_code`);
here are the account page, and `enforce`, which keeps an admin without a
second factor on that page in production mode until they set one up.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

import qr
from store.models import Role, User
from store.network import second_factor, users
from web import edge
from web.i18n import _

log = logging.getLogger(__name__)
bp = Blueprint("second_factor", __name__)

# Pages an admin who must enrol can still reach.
_OPEN = frozenset({"second_factor.page", "second_factor.start", "second_factor.confirm",
                   "auth.logout", "auth.login", "auth.login_code", "static", "favicon"})


def enforce() -> Any:
    """In production an admin without a second factor sets one up before anything else."""
    if (request.endpoint in _OPEN or request.endpoint is None
            or not current_user.is_authenticated):
        return None
    user = edge.staff()
    if second_factor.required(user, edge.settings().is_production) and not second_factor.enrolled(user):
        if request.path.startswith(("/c/", "/api/", "/p/")):
            return None  # the public chat and the API have their own doors
        flash("管理员账号必须开启两步验证，请先完成设置。", "info")
        return redirect(url_for("second_factor.page"))
    return None


def _page(user: User, *, codes: list[str] | None = None, errors: dict[str, str] | None = None,
          status: int = 200) -> Any:
    pending = user.totp_secret is not None and not second_factor.enrolled(user)
    qr_src = None
    if pending:
        svg = qr.svg(second_factor.provisioning_uri(user), scale=5)
        qr_src = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    return render_template(
        "account_second_factor.html", user=user, pending=pending, qr_src=qr_src,
        secret=user.totp_secret if pending else None, codes=codes, errors=errors or {},
        enrolled=second_factor.enrolled(user), may=second_factor.may_enrol(user),
        required=second_factor.required(user, edge.settings().is_production),
        left=second_factor.recovery_left(edge.db(), user) if second_factor.enrolled(user) else 0,
    ), status


@bp.route("/account/second-factor")
@login_required
def page() -> Any:
    """两步验证: start, the QR code and secret to confirm, or its state and the way off."""
    return _page(edge.staff())


@bp.route("/account/second-factor/start", methods=["POST"])
@login_required
def start() -> Any:
    user = edge.staff()
    try:
        second_factor.begin(edge.db(), user)
    except second_factor.SecondFactorError as exc:
        edge.refuse(str(exc).split(" / ")[0])
    edge.commit()
    return redirect(url_for("second_factor.page"))


@bp.route("/account/second-factor/confirm", methods=["POST"])
@login_required
def confirm() -> Any:
    user = edge.staff()
    try:
        codes = second_factor.confirm(edge.db(), user, request.form.get("code", "")[:40])
    except second_factor.SecondFactorError as exc:
        edge.rollback()
        return _page(edge.staff(), errors={"code": str(exc).split(" / ")[0]}, status=422)
    edge.commit()
    log.info("staff account %s turned on its second factor", user.username)
    return _page(user, codes=codes)


@bp.route("/account/second-factor/off", methods=["POST"])
@login_required
def turn_off() -> Any:
    user = edge.staff()
    if second_factor.required(user, edge.settings().is_production):
        edge.refuse("管理员账号必须开启两步验证，不能关闭。")
    if not users.check_password(user.password_hash, request.form.get("password", "")):
        return _page(user, errors={"password": "密码不正确。"}, status=422)
    second_factor.disable(edge.db(), user)
    edge.commit()
    flash("已关闭两步验证。", "success")
    return redirect(url_for("second_factor.page"))


@bp.route("/admin/users/<int:user_id>/second-factor/reset", methods=["POST"])
@edge.roles_required(Role.ADMIN)
def reset(user_id: int) -> Any:
    """An admin turns a colleague's second factor off (a lost phone); they set it up again."""
    session, admin = edge.db(), edge.staff()
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    try:
        second_factor.reset(session, user, admin)
    except second_factor.SecondFactorError as exc:
        edge.refuse(str(exc).split(" / ")[0])
    edge.commit()
    log.info("second factor of staff account %s reset by %s", user.username, admin.username)
    flash(_("已重置「%(name)s」的两步验证，本人下次登录时需重新设置。", name=user.username), "success")
    return redirect(url_for("admin.user_password", user_id=user.id))
