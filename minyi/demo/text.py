"""Report text for `minyi seed`: sentences from word lists, filled with places and numbers.

The word lists (`words.toml`) hold themes (加装电梯, 停车, 养老 ...), each
with its titles, facts, problems, causes and suggestions as templates; shared
pools hold openers, impacts and generic causes and suggestions. A report picks
one theme and combines its sentences in a varied order with random numbers,
so no two reports read alike, while the words an office searches for
(电梯, 养老院, 电动自行车 ...) stay common.
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

WORDS_FILE = Path(__file__).with_name("words.toml")
# Lengths the generator aims at (characters), as a careful reporter writes.
TITLE = (12, 25)
SITUATION = (150, 300)
ANALYSIS = (80, 150)
SUGGESTION = (80, 150)


@dataclass(frozen=True)
class Theme:
    key: str
    category: str
    department: str
    weight: float
    subjects: tuple[str, ...]
    titles: tuple[str, ...]
    facts: tuple[str, ...]
    problems: tuple[str, ...]
    causes: tuple[str, ...]
    suggestions: tuple[str, ...]
    # Per-category answers of the form (store/forms/report.toml).
    pollution: str | None = None
    agency: str | None = None


@dataclass(frozen=True)
class Words:
    """The parsed word file."""

    raw: dict[str, Any]
    themes: tuple[Theme, ...]

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    @property
    def search(self) -> dict[str, Any]:
        return self.raw["search"]


@cache
def load(path: Path = WORDS_FILE) -> Words:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    themes = tuple(
        Theme(key=t["key"], category=t["category"], department=t["department"],
              weight=float(t["weight"]),
              **{k: tuple(t[k]) for k in ("subjects", "titles", "facts", "problems", "causes",
                                          "suggestions")},
              pollution=t.get("pollution"), agency=t.get("agency"))
        for t in raw["themes"])
    return Words(raw, themes)


# Counts that differ at each use; the others (places, households, population,
# building age ...) keep one value through a report so its facts agree.
_FRESH = frozenset({"n", "n2", "n3", "nn", "nn2", "pct", "pct2", "days", "months", "wan", "yuan",
                    "km", "minutes", "calls", "spaces", "beds", "pm"})


@dataclass(frozen=True)
class Where:
    """Where a report comes from: its point's place in the network."""

    city: str
    county: str
    town: str
    # The point's community or village (e.g. 人民路社区, 王庄村), if it has one.
    community: str | None = None


@dataclass(frozen=True)
class Text:
    title: str
    situation: str
    analysis: str
    suggestion: str
    place: str


class _Fill(dict[str, str]):
    """Values for one report's templates, made on first use and then kept."""

    def __init__(self, maker: TextMaker, where: Where, theme: Theme, when: datetime) -> None:
        super().__init__(city=where.city, county=where.county, town=where.town)
        self.maker, self.where, self.theme, self.when = maker, where, theme, when

    def __missing__(self, key: str) -> str:
        value = self.maker.value(key, self)
        if key not in _FRESH:
            self[key] = value
        return value


