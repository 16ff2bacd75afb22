"""Keeping uploaded files on disk, named by content hash.

`keep` is the one way an upload is saved, whoever received it (the chat, a
supplement, counter intake): it returns a `StoredFile`, which becomes an
`Attachment` row wherever the file belongs.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.conversation.types import IncomingFile
from store.models import Attachment, Conversation

_SAFE = re.compile(r"[^A-Za-z0-9._\-\u4e00-\u9fff]+")


def safe_filename(name: str | None, content_type: str) -> str:
    """A display name without path parts or control characters."""
    name = Path((name or "").replace("\\", "/")).name
    name = _SAFE.sub("_", name).strip("._")[:120]
    if not name:
        ext = mimetypes.guess_extension(content_type) or ".bin"
        name = f"file{ext}"
    return name


def save(upload_dir: Path, data: bytes, content_type: str) -> tuple[str, str]:
    """Write `data` once under `upload_dir`; returns (relative path, sha256)."""
    digest = hashlib.sha256(data).hexdigest()
    ext = mimetypes.guess_extension(content_type) or ".bin"
    rel = f"{digest[:2]}/{digest}{ext}"
    path = upload_dir / rel
    if path.exists():
        # Fresh again: the sweep leaves files younger than its age alone, and this one
        # is about to be referenced by a row not yet committed.
        os.utime(path)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return rel, digest


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
        """The row that keeps this file with its owner (`report_id=` or `conversation_id=`)."""
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
    rel, digest = save(upload_dir, file.data, file.content_type)
    return StoredFile(kind=file.kind, filename=safe_filename(file.filename, file.content_type),
                      content_type=file.content_type, size=len(file.data), sha256=digest,
                      path=rel, ref=file.ref)


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
