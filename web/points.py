"""Collection points: their tokens, links and QR codes; who keeps a unit adds, edits,
moves and imports its points (`store.network.units.point_scope`)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

import qr
from bot.channels.base import PointLinks
from qr import posters as qr_posters
from store.models import Channel, CollectionPoint, PointKind, Role
from store.network import pointedit, pointio, pointlist, units
from store.network import points as points_mod
from store.network.units import Scope
from store.outputs import posters
from store.reports import files
from web import confirming, edge, printing
from web.i18n import _

log = logging.getLogger(__name__)
bp = Blueprint("points", __name__)

MIME = {"png": "image/png", "svg": "image/svg+xml"}


LIST_ARGS = ("q", "kind", "unit", "page")


@bp.route("/points")
@login_required
def index() -> Any:
    """A page of points (`?page=`) in tree order, narrowed by `?q=` (name, code, address,
    id), `?kind=` and `?unit=` (that unit and the units below)."""
    return _index_page()


def _index_page(typed: dict[str, str] | None = None) -> Any:
    """The list; `typed` is an add form refused, shown again as it was filled in (422)."""
    settings = edge.settings()
    session = edge.db()
    listing = pointlist.page(session, _filters(), request.args.get("page", 1, type=int),
                             scope=_view())
    scope = _scope()
    rows = []
    for row in listing.rows:
        token = points_mod.token_for(row.point, settings.secret_key)
        rows.append({
            **vars(row), "token": token,
            "editable": scope is not None and scope.covers(row.point.unit_id),
            "web": points_mod.web_link(settings.public_url, token),
            "short": points_mod.short_link(
                settings.public_url, points_mod.short_code_for(row.point, settings.secret_key)),
        })
    # The point's way in on every channel switched on (WeChat's code is fetched once).
    links = _channel_links([shown["token"] for shown in rows])
    for shown in rows:
        shown["links"] = links[shown["token"]]
    tree = units.tree(session)
    page = render_template(
        "points.html", rows=rows, listing=listing, units=tree, scan_channels=list(edge.channels()),
        unit_names={u.id: u.name for u, _ in tree}, kinds=points_mod.KIND_NAMES,
        print_warning=printing.warning(),
        list_args=_list_args(), filter_args={k: v for k, v in _list_args().items() if k != "page"},
        keeper=scope is not None, offered=units.offered(session, scope) if scope else [],
        parents=pointedit.parent_choices(session, scope) if scope else None,
        typed=typed or {"kind": "community"})
    return (page, 422) if typed else page


def _channel_links(tokens: list[str]) -> dict[str, list[PointLinks]]:
    """Each token's links on every enabled channel.

    The request's transaction ends first (these pages only read): a channel
    may call out over the network and keep what it fetched (WeChat's QR
    ticket) in a transaction of its own, which SQLite would not let start
    beside ours. Objects read so far are reloaded on next use.
    """
    edge.rollback()
    channels = edge.channels()
    return {token: channels.links(token) for token in tokens}


def _scope() -> Scope | None:
    """The units whose points the logged-in user keeps (None: none)."""
    return units.point_scope(edge.db(), edge.staff())


def _view() -> Scope:
    """The units whose points the logged-in user may see at all."""
    return units.point_view(edge.db(), edge.staff())


def _keeper_scope() -> Scope:
    """As `_scope`, for a view that changes points: 403 for someone who keeps none."""
    scope = _scope()
    if scope is None:
        abort(403)
    return scope


def _unit_arg(raw: str | None) -> int | None:
    raw = (raw or "").strip().lstrip("#")
    return int(raw) if raw.isdigit() else None


def _filters() -> pointlist.Filters:
    args = request.args
    kind = args.get("kind") or ""
    return pointlist.Filters(
        q=(args.get("q") or "").strip()[:pointlist.QUERY_LIMIT],
        kind=PointKind(kind) if kind in points_mod.KIND_NAMES else None,
        unit_id=args.get("unit", type=int))


def _list_args() -> dict[str, Any]:
    """The list's filters and page as they came in the URL (empty ones left out)."""
    return {k: v for k in LIST_ARGS if (v := (request.args.get(k) or "").strip())}


def _back_to(point_id: int) -> Any:
    """Back to the list the action was taken from (its filters and page ride on the form's URL)."""
    args: dict[str, Any] = {**_list_args(), "_anchor": f"point-{point_id}"}
    return redirect(url_for("points.index", **args))


