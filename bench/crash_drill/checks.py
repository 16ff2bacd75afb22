"""After the play: every report adopted, the feedback awaited, and what is checked at the end."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.crash_drill.citizens import Client
from bench.crash_drill.processes import ADMIN


def _adopt_all(url: str, clients: list[Client], say: Callable[..., None]) -> dict[str, str]:
    """Adopt every report, as an office with a single reviewer would; tracking no -> title."""
    import sqlalchemy as sa

    from store.db import make_engine, make_sessionmaker
    from store.models import Report, User
    from store.review import separation
    from tests.review_support import adopt

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    adopted: dict[str, str] = {}
    try:
        with sessions() as s:
            separation.set_single_reviewer(s, True)
            s.commit()
            ids = list(s.scalars(sa.select(Report.id).order_by(Report.id)))

        def one(report_id: int) -> None:
            with sessions() as s:
                admin = s.scalars(sa.select(User).where(User.username == ADMIN)).one()
                report = s.get(Report, report_id)
                assert report is not None
                adopted[report.tracking_no] = report.title
                adopt(s, report, admin)
                s.commit()

        # Reviewers side by side on PostgreSQL; SQLite takes one writer at a time anyway.
        with ThreadPoolExecutor(1 if engine.dialect.name == "sqlite" else 4) as pool:
            list(pool.map(one, ids))
    finally:
        engine.dispose()
    say(f"  {len(adopted)} reports adopted")
    return adopted


def _feedback_count(url: str) -> int:
    import sqlalchemy as sa

    from store.db import make_engine
    from store.models import OutboxMessage

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) or 0)
    finally:
        engine.dispose()


def _await_feedback(url: str, emu: Any, clients: list[Client], say: Callable[..., None],
                    *, final: bool = False, patience: float = 90.0) -> list[str]:
    """Wait until no outbox row is left unsent (the killer may still be at work)."""
    import sqlalchemy as sa

    from store.db import make_engine
    from store.models import OutboxMessage, OutboxStatus

    engine = make_engine(url)
    deadline = time.monotonic() + patience
    try:
        while True:
            with engine.connect() as conn:
                left = conn.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status != OutboxStatus.SENT))
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        engine.dispose()
    if left and final:
        return [f"{left} feedback messages still unsent after {patience:.0f}s"]
    return []


def _check(url: str, emu: Any, clients: list[Client],
           kills: list[tuple[float, str]]) -> tuple[list[str], list[str]]:
    """The problems found, and the messages doubled in a kill's moment of doubt (see
    `_check_feedback`)."""
    import sqlalchemy as sa

    from store.db import make_engine, make_sessionmaker
    from store.models import Report

    problems = [p for c in clients for p in c.problems]
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            problems += _check_filings(clients, list(s.scalars(sa.select(Report).order_by(Report.id))))
            wrong, in_doubt = _check_feedback(s, emu, clients, kills)
    finally:
        engine.dispose()
    return problems + wrong, in_doubt


def _check_filings(clients: list[Client], reports: list[Any]) -> list[str]:
    """Each receipt one report, no report without one, each stored answer the one given."""
    from store import sealing

    problems: list[str] = []
    by_title: dict[str, list[Any]] = {}
    for r in reports:
        by_title.setdefault(r.title, []).append(r)
    filings = {f.title: (c, f) for c in clients for f in c.filings}
    for title, rs in by_title.items():
        if len(rs) > 1:
            problems.append(f"{title}: {len(rs)} reports ({', '.join(r.tracking_no for r in rs)})")
        if title not in filings:
            problems.append(f"report {rs[0].tracking_no} ({title!r}) matches no filing")
    for title, (c, f) in filings.items():
        rs = by_title.get(title, [])
        if f.receipt is not None:
            if [r.tracking_no for r in rs] != [f.receipt]:
                problems.append(f"{c.channel} #{c.n}: receipt {f.receipt} but reports "
                                f"{[r.tracking_no for r in rs]}")
        elif rs and not f.abandoned:
            problems.append(f"{c.channel} #{c.n}: report {rs[0].tracking_no} stored but the "
                            "client saw no receipt")
        for r in rs[:1]:
            for a in f.answers:
                got = sealing.open_json((r.answers or {}).get(a.key))
                if a.key in f.answered and got != a.answer:
                    problems.append(f"{c.channel} #{c.n} {r.tracking_no}: step {a.key} stored "
                                    f"{got!r}, answered {a.answer!r}")
    return problems


def _check_feedback(s: Any, emu: Any, clients: list[Client],
                    kills: list[tuple[float, str]]) -> tuple[list[str], list[str]]:
    """Each outbox row delivered once, each chat's in the order written: the problems, and
    apart from them the messages delivered twice because a SIGKILL fell in their moment of
    doubt.

    A kill of the sender between Telegram's answer and the note of it (one system call after
    the answer is read; docs/ARCHITECTURE.md, "Two places remain") is the one way a send goes
    twice that no code can close: Telegram cannot be asked whether a message arrived. So a
    message delivered exactly one time too many, its first copy accepted within `IN_DOUBT_MS`
    of a SIGKILL of a sending process, is that case; any other doubling is a problem, and says
    which kill came nearest."""
    import sqlalchemy as sa

    from store.models import Channel, OutboxMessage

    problems: list[str] = []
    in_doubt: list[str] = []
    rows = list(s.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
    owed: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        owed.setdefault((row.channel.value, row.chat_id), []).append(row.text)
    for (channel, chat), texts in owed.items():
        if channel == Channel.TELEGRAM.value:
            got = [t for t in emu.texts(int(chat)) if t in set(texts)]
        else:
            got = _web_delivered(s, chat, clients, set(texts))
        counts = Counter(got)
        for text in set(texts):
            if counts[text] == texts.count(text):
                continue
            copies = ([m.at for m in emu.sent_to(int(chat)) if m.text == text]
                      if channel == Channel.TELEGRAM.value and counts[text] > 1 else [])
            line = (f"{channel} chat {chat}: feedback delivered {counts[text]}× "
                    f"(owed {texts.count(text)}×){_why_twice(copies, kills) if copies else ''}: "
                    f"{text[:60]!r}")
            doubt = copies and counts[text] == texts.count(text) + 1 and _in_doubt(copies, kills)
            (in_doubt if doubt else problems).append(line)
        if got != texts and all(counts[t] == texts.count(t) for t in set(texts)):
            problems.append(f"{channel} chat {chat}: feedback out of order")
    return problems, in_doubt


# The processes that send feedback. A kill up to ON_THE_WIRE seconds before the emulator
# accepted a copy may have caught its request on the wire (the emulator reads and answers
# it after the sender died); one up to IN_DOUBT seconds after, its answer not yet recorded.
SENDERS = {"serve", "worker"}
ON_THE_WIRE, IN_DOUBT = 2.0, 5.0
# A first copy accepted this close to a SIGKILL of its sender, before or after: the kill fell
# between Telegram's answer and the sender's note of it, or the request was on the wire.
IN_DOUBT_MS = 100


def _nearest_kill(copies: list[float], kills: list[tuple[float, str]]) -> tuple[float, str] | None:
    """The SIGKILL of a sending process nearest a message's first copy, from ON_THE_WIRE
    seconds before it to IN_DOUBT after: (its time less the copy's, the process), or None."""
    first = min(copies, default=math.inf)
    near = sorted((abs(at - first), at - first, name) for at, name in kills
                  if name in SENDERS and -ON_THE_WIRE <= at - first <= IN_DOUBT)
    return (near[0][1], near[0][2]) if near else None


def _in_doubt(copies: list[float], kills: list[tuple[float, str]]) -> bool:
    """Whether a SIGKILL of a sending process fell within IN_DOUBT_MS of the first copy."""
    nearest = _nearest_kill(copies, kills)
    return nearest is not None and abs(nearest[0]) * 1000 <= IN_DOUBT_MS


def _why_twice(copies: list[float], kills: list[tuple[float, str]]) -> str:
    """Where a doubled Telegram message came from: the SIGKILL nearest its first copy."""
    nearest = _nearest_kill(copies, kills)
    if nearest is None:
        return (f"; no SIGKILL of a sending process from {ON_THE_WIRE:.0f} s before to "
                f"{IN_DOUBT:.0f} s after the first copy")
    gap, name = nearest
    if gap < 0:
        return f"; first copy accepted {-gap * 1000:.0f} ms after a SIGKILL of {name} (on the wire)"
    return f"; first copy accepted {gap * 1000:.0f} ms before a SIGKILL of {name}"


def _web_delivered(s: Any, chat: str, clients: list[Client], texts: set[str]) -> list[str]:
    """What the web chat's visitor was shown of `texts`, by the page's own polling."""
    import sqlalchemy as sa

    from store.models import WebChatMessage

    stored = list(s.scalars(sa.select(WebChatMessage).where(
        WebChatMessage.chat_id == chat, WebChatMessage.outbox_id.is_not(None))
        .order_by(WebChatMessage.id)))
    ids = {m.id for m in stored}
    for c in clients:
        if c.channel == "web" and ids & set(c.web_seen):
            player = c.player
            if player is not None:
                player.poll()
            return [m["text"] for _, m in sorted(c.web_seen.items()) if m["id"] in ids
                    and m["text"] in texts] + [m.text for m in stored if m.id not in c.web_seen]
    return [m.text for m in stored if m.text in texts]
