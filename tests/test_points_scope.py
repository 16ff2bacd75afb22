"""Collection points are seen within one's units (issue 15): a town's staff cannot list,
export, print or re-code another unit's points; the export is inert in a spreadsheet.

Personas: a township clerk and a township admin (城关镇政协联络组), a county viewer, the
network's admin; points of the township, the county above it and the neighbour county.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import openpyxl
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from store.models import CollectionPoint, Role, User
from store.network import pointio, points
from store.network.units import EVERYTHING
from tests.conftest import Network, staff
from tests.web_support import csrf, login

CONTACT = "13911112222"


@dataclass
class World:
    town: CollectionPoint  # 城关镇服务站 (township)
    county: CollectionPoint  # 城关县便民中心 (county, above the township)
    theirs: CollectionPoint  # 东山县便民中心 (the neighbour county), contact CONTACT


@pytest.fixture
def world(session: Session, network: Network) -> World:
    county = points.create_point(session, "城关县便民中心", kind="county", unit_id=network.county.id)
    town = points.create_point(session, "城关镇服务站", kind="township", parent=county,
                               unit_id=network.township.id, contact="镇联络员 13800001111")
    theirs = points.create_point(session, "东山县便民中心", kind="county",
                                 unit_id=network.other_county.id, contact=f"王主任 {CONTACT}")
    session.commit()
    return World(town, county, theirs)


def _as(client: FlaskClient, session: Session, network: Network, name: str, role: Role,
        unit: str | None) -> FlaskClient:
    staff(session, name, role, getattr(network, unit) if unit else None)
    assert login(client, name).status_code == 302
    return client


def test_a_town_clerk_lists_and_exports_only_the_towns_points(
        client: FlaskClient, session: Session, network: Network, world: World) -> None:
    _as(client, session, network, "town-clerk", Role.CLERK, "township")

    page = client.get("/points").get_data(as_text=True)
    assert "城关镇服务站" in page and "东山县便民中心" not in page and CONTACT not in page
    assert f"point-{world.county.id}" not in page
    for fmt in ("csv", "xlsx"):
        data = client.get(f"/points/export.{fmt}").data
        text = data.decode("utf-8-sig") if fmt == "csv" else _xlsx_text(data)
        assert "城关镇服务站" in text and "东山县便民中心" not in text and CONTACT not in text
        assert "城关县便民中心" not in text


def test_another_units_point_is_not_there_for_qr_codes_posters_or_edits(
        client: FlaskClient, session: Session, network: Network, world: World) -> None:
    _as(client, session, network, "town-clerk", Role.CLERK, "township")
    theirs = world.theirs.id
    for url in (f"/points/{theirs}/qr/web.png", f"/points/{theirs}/qr/web.svg",
                f"/points/posters.pdf?point={theirs}", f"/points/posters.pdf?unit={network.other_county.id}",
                f"/points/{theirs}/edit"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/points/{world.town.id}/qr/web.png").status_code == 200
    pdf = client.get("/points/posters.pdf?confirm=1")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"


def test_a_unit_admin_cannot_rotate_or_revoke_another_units_code(
        client: FlaskClient, session: Session, network: Network, world: World) -> None:
    _as(client, session, network, "town-admin", Role.ADMIN, "township")
    token = csrf(client, "/points")
    for action in ("rotate", "revoke"):
        resp = client.post(f"/points/{world.theirs.id}/{action}",
                           data={"csrf_token": token, "confirm": "1"})
        assert resp.status_code == 404, action
        resp = client.post(f"/points/{world.county.id}/{action}",
                           data={"csrf_token": token, "confirm": "1"})
        assert resp.status_code == 404, action  # the county above is not the town's either
    # Nor point their own point's retired codes at another unit's point.
    resp = client.post(f"/points/{world.town.id}/successor",
                       data={"csrf_token": token, "successor": str(world.theirs.id)})
    assert resp.status_code == 302
    session.rollback()
    session.expire_all()
    theirs = session.get(CollectionPoint, world.theirs.id)
    assert theirs is not None and theirs.token_version == 1 and theirs.revoked_at is None
    assert session.get(CollectionPoint, world.town.id).successor_id is None  # type: ignore[union-attr]

    # Their own point: rotated as asked.
    resp = client.post(f"/points/{world.town.id}/rotate", data={"csrf_token": token, "confirm": "1"})
    assert resp.status_code == 302
    session.rollback()
    session.expire_all()
    assert session.get(CollectionPoint, world.town.id).token_version == 2  # type: ignore[union-attr]


def test_a_visible_point_the_role_may_not_change_is_a_403(
        client: FlaskClient, session: Session, network: Network, world: World) -> None:
    _as(client, session, network, "county-clerk", Role.CLERK, "county")
    token = csrf(client, "/points")
    resp = client.post(f"/points/{world.town.id}/rotate", data={"csrf_token": token, "confirm": "1"})
    assert resp.status_code == 403
    assert client.get(f"/points/{world.town.id}/qr/web.png").status_code == 200


def test_the_networks_admin_still_sees_every_point(client: FlaskClient, admin: User,
                                                   world: World) -> None:
    login(client, "alice")
    page = client.get("/points").get_data(as_text=True)
    assert all(name in page for name in ("城关镇服务站", "城关县便民中心", "东山县便民中心"))
    assert CONTACT in client.get("/points/export.csv").data.decode("utf-8-sig")


# -- formulas in the export --------------------------------------------------------------

NASTY = ["=HYPERLINK(\"http://evil.test\",\"点我\")", "+1+1", "-2+3", "@SUM(A1:A2)",
         "\t=1+1", "\r=1+1"]


def _xlsx_text(data: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return "\n".join(str(c.value) for row in book.active.iter_rows() for c in row if c.value)


def test_the_export_writes_formula_like_cells_as_text(client: FlaskClient, admin: User,
                                                      session: Session) -> None:
    for i, nasty in enumerate(NASTY):
        points.create_point(session, f"{nasty}采集点{i}", address=nasty, contact=nasty)
    session.commit()
    login(client, "alice")

    book = openpyxl.load_workbook(io.BytesIO(client.get("/points/export.xlsx").data))
    cells = [c for row in book.active.iter_rows(min_row=2) for c in row if c.value]
    assert cells and all(c.data_type == "s" for c in cells)
    # Points keep names and addresses trimmed; what is left starts with the formula sign.
    assert {c.value for c in cells} >= {n.strip() for n in NASTY}

    rows = list(csv.reader(io.StringIO(client.get("/points/export.csv").data.decode("utf-8-sig"))))
    written = [cell for row in rows[1:] for cell in row[1:]]
    assert not any(cell.startswith(pointio.FORMULA_START) for cell in written)
    assert {f"'{n.strip()}" for n in NASTY} <= set(written)


def test_an_exported_file_imports_back_unchanged(client: FlaskClient, admin: User,
                                                 session: Session) -> None:
    points.create_point(session, "=1+1 采集点", address="-楼下", contact="@王")
    session.commit()
    login(client, "alice")
    for fmt in ("csv", "xlsx"):
        data = client.get(f"/points/export.{fmt}").data
        result = pointio.import_points(session, f"points.{fmt}", data, EVERYTHING)
        assert result.ok and result.created == 0
        session.commit()
        point = session.scalars(sa.select(CollectionPoint)).one()
        assert (point.name, point.address, point.contact) == ("=1+1 采集点", "-楼下", "@王")
