"""Forms as data: the shipped form loads; a malformed one names its mistake."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from store import forms
from store.forms import FormError, load, parse_form


def _minimal() -> dict[str, Any]:
    text = {"zh": "请回答", "en": "Answer"}
    return {
        "form": {"key": "mini", "title": {"zh": "表"}, "intro": {"zh": "您好"}},
        "steps": [
            {"key": "category", "kind": "choice", "field": "category", "prompt": text,
             "label": {"zh": "类别"},
             "choices": [{"value": "a", "label": {"zh": "甲"}}, {"value": "b", "label": {"zh": "乙"}}]},
            {"key": "title", "kind": "text", "field": "title", "prompt": text, "label": {"zh": "标题"}},
            {"key": "situation", "kind": "text", "field": "situation", "prompt": text,
             "label": {"zh": "情况"}, "require_fact": True},
            {"key": "suggestion", "kind": "text", "field": "suggestion", "prompt": text,
             "label": {"zh": "建议"}},
        ],
    }


def test_it_loads_the_shipped_report_form() -> None:
    form = load("report")

    keys = [s.key for s in form.steps]
    assert keys[:1] == ["category"] and len(keys) == len(set(keys))
    assert {"category", "title", "situation", "suggestion"} <= {s.field for s in form.steps}
    assert all(s.kind in forms.KINDS for s in form.steps)
    assert all(s.text("zh") and s.text("en") and s.name("zh") for s in form.steps)
    category = form.step("category")
    assert category.choices and all(c.label["zh"] for c in category.choices)
    assert form.step("situation").require_fact
    assert form.title["zh"] == "社情民意信息"


def test_it_asks_conditional_steps_only_when_their_condition_holds() -> None:
    form = load("report")

    after_anonymous = form.next_step("anonymous", {"anonymous": False})
    assert after_anonymous is not None and after_anonymous.key == "contact"
    assert form.next_step("anonymous", {"anonymous": True}) is None


def test_it_accepts_a_minimal_form() -> None:
    form = parse_form(_minimal(), "mini.toml")

    assert [s.key for s in form.steps] == ["category", "title", "situation", "suggestion"]
    assert form.step("category").choice("b") is not None


def _broken(change: Any) -> FormError:
    data = copy.deepcopy(_minimal())
    change(data)
    with pytest.raises(FormError) as exc:
        parse_form(data, "mini.toml")
    return exc.value


def _step(i: int, **values: Any) -> Any:
    return lambda d: d["steps"][i].update(values)


@pytest.mark.parametrize(("change", "where", "why"), [
    (_step(1, kind="essay"), "step 2 (title)", "kind must be one of"),
    (_step(1, key="category"), "step 2 (category)", "key used twice"),
    (_step(1, key="not an identifier"), "step 2 (not an identifier)", "identifier"),
    (_step(0, choices=[]), "step 1 (category)", "needs choices"),
    (_step(1, field="salary"), "step 2 (title)", "field must be one of"),
    (_step(2, prompt={"en": "English only"}), "step 3 (situation)", "Chinese text"),
    (_step(2, prompt="请回答"), "step 3 (situation)", "Chinese text"),
    (_step(3, label=None), "step 4 (suggestion) label", "Chinese text"),
    (_step(1, when={"suggestion": "x"}), "step 2 (title)", "not an earlier step"),
    (_step(0, choices=[{"value": "a", "label": {"en": "A"}}]), "step 1 (category) choice",
     "Chinese text"),
])
def test_it_names_the_step_that_is_wrong(change: Any, where: str, why: str) -> None:
    error = str(_broken(change))

    assert f"mini.toml {where}" in error
    assert why in error


def test_it_refuses_a_form_that_does_not_ask_for_a_required_field() -> None:
    error = str(_broken(lambda d: d["steps"].pop(3)))

    assert "mini.toml" in error and "suggestion" in error


def test_it_refuses_a_form_whose_required_field_is_optional() -> None:
    error = str(_broken(_step(2, optional=True)))

    assert "situation" in error


def test_it_refuses_a_form_without_a_chinese_title() -> None:
    error = str(_broken(lambda d: d["form"].update(title={"en": "Form"})))

    assert "mini.toml [form].title" in error


@pytest.mark.parametrize("name", ["../report", "report.toml", "a/b", ""])
def test_it_refuses_form_names_that_are_not_plain_names(name: str) -> None:
    with pytest.raises(FormError, match="bad form name"):
        load(name)


def test_it_says_when_a_form_does_not_exist() -> None:
    with pytest.raises(FormError, match="no form named 'nosuchform'"):
        load("nosuchform")


def test_it_names_the_file_with_a_toml_syntax_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_form.toml").write_text('[form]\nkey = "broken\n', encoding="utf-8")
    monkeypatch.setattr(forms, "FORMS_DIR", tmp_path)

    with pytest.raises(FormError) as exc:
        load("broken_form")

    assert "broken_form.toml" in str(exc.value)


def test_the_step_counter_counts_the_most_an_undecided_answer_can_open() -> None:
    data = _minimal()
    text = {"zh": "请回答"}
    # Choice "a" opens two questions of its own, "b" one; an optional yes/no opens one.
    data["steps"][1:1] = [
        {"key": "a1", "kind": "text", "prompt": text, "label": {"zh": "甲一"}, "when": {"category": "a"}},
        {"key": "a2", "kind": "text", "prompt": text, "label": {"zh": "甲二"}, "when": {"category": "a"}},
        {"key": "b1", "kind": "text", "prompt": text, "label": {"zh": "乙一"}, "when": {"category": "b"}},
    ]
    data["steps"] += [
        {"key": "more", "kind": "yesno", "prompt": text, "label": {"zh": "补充"}},
        {"key": "detail", "kind": "text", "prompt": text, "label": {"zh": "细节"}, "when": {"more": True}},
    ]
    form = parse_form(data, "mini.toml")

    # Nothing answered: category, a1, a2 (the larger branch), title, situation, suggestion, more, detail.
    assert form.progress("category", {}) == (1, 8)
    assert [s.key for s in form.counted_steps({})][:3] == ["category", "a1", "a2"]
    after_b = {"category": "b"}
    assert form.progress("b1", after_b) == (2, 7)
    assert form.progress("more", {**after_b, "b1": "x", "title": "t", "situation": "s",
                                  "suggestion": "g"}) == (6, 7)
    # Answering "no" closes the last question: the total shrinks, the numbers asked stay.
    assert form.progress("more", {**after_b, "more": False}) == (6, 6)
    assert form.progress("detail", {**after_b, "more": True}) == (7, 7)
