"""不采用 reasons the office words once and staff pick with a click.

One template may be the "already being handled by the government" reason:
the console offers it as a one-click decline for duplicates of known issues.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.errors import DomainError
from store.models import DeclineTemplate

TEXT_LIMIT = 500
ALREADY_HANDLED = "该问题已在政府有关部门研究处理中，暂不作为社情民意信息报送。感谢您的关注！"
DEFAULTS = (
    "反映的情况缺少具体事实和数据，难以核实。",
    "所提建议与现行政策已基本一致，暂不采用。",
    "反映的问题属个人诉求，建议通过信访或 12345 热线等渠道反映。",
    "与其他信息内容重复，已合并处理。",
)


class TemplateError(DomainError):
    """A template cannot be saved as asked; the message says why (Chinese / English)."""


def _clean(text: str) -> str:
    text = (text or "").strip()
    if not text or len(text) > TEXT_LIMIT:
        raise TemplateError(f"原因内容不能为空，且不超过 {TEXT_LIMIT} 字 / "
                            f"a reason needs 1-{TEXT_LIMIT} characters")
    return text


def active(session: Session) -> list[DeclineTemplate]:
    """Templates to offer, in the office's order."""
    return list(session.scalars(sa.select(DeclineTemplate).where(DeclineTemplate.active.is_(True))
                                .order_by(DeclineTemplate.position, DeclineTemplate.id)))


def all_templates(session: Session) -> list[DeclineTemplate]:
    """Every template, switched-off ones too (for the admin page)."""
    return list(session.scalars(sa.select(DeclineTemplate).order_by(
        DeclineTemplate.active.desc(), DeclineTemplate.position, DeclineTemplate.id)))


def already_handled(session: Session) -> DeclineTemplate | None:
    """The active one-click 已在政府部门处理中 reason, if the office keeps one."""
    return session.scalar(sa.select(DeclineTemplate).where(
        DeclineTemplate.already_handled.is_(True), DeclineTemplate.active.is_(True))
        .order_by(DeclineTemplate.id).limit(1))


def add(session: Session, text: str, already_handled: bool = False) -> DeclineTemplate:
    """A new template at the end of the list; the caller commits.

    A new already-handled template replaces the previous one in that role.
    """
    text = _clean(text)
    last = session.scalar(sa.select(sa.func.max(DeclineTemplate.position))) or 0
    if already_handled:
        session.execute(sa.update(DeclineTemplate).where(DeclineTemplate.already_handled.is_(True))
                        .values(already_handled=False))
    template = DeclineTemplate(text=text, already_handled=already_handled, position=last + 1)
    session.add(template)
    session.flush()
    return template


def update(session: Session, template_id: int, text: str, active: bool) -> DeclineTemplate:
    """Reword a template or switch it on/off; LookupError if there is none."""
    template = session.get(DeclineTemplate, template_id)
    if template is None:
        raise LookupError(f"找不到模板 #{template_id} / no template #{template_id}")
    template.text = _clean(text)
    template.active = active
    session.flush()
    return template


def ensure_defaults(session: Session) -> int:
    """Give an office with no templates a starting set; returns how many were added.

    Run by `minyi init`; an office that has any template (even switched off)
    keeps its own list untouched.
    """
    if session.scalar(sa.select(DeclineTemplate.id).limit(1)) is not None:
        return 0
    add(session, ALREADY_HANDLED, already_handled=True)
    for text in DEFAULTS:
        add(session, text)
    return 1 + len(DEFAULTS)