class TextMaker:
    """Makes report text from the word lists with its own random generator."""

    def __init__(self, words: Words, rng: random.Random) -> None:
        self.words, self.rng = words, rng
        self.places, self.text, self.names = words["places"], words["text"], words["names"]
        choice, uniform, r = rng.choice, rng.uniform, rng.random

        def rand(low: int, high: int) -> int:
            # randint's argument checks cost more than the text around the number.
            return low + int(r() * (high - low + 1))

        self._numbers = {
            "n": lambda: str(rand(2, 9)), "n2": lambda: str(rand(2, 9)), "n3": lambda: str(rand(2, 9)),
            "nn": lambda: str(rand(10, 60)), "nn2": lambda: str(rand(10, 60)),
            "hh": lambda: str(rand(60, 2409)), "people": lambda: str(rand(200, 30099)),
            "old": lambda: str(rand(20, 900)), "kids": lambda: str(rand(40, 1800)),
            "pct": lambda: str(rand(12, 88)), "pct2": lambda: str(rand(5, 60)),
            "floors": lambda: str(rand(5, 9)), "years": lambda: str(rand(15, 40)),
            "days": lambda: str(rand(3, 60)), "months": lambda: str(rand(2, 18)),
            "wan": lambda: str(rand(5, 900)), "yuan": lambda: str(rand(2, 300) * 10),
            "km": lambda: f"{uniform(0.8, 25.5):.1f}", "minutes": lambda: str(rand(2, 18) * 5),
            "calls": lambda: str(rand(3, 120)), "cars": lambda: str(rand(150, 2000)),
            "spaces": lambda: str(rand(30, 600)), "beds": lambda: str(rand(20, 400)),
            "pm": lambda: str(rand(75, 260)),
        }
        self._names = {
            "road": lambda f: choice(self.places["roads"]),
            "estate": lambda f: choice(self.places["estate_stems"])
            + choice(self.places["estate_suffixes"]),
            "old_estate": lambda f: choice(self.places["old_estates"]),
            "village": lambda f: choice(self.places["village_stems"]),
            "place": lambda f: f.where.community or f["estate"],
            "subject": lambda f: choice(f.theme.subjects),
            "surname": lambda f: choice(self.names["surnames"]),
            "person": lambda f: self.person(),
            "year": lambda f: str(f.when.year), "lastyear": lambda f: str(f.when.year - 1),
            "month": lambda f: str(f.when.month),
            "date": lambda f: _date(f.when - timedelta(days=rand(1, 60))),
            "since": lambda f: choice(self.text["since"]).format_map(f),
            "rare": lambda f: self.words.search["rare"],
        }

    def value(self, key: str, fill: _Fill) -> str:
        number = self._numbers.get(key)
        if number is not None:
            return number()
        return self._names[key](fill)

    def person(self) -> str:
        given = self.names["given"]
        name = self.rng.choice(given) if self.rng.random() < 0.3 else \
            self.rng.choice(given) + self.rng.choice(given)
        return self.rng.choice(self.names["surnames"]) + name

    def report(self, theme: Theme, where: Where, when: datetime, *, rare: bool = False) -> Text:
        """A whole report on `theme`, from `where`, written at `when`."""
        rng, fill = self.rng, _Fill(self, where, theme, when)
        title = self._title(theme, fill)

        facts = rng.sample(theme.facts, len(theme.facts))
        opener = rng.choice(self.text["openers"]).format_map(fill)
        more = [*facts[2:], *rng.sample(self.text["impacts"], 2)]
        parts = [opener + _fmt(facts[0], fill), _fmt(facts[1], fill),
                 _fmt(rng.choice(theme.problems), fill), *(_fmt(m, fill) for m in more)]
        situation = _fit(parts, rng.randint(SITUATION[0] + 20, SITUATION[1] - 10), SITUATION[1])
        if rare:
            situation += _fmt(rng.choice(self.words.search["rare_sentences"]), fill)

        analysis = self._numbered(rng.choice(self.text["analysis_leads"]), theme.causes,
                                  self.text["generic_causes"], ANALYSIS, fill)
        suggestion = self._numbered(rng.choice(self.text["suggestion_leads"]), theme.suggestions,
                                    self.text["generic_suggestions"], SUGGESTION, fill)
        place = f"{where.county}{where.town}{fill['place']}" if rng.random() < 0.5 else \
            f"{where.town}{fill['road']}{rng.randint(1, 399)}号"
        return Text(title, situation, analysis, suggestion, place)

    def _title(self, theme: Theme, fill: _Fill) -> str:
        # Place names make titles long or short; a few tries land most in range.
        title = ""
        for _ in range(4):
            title = self.rng.choice(theme.titles).format_map(fill)
            if TITLE[0] <= len(title) <= TITLE[1]:
                break
        return title

    def _numbered(self, lead: str, own: tuple[str, ...], generic: list[str],
                  limits: tuple[int, int], fill: _Fill) -> str:
        """一是……；二是……；三是……。: the theme's own points first, then generic ones."""
        rng = self.rng
        points = [*rng.sample(own, len(own)), *rng.sample(generic, 2)]
        target = rng.randint(limits[0] + 5, limits[1] - 5)
        out = lead
        for i, point in enumerate(points[:len(self.text["ordinals"])]):
            piece = self.text["ordinals"][i] + point.format_map(fill)
            if i >= 2 and len(out) + len(piece) > limits[1]:
                break
            out += piece + "；"
            if i >= 1 and len(out) >= target:
                break
        return out[:-1] + "。"

    def note(self, where: Where, when: datetime) -> str:
        return self._pool("notes", where, when)

    def reply(self, where: Where, when: datetime) -> str:
        return self._pool("replies", where, when)

    def _pool(self, name: str, where: Where, when: datetime) -> str:
        fill = _Fill(self, where, self.words.themes[0], when)
        return self.rng.choice(self.text[name]).format_map(fill)


def _fmt(template: str, fill: _Fill) -> str:
    return template.format_map(fill)


def _fit(parts: list[str], target: int, limit: int) -> str:
    """The first two parts, then later ones that fit under `limit`, until `target` is reached."""
    out = parts[0] + parts[1]
    for part in parts[2:]:
        if len(out) >= target:
            break
        if len(out) + len(part) <= limit:
            out += part
    return out


def _date(moment: datetime) -> str:
    return f"{moment.year}年{moment.month}月{moment.day}日"
