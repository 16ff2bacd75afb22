"""Report forms as data: each `*.toml` beside this file is one form."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

FORMS_DIR = Path(__file__).parent
KINDS = frozenset({"text", "choice", "file", "location", "yesno"})
FIELDS = frozenset({"category", "title", "situation", "analysis", "suggestion", "place",
                    "urgency", "anonymous", "contact"})
# Columns every page, list, search and message about a report may show: an
# identity answer (`identity = true`) must not fill one of them.
SHOWN_FIELDS = frozenset({"category", "title", "situation", "analysis", "suggestion", "place",
                          "urgency", "anonymous"})
REQUIRED_FIELDS = frozenset({"category", "title", "situation", "suggestion"})


class FormError(ValueError):
    """A form file is malformed; the message names the file and the step."""


@dataclass(frozen=True)
class Choice:
    value: str
    label: dict[str, str]


@dataclass(frozen=True)
class Step:
    key: str
    kind: str
    prompt: dict[str, str]
    label: dict[str, str]
    field: str | None = None
    optional: bool = False
    min_length: int = 1
    max_length: int = 1500
    single_line: bool = False
    require_fact: bool = False
    choices: tuple[Choice, ...] = ()
    columns: int = 1
    accept: tuple[str, ...] = ()
    max_files: int = 9
    max_mb: int = 20
    when: dict[str, Any] = dataclasses.field(default_factory=dict)
    # How a paper-like form (counter intake) words the question, where the
    # chat's prompt talks of buttons or sending; empty: use the prompt.
    hint: dict[str, str] = dataclasses.field(default_factory=dict)
    # Who the reporter is (a name, a phone number): staff see it only through
    # `store.access.reveal_identity`, which checks the role and logs the look.
    identity: bool = False

    def text(self, lang: str) -> str:
        return self.prompt.get(lang) or self.prompt["zh"]

    def form_text(self, lang: str) -> str:
        """The question as a form on a page shows it."""
        return self.hint.get(lang) or self.hint.get("zh") or self.text(lang)

    def name(self, lang: str) -> str:
        """The short label used in the read-back summary and the edit menu."""
        return self.label.get(lang) or self.label["zh"]

    def choice(self, value: str) -> Choice | None:
        return next((c for c in self.choices if c.value == value), None)


@dataclass(frozen=True)
class Form:
    key: str
    title: dict[str, str]
    intro: dict[str, str]
    steps: tuple[Step, ...]
    # `progress` by the step and the answers its count depends on (asked at every question).
    _progress: dict[tuple[Any, ...], tuple[int, int]] = dataclasses.field(
        default_factory=dict, init=False, compare=False, repr=False)

    @cached_property
    def _gates(self) -> tuple[str, ...]:
        """The keys whose answers some step's `when` waits on: all the counter depends on."""
        return tuple(dict.fromkeys(k for s in self.steps for k in s.when))

    @property
    def identity_keys(self) -> frozenset[str]:
        """Keys of the steps whose answers say who the reporter is."""
        return frozenset(s.key for s in self.steps if s.identity)

    @property
    def identity_fields(self) -> frozenset[str]:
        """Report columns filled by identity steps."""
        return frozenset(s.field for s in self.steps if s.identity and s.field)

    def step(self, key: str) -> Step:
        for s in self.steps:
            if s.key == key:
                return s
        raise KeyError(key)

    def choice_labels(self, key: str, lang: str = "zh") -> dict[str, str]:
        """value -> label of a choice step's options (empty if the form has no such step)."""
        try:
            step = self.step(key)
        except KeyError:
            return {}
        return {c.value: c.label.get(lang) or c.value for c in step.choices}

    def applies(self, step: Step, answers: dict[str, Any]) -> bool:
        """Whether `step` is asked, given the answers so far (its `when`)."""
        return all(answers.get(k) == v for k, v in step.when.items())

    def next_step(self, after: str | None, answers: dict[str, Any]) -> Step | None:
        keys = [s.key for s in self.steps]
        start = 0 if after is None else keys.index(after) + 1
        for s in self.steps[start:]:
            if self.applies(s, answers):
                return s
        return None

    def previous_step(self, before: str, answers: dict[str, Any]) -> Step | None:
        keys = [s.key for s in self.steps]
        for s in reversed(self.steps[: keys.index(before)]):
            if self.applies(s, answers):
                return s
        return None

    def active_steps(self, answers: dict[str, Any]) -> list[Step]:
        return [s for s in self.steps if self.applies(s, answers)]

    def counted_steps(self, answers: dict[str, Any]) -> list[Step]:
        """The steps the step counter counts, given the answers so far.

        Every step whose `when` holds, and, for steps whose `when` waits on a
        question not answered yet, as many as the most demanding answer to that
        question would open: before the category is chosen, one of the
        category's own questions; before anonymity is decided, the contact
        question. So the total is the most the form can still ask. It never
        grows while answering, and shrinks only right after an answer that
        closes steps (a category without a question of its own, reporting
        anonymously); the steps already asked keep their numbers.
        """
        counted: list[Step] = []
        # (open keys) -> (the values they must take) -> steps waiting on them
        waiting: dict[tuple[str, ...], dict[tuple[Any, ...], list[Step]]] = {}
        for step in self.steps:
            if any(k in answers and answers[k] != v for k, v in step.when.items()):
                continue  # an answer already rules it out
            open_keys = tuple(k for k in step.when if k not in answers)
            if not open_keys:
                counted.append(step)
                continue
            options = waiting.setdefault(open_keys, {})
            options.setdefault(tuple(step.when[k] for k in open_keys), []).append(step)
        for options in waiting.values():
            most: list[Step] = []
            for steps in options.values():
                if len(steps) > len(most):
                    most = steps
            counted.extend(most)
        order = {s.key: i for i, s in enumerate(self.steps)}
        return sorted(counted, key=lambda s: order[s.key])

    def progress(self, key: str, answers: dict[str, Any]) -> tuple[int, int]:
        """(the number of step `key`, the total) for the counter "第 i/n 项"; see `counted_steps`."""
        seen = tuple((k, k in answers, answers.get(k)) for k in self._gates)
        try:
            return self._progress[(key, seen)]
        except KeyError:
            pass
        except TypeError:  # an answer that cannot be a key (a list): counted afresh
            return self._progress_of(key, answers)
        if len(self._progress) >= 4096:  # bounded, whatever the gates' answers are
            self._progress.clear()
        found = self._progress[(key, seen)] = self._progress_of(key, answers)
        return found

    def _progress_of(self, key: str, answers: dict[str, Any]) -> tuple[int, int]:
        keys = [s.key for s in self.steps]
        counted = [keys.index(s.key) for s in self.counted_steps(answers)]
        number = sum(1 for i in counted if i < keys.index(key)) + 1
        return number, max(len(counted), number)


