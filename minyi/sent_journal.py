"""The notifier's note, on local disk, of each message a channel accepted, kept until the
database has recorded it.

A worker killed between a channel's answer and the write that records it would send that
message again once the lease ran out, and Telegram cannot be asked whether a message
arrived. On SQLite that write can wait a second or more for the write lock while another
writer holds it; the note takes a system call. So each notifier process appends
`<row id> <attempts>` for every accepted send to a file of its own (`<pid>-<random>-<n>.sent`),
holding an exclusive `flock` on it while it lives. When a write that records outcomes
starts, the process starts a new file; the old one, all of whose lines that write records,
is deleted once it has committed, or let go (unlocked, kept) if it failed.

Before each delivery round a notifier replays every file no live process holds (the kernel
drops a dead process's locks): rows still `sending` on the claim the line names are marked
sent (`outbox.mark_claims_sent`), and the file is deleted. A row another worker claimed
again meanwhile is left to it.

The notes are plain writes, not synced to disk: they survive the process being killed (the
kernel has them), not the machine losing power.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from store.delivery import outbox

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: no journal there (`available`)
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

SUFFIX = ".sent"


@dataclass
class Segment:
    """One journal file, open for appending and locked by this process."""

    path: Path
    fd: int


class SentJournal:
    """The journal in `folder` (created when opened)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.current: Segment | None = None
        self.made = 0
        self.tag = f"{os.getpid()}-{secrets.token_hex(4)}"  # a new pid may be a dead one's

    def open(self) -> None:
        """Start noting; raises OSError where it cannot (no `flock` here, or no folder)."""
        if fcntl is None:
            raise OSError("file locks (fcntl.flock) are not available on this system")
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.current is None:
            self.current = self._new()

    def note(self, row_id: int, attempts: int) -> None:
        """A channel accepted outbox row `row_id` on the claim that made `attempts`."""
        if self.current is not None:
            os.write(self.current.fd, f"{row_id} {attempts}\n".encode())

    def rotate(self) -> Segment | None:
        """Start a new file; returns the old one, to be `done` once a write recorded its lines."""
        if self.current is None:
            return None
        old, self.current = self.current, self._new()
        return old

    @staticmethod
    def done(segment: Segment | None, *, recorded: bool = True) -> None:
        """The write that recorded `segment`'s lines committed (delete it), or failed (let it
        go: the next replay, this process's too, records it)."""
        if segment is None:
            return
        if recorded:
            segment.path.unlink(missing_ok=True)
        os.close(segment.fd)  # drops the lock

    def close(self) -> None:
        """Stop noting: the current file is deleted if it notes nothing (a clean stop records
        every outcome), else left for a replay."""
        if self.current is not None:
            empty = os.fstat(self.current.fd).st_size == 0
            self.done(self.current, recorded=empty)
        self.current = None

    def replay(self, session_factory: Callable[[], AbstractContextManager[Session]]) -> int:
        """Record the accepted sends in every file no live process holds; returns how many rows
        were marked sent."""
        marked = 0
        for path in sorted(self.folder.glob(f"*{SUFFIX}")):
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue  # its owner recorded it meanwhile
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live notifier's (this one's current file, too)
                claims = _claims(path.read_bytes())
                if claims:
                    with session_factory() as session, session.begin():  # type: ignore[attr-defined]
                        marked += outbox.mark_claims_sent(session, claims)
                path.unlink(missing_ok=True)
            finally:
                os.close(fd)
        for path in self.folder.glob("*.new"):  # a process killed while making a file: empty
            with contextlib.suppress(OSError):
                fd = os.open(path, os.O_RDONLY)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    path.unlink(missing_ok=True)
                finally:
                    os.close(fd)
        if marked:
            log.warning("%s outbox rows a killed notifier had sent but not recorded are marked "
                        "sent (not sent again)", marked)
        return marked

    def _new(self) -> Segment:
        self.made += 1
        path = self.folder / f"{self.tag}-{self.made}{SUFFIX}"
        # Locked under another name first: a replay never sees it unlocked.
        making = path.with_suffix(".new")
        fd = os.open(making, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            making.rename(path)
        except BaseException:
            os.close(fd)
            making.unlink(missing_ok=True)
            raise
        return Segment(path, fd)


def _claims(data: bytes) -> dict[int, int]:
    """`row id: attempts` from a journal file's lines; a last line cut short by the kill (no
    line end yet) is skipped."""
    claims: dict[int, int] = {}
    for line in data.decode("ascii", "replace").split("\n")[:-1]:
        parts = line.split()
        if len(parts) == 2 and all(p.isdigit() for p in parts):
            claims[int(parts[0])] = int(parts[1])
    return claims


__all__ = ["Segment", "SentJournal"]
