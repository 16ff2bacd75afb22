"""Uploads judged by their bytes (issue 15): a file is what its magic number says, a photo is
stored upright and without where it was taken, and a decompression bomb is refused with a clear
message while everything the chat had stays."""

from __future__ import annotations

import io

import sqlalchemy as sa
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy.orm import Session

from minyi.settings import Settings
from store.conversation.types import IncomingFile
from store.models import Attachment, CollectionPoint, OutboxMessage, Report, User
from store.reports import content, files, lifecycle
from tests.chat_driver import Chat
from tests.conftest import Network
from tests.form_walk import walk
from tests.test_intake import _ecology, _form, _only_report, _post, county_point, ken  # noqa: F401
from tests.test_webchat import Visitor, _to_photos
from tests.web_support import login

GPS_IFD = 0x8825


def located_photo(size: tuple[int, int] = (40, 20)) -> bytes:
    """A JPEG a phone took lying on its side (orientation 6) at a known place."""
    img = Image.new("RGB", size, (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Phone maker"
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (30.0, 15.0, 7.5), 3: "E", 4: (120.0, 9.0, 1.0)})
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 90, 0)).save(out, "PNG")
    return out.getvalue()


def bomb() -> bytes:
    """27 KB on the wire, 225 megapixels once decoded."""
    out = io.BytesIO()
    Image.new("1", (15000, 15000)).save(out, "PNG")
    return out.getvalue()


def _stored(settings: Settings, att: Attachment) -> Image.Image:
    return Image.open(settings.upload_dir / att.storage_path)


def _chat_files(session: Session) -> list[Attachment]:
    session.rollback()
    return list(session.scalars(sa.select(Attachment).order_by(Attachment.id)))


def test_it_knows_a_file_by_its_bytes_not_its_name() -> None:
    assert content.sniff(png(), "application/pdf", "scan.pdf") == "image/png"
    assert content.sniff(located_photo(), "", "x.png") == "image/jpeg"
    assert content.sniff(b"%PDF-1.7\n...", "image/jpeg", "a.jpg") == "application/pdf"
    assert content.sniff(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "image/jpeg", "a.jpg") is None
    assert content.sniff("东河排污口".encode(), "text/plain", "a.txt") == "text/plain"
    # A photo without location or rotation is kept byte for byte.
    assert content.scrub(png(), "image/png") == png()


def test_the_web_chat_keeps_a_png_named_pdf_as_a_png(
        client: FlaskClient, point_token: str, session: Session, settings: Settings) -> None:
    v = Visitor(client, point_token)
    _to_photos(v)
    got = v._take(v.upload(png(), "材料.pdf", "application/pdf"))
    assert "已收到第 1 个文件" in v.texts(got)
    (att,) = _chat_files(session)
    assert (att.content_type, att.kind, att.filename) == ("image/png", "photo", "材料.png")


def test_the_web_chat_refuses_a_program_named_jpg(
        client: FlaskClient, point_token: str, session: Session) -> None:
    v = Visitor(client, point_token)
    _to_photos(v)
    got = v._take(v.upload(b"MZ\x90\x00" + b"\x00" * 200, "路灯.jpg", "image/jpeg"))
    assert "暂不支持这种文件" in v.texts(got)
    assert _chat_files(session) == []


def test_the_web_chat_stores_a_photo_upright_and_without_its_location(
        client: FlaskClient, point_token: str, session: Session, settings: Settings) -> None:
    v = Visitor(client, point_token)
    _to_photos(v)
    sent = located_photo()
    assert Image.open(io.BytesIO(sent)).getexif().get_ifd(GPS_IFD)  # the test's photo has one
    v._take(v.upload(sent, "路灯.jpg", "image/jpeg"))
    (att,) = _chat_files(session)
    kept = _stored(settings, att)
    assert kept.size == (20, 40)  # turned as the camera said
    exif = kept.getexif()
    assert not exif.get_ifd(GPS_IFD) and GPS_IFD not in exif and 0x0112 not in exif
    assert exif.get(0x010F) == "Phone maker"  # other camera data stays
    assert att.size == (settings.upload_dir / att.storage_path).stat().st_size