def _point_or_404(point_id: int) -> CollectionPoint:
    """The point, if the user may see it; 404 alike for none and another unit's (existence
    does not leak), and for that the application log has a line with ids only."""
    point = edge.db().get(CollectionPoint, point_id)
    if point is None or not _view().covers(point.unit_id):
        if point is not None:
            log.warning("user %d refused point %d: outside their units", edge.staff().id,
                        point_id)
        abort(404)
    return point


def _kept_or_403(point: CollectionPoint) -> None:
    """403 for a point the user sees but may not change (it is not in a unit they keep)."""
    scope = _scope()
    if scope is None or not scope.covers(point.unit_id):
        abort(403)


@bp.route("/points/<int:point_id>/rotate", methods=["POST"])
@edge.roles_required(Role.ADMIN)
def rotate(point_id: int) -> Any:
    """Retire every printed code of the point and issue a new one (after a confirmation)."""
    point = _point_or_404(point_id)
    _kept_or_403(point)
    if not confirming.confirmed():
        return confirming.ask(f"更换「{point.name}」的二维码", [
            "网页聊天和 Telegram 的二维码、海报上的短网址都换成新的。",
            "已张贴、已打印的旧二维码和短网址全部失效：扫码会提示二维码已更换"
            + ("，并转到接续采集点。" if point.successor_id else "。"),
            "更换后请重新打印海报并张贴。",
        ], button="确认更换二维码", cancel=url_for("points.index", **_list_args(),
                                               _anchor=f"point-{point.id}"))
    point = points_mod.rotate(edge.db(), point)
    edge.commit()
    flash(_("已为「%(name)s」更换二维码，旧二维码已失效。请重新打印海报。", name=point.name), "success")
    return _back_to(point.id)


@bp.route("/points/<int:point_id>/revoke", methods=["POST"])
@edge.roles_required(Role.ADMIN)
def revoke(point_id: int) -> Any:
    """Withdraw the point's code (after a confirmation); "更换二维码" issues a new one later."""
    point = _point_or_404(point_id)
    _kept_or_403(point)
    if not confirming.confirmed():
        return confirming.ask(f"作废「{point.name}」的二维码", [
            "已张贴的二维码和短网址不再能开始反映：扫码会提示二维码已作废"
            + ("，并转到接续采集点。" if point.successor_id else "。"),
            "已经提交的信息和反映人的聊天不受影响。",
            "以后可以点“更换二维码”发放新的二维码。",
        ], button="确认作废二维码", cancel=url_for("points.index", **_list_args(),
                                               _anchor=f"point-{point.id}"))
    point = points_mod.revoke(edge.db(), point)
    edge.commit()
    flash(_("已作废「%(name)s」的二维码。", name=point.name), "success")
    return _back_to(point.id)


@bp.route("/points/<int:point_id>/successor", methods=["POST"])
@edge.roles_required(Role.ADMIN)
def successor(point_id: int) -> Any:
    """Where the point's retired codes send scanners (empty: nowhere)."""
    session = edge.db()
    point = _point_or_404(point_id)
    _kept_or_403(point)
    raw = (request.form.get("successor") or "").strip()
    target = points_mod.find(session, raw) if raw else None
    if target is not None and not _view().covers(target.unit_id):
        target = None  # another unit's point is not there for this user
    try:
        if raw and target is None:
            raise points_mod.PointError(f"找不到采集点「{raw}」 / no such point")
        points_mod.set_successor(session, point, target)
    except points_mod.PointError as exc:
        edge.rollback()
        flash(str(exc).split(" / ")[0], "error")
        return _back_to(point_id)
    edge.commit()
    flash(_("已设置「%(name)s」的接续采集点。", name=point.name) if target else
          _("已取消「%(name)s」的接续采集点。", name=point.name), "success")
    return _back_to(point.id)


