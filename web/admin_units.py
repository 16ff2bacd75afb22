"""The admin's units pages (系统管理 → 单位): add, rename, move under another parent, retire.

The routes hang on the admin blueprint; an administrator of a unit changes only
that unit and the units below it (`store.network.units.unit_scope`).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy.orm import Session

from store import access
from store.models import CollectionPoint, Unit, UnitKind, User
from store.network import units
from store.network.units import Scope, UnitError
from web import confirming, edge
from web.admin import admin_only, bp
from web.i18n import _

KIND_NAMES = {"cppcc": "政协", "party": "民主党派", "federation": "工商联", "committee": "专委会",
              "department": "政府部门", "other": "其他"}
ACTIONS = ("rename", "move", "retire", "restore")


def _scope() -> Scope:
    scope = units.unit_scope(edge.db(), edge.staff())
    if scope is None:  # admin_only lets only administrators in
        abort(403)
    return scope


def _parent_arg(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() else None


def _counts(session: Session, column: Any, active: Any) -> dict[int, int]:
    """Active rows per unit (points or staff), for the list."""
    return {uid: n for uid, n in session.execute(
        sa.select(column, sa.func.count()).where(column.is_not(None), active.is_(True))
        .group_by(column))}


@bp.route("/units", methods=["GET", "POST"])
@admin_only
def unit_list() -> Any:
    """The units as a tree with their ids; POST adds one."""
    session = edge.db()
    scope = _scope()
    if request.method == "POST":
        form = request.form
        try:
            unit = units.create(session, form.get("name", ""), form.get("kind", ""),
                                _parent_arg(form.get("parent_id")), scope)
        except UnitError as exc:
            edge.rollback()
            flash(str(exc).split(" / ")[0], "error")
            return redirect(url_for("admin.unit_list"))
        edge.commit()
        flash(_("已添加单位「%(name)s」（ID %(id)s）。", name=unit.name, id=unit.id), "success")
        return redirect(url_for("admin.unit_list", _anchor=f"unit-{unit.id}"))
    return render_template(
        "admin_units.html", tree=units.tree(session), kinds=list(UnitKind), kind_names=KIND_NAMES,
        offered=units.offered(session, scope), scope=scope,
        points=_counts(session, CollectionPoint.unit_id, CollectionPoint.active),
        staff=_counts(session, User.unit_id, User.active))


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
@admin_only
def unit_edit(unit_id: int) -> Any:
    """One unit: rename it, move it under another unit, retire or restore it (`action`)."""
    session = edge.db()
    scope = _scope()
    unit = session.get(Unit, unit_id)
    if unit is None:
        abort(404)
    if request.method == "POST":
        action = request.form.get("action", "")
        if action not in ACTIONS:
            abort(400)
        try:
            if action == "rename":
                units.rename(session, unit, request.form.get("name", ""), scope)
                done = f"已改名为「{unit.name}」。"
            elif action == "move":
                units.move(session, unit, _parent_arg(request.form.get("parent_id")), scope)
                done = "已移到新的上级单位。" if unit.parent_id else "已设为顶级单位。"
            elif action == "retire":
                units.retire(session, unit, scope)
                if not confirming.confirmed():
                    # It could be retired: say what that means before it is.
                    edge.rollback()
                    return confirming.ask(f"撤销单位「{unit.name}」", [
                        "该单位不再用于新的采集点、工作人员和转办。",
                        "它的信息、采集点和工作人员的历史记录都保留，统计照常计入。",
                        "以后可以在本页“恢复单位”。",
                    ], button="确认撤销单位", cancel=url_for("admin.unit_edit", unit_id=unit_id))
                done = f"已撤销单位「{unit.name}」。它的历史信息保留，不再用于新的采集点和工作人员。"
            else:
                units.restore(session, unit, scope)
                done = f"已恢复单位「{unit.name}」。"
        except UnitError as exc:
            edge.rollback()
            flash(str(exc).split(" / ")[0], "error")
            return redirect(url_for("admin.unit_edit", unit_id=unit_id))
        edge.commit()
        flash(done, "success")
        return redirect(url_for("admin.unit_edit", unit_id=unit_id))
    below = access.unit_subtree(session, unit.id)
    directory = units.Directory(session)
    return render_template(
        "admin_unit.html", unit=unit, kind_names=KIND_NAMES, mine=scope.covers(unit.id),
        path=directory.path(unit.parent_id) if unit.parent_id else "",
        parents=[(u, d) for u, d in units.offered(session, scope) if u.id not in below],
        top_allowed=scope.everything,
        points=session.scalar(sa.select(sa.func.count()).where(
            CollectionPoint.unit_id == unit.id, CollectionPoint.active.is_(True))),
        staff=session.scalar(sa.select(sa.func.count()).where(
            User.unit_id == unit.id, User.active.is_(True))))
