"""Keeping uploaded files on disk, named by content hash."""

from __future__ import annotations

import hashlib
import mimetypes
import re
from pathlib import Path

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
    if not path.exists():
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
