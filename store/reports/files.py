"""Keeping uploaded files on disk, under random names.

`keep` is the one way an upload is saved, whoever received it (the chat, a
supplement, counter intake): it returns a `StoredFile`, which becomes an
`Attachment` row wherever the file belongs. Files live in the instance
folder, outside anything the web server serves by path; the console hands
one out by its attachment's id alone, after the report's access check
(`web.reports.attachment`). A name says nothing about the file: a content
hash would let anyone holding a known document (a leaflet, a notice) tell
whether it was reported. The hash is kept in the row, to spot a file sent
twice, and is never part of a path or an address.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.conversation.types import IncomingFile
from store.models import Attachment, Conversation
from store.reports import content

_SAFE = re.compile(r"[^A-Za-z0-9._\-\u4e00-\u9fff]+")


def safe_filename(name: str | None, content_type: str) -> str:
    """A display name without path parts or control characters."""
    name = Path((name or "").replace("\\", "/")).name
    name = _SAFE.sub("_", name).strip("._")[:120]
    if not name:
        ext = mimetypes.guess_extension(content_type) or ".bin"
        name = f"file{ext}"
    return name


def random_path() -> str:
    """A fresh relative path: 128 random bits, in one of 256 folders."""
    name = secrets.token_hex(16)
    return f"{name[:2]}/{name}"


def save(upload_dir: Path, data: bytes, content_type: str) -> tuple[str, str]:
    """Write `data` under `upload_dir` under a random name; returns (relative path, sha256)."""
    rel = random_path()
    path = upload_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return rel, hashlib.sha256(data).hexdigest()


def open_path(upload_dir: Path, rel: str) -> Path:
    """The file for a stored relative path, refusing anything outside `upload_dir`."""
    base = upload_dir.resolve()
    path = (base / rel).resolve()
    if base not in path.parents:
        raise FileNotFoundError(rel)
    return path


@dataclass(frozen=True)
class StoredFile:
    """A received file already on disk (content-addressed), not yet attached to anything."""

    kind: str  # photo | document
    filename: str
    content_type: str
    size: int
    sha256: str
    path: str
    ref: str | None = None  # the channel's own handle, to spot resends

    def attachment(self, **owner: Any) -> Attachment:
        """The row that keeps this file with its owner (`report=`, `report_id=` or `conversation_id=`)."""
        return Attachment(kind=self.kind, filename=self.filename, content_type=self.content_type,
                          size=self.size, sha256=self.sha256, storage_path=self.path,
                          source_ref=self.ref, **owner)

    @classmethod
    def of(cls, row: Attachment) -> StoredFile:
        return cls(kind=row.kind, filename=row.filename, content_type=row.content_type,
                   size=row.size, sha256=row.sha256, path=row.storage_path, ref=row.source_ref)


def keep(upload_dir: Path, file: IncomingFile) -> StoredFile:
    """Save a checked upload (`store.conversation.steps.check_file` said yes) under `upload_dir`."""
    if file.data is None:
        raise ValueError("an upload without its bytes cannot be kept")
    # Kept as what its bytes are (a PNG named .pdf is a PNG), and a photo without its location.
    actual = content.sniff(file.data, file.content_type, file.filename) or file.content_type
    data = content.scrub(file.data, actual)
    rel, digest = save(upload_dir, data, actual)
    name = safe_filename(file.filename, actual)
    if actual != file.content_type:
        name = str(Path(name).with_suffix(content.extension(actual)))
    return StoredFile(kind="photo" if actual in content.PHOTOS else "document", filename=name,
                      content_type=actual, size=len(data), sha256=digest, path=rel, ref=file.ref)


def on_disk(upload_dir: Path, stored: StoredFile) -> bool:
    """Whether a file saved by an earlier request is still there."""
    try:
        return open_path(upload_dir, stored.path).is_file()
    except FileNotFoundError:
        return False


def held_bytes(session: Session, conversation_id: int) -> int:
    """What a chat holds in files not yet part of a report (its draft's and a supplement's)."""
    return int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Attachment.size), 0)).where(
        Attachment.conversation_id == conversation_id, Attachment.report_id.is_(None))) or 0)


@dataclass(frozen=True)
class Swept:
    rows: int  # draft attachments let go
    files: int  # files deleted from disk
    bytes: int


def sweep(session: Session, upload_dir: Path, before: datetime) -> Swept:
    """Let go of what drafts never submitted left behind; the caller commits.

    Files held by a chat untouched since `before` (never submitted, nor cancelled
    in so many words) lose their rows, and a file on disk older than `before`
    that no attachment names (a cancelled draft's, a counter page never sent) is
    deleted. A file a report keeps is never touched: it has a row.
    """
    stale = (sa.select(Conversation.id).where(Conversation.updated_at < before)
             .scalar_subquery())
    rows = session.execute(sa.delete(Attachment).where(
        Attachment.report_id.is_(None), Attachment.created_at < before,
        sa.or_(Attachment.conversation_id.is_(None), Attachment.conversation_id.in_(stale))))
    session.flush()
    named = set(session.scalars(sa.select(Attachment.storage_path).distinct()))
    cutoff = before.timestamp()
    files = size = 0
    base = upload_dir.resolve()
    if base.is_dir():
        for path in base.glob("*/*"):
            rel = path.relative_to(base).as_posix()
            if rel in named or not path.is_file():
                continue
            stat = path.stat()
            if stat.st_mtime < cutoff:
                path.unlink(missing_ok=True)
                files, size = files + 1, size + stat.st_size
    return Swept(int(rows.rowcount or 0), files, size)  # type: ignore[attr-defined]


# How files were named before issue 14: `ab/<sha256>.<ext>`, the hash of their content.
_HASHED = re.compile(r"[0-9a-f]{2}/([0-9a-f]{64})(\.[A-Za-z0-9]+)?")


def rename_hashed(session: Session, upload_dir: Path, *, limit: int = 200) -> int:
    """Give up to `limit` files still named by their content hash a random name; the caller
    commits, then calls `drop_renamed`. How many were renamed.

    The file is linked (copied where links are not possible) under the new name and
    every row naming it moves there; the old name is removed only after the commit, so
    an interruption leaves rows that all open a file, and the sweep or a rerun tidies up.
    """
    paths = session.scalars(sa.select(Attachment.storage_path).distinct()
                            .where(Attachment.storage_path.like("__/%"))
                            .order_by(Attachment.storage_path)).all()
    done = 0
    for rel in paths:
        if done >= limit:
            break
        if not _HASHED.fullmatch(rel):
            continue
        new = random_path()
        try:
            old_path = open_path(upload_dir, rel)
            if not old_path.is_file():
                continue
            new_path = upload_dir / new
            new_path.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(old_path, new_path)
            except OSError:
                shutil.copy2(old_path, new_path)
        except FileNotFoundError:
            continue
        session.execute(sa.update(Attachment).where(Attachment.storage_path == rel)
                        .values(storage_path=new))
        done += 1
    return done


def drop_renamed(session: Session, upload_dir: Path) -> int:
    """Delete the old hash-named files no row names any more (after `rename_hashed` committed)."""
    named = set(session.scalars(sa.select(Attachment.storage_path).distinct()))
    base = upload_dir.resolve()
    gone = 0
    if base.is_dir():
        for path in base.glob("*/*"):
            rel = path.relative_to(base).as_posix()
            if _HASHED.fullmatch(rel) and rel not in named and path.is_file():
                path.unlink(missing_ok=True)
                gone += 1
    return gone