@bp.route("/points", methods=["POST"])
@edge.roles_required(*units.POINT_KEEPERS)
def add() -> Any:
    """Create a point in a unit the user keeps (or its parent's unit); its token and QR codes
    follow from its id."""
    scope = _keeper_scope()
    typed = {k: (request.form.get(k) or "").strip()
             for k in ("name", "address", "contact", "kind", "parent", "unit")}
    session = edge.db()
    try:
        point = pointedit.add_point(
            session, scope, typed["name"], address=typed["address"], contact=typed["contact"],
            kind=typed["kind"] or "community",
            parent=pointedit.find_parent(session, typed["parent"]) if typed["parent"] else None,
            unit_id=_unit_arg(typed["unit"]))
    except points_mod.PointError as exc:
        edge.rollback()
        flash(str(exc).split(" / ")[0] + "（未添加，已填写的内容保留在下方）", "error")
        return _index_page(typed)
    edge.commit()
    unit = units.get(session, point.unit_id) if point.unit_id is not None else None
    flash(_("已添加采集点「%(name)s」，属于「%(unit)s」。", name=point.name, unit=unit.name)
          if unit is not None else _("已添加采集点「%(name)s」。", name=point.name), "success")
    return redirect(url_for("points.index", page=pointlist.page_of(session, point.id, scope=_view()),
                            _anchor=f"point-{point.id}"))


@bp.route("/points/<int:point_id>/edit", methods=["GET", "POST"])
@edge.roles_required(*units.POINT_KEEPERS)
def edit(point_id: int) -> Any:
    """Change a point's name, kind, address, contact, parent and unit."""
    scope = _keeper_scope()
    session = edge.db()
    point = _point_or_404(point_id)
    if not scope.covers(point.unit_id):  # listed to them, not theirs to change
        edge.refuse(_("采集点「%(name)s」不属于您管理的单位，不能修改。", name=point.name))
    parent = session.get(CollectionPoint, point.parent_id) if point.parent_id else None
    current = units.get(session, point.unit_id) if point.unit_id else None
    values = {"name": point.name, "kind": point.kind.value, "address": point.address or "",
              "contact": point.contact or "",
              "parent": (parent.code or str(parent.id)) if parent else "",
              "unit": str(point.unit_id or "")}
    error = None
    if request.method == "POST":
        form = request.form
        values = {k: (form.get(k) or "").strip() for k in values}
        try:
            moved = pointedit.update_point(
                session, scope, point, name=values["name"], kind=values["kind"],
                address=values["address"], contact=values["contact"],
                parent=pointedit.find_parent(session, values["parent"]) if values["parent"] else None,
                unit_id=_unit_arg(values["unit"]))
        except points_mod.PointError as exc:
            # Shown again as typed, with the reason, so nothing typed is lost.
            edge.rollback()
            error = str(exc).split(" / ")[0]
        else:
            edge.commit()
            flash(_("已保存采集点「%(name)s」。", name=point.name) + _adopted(moved), "success")
            return _back_to(point.id)
    offered = units.offered(session, scope)
    page = render_template(
        "point_edit.html", point=point, kinds=points_mod.KIND_NAMES, offered=offered,
        current_unit=current, offered_ids={u.id for u, _ in offered}, values=values, error=error,
        parents=pointedit.parent_choices(session, scope), list_args=_list_args())
    return (page, 422) if error else page


def _adopted(moved: pointedit.Moved) -> str:
    return (_("其中 %(count)s 条原先未指定单位的信息一并归入新单位。", count=moved.reports)
            if moved.reports else "")


@bp.route("/points/move", methods=["POST"])
@edge.roles_required(*units.POINT_KEEPERS)
def move() -> Any:
    """Put the ticked points in one unit, all or none."""
    scope = _keeper_scope()
    session = edge.db()
    ids = [int(v) for v in request.form.getlist("point") if v.isdigit()]
    unit_id = _unit_arg(request.form.get("unit"))
    try:
        if unit_id is None:
            raise points_mod.PointError("请选择要移入的单位 / choose a unit")
        moved = pointedit.move_points(session, scope, ids, unit_id)
    except points_mod.PointError as exc:
        edge.rollback()
        flash(str(exc).split(" / ")[0], "error")
        return redirect(url_for("points.index", **_list_args()))
    edge.commit()
    unit = units.get(session, unit_id)
    already = len(set(ids)) - moved.points
    where = unit.name if unit else unit_id
    moved_text = (_("已把 %(count)s 个采集点移到「%(unit)s」（其中 %(already)s 个本来就在该单位）。",
                    count=len(set(ids)), unit=where, already=already) if already else
                  _("已把 %(count)s 个采集点移到「%(unit)s」。", count=len(set(ids)), unit=where))
    flash(moved_text + _adopted(moved), "success")
    return redirect(url_for("points.index", **_list_args()))


