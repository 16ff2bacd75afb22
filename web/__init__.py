"""The Flask console and the web chat: `create_app(settings)` builds both.

Views are thin: they parse the request, call `store`, render. The request
owns its database session (see `web.edge`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Flask, Response, jsonify, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.channels import Registry, registry
from minyi.settings import Settings
from store import audit, sealing
from store.db import make_engine, make_sessionmaker
from store.i18n import MESSAGES, t
from store.models import Role, User
from store.reports import origins
from store.review import deadlines
from web import edge, health, i18n, sessions
from web.i18n import _, said

log = logging.getLogger(__name__)

# The office works on Beijing time; stored times are UTC.
BEIJING = timezone(timedelta(hours=8), "北京时间")

def N_(text: str) -> str:
    """Marks `text` for the catalogue; it is translated where it is shown."""
    return text


ERROR_TEXT = {
    400: (N_("请求有误"), N_("提交的内容不完整或已过期，请返回上一页刷新后重试。")),
    403: (N_("没有权限"), N_("您的账号没有执行此操作的权限。")),
    404: (N_("页面不存在"), N_("您要找的页面不存在，或链接已失效。")),
    405: (N_("请求方式不对"), N_("该页面不支持这种访问方式。")),
    413: (N_("文件太大"), N_("上传的文件超过了大小限制，请压缩后再试。")),
    429: (N_("操作太频繁"), N_("您的操作太频繁了，请稍后再试。")),
    500: (N_("系统出错了"), N_("系统暂时出现问题，请稍后再试。如果一直这样，请联系管理员。")),
}


ROLE_NAMES = {
    "admin": N_("管理员"), "clerk": N_("信息员（初审）"), "director": N_("办公室主任（审核）"),
    "secretary_general": N_("秘书长（审定）"), "unit_liaison": N_("单位联络员"), "department": N_("有关部门"),
    "viewer": N_("只读"),
}


class Staff(UserMixin):
    """Flask-Login's view of a staff member; `user` is bound to the request's session."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.id = user.id
        self.role = user.role
        self.username = user.username
        self.display_name = user.display_name or user.username

    @property
    def is_active(self) -> bool:
        return bool(self.user.active)


def create_app(
    settings: Settings,
    *,
    session_factory: sessionmaker[Session] | None = None,
    engine: Any = None,
    channels: Registry | None = None,
) -> Flask:
    """The console and web chat for `settings`; pass a session factory or engine to share them.

    `channels` is the process's registry (`minyi serve` builds it); without
    one it is built from `settings`. Each channel `listen`s: WeChat installs
    `/wechat` here when its settings are there.
    """
    app = Flask(__name__)
    if settings.data_keys:
        # Reporters' details are sealed with these (store.sealing); `minyi serve` has
        # checked them on the database's canary before building the app.
        sealing.install(sealing.Keyring.of(settings.data_keys))
    if settings.trusted_proxies:
        # Only the proxies the deployment names are believed about the client's address
        # and scheme; everything that asks (flood limits, scans, login throttling, Secure
        # cookies) reads request.remote_addr and request.is_secure after this.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    secure = settings.https
    app.config.update(
        SECRET_KEY=settings.secret_key,
        # Room for multipart framing around a file of the largest allowed size.
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024 + 64 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_SAMESITE="Lax",
        # Sessions are permanent so the cookie is renewed on every request: it lapses after
        # this much idleness; `web.sessions` also ends it SESSION_MAX_HOURS after login.
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.session_idle_minutes),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=secure,
        CHAT_COOKIE_SECURE=secure,
        # Flood control for the web chat: at most BURST requests per WINDOW seconds per chat.
        CHAT_FLOOD_BURST=30,
        CHAT_FLOOD_WINDOW=10.0,
        # ... and at most this many per WINDOW from one client address, whatever its cookies.
        CHAT_FLOOD_ADDRESS_BURST=120,
    )
    if session_factory is None:
        session_factory = make_sessionmaker(make_engine(settings.database_url))
    if engine is None:
        engine = _conversation_engine(settings)
    if channels is None:
        channels = registry(settings, session_factory)
    app.extensions["minyi"] = edge.Wiring(settings, session_factory, engine, channels)
    app.teardown_appcontext(edge.close_db)
    health.install(app)  # request ids and timing first, so every later hook is inside them

    from web import (
        admin,
        admin_audit,  # noqa: F401  (adds the 审计日志 pages to admin.bp before it is registered)
        admin_deadlines,  # noqa: F401  (adds the 办理时限 page to admin.bp before it is registered)
        admin_scoring,  # noqa: F401  (adds 积分规则 and 考评序列 to admin.bp before it is registered)
        admin_tokens,  # noqa: F401  (adds the API tokens pages to admin.bp before it is registered)
        admin_units,  # noqa: F401  (adds the units pages to admin.bp before it is registered)
        api,
        auth,
        bulletins,
        chat,
        commissions,
        decisions,
        exports,
        followup,
        intake,
        journal,
        marks,
        members,
        office,
        points,
        reports,
        roster,
        scores,
        search,
        second_factor,
        short,
        topics,
        upward,
    )

    # Before CSRF protection, which reads (and so size-checks) the form first.
    app.before_request(intake.widen_upload_limit)
    CSRFProtect(app)
    _login(app)
    i18n.install(app)

    for module in (auth, reports, decisions, office, admin, points, chat, short, members, topics,
                   search, intake, upward, journal, followup, exports, api, scores, bulletins,
                   roster, commissions, marks, second_factor):
        app.register_blueprint(module.bp)
    app.before_request(second_factor.enforce)

    channels.listen(app, engine.handle)
    app.add_url_rule("/favicon.ico", "favicon", _favicon)
    _errors(app, settings)
    _templating(app)
    app.after_request(_security_headers)
    app.after_request(sessions.secure_cookies)
    app.session_interface = sessions.CookieSessions()
    return app


