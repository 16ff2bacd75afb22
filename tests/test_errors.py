"""One convention for domain errors: every refusal of `store` is a `DomainError`."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import store
from store.conversation.context import Malformed
from store.errors import DomainError
from store.forms import FormError

# Not refused requests: a form file that is broken stops the program; a
# conversation row the engine cannot read is recovered to the menu (Turn.recover).
NOT_REFUSALS = {FormError, Malformed}


def test_every_value_error_the_domain_raises_is_a_domain_error() -> None:
    seen = []
    for info in pkgutil.walk_packages(store.__path__, "store."):
        if info.name.startswith("store.migrations"):
            continue  # Alembic's scripts run on import
        module = importlib.import_module(info.name)
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or not issubclass(cls, ValueError):
                continue
            seen.append(cls.__name__)
            if cls not in NOT_REFUSALS:
                assert issubclass(cls, DomainError), f"{info.name}.{cls.__name__}"
    assert {"UserError", "PointError", "UnitError", "DraftError", "DomainError"} <= set(seen)
