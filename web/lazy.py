"""Store modules still being written on this branch, imported on first use (temporary)."""

from __future__ import annotations

import importlib
from typing import Any


class Lazy:
    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(f"store.{self._name}"), attr)


def lazy(*names: str) -> list[Any]:
    return [Lazy(n) for n in names]
