"""The reporter of an input: read with their conversation, mapped only for a move that needs it.

Every input reads the reporter (their language, their unit); few moves need
the mapped `Reporter` (filing, /my, a binding code). Loading it through the
ORM at every input costs more than the statement that reads it, so the row's
values are read with the conversation (`store.prepared`) and, when a move
asks, become a `Reporter` of the session without being read again: as if the
ORM had just loaded them (`store.prepared.loaded`), in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import prepared
from store.models import Reporter

_ATTRS = sa.inspect(Reporter).column_attrs
NAMES = tuple(attr.key for attr in _ATTRS)
# The row's columns under labels of their own, for a SELECT that also reads other tables.
COLUMNS = tuple(attr.columns[0].label(f"rep_{attr.key}") for attr in _ATTRS)


class Sender:
    """The reporter's row as read at the start of the input (`NAMES`, in order)."""

    def __init__(self, values: Sequence[Any]) -> None:
        self._values = dict(zip(NAMES, values, strict=True))
        self._mapped: Reporter | None = None

    def __getitem__(self, name: str) -> Any:
        """A column's value: the mapped object's once there is one (a move may change it)."""
        return self._values[name] if self._mapped is None else getattr(self._mapped, name)

    @property
    def id(self) -> int:
        return int(self._values["id"])

    @property
    def language(self) -> str:
        return str(self["language"])

    @property
    def unit_id(self) -> int | None:
        unit: int | None = self["unit_id"]
        return unit

    def reporter(self, session: Session) -> Reporter:
        """The mapped `Reporter` in `session`, made from the values read (no statement)."""
        if self._mapped is None:
            self._mapped = prepared.loaded(session, Reporter, self._values)
        return self._mapped
