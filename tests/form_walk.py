"""Walking the shipped report form in tests: one valid answer per step, read from the form file.

`walk()` reads the form through the store's own loader (`store.forms.load`)
and gives, step by step in the order the chat asks them and following each
step's `when`, an `Answer` the step's checker accepts. Each channel's driver
feeds those answers its own way (a button press, typed text, a number on
WeChat, an uploaded file), so no test spells the form out by hand: a step
added to report.toml is answered everywhere at once, and
`tests/test_form_walk.py` fails if it is of a kind the walk cannot answer.

A test about one step's behaviour walks up to it (`until=`) and then sends
its own input.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from store import forms

JPEG = b"\xff\xd8\xff\xe0" + b"minyi-test-photo" * 8

TITLE = "城关镇人民路路灯长期不亮"
SITUATION = "人民路共有路灯40盏，其中12盏已经损坏超过3个月，附近2000多户居民夜间出行不便。"
SUGGESTION = "建议城管部门尽快排查维修，并建立路灯定期巡查机制。"
CONTACT = "张先生 13800000000"
PLACE = "城关镇人民路"

# What the tests type at the steps they know by name; any other text step gets
# a text made from its own rules (`_made_up`).
TEXTS: dict[str, str] = {
    "title": TITLE,
    "situation": SITUATION,
    "analysis": "路灯线路老化，维修经费一直没有列入年度预算。",
    "suggestion": SUGGESTION,
    "contact": CONTACT,
    "place": PLACE,
    "hospital": "城关镇中心小学",
    "agency": "城关镇综合执法队",
}
# The choice a walk makes where the test does not say (else the step's first choice).
CHOICES: dict[str, str] = {"category": "livelihood"}


class Unanswerable(AssertionError):
    """The form has a step the walk cannot answer (a new kind, or rules no text can meet)."""


@dataclass(frozen=True)
class Answer:
    """What to give one step.

    `value` is, by the step's kind: the text to type (text, and location as an
    address); a choice's value; True or False (yes/no); `(latitude, longitude)`
    for a location sent as a point; the bytes of a photo (file). `skip` means the
    optional step is passed over.
    """

    step: forms.Step
    value: Any = None
    skip: bool = False

    @property
    def key(self) -> str:
        return self.step.key

    @property
    def kind(self) -> str:
        return self.step.kind

    @property
    def label(self) -> str:
        """The button a person presses for this answer (choice, yes/no, skip), in Chinese."""
        if self.skip:
            return "跳过"
        if self.kind == "choice":
            choice = self.step.choice(self.value)
            assert choice is not None, (self.key, self.value)
            return choice.label["zh"]
        if self.kind == "yesno":
            return "是" if self.value else "否"
        raise AssertionError(f"step {self.key!r} ({self.kind}) is answered without a button")

    @property
    def number(self) -> int:
        """The number of a choice among the step's choices (WeChat offers them numbered)."""
        return [c.value for c in self.step.choices].index(self.value) + 1

    @property
    def answer(self) -> Any:
        """The value the report keeps for this step (None when skipped)."""
        if self.skip:
            return None
        if self.kind == "location" and isinstance(self.value, tuple):
            return {"latitude": self.value[0], "longitude": self.value[1]}
        if self.kind == "file":
            return 1
        return self.value


def form() -> forms.Form:
    """The shipped report form, as the store loads it."""
    return forms.load("report")


def walk(*, choose: Mapping[str, Any] | None = None, skip: Collection[str] = (),
         since: str | None = None, until: str | None = None,
         of: forms.Form | None = None) -> list[Answer]:
    """An answer for each step the form asks, in order, up to the read-back summary.

    `choose` sets a step's answer by key (a text, a choice's value, True/False,
    an address or `(lat, lon)`, a photo's bytes); `skip` names optional steps to
    pass over; `since` starts at that step (the earlier ones given already, with
    the same `choose`); `until` stops before that step. Both must be reached.
    """
    walked = _walk(choose or {}, skip, until, of or form())
    if since is None:
        return walked
    keys = [a.key for a in walked]
    if since not in keys:
        raise KeyError(f"the walk never reaches step {since!r} with {choose}")
    return walked[keys.index(since):]


def _walk(choose: Mapping[str, Any], skip: Collection[str], until: str | None,
          the_form: forms.Form) -> list[Answer]:
    unknown = (set(choose) | set(skip) | ({until} if until else set())) - {
        s.key for s in the_form.steps}
    if unknown:
        raise KeyError(f"the form has no step {sorted(unknown)}")
    given: dict[str, Any] = {}
    out: list[Answer] = []
    step = the_form.next_step(None, given)
    while step is not None:
        if step.key == until:
            return out
        if step.key in skip:
            if not step.optional:
                raise ValueError(f"step {step.key!r} may not be skipped")
            answer = Answer(step, skip=True)
        else:
            answer = Answer(step, choose[step.key] if step.key in choose else _default(step))
        out.append(answer)
        given[step.key] = answer.answer
        step = the_form.next_step(step.key, given)
    if until is not None:
        raise KeyError(f"the walk never reaches step {until!r} with {choose}")
    return out


def answers(walked: list[Answer]) -> dict[str, Any]:
    """The walk as `store.reports.drafts.Draft` takes answers (file steps are given as files)."""
    return {a.key: a.answer for a in walked if a.kind != "file"}


def branches(of: forms.Form | None = None) -> Iterator[dict[str, Any]]:
    """One `choose` per step with a `when`: the answers that open it."""
    for step in (of or form()).steps:
        if step.when:
            yield dict(step.when)


def _default(step: forms.Step) -> Any:
    if step.kind == "text":
        return TEXTS.get(step.key) or _made_up(step)
    if step.kind == "location":
        return TEXTS.get(step.key) or _made_up(step)
    if step.kind == "choice":
        return CHOICES.get(step.key) or step.choices[0].value
    if step.kind == "yesno":
        return False
    if step.kind == "file":
        return JPEG
    raise Unanswerable(f"step {step.key!r} is of kind {step.kind!r}, which the walk cannot answer")


def _made_up(step: forms.Step) -> str:
    """A text for a step the tests do not know: a concrete fact (a number), as long as it must be."""
    text = f"{step.name('zh')}：人民路12号附近，涉及3个小区"
    while len(text) < step.min_length:
        text += "，附近居民反映强烈"
    if len(text) > step.max_length:
        raise Unanswerable(f"step {step.key!r}: no made-up text fits {step.min_length}-"
                           f"{step.max_length} characters")
    return text
