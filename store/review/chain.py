"""The office's review chain: 初审 → 审核 → 审定, or a shorter one.

The chain is an office setting (one row in `office_settings`), chosen from
the levels below. Each level names the roles that sign it off; an admin may
act at any level, though not sign off two levels of one report
(`store.review.separation`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from store.errors import DomainError
from store.models import AdoptionLevel, Role
from store.upsert import put_setting, read_setting


@dataclass(frozen=True)
class Level:
    key: str
    name: dict[str, str]
    roles: frozenset[Role]

    def label(self, lang: str = "zh") -> str:
        return self.name.get(lang) or self.name["zh"]


LEVELS: dict[str, Level] = {
    "first": Level("first", {"zh": "初审", "en": "First review"}, frozenset({Role.CLERK})),
    "second": Level("second", {"zh": "审核", "en": "Review"}, frozenset({Role.DIRECTOR})),
    "final": Level("final", {"zh": "审定", "en": "Approval"},
                   frozenset({Role.SECRETARY_GENERAL})),
}
# The chains an office may run: two or three levels, always ending in approval.
CHAINS: dict[str, tuple[str, ...]] = {
    "three": ("first", "second", "final"),
    "two": ("first", "final"),
}
DEFAULT_CHAIN = "three"
SETTING_KEY = "review_chain"
# The level of the office itself (a county CPPCC adopts at county level):
# what the adoption menu offers first. Unset until the admin says.
OFFICE_LEVEL_KEY = "office_level"


class ReviewError(DomainError):
    pass


def chain(session: Session) -> tuple[Level, ...]:
    """The levels a report passes, first to last."""
    row = read_setting(session, SETTING_KEY)
    name = (row.value or {}).get("chain", DEFAULT_CHAIN) if row else DEFAULT_CHAIN
    return tuple(LEVELS[k] for k in CHAINS.get(name, CHAINS[DEFAULT_CHAIN]))


def chain_name(session: Session) -> str:
    row = read_setting(session, SETTING_KEY)
    name = (row.value or {}).get("chain", DEFAULT_CHAIN) if row else DEFAULT_CHAIN
    return name if name in CHAINS else DEFAULT_CHAIN


def set_chain(session: Session, name: str) -> None:
    """Switch the office to chain `name`; reports above the new top level wait at it."""
    if name not in CHAINS:
        raise ReviewError(f"unknown review chain {name!r}; choose one of {sorted(CHAINS)}")
    put_setting(session, SETTING_KEY, {"chain": name})


def level_at(levels: tuple[Level, ...], index: int) -> Level:
    """The level a report at `index` waits at (clamped when the chain got shorter)."""
    return levels[min(max(index, 0), len(levels) - 1)]


def is_final(levels: tuple[Level, ...], index: int) -> bool:
    return index >= len(levels) - 1


def office_level(session: Session) -> AdoptionLevel | None:
    """The level at which this office adopts reports, if the admin has set it."""
    row = read_setting(session, OFFICE_LEVEL_KEY)
    raw = (row.value or {}).get("level") if row else None
    try:
        return AdoptionLevel(raw) if raw else None
    except ValueError:
        return None


def set_office_level(session: Session, level: AdoptionLevel | str) -> AdoptionLevel:
    """Record the office's own level (县级、市级 ...); the adoption menu starts there."""
    try:
        level = AdoptionLevel(level)
    except ValueError:
        raise ReviewError(f"unknown level {level!r}; choose one of "
                          f"{[lv.value for lv in AdoptionLevel]}") from None
    put_setting(session, OFFICE_LEVEL_KEY, {"level": level.value})
    return level
