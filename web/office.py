"""A staff member's own pages: 我的转办 (departments), notices, the chats alerts go to, statistics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from store import access
from store.delivery import notices
from store.errors import DomainError
from store.i18n import t
from store.models import AdoptionLevel, Channel, Role, StaffAddress, Transfer, User, utcnow
from store.network import addresses, staff, users
from store.outputs import bulletin, dashboard, period
from store.reports.lifecycle import TransitionError
from store.review import transfers
from web import edge, i18n
from web.i18n import _
from web.reports import category_labels

bp = Blueprint("office", __name__)


@bp.route("/transfers")
@edge.roles_required(Role.DEPARTMENT, *edge.OFFICE)
def my_transfers() -> Any:
    """我的转办: transfers to the user's department (all, for the office), overdue ones marked."""
    open_only = request.args.get("all") is None
    now = utcnow()
    rows = [(tr, transfers.is_overdue(tr, now))
            for tr in transfers.for_user(edge.db(), edge.staff(), open_only=open_only)]
    return render_template("transfers.html", rows=rows, open_only=open_only)


@bp.route("/transfers/<int:transfer_id>/reply", methods=["POST"])
@edge.roles_required(Role.DEPARTMENT, Role.ADMIN)
def reply(transfer_id: int) -> Any:
    """The department's 办理回复; it goes to the reporter."""
    session, user = edge.db(), edge.staff()
    transfer = session.get(Transfer, transfer_id)
    # Another department's transfer does not exist for this user.
    if transfer is None or not access.can_reply_transfer(session, user, transfer):
        abort(404)
    text = (request.form.get("text") or "").strip()
    if not text:
        flash("请填写办理回复内容。", "error")
        return redirect(url_for("office.my_transfers", _anchor=f"transfer-{transfer_id}"))
    try:
        transfers.reply(session, transfer, user, text)
    except TransitionError as exc:
        edge.rollback()
        flash(t(exc.code, **exc.params), "error")
        return redirect(url_for("office.my_transfers", _anchor=f"transfer-{transfer_id}"))
    edge.commit()
    flash("办理回复已提交，并已排队反馈给反映人。", "success")
    return redirect(url_for("office.my_transfers"))


@bp.route("/notices")
@login_required
def notice_list() -> Any:
    return render_template("notices.html", notices=notices.unread(edge.db(), edge.staff(), 100))


@bp.route("/notices/read", methods=["POST"])
@login_required
def notice_read() -> Any:
    """Mark one notice (`id`) or all of them read."""
    raw = request.form.get("id", "")
    notices.mark_read(edge.db(), edge.staff(), int(raw) if raw.isdigit() else None)
    edge.commit()
    target = request.form.get("report_id", "")
    if target.isdigit():
        return redirect(url_for("reports.detail", report_id=int(target)))
    return redirect(url_for("office.notice_list"))


@bp.route("/account")
@login_required
def account() -> Any:
    return account_page(edge.staff(), None)


@bp.route("/account/link", methods=["POST"])
@login_required
def link_code() -> Any:
    """绑定聊天: a one-time code the staff member sends as /link CODE from the chat to link."""
    user = edge.staff()
    code = staff.issue_link_code(edge.db(), user)
    edge.commit()
    return account_page(user, code)


@bp.route("/account/unlink", methods=["POST"])
@login_required
def unlink() -> Any:
    """解除绑定: stop alerts to the staff member's chat on one channel."""
    raw = request.form.get("channel", "")
    try:
        channel = Channel(raw)
    except ValueError:
        flash("请选择要解除绑定的渠道。", "error")
        return redirect(url_for("office.account"))
    name = edge.channels().name_of(channel)
    if addresses.unlink(edge.db(), edge.staff(), channel):
        edge.commit()
        flash(_("已解除%(name)s绑定，提醒不再发到该聊天。", name=name), "success")
    else:
        flash(_("%(name)s本来就没有绑定。", name=name), "info")
    return redirect(url_for("office.account"))


@bp.route("/account/bulletin", methods=["POST"])
@login_required
def bulletin_choice() -> Any:
    """通报: whether this liaison's unit figures are sent to their chats each period."""
    receive = request.form.get("receive") == "1"
    bulletin.set_opt_out(edge.db(), edge.staff(), not receive)
    edge.commit()
    flash("以后的通报会发到您绑定的聊天。" if receive else "已关闭：以后的通报不再发给您。", "success")
    return redirect(url_for("office.account"))


