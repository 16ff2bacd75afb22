"""The tests' walk of the shipped form (`tests.form_walk`) answers every step the form can ask.

If report.toml gains a step of a kind the walk cannot answer, or one whose
rules its made-up text does not meet, these fail before any channel's test
trips over it.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from store import forms
from store.conversation.engine import Engine
from store.reports.drafts import Draft
from tests import form_walk
from tests.chat_driver import Chat

BRANCHES: list[dict[str, Any]] = [{}, *form_walk.branches()]


def test_it_answers_every_kind_of_step_the_forms_may_have() -> None:
    for kind in sorted(forms.KINDS):
        step = forms.Step(key=f"new_{kind}", kind=kind, prompt={"zh": "新问题"}, label={"zh": "新"},
                          min_length=30, max_length=60, require_fact=True,
                          choices=(forms.Choice("a", {"zh": "甲"}),) if kind == "choice" else ())
        [answer] = form_walk.walk(of=forms.Form("t", {"zh": "t"}, {"zh": "t"}, (step,)))
        assert answer.value is not None, kind


def test_every_step_of_the_shipped_form_is_on_some_branch() -> None:
    walked = {a.key for choose in BRANCHES for a in form_walk.walk(choose=choose)}
    assert walked == {s.key for s in form_walk.form().steps}


@pytest.mark.parametrize("choose", BRANCHES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items())
                         or "default")
def test_the_forms_own_rules_accept_every_answer_of_the_walk(choose: dict[str, Any]) -> None:
    walked = form_walk.walk(choose=choose)
    draft = Draft(form=form_walk.form(), answers=form_walk.answers(walked),
                  files={a.key: [object()] for a in walked if a.kind == "file"})  # type: ignore[list-item]
    assert draft.check() == {}
    assert [a.key for a in walked] == [s.key for s in form_walk.form().active_steps(
        {a.key: a.answer for a in walked})]


@pytest.mark.parametrize("choose", BRANCHES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items())
                         or "default")
def test_the_chat_takes_every_answer_of_the_walk_to_the_summary(
    Session_: sessionmaker[Session], engine: Engine, point_token: str,  # noqa: N803
    choose: dict[str, Any],
) -> None:
    chat = Chat(Session_, engine)
    chat.command("start", point_token)
    walked = form_walk.walk(choose=choose)
    for a, then in zip(walked, [*walked[1:], None], strict=True):
        chat.answer(a)
        # Taken: the chat moved on to the next question (a refusal asks the same one again).
        expected = then.step.text("zh") if then is not None else "请核对"
        assert expected in chat.last.text, (a.key, chat.last.text)


def test_it_stops_before_the_step_asked_for_and_refuses_one_never_reached() -> None:
    assert [a.key for a in form_walk.walk(until="situation")] == ["category", "title"]
    with pytest.raises(KeyError):
        form_walk.walk(until="hospital")  # only asked for education
    with pytest.raises(KeyError):
        form_walk.walk(choose={"no_such_step": "x"})
    with pytest.raises(ValueError):
        form_walk.walk(skip={"title"})  # not optional
