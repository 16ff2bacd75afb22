"""不采用 reason templates: defaults once, add, reword, switch off, the one-click reason."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from store.review import templates


def test_it_gives_a_new_office_defaults_once(session: Session) -> None:
    assert templates.ensure_defaults(session) == 1 + len(templates.DEFAULTS)
    session.commit()
    assert templates.ensure_defaults(session) == 0

    offered = templates.active(session)
    assert len(offered) == 1 + len(templates.DEFAULTS)
    handled = templates.already_handled(session)
    assert handled is not None and handled == offered[0] and "已在政府有关部门" in handled.text


def test_it_adds_rewords_and_switches_off(session: Session) -> None:
    first = templates.add(session, "  缺少具体数据。 ")
    second = templates.add(session, "建议走信访渠道。")
    session.commit()
    assert [x.text for x in templates.active(session)] == ["缺少具体数据。", "建议走信访渠道。"]

    templates.update(session, first.id, "缺少具体事实和数据。", active=False)
    session.commit()

    assert templates.active(session) == [second]
    assert [x.text for x in templates.all_templates(session)] == ["建议走信访渠道。",
                                                                  "缺少具体事实和数据。"]
    with pytest.raises(LookupError):
        templates.update(session, 999, "x", active=True)
    with pytest.raises(ValueError):
        templates.add(session, "  ")
    with pytest.raises(ValueError):
        templates.add(session, "长" * 501)
    # An office that kept its own list gets no defaults back.
    assert templates.ensure_defaults(session) == 0


def test_only_one_template_is_the_already_handled_reason(session: Session) -> None:
    old = templates.add(session, "已在处理。", already_handled=True)
    new = templates.add(session, "该问题政府部门已在处理中。", already_handled=True)
    session.commit()

    assert templates.already_handled(session) == new
    assert not old.already_handled
    templates.update(session, new.id, new.text, active=False)
    assert templates.already_handled(session) is None