def _conversation_engine(settings: Settings) -> Any:
    from store.conversation.engine import Engine

    return Engine(settings.engine_config())


def _login(app: Flask) -> None:
    manager = LoginManager(app)
    manager.login_view = "auth.login"
    manager.login_message = N_("请先登录。")
    manager.login_message_category = "info"
    # No session protection: its "basic" mode only marks a session not fresh,
    # which nothing here reads, and doing so rewrites the cookie of anonymous
    # requests -- a favicon or error page answered after the login response
    # would put the pre-login cookie back and log the user out.
    manager.session_protection = None

    @manager.user_loader
    def load(user_id: str) -> Staff | None:
        try:
            user = edge.db().get(User, int(user_id))
        except ValueError:
            return None
        if user is None or not user.active or not sessions.current(user):
            return None
        audit.act_as(edge.db(), user.id)  # audit trail (issue 14): who acts in this request
        return Staff(user)


def _favicon() -> Any:
    """Browsers ask for /favicon.ico on their own; answer without touching the session."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


def _wants_json() -> bool:
    return request.path.startswith(("/c/api/", "/api/"))


def _errors(app: Flask, settings: Settings) -> None:
    def page(code: int, detail: str | None = None) -> tuple[Any, int]:
        title, text = (_(words) for words in ERROR_TEXT.get(code, ERROR_TEXT[500]))
        if code == 413:
            text = _("文件太大了：单个文件不能超过 %(mb)s MB。请压缩后重新发送，或改发照片。",
                     mb=settings.max_upload_mb)
        detail = said(detail) if detail else None
        if _wants_json():
            return jsonify(ok=False, error=detail or text), code
        return render_template("error.html", code=code, title=title, text=detail or text), code

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> tuple[Any, int]:
        return page(400, _("页面已过期或缺少安全校验，请刷新页面后重试。"))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if exc.code is None or exc.code < 400 or exc.code in (401,):
            return exc
        # A view's own reason (`abort(403, description=...)`), not werkzeug's English default.
        given = exc.description if exc.description != type(exc).description else None
        return page(exc.code, given)

    @app.errorhandler(Exception)
    def crash(exc: Exception) -> tuple[Any, int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        edge.rollback()
        return page(500)


def _templating(app: Flask) -> None:
    @app.template_filter("local")
    def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(BEIJING).strftime(fmt) if value else ""

    @app.template_filter("deadline")
    def deadline(value: datetime | None) -> str:
        return deadlines.shown(value)

    @app.template_filter("status")
    def status(value: Any) -> str:
        return t(f"status.{value}", i18n.lang())

    @app.template_filter("role")
    def role(value: Any) -> str:
        return _(ROLE_NAMES[str(value)]) if str(value) in ROLE_NAMES else str(value)

    @app.template_filter("source")
    def source(value: Any) -> str:
        """A report's source in the console's words (群众反映, 约稿, 提案 ...)."""
        return _(origins.SOURCE_NAMES[value]) if value in origins.SOURCE_NAMES else str(value)

    @app.template_filter("action")
    def action(value: Any) -> str:
        key = f"action.{value}"
        return t(key, i18n.lang()) if key in MESSAGES else str(value)

    @app.template_filter("satisfaction")
    def satisfaction(value: Any) -> str:
        key = f"satisfaction.{value}"
        return t(key, i18n.lang()) if key in MESSAGES else str(value)

    @app.template_filter("adoption")
    def adoption(value: Any) -> str:
        return t(f"adoption.{value}", i18n.lang()) if value else ""

    @app.template_filter("said")
    def said_filter(value: Any) -> str:
        """A sentence made at run time (a flash, a refusal) in the request's language."""
        return said(value) if isinstance(value, str) else value

    @app.context_processor
    def helpers() -> dict[str, Any]:
        return {"can_decide": edge.can_decide, "is_admin": edge.is_admin, "is_office": edge.is_office,
                "is_department": edge.is_department, "unread_notices": edge.unread_notices,
                "Role": Role}


def _security_headers(resp: Response) -> Response:
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    resp.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    )
    return resp