@bp.route("/account/language", methods=["POST"])
@login_required
def language() -> Any:
    """The console's language for this account (中文 / English)."""
    try:
        staff.set_language(edge.staff(), request.form.get("language", ""))
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for("office.account"))
    edge.commit()
    # Shown in the new language: base.html looks flashes up in the catalogue.
    flash("界面语言已保存。", "success")
    return redirect(url_for("office.account"))


@dataclass(frozen=True)
class AlertChat:
    """One row of 提醒渠道: a channel staff may link on, and the chat linked there if any."""

    channel: Channel
    name: str
    address: StaffAddress | None


def alert_chats(user: User) -> list[AlertChat]:
    """The channels that take staff links, then any other where `user` still has a chat."""
    registry = edge.channels()
    linked = {a.channel: a for a in addresses.of(edge.db(), [user.id])[user.id]}
    kinds = [c.kind for c in registry.staff_channels]
    kinds += [kind for kind in linked if kind not in kinds]
    return [AlertChat(kind, registry.name_of(kind), linked.get(kind)) for kind in kinds]


def account_page(user: User, code: str | None, errors: dict[str, str] | None = None,
                 status: int = 200) -> Any:
    """我的账号: who I am, the chats alerts go to, a link code, and the password change form."""
    return render_template("account.html", user=user, code=code, errors=errors or {},
                           chats=alert_chats(user), link_channels=edge.link_channel_names(),
                           min_password=users.MIN_PASSWORD, languages=i18n.LANGUAGE_NAMES), status


@bp.route("/stats")
@edge.roles_required(*edge.OFFICE, Role.VIEWER, Role.UNIT_LIAISON)
def statistics() -> Any:
    """统计: a period's figures in the user's scope, by a dimension, each linked to its inbox.

    `?period=month|quarter|year|range` with `value` (2026-03, 2026-Q1, 2026) or
    `from`/`to`; `by` one of `dashboard.DIMENSIONS`. A period that cannot be
    read gets the page with the reason (400), not a guess.
    """
    session, user = edge.db(), edge.staff()
    allowed = {d.key: d for d in dashboard.dimensions_for(user)}
    by = request.args.get("by", "unit")
    if by not in allowed:
        by = "unit"
    args = request.args
    try:
        chosen = period.parse(args.get("period"), args.get("value"), args.get("from"), args.get("to"))
    except period.PeriodError as exc:
        return render_template("stats.html", d=None, error=str(exc), by=by, dims=allowed.values(),
                               shortcuts=_shortcuts(), args=args), 400
    d = dashboard.build(session, user, chosen, by, category_labels())

    def link(row: dashboard.Row | None, figure: str) -> str | None:
        found = d.link(row, figure)
        return f"{url_for('search.index')}?{urlencode(found)}" if found is not None else None

    return render_template("stats.html", d=d, error=None, by=by, dims=allowed.values(), link=link,
                           shortcuts=_shortcuts(), args=args, chart=_chart(d, link),
                           levels=list(AdoptionLevel))


def _shortcuts() -> list[tuple[str, dict[str, str]]]:
    """本月, 上月, 本季度, 本年, 上一年: the periods asked for most, as URL queries."""
    today = period.today()
    last_month = period.parse("month", f"{today.year - (today.month == 1)}-"
                                       f"{(today.month - 2) % 12 + 1:02d}")
    out = []
    for name, p in ((_("本月"), period.parse("month", now=today)), (_("上月"), last_month),
                    (_("本季度"), period.parse("quarter", now=today)),
                    (_("本年"), period.year(today.year)), (_("上一年"), period.year(today.year - 1))):
        out.append((name, {"period": p.kind, "value": p.value}))
    return out


def _chart(d: dashboard.Dashboard,
           link: Callable[[dashboard.Row | None, str], str | None]) -> dict[str, Any]:
    """What static/dashboard.js draws: the rows' received and adopted, the levels' figures."""
    rows = [r for r in d.rows if r.depth == 0 or d.dimension.tree is None][:CHART_ROWS]
    return {
        "rows": [{"name": r.name, "received": r.figures.received, "adopted": r.figures.adopted,
                  "links": {"received": link(r, "received"), "adopted": link(r, "adopted_county")}}
                 for r in rows],
        "levels": [{"name": t(f"adoption.{lv.value}"), "adopted": d.total.adopted_at[i],
                    "instructed": d.total.instructed[lv],
                    "links": {"adopted": link(None, f"adopted_{lv.value}"),
                              "instructed": link(None, f"instructed_{lv.value}")}}
                   for i, lv in enumerate(dashboard.LEVELS)],
    }


CHART_ROWS = 20
