"""The journals an office publishes (《社情民意》, 《信息专报》 ...) and their settings."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.errors import DomainError
from store.models import JournalSeries

NAME_LIMIT = 40
PUBLISHER_LIMIT = 100


class SeriesError(DomainError):
    pass


def bare(name: str) -> str:
    """A series name as stored: without 《》 and the spaces around it."""
    return name.strip().removeprefix("《").removesuffix("》").strip()


def titled(series: JournalSeries) -> str:
    return f"《{series.name}》"


def all_series(session: Session, *, active_only: bool = False) -> list[JournalSeries]:
    query = sa.select(JournalSeries).order_by(JournalSeries.id)
    if active_only:
        query = query.where(JournalSeries.active.is_(True))
    return list(session.scalars(query))


def find(session: Session, name: str) -> JournalSeries:
    """The series called `name` (with or without 《》); a clear refusal naming the known ones."""
    found = session.scalar(sa.select(JournalSeries).where(JournalSeries.name == bare(name)))
    if found is None or not found.active:
        known = "、".join(titled(s) for s in all_series(session, active_only=True))
        raise SeriesError(f"没有期刊「{name}」，现有：{known} / no journal {name!r}; "
                          f"there are: {known}")
    return found


def get(session: Session, series_id: int) -> JournalSeries:
    found = session.get(JournalSeries, series_id)
    if found is None:
        raise SeriesError(f"没有编号为 {series_id} 的期刊 / no journal #{series_id}")
    return found


def add(session: Session, name: str, *, publisher: str = "", single_item: bool = False) -> JournalSeries:
    """Configure another journal (an office may publish more than the two it starts with)."""
    name = bare(name)
    if not name or len(name) > NAME_LIMIT:
        raise SeriesError(f"期刊名称不能为空，且不超过 {NAME_LIMIT} 字 / a journal needs a name "
                          f"of at most {NAME_LIMIT} characters")
    if session.scalar(sa.select(JournalSeries.id).where(JournalSeries.name == name)):
        raise SeriesError(f"已有期刊《{name}》 / the journal 《{name}》 exists already")
    series = JournalSeries(name=name, publisher=_publisher(publisher), single_item=single_item)
    session.add(series)
    session.flush()
    return series


def update(session: Session, series: JournalSeries, *, publisher: str, active: bool) -> None:
    """Change the 编印单位 printed under the masthead, or retire / restore the series."""
    series.publisher = _publisher(publisher)
    series.active = active
    session.flush()


def _publisher(text: str) -> str:
    text = text.strip()
    if len(text) > PUBLISHER_LIMIT:
        raise SeriesError(f"编印单位不超过 {PUBLISHER_LIMIT} 字 / the publisher is at most "
                          f"{PUBLISHER_LIMIT} characters")
    return text


def set_template(session: Session, series: JournalSeries, path: str | None) -> None:
    """Use the .docx at `path` (under the instance folder) for this series; None: the default."""
    series.template = path
    session.flush()


def template_path(series: JournalSeries, instance_dir: Path) -> Path | None:
    """The office's own template of `series`, if it has one."""
    return instance_dir / series.template if series.template else None
