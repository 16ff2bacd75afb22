"""Uploaded files at rest: random names outside the web root, handed out only after access checks."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from minyi.cli.init import rename_files
from minyi.settings import Settings
from store.conversation.types import IncomingFile
from store.models import Attachment, Report, Role
from store.network import points as points_mod
from store.reports import files
from tests.conftest import Network, staff
from tests.domain_support import make_report
from tests.web_support import login

PHOTO = b"\xff\xd8\xff\xe0" + b"a leaflet everyone has" * 20


def _attach(session: Session, settings: Settings, report: Report, data: bytes = PHOTO) -> Attachment:
    stored = files.keep(settings.upload_dir, IncomingFile("photo", "现场.jpg", "image/jpeg",
                                                          len(data), data))
    row = stored.attachment(report_id=report.id)
    session.add(row)
    session.commit()
    return row


def test_it_names_uploads_at_random_and_never_by_their_content(settings: Settings) -> None:
    digest = hashlib.sha256(PHOTO).hexdigest()
    first = files.keep(settings.upload_dir, IncomingFile("photo", "a.jpg", "image/jpeg",
                                                         len(PHOTO), PHOTO))
    second = files.keep(settings.upload_dir, IncomingFile("photo", "a.jpg", "image/jpeg",
                                                          len(PHOTO), PHOTO))
    assert first.path != second.path
    for stored in (first, second):
        assert re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{32}", stored.path)
        assert digest not in stored.path and stored.sha256 == digest  # kept, to spot a resend
        assert (settings.upload_dir / stored.path).read_bytes() == PHOTO
    # The instance folder, not anything the web server serves by path.
    web_root = (Path(__file__).parent.parent / "web" / "static").resolve()
    assert web_root not in settings.upload_dir.resolve().parents


def test_it_answers_a_guessed_address_of_another_units_file_with_404(
    client: FlaskClient, session: Session, settings: Settings, network: Network
) -> None:
    ours = points_mod.create_point(session, "城关镇", unit_id=network.county.id)
    theirs = points_mod.create_point(session, "东山镇", unit_id=network.other_county.id)
    session.commit()
    mine = _attach(session, settings, make_report(session, ours, unit=network.county))
    other = _attach(session, settings, make_report(session, theirs, unit=network.other_county),
                    b"\xff\xd8\xff\xe0 their photo")
    staff(session, "county", Role.CLERK, network.county)

    login(client, "county")
    assert client.get(f"/files/{mine.id}").data == PHOTO
    for guess in (other.id, other.id + 100):
        resp = client.get(f"/files/{guess}")
        assert resp.status_code == 404 and b"their photo" not in resp.data
    # Nor by the path on disk or the content's hash, under any address.
    for guess in (f"/uploads/{other.storage_path}", f"/files/{other.sha256}",
                  f"/static/../instance/uploads/{other.storage_path}"):
        assert client.get(guess).status_code == 404, guess


def test_it_hands_a_department_only_the_files_of_reports_transferred_to_it(
    client: FlaskClient, session: Session, settings: Settings, network: Network
) -> None:
    point = points_mod.create_point(session, "城关镇", unit_id=network.county.id)
    session.commit()
    row = _attach(session, settings, make_report(session, point, unit=network.county))
    staff(session, "roads", Role.DEPARTMENT, network.roads)
    login(client, "roads")
    assert client.get(f"/files/{row.id}").status_code == 404


def test_it_gives_files_named_by_their_hash_random_names(
    session: Session, settings: Settings, Session_: sessionmaker[Session], network: Network
) -> None:
    point = points_mod.create_point(session, "城关镇", unit_id=network.county.id)
    session.commit()
    digest = hashlib.sha256(PHOTO).hexdigest()
    old = f"{digest[:2]}/{digest}.jpg"
    (settings.upload_dir / digest[:2]).mkdir(parents=True)
    (settings.upload_dir / old).write_bytes(PHOTO)
    # Two reports kept the same file (content-addressed storage shared it).
    for _ in range(2):
        report = make_report(session, point, unit=network.county)
        session.add(Attachment(report_id=report.id, kind="photo", filename="a.jpg",
                               content_type="image/jpeg", size=len(PHOTO), sha256=digest,
                               storage_path=old))
    session.commit()

    assert rename_files(settings, Session_) == 1
    session.expire_all()
    paths = set(session.scalars(sa.select(Attachment.storage_path)))
    (new,) = paths
    assert re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{32}", new)
    assert (settings.upload_dir / new).read_bytes() == PHOTO
    assert not (settings.upload_dir / old).exists()
    assert rename_files(settings, Session_) == 0  # a rerun finds nothing left