@bp.route("/points/<int:point_id>/qr/<kind>.<fmt>")
@login_required
def qr_image(point_id: int, kind: str, fmt: str) -> Any:
    """The QR code of a point on one channel (`kind`: web, telegram, wechat ... whichever are
    switched on); `?download=1` saves it as a file."""
    channel = edge.channels().get(Channel(kind)) if kind in set(Channel) else None
    if channel is None or fmt not in MIME:
        abort(404)
    point = _point_or_404(point_id)
    settings = edge.settings()
    token = points_mod.token_for(point, settings.secret_key)
    found = next((link for link in _channel_links([token])[token] if link.channel == channel.kind),
                 None)
    if found is None:
        abort(404)
    link = found.qr_payload
    if request.args.get("download") and (warned := printing.confirm_first("二维码")) is not None:
        return warned
    data = qr.png(link) if fmt == "png" else qr.svg(link)
    resp = Response(data, mimetype=MIME[fmt])
    if request.args.get("download"):
        filename = files.safe_filename(f"{point.name}-{found.label}二维码.{fmt}", MIME[fmt])
        # An ASCII name for old clients, the Chinese one for the rest (RFC 6266).
        resp.headers["Content-Disposition"] = (
            f'attachment; filename="point-{point.id}-{kind}.{fmt}"; '
            f"filename*=UTF-8''{quote(filename)}"
        )
    resp.headers["Cache-Control"] = "private, max-age=300"
    return resp


@bp.route("/points/import", methods=["POST"])
@edge.roles_required(*units.POINT_KEEPERS)
def import_file() -> Any:
    """Add or update points from an uploaded CSV or XLSX, only in units the user keeps;
    any bad line and nothing changes."""
    scope = _keeper_scope()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要导入的 CSV 或 XLSX 文件。", "error")
        return redirect(url_for("points.index"))
    result = pointio.import_points(edge.db(), upload.filename, upload.read(), scope)
    if not result.ok:
        edge.rollback()
        return render_template("points_import.html", filename=upload.filename,
                               errors=result.errors, ignored=result.ignored), 422
    edge.commit()
    notes = [f"导入完成：新增 {result.created} 个，更新 {result.updated} 个采集点"]
    if result.generated:
        notes.append(f"{result.generated} 行没有编码，已自动生成（导出即可看到）")
    if result.ignored:
        notes.append("未使用的列：" + "、".join(result.ignored))
    flash("；".join(notes) + "。", "success")
    return redirect(url_for("points.index"))


@bp.route("/points/export.<fmt>")
@login_required
def export_file(fmt: str) -> Any:
    """The points the user may see as CSV or XLSX, in the columns the import reads."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    session, view = edge.db(), _view()
    data = pointio.export_csv(session, view) if fmt == "csv" else pointio.export_xlsx(session, view)
    mime = ("text/csv; charset=utf-8" if fmt == "csv" else
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp = Response(data, mimetype=mime)
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"points.{fmt}\"; filename*=UTF-8''{quote(f'采集点.{fmt}')}")
    return resp


@bp.route("/points/posters.pdf")
@login_required
def posters_pdf() -> Any:
    """Posters as one A4 PDF: `?point=ID` for one point, `?unit=ID` for a unit, else all."""
    session = edge.db()
    settings = edge.settings()
    point = request.args.get("point", type=int)
    unit = request.args.get("unit", type=int)
    chosen = posters.selection(session, unit_id=unit,
                               point_ids=[point] if point is not None else None, scope=_view())
    if not chosen:
        abort(404)
    if (warned := printing.confirm_first("海报")) is not None:
        return warned
    codes = _channel_links([points_mod.token_for(p, settings.secret_key) for p in chosen])
    data = qr_posters.render(
        posters.poster_for(p, settings.secret_key, settings.public_url,
                           [(ln.caption, ln.qr_payload)
                            for ln in codes[points_mod.token_for(p, settings.secret_key)]])
        for p in chosen)
    name = f"{chosen[0].name}-海报.pdf" if point is not None else "采集点海报.pdf"
    resp = Response(data, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"posters.pdf\"; filename*=UTF-8''{quote(name)}")
    return resp
