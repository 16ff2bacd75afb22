"""How much a whole chat report costs against storing the same report directly.

Run: .venv/bin/python -m bench.bench_engine [--reports 200]

Baseline: the same report inserted in one transaction with the ORM (the
least any intake can do). Measured: the report filed through the
conversation engine, one transaction per user input, as a channel does it.
Both run in this process on fresh SQLite files, so the ratio is what counts,
not the seconds. Target: a whole chat costs at most 40 direct inserts
(a chat is ~13 inputs, each a read-modify-write transaction).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from bench import install_data_key
from store import forms
from store.conversation.engine import Engine
from store.conversation.types import EngineConfig, Inbound, IncomingFile
from store.db import make_engine, make_sessionmaker
from store.models import Base, Channel, Reporter
from store.network import points
from store.reports import drafts

SECRET = "bench-secret-0123456789"
TARGET_RATIO = 40.0
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40


def _db(tmp: Path, name: str):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp / name}")
    Base.metadata.create_all(engine)
    return engine, make_sessionmaker(engine)


def baseline(tmp: Path, n: int) -> list[float]:
    engine, Session = _db(tmp, "baseline.sqlite3")
    times = []
    for i in range(n):
        start = time.perf_counter()
        with Session() as s, s.begin():
            rep = Reporter(channel=Channel.WEB, external_id=f"u{i}", chat_id=f"u{i}")
            s.add(rep)
            s.flush()
            drafts.Draft(form=forms.load("report"), reporter=rep, answers={
                "category": "livelihood", "title": "城关镇人民路路灯长期不亮",
                "situation": "人民路共有路灯40盏，其中12盏已损坏超过3个月。",
                "suggestion": "建议城管部门尽快排查维修。", "urgent": False,
                "anonymous": True}).file(s)
        times.append(time.perf_counter() - start)
    engine.dispose()
    return times


def through_engine(tmp: Path, n: int) -> list[float]:
    engine, Session = _db(tmp, "engine.sqlite3")
    chat_engine = Engine(EngineConfig(SECRET, tmp / "uploads", flood_burst=10_000))
    with Session() as s, s.begin():
        token = points.token_for(points.create_point(s, "城关镇"), SECRET)
    times = []
    for i in range(n):
        user = f"u{i}"

        def send(_user: str = user, **kw: object) -> list:  # type: ignore[type-arg]
            with Session() as s, s.begin():
                return chat_engine.handle(s, Inbound(channel=Channel.WEB, user_id=_user,
                                                     chat_id=_user, **kw))  # type: ignore[arg-type]

        def press(replies: list, label: str) -> list:  # type: ignore[type-arg]
            data = next(b.data for r in reversed(replies) for row in r.buttons for b in row
                        if label in b.label)
            return send(callback=data)

        start = time.perf_counter()
        r = send(command="start", args=token)
        r = press(r, "民生保障")
        send(text="城关镇人民路路灯长期不亮")
        send(text="人民路共有路灯40盏，其中12盏已经损坏超过3个月，附近2000多户居民夜间出行不便。")
        send(text="跳过")
        send(text="建议城管部门尽快排查维修，并建立路灯定期巡查机制。")
        send(text="城关镇人民路")
        send(file=IncomingFile("photo", "p.jpg", "image/jpeg", len(JPEG), JPEG + user.encode()))
        r = send(text="完成")
        r = press(r, "否")
        r = press(r, "是")
        r = press(r, "确认提交")
        assert "提交成功" in r[0].text
        times.append(time.perf_counter() - start)
    engine.dispose()
    return times


def main() -> None:
    install_data_key()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        base = baseline(tmp, args.reports)
        tracemalloc.start()
        chat = through_engine(tmp, args.reports)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    b, c = statistics.median(base), statistics.median(chat)
    ratio = c / b
    print(f"direct insert, median per report:   {b * 1000:8.2f} ms")
    print(f"whole chat via engine, median:      {c * 1000:8.2f} ms")
    print(f"ratio (chat / direct):              {ratio:8.1f}x   target <= {TARGET_RATIO:.0f}x  "
          f"{'OK' if ratio <= TARGET_RATIO else 'OVER TARGET'}")
    print(f"peak traced memory over {args.reports} chats: {peak / 1024 / 1024:6.1f} MiB")


if __name__ == "__main__":
    main()
