"""What an uploaded file really is, judged by its bytes, and photos made safe to keep.

A name and a browser's content type are the sender's word; `sniff` reads the
first bytes instead (magic numbers), so a PNG named `.pdf` is a PNG and a
program named `.jpg` is nothing we accept. `problem` refuses pictures whose
pixel count could exhaust memory when decoded (decompression bombs) and
pictures that do not decode. `scrub` is applied by `store.reports.files.keep`
before a photo is written: the camera's rotation is applied to the pixels and
the location (EXIF GPS, XMP) is dropped, so a stored photo never says where
it was taken.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

import pillow_heif
from PIL import Image, ImageOps

# A 200-megapixel phone photo still opens; a small file claiming more is refused unread.
MAX_PIXELS = 200_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

PHOTOS = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic", "image/gif"})
_OLE = frozenset({"application/msword", "application/vnd.ms-excel"})
_OLE_EXT = {".doc": "application/msword", ".xls": "application/vnd.ms-excel"}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heim", b"heis"}
_EXT = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/heic": ".heic",
        "image/gif": ".gif", "application/pdf": ".pdf", "application/msword": ".doc",
        "application/vnd.ms-excel": ".xls", "text/plain": ".txt",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx"}
_GPS_IFD = 0x8825
_ORIENTATION = 0x0112
_PIL_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF",
               "image/heic": "HEIF"}
# iPhones' photos: opened (and turned upright, as libheif does) and saved again through libheif.
pillow_heif.register_heif_opener()


def sniff(data: bytes, claimed: str = "", filename: str = "") -> str | None:
    """The content type `data` has by its bytes, or None for anything we do not recognise.

    Old Office files share one container; which of Word or Excel it is comes from the
    sender's type or name, as nothing cheaper tells them apart. Plain text has no
    magic number: it is text when the sender says so and it decodes.
    """
    head = data[:32]
    if head.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "image/heic"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        if claimed in _OLE:
            return claimed
        return _OLE_EXT.get(PurePath(filename.lower()).suffix, "application/msword")
    if head.startswith(b"PK\x03\x04"):
        return _office_zip(data)
    # Text has no magic number: it must say it is text, and be text.
    said_text = claimed == "text/plain" or PurePath(filename.lower()).suffix == ".txt"
    return "text/plain" if said_text and _is_text(data) else None


def _office_zip(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, ValueError):
        return None
    if any(n.startswith("word/") for n in names):
        return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    if any(n.startswith("xl/") for n in names):
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return None


def _is_text(data: bytes) -> bool:
    if b"\x00" in data[:65536]:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return True
    return False


def extension(content_type: str) -> str:
    return _EXT.get(content_type, ".bin")


@dataclass(frozen=True)
class Refusal:
    key: str  # a message key under invalid.
    params: dict[str, object]


def problem(data: bytes, content_type: str) -> Refusal | None:
    """Why a picture of `content_type` cannot be kept: more pixels than memory allows.

    The pixel count is read from the header before anything is decoded. A picture
    whose header does not parse is kept as sent (a damaged photo is still evidence);
    it never decodes, so it cannot blow up either.
    """
    if content_type not in _PIL_FORMAT:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                if width * height > MAX_PIXELS:
                    return _too_large()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return _too_large()
    except (OSError, ValueError, SyntaxError):
        return None
    return None


def _too_large() -> Refusal:
    return Refusal("invalid.image_too_large", {"max": MAX_PIXELS // 1_000_000})


def scrub(data: bytes, content_type: str) -> bytes:
    """The photo without its location, rotated as the camera said; other files as they are.

    A picture with neither location nor rotation nor XMP is kept byte for byte.
    """
    if content_type not in _PIL_FORMAT:
        return data
    try:
        return _scrubbed(data, content_type)
    except (OSError, ValueError, SyntaxError):
        return data  # Pillow cannot decode it: kept as sent (a damaged photo is still evidence)


def _scrubbed(data: bytes, content_type: str) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        exif = img.getexif()
        rotated = exif.get(_ORIENTATION, 1) not in (1, None)
        located = _GPS_IFD in exif
        xmp = any(k in img.info for k in ("xmp", "XML:com.adobe.xmp"))
        if not (rotated or located or xmp):
            return data
        fmt = img.format or _PIL_FORMAT[content_type]
        upright = ImageOps.exif_transpose(img)
        kept = upright.getexif()
        kept.pop(_GPS_IFD, None)
        kept.pop(_ORIENTATION, None)
        out = io.BytesIO()
        options: dict[str, object] = {"exif": kept.tobytes()}
        if fmt == "JPEG":
            options.update(quality=92)
            if upright.mode not in ("RGB", "L", "CMYK"):
                upright = upright.convert("RGB")
        if fmt in ("WEBP", "HEIF"):
            options.update(quality=92)
        if fmt == "GIF":
            options = {}
        upright.save(out, format=fmt, **options)
        return out.getvalue()
