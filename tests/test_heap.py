"""A process's start-up objects are frozen out of the collector's full passes
(store/ops/heap.py, issue 16 P1), by every command that is a process of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from minyi import apart, runner
from minyi.settings import Settings
from store.ops import heap


def test_settling_freezes_what_start_up_made_and_leaves_later_objects_to_the_collector() -> None:
    # In a process of its own: freezing this one would keep the other tests' garbage.
    code = """
import gc, json
import store.models, web
from store.ops import heap
frozen = heap.settle()
later = [[i] for i in range(1000)]
print(json.dumps({"frozen": frozen, "oldest": len(gc.get_objects(2)),
                  "later_tracked": sum(gc.is_tracked(x) for x in later)}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.splitlines()[-1])
    assert got["frozen"] > 50_000  # the models, SQLAlchemy's structures, the app's modules
    assert got["oldest"] < got["frozen"] / 10  # a full pass no longer walks them
    assert got["later_tracked"] == 1000  # what comes after is collected as always


@pytest.mark.parametrize("command", ["serve", "bot", "worker"])
def test_each_process_settles_once_it_is_built(command: str, settings: Settings,
                                               monkeypatch: Any) -> None:
    asked: list[dict[str, Any]] = []

    async def run(_settings: Settings, stop: Any = None, **kw: Any) -> None:
        asked.append(kw)

    target = runner if command == "serve" else apart
    name = {"serve": "run", "bot": "run_bot", "worker": "run_worker"}[command]
    monkeypatch.setattr(target, name, run)
    monkeypatch.setattr(runner, "configure_logging", lambda _format: None)
    monkeypatch.setattr(apart, "configure_logging", lambda _format: None)
    getattr(target, command)(settings)
    assert asked == [{"settle": True}]


def test_a_gunicorn_worker_settles_its_app(settings: Settings, monkeypatch: Any) -> None:
    from minyi import web_server

    settled: list[int] = []
    monkeypatch.setattr(heap, "settle", lambda: settled.append(1) or 0)
    monkeypatch.setattr("minyi.logs.configure", lambda _format: None)
    app = web_server.build_app(settings)
    assert app is not None and settled == [1]
