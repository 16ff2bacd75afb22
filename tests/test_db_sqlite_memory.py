"""SQLite connections keep a small page cache and map the file only while a large scan runs,
so a long-running process does not grow towards the size of its database (issue 16, P5)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.db import PAGE_CACHE_KIB, SCAN_MMAP_BYTES, make_engine, mapped


def test_it_maps_the_file_only_inside_a_scan_and_unmaps_it_after(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        with Session(engine) as session:
            pragma = session.connection().exec_driver_sql
            assert pragma("PRAGMA cache_size").scalar() == -PAGE_CACHE_KIB
            assert pragma("PRAGMA mmap_size").scalar() == 0
            with mapped(session):
                assert pragma("PRAGMA mmap_size").scalar() == SCAN_MMAP_BYTES
                assert session.scalar(sa.text("select 1")) == 1
            assert pragma("PRAGMA mmap_size").scalar() == 0
    finally:
        engine.dispose()
