"""Posters for a whole network's points: one A4 PDF, a page per point (issue 16, P4: 1,117 in <= 30 s CPU).

Run: .venv/bin/python -m bench.bench_posters [--quick]

A fresh SQLite file gets 1,117 active points in county trees (a county's
station, its towns' points, their communities), with Chinese names and
addresses. Measured in CPU seconds: what `minyi posters --all`
does once the channels have given their codes: the selection in tree order,
each point's poster (web link, short link, a web and a Telegram code) and the
PDF (`qr.posters.render`). No baseline: the goal is absolute. Checked: the
PDF has one page per point, and the first and last pages show their points'
short addresses. `--quick` draws 100 posters and extrapolates to 1,117 (the
note says so): the work is per page.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

from bench.table import Options, Row, Wrong, render
from qr import posters as qr_posters
from store.db import make_engine, make_sessionmaker
from store.models import Base, CollectionPoint, PointKind
from store.network import points
from store.outputs import posters

POINTS = 1117
QUICK_POINTS = 100
GOAL_SECONDS = 30.0
SECRET = "bench-posters-secret-0123456789"
PUBLIC_URL = "https://minyi.example.org"
BOT = "minyi_bench_bot"
TOWNS = ("城关镇", "东关街道", "西湖乡", "南山镇", "北坪镇", "河口镇", "青石乡", "白水镇", "石桥镇")
COMMUNITIES = ("人民路社区", "解放路社区", "新华村", "幸福里社区", "光明村", "向阳社区", "红星村",
               "和平社区", "团结村", "建设路社区", "文化街社区", "长青村")


def _network(Session, n: int) -> None:  # type: ignore[no-untyped-def]  # noqa: N803
    """`n` active points: county stations, each with town points and their communities."""
    made = 0
    with Session() as s, s.begin():
        county = 0
        while made < n:
            county += 1
            name = f"第{county}县"
            seat = points.create_point(s, f"{name}民意直通车服务站", f"{name}府前街1号",
                                       kind=PointKind.COUNTY)
            made += 1
            for town in TOWNS:
                if made >= n:
                    break
                tp = points.create_point(s, f"{name}{town}", f"{name}{town}人民路8号",
                                         kind=PointKind.TOWNSHIP, parent=seat)
                made += 1
                for community in COMMUNITIES:
                    if made >= n:
                        break
                    points.create_point(s, f"{town}{community}", f"{name}{town}{community}居委会",
                                        kind=PointKind.COMMUNITY, parent=tp)
                    made += 1


def _codes(token: str) -> list[tuple[str, str]]:
    """What the channel registry gives with the web chat and Telegram switched on."""
    return [("手机浏览器扫码反映", points.web_link(PUBLIC_URL, token)),
            ("Telegram 扫码反映", points.telegram_link(BOT, token) or "")]


def draw(Session) -> tuple[bytes, list[CollectionPoint]]:  # type: ignore[no-untyped-def]  # noqa: N803
    """The PDF of every point's poster, as `minyi posters --all` makes it; and the points."""
    with Session() as s:
        chosen = posters.selection(s)
        sheets = [posters.poster_for(p, SECRET, PUBLIC_URL, _codes(points.token_for(p, SECRET)))
                  for p in chosen]
        s.expunge_all()
    return qr_posters.render(sheets), chosen


def check(pdf: bytes, chosen: list[CollectionPoint], n: int) -> None:
    """One page per point; the first and last pages carry their own points' short addresses."""
    from pypdf import PdfReader

    if len(chosen) != n:
        raise Wrong(f"{len(chosen)} points selected for posters, {n} made")
    reader = PdfReader(io.BytesIO(pdf))
    if len(reader.pages) != n:
        raise Wrong(f"the PDF has {len(reader.pages)} pages for {n} points")
    for page, point in ((0, chosen[0]), (n - 1, chosen[-1])):
        short = points.short_link(PUBLIC_URL, points.short_code_for(point, SECRET)).removeprefix("https://")
        if short not in reader.pages[page].extract_text().replace(" ", ""):
            raise Wrong(f"page {page + 1} does not show {short}, the short address of point #{point.id}")


def measure(folder: Path, n: int) -> tuple[float, int]:
    """(CPU seconds for `n` posters, the PDF's size), checked."""
    engine = make_engine(f"sqlite:///{folder / 'posters.sqlite3'}")
    try:
        Base.metadata.create_all(engine)
        Session = make_sessionmaker(engine)  # noqa: N806
        _network(Session, n)
        started = time.process_time()
        pdf, chosen = draw(Session)
        cpu = time.process_time() - started
    finally:
        engine.dispose()
    check(pdf, chosen, n)
    return cpu, len(pdf)


def rows(opts: Options) -> list[Row]:
    n = QUICK_POINTS if opts.quick else POINTS
    with tempfile.TemporaryDirectory() as folder:
        opts.say(f"posters: {n} points ...")
        cpu, size = measure(Path(folder), n)
    figure = cpu * POINTS / n
    note = f"one PDF of {n} pages ({size / 2**20:.1f} MiB), a page per point, short addresses on them"
    if n != POINTS:
        note += f"; extrapolated to {POINTS:,} from {n} posters ({cpu:.1f} CPU s)"
    return [Row("P4 posters", f"posters for {POINTS:,} points", figure, "CPU s",
                f"≤ {GOAL_SECONDS:.0f} s CPU", figure <= GOAL_SECONDS, higher_is_better=False,
                note=note)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_POINTS} posters, extrapolated")
    args = parser.parse_args(argv)
    out = rows(Options(quick=args.quick))
    print(render(out))
    return 0 if all(r.met for r in out) else 1


if __name__ == "__main__":
    sys.exit(main())