def _texts(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not isinstance(raw.get("zh"), str):
        raise FormError(f"{where}: needs a Chinese text, e.g. {{ zh = \"...\", en = \"...\" }}")
    return {k: str(v) for k, v in raw.items()}


def parse_form(data: dict[str, Any], source: str = "<form>") -> Form:
    """Check and build a form from parsed TOML; every mistake names its place."""
    meta = data.get("form") or {}
    steps: list[Step] = []
    seen: set[str] = set()
    for i, raw in enumerate(data.get("steps") or [], start=1):
        where = f"{source} step {i} ({raw.get('key', '?')})"
        key, kind = raw.get("key"), raw.get("kind")
        if not isinstance(key, str) or not key.isidentifier():
            raise FormError(f"{where}: key must be an identifier")
        if key in seen:
            raise FormError(f"{where}: key used twice")
        seen.add(key)
        if kind not in KINDS:
            raise FormError(f"{where}: kind must be one of {sorted(KINDS)}")
        fld = raw.get("field")
        if fld is not None and fld not in FIELDS:
            raise FormError(f"{where}: field must be one of {sorted(FIELDS)}")
        identity = raw.get("identity", False)
        if not isinstance(identity, bool):
            raise FormError(f"{where}: identity must be true or false")
        if identity and fld in SHOWN_FIELDS:
            raise FormError(f"{where}: an identity answer cannot fill {fld!r}, "
                            "which is shown with the report to everyone who may see it")
        choices = tuple(Choice(str(c["value"]), _texts(c.get("label"), f"{where} choice"))
                        for c in raw.get("choices", []))
        if kind == "choice" and not choices:
            raise FormError(f"{where}: a choice step needs choices")
        for k in raw.get("when", {}):
            if k not in seen:
                raise FormError(f"{where}: 'when' refers to {k!r}, which is not an earlier step")
        steps.append(Step(
            key=key, kind=kind, prompt=_texts(raw.get("prompt"), where),
            label=_texts(raw.get("label"), f"{where} label"), field=fld,
            optional=bool(raw.get("optional", False)),
            min_length=int(raw.get("min_length", 1)), max_length=int(raw.get("max_length", 1500)),
            single_line=bool(raw.get("single_line", False)),
            require_fact=bool(raw.get("require_fact", False)), choices=choices,
            columns=int(raw.get("columns", 1)), accept=tuple(raw.get("accept", ())),
            max_files=int(raw.get("max_files", 9)), max_mb=int(raw.get("max_mb", 20)),
            when=dict(raw.get("when", {})),
            hint=_texts(raw["hint"], f"{where} hint") if "hint" in raw else {},
            identity=identity,
        ))
    fields = {s.field for s in steps if s.field and not s.optional and not s.when}
    missing = REQUIRED_FIELDS - fields
    if missing:
        raise FormError(f"{source}: the form must ask for {sorted(missing)} (not optional)")
    return Form(key=str(meta.get("key") or Path(source).stem),
                title=_texts(meta.get("title"), f"{source} [form].title"),
                intro=_texts(meta.get("intro"), f"{source} [form].intro"), steps=tuple(steps))


@cache
def load(name: str = "report") -> Form:
    """The form `name` from this folder (cached: forms change with a deploy)."""
    if not name.replace("_", "").isalnum():
        raise FormError(f"bad form name {name!r}")
    path = FORMS_DIR / f"{name}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FormError(f"no form named {name!r} in {FORMS_DIR}") from None
    except tomllib.TOMLDecodeError as exc:
        raise FormError(f"{path}: {exc}") from exc
    return parse_form(data, str(path))
