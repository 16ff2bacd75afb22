"""A process's start-up objects, moved out of the cyclic collector's full passes.

A minyi process starts with some 150,000 objects that live as long as it does:
the mapped classes and their SQLAlchemy structures, the compiled statements,
the forms and messages, the Flask app. CPython's collector walks every one of
them at each full collection, about 100 ms on these machines, during which the
process answers nothing; in P1's run (bench/bench_engine.py) two such passes
were 12 % of the CPU of 500 reports (issue 16). `settle` is called once a
process has built everything it runs with: it configures the mappers (which
SQLAlchemy would otherwise do at the first query, after the freeze), collects
what start-up left behind, and freezes the rest (`gc.freeze`, CPython's tool
for this): later collections skip it. Objects made after that are collected as
always; a frozen object that is let go is still freed by its reference count,
only a cycle among frozen objects stays (start-up makes none that it drops).
"""

from __future__ import annotations

import gc
import logging

import sqlalchemy.orm

log = logging.getLogger(__name__)


def settle() -> int:
    """Freeze what the process holds now (call it when start-up is done): how many objects."""
    sqlalchemy.orm.configure_mappers()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("%d start-up objects frozen, out of the collector's full passes", frozen)
    return frozen