def test_a_bomb_is_refused_with_a_clear_message_and_the_chat_loses_nothing(
        client: FlaskClient, point_token: str, session: Session) -> None:
    v = Visitor(client, point_token)
    _to_photos(v)
    v._take(v.upload(png(), "first.png", "image/png"))
    got = v._take(v.upload(bomb(), "photo.png", "image/png"))
    assert "这张图片像素太多（超过 200 百万像素），无法收下。已收到的内容都还在" in v.texts(got)
    assert [a.filename for a in _chat_files(session)] == ["first.png"]
    v.press("完成")  # still goes on, with the first photo
    for answer in walk(since="photos", skip={"analysis"})[1:]:
        v.answer(answer)
    assert "提交成功" in v.texts(v.press("确认提交"))
    assert [a.report_id is not None for a in _chat_files(session)] == [True]


def test_the_telegram_chat_refuses_a_bomb_and_strips_a_location(
        chat: Chat, session: Session, settings: Settings, point_token: str) -> None:
    chat.command("start", point_token)
    chat.fill_report(until="photos")
    refused = chat.photo(bomb(), "bomb.png")
    assert "像素太多" in refused[0].text
    chat.photo(located_photo(), "p.jpg")
    (att,) = _chat_files(session)
    assert not _stored(settings, att).getexif().get_ifd(GPS_IFD)


def test_the_counter_form_strips_the_location_and_refuses_a_bomb(
        client: FlaskClient, session: Session, settings: Settings, ken: User,  # noqa: F811
        county_point: CollectionPoint, network: Network) -> None:  # noqa: F811
    login(client, "ken")
    refused = _post(client, {**_form(client), **_ecology(county_point)}, [(bomb(), "大.png")])
    assert refused.status_code == 422  # the form again, with what was typed
    assert "东河3号排污口雨后排出黑水" in refused.get_data(as_text=True)
    assert "像素太多" in refused.get_data(as_text=True)
    assert _chat_files(session) == []

    resp = _post(client, {**_form(client), **_ecology(county_point)}, [(located_photo(), "口.jpg")])
    assert resp.status_code == 302, resp.get_data(as_text=True)
    (att,) = _only_report(session).attachments
    assert att.content_type == "image/jpeg"
    assert not _stored(settings, att).getexif().get_ifd(GPS_IFD)


def test_keep_is_the_one_gate_for_every_path(settings: Settings) -> None:
    """Supplements and drafts save through `files.keep` too: it strips what `check_file` let by."""
    data = located_photo()
    stored = files.keep(settings.upload_dir, IncomingFile("photo", "a.jpg", "image/jpeg",
                                                          len(data), data))
    kept = Image.open(settings.upload_dir / stored.path)
    assert not kept.getexif().get_ifd(GPS_IFD) and stored.size != len(data)


def test_an_iphone_photo_keeps_its_format_and_loses_its_location(settings: Settings) -> None:
    img = Image.new("RGB", (64, 32), (10, 200, 10))
    exif = Image.Exif()
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (30.0, 1.0, 2.0)})
    out = io.BytesIO()
    img.save(out, "HEIF", exif=exif.tobytes())
    data = out.getvalue()
    assert content.sniff(data, "application/octet-stream", "IMG_0001.HEIC") == "image/heic"
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)
    stored = files.keep(settings.upload_dir, IncomingFile("photo", "IMG_0001.HEIC", "image/heic",
                                                          len(data), data))
    kept = Image.open(settings.upload_dir / stored.path)
    assert kept.format == "HEIF" and kept.size == (64, 32) and stored.content_type == "image/heic"
    assert not kept.getexif().get_ifd(GPS_IFD)


def test_a_supplement_refuses_a_bomb_and_keeps_a_photo_without_its_location(
        chat: Chat, point_token: str, session: Session, settings: Settings, clerk: User) -> None:
    chat.command("start", point_token)
    chat.fill_report(photo=False)
    chat.press("确认提交")
    session.rollback()
    (report,) = session.scalars(sa.select(Report)).all()
    lifecycle.apply(session, report, lifecycle.Action.RETURN, user=clerk, note="请补充现场照片")
    session.commit()
    [owed] = session.scalars(sa.select(OutboxMessage))
    chat.send(callback=owed.buttons[0][0]["data"])

    refused = chat.photo(bomb(), "bomb.png")
    assert "像素太多" in refused[0].text
    chat.photo(located_photo(), "p.jpg")
    assert "补充内容已提交" in chat.press("提交补充")[0].text
    session.rollback()
    (att,) = session.scalars(sa.select(Attachment).where(Attachment.report_id == report.id))
    assert att.supplement and not _stored(settings, att).getexif().get_ifd(GPS_IFD)
