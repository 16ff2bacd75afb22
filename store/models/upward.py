"""Reporting upward (报送) and adoption as facts (issue 12).

A `Destination` is where reports go up to: an outside body (省政协办公厅) or a
unit of this network, whose staff then review what was sent. An
`UpwardRecord` is one report sent to one destination and what came back. An
`Adoption` is the fact that some level adopted a report: the office's own
采用, a higher level raising it, or an upward record's outcome. "Adopted" and
"the highest level" are read from adoptions only (`store.outputs.adoption`).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base, enum_type, utcnow
from store.models.enums import AdoptionLevel

if TYPE_CHECKING:
    from store.models.network import Unit, User
    from store.models.reports import ReportVersion


class UpwardStatus(enum.StrEnum):
    SENT = "sent"  # waiting for the destination's answer: the record is open
    ADOPTED = "adopted"
    INSTRUCTED = "instructed"  # a leader of the destination's level instructed on it (批示)
    DECLINED = "declined"


class Destination(Base):
    """Where reports are sent up to, with its level; `unit_id` set: a unit of this network."""

    __tablename__ = "upward_destinations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    level: Mapped[AdoptionLevel] = mapped_column(enum_type(AdoptionLevel))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    # Kept for the records that name it; no longer offered for new ones.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit | None] = relationship()


# What a new installation offers from the start; the office edits them under 报送去向.
# (Migration 0012 writes the same rows out literally.)
DEFAULT_DESTINATIONS: tuple[tuple[str, AdoptionLevel], ...] = (
    ("市委办公室", AdoptionLevel.CITY),
    ("市政府办公室", AdoptionLevel.CITY),
    ("省政协办公厅", AdoptionLevel.PROVINCE),
    ("全国政协办公厅", AdoptionLevel.NATIONAL),
)


@sa.event.listens_for(Destination.__table__, "after_create")
def _seed_defaults(target: sa.Table, connection: sa.Connection, **kw: Any) -> None:
    connection.execute(target.insert(), [
        {"name": name, "level": level.value, "active": True, "created_at": utcnow()}
        for name, level in DEFAULT_DESTINATIONS])


class UpwardRoute(Base):
    """One step of a unit's own chain: a destination its staff report up to, in order."""

    __tablename__ = "upward_routes"
    __table_args__ = (sa.UniqueConstraint("unit_id", "destination_id",
                                          name="uq_upward_routes_unit_destination"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    destination_id: Mapped[int] = mapped_column(sa.ForeignKey("upward_destinations.id"))
    position: Mapped[int] = mapped_column(default=0)

    destination: Mapped[Destination] = relationship()


class UpwardRecord(Base):
    """One report sent to one destination (报送), and the outcome when it comes back."""

    __tablename__ = "upward_records"
    __table_args__ = (
        # One open record per report and destination: sending twice is one atomic refusal.
        sa.Index("uq_upward_records_open", "report_id", "destination_id", unique=True,
                 sqlite_where=sa.text("status = 'sent'"),
                 postgresql_where=sa.text("status = 'sent'")),
        sa.Index("ix_upward_records_destination_status", "destination_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("reports.id"), index=True)
    destination_id: Mapped[int] = mapped_column(sa.ForeignKey("upward_destinations.id"))
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("report_versions.id"))
    # The unit that sent it (the sender's unit; None: the office over the whole network).
    sending_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    # None: sent from the command line.
    sent_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    sent_on: Mapped[date]
    status: Mapped[UpwardStatus] = mapped_column(enum_type(UpwardStatus), default=UpwardStatus.SENT)
    # -- the outcome --
    body: Mapped[str | None] = mapped_column(sa.String(200))  # who adopted it
    level: Mapped[AdoptionLevel | None] = mapped_column(enum_type(AdoptionLevel))
    publication: Mapped[str | None] = mapped_column(sa.String(200))  # e.g. 《政协信息》
    leader: Mapped[str | None] = mapped_column(sa.String(100))  # who wrote the 批示
    # Its own CHECK name: two enum columns of one table cannot share "adoptionlevel".
    leader_level: Mapped[AdoptionLevel | None] = mapped_column(sa.Enum(
        AdoptionLevel, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e],
        create_constraint=True, name="leaderlevel"))
    outcome_on: Mapped[date | None]
    note: Mapped[str | None] = mapped_column(sa.Text)
    outcome_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    outcome_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    destination: Mapped[Destination] = relationship()
    version: Mapped[ReportVersion] = relationship()
    sending_unit: Mapped[Unit | None] = relationship(foreign_keys=[sending_unit_id])
    sent_by: Mapped[User | None] = relationship(foreign_keys=[sent_by_id])
    outcome_by: Mapped[User | None] = relationship(foreign_keys=[outcome_by_id])


class Adoption(Base):
    """The fact that a level adopted a report (采用), with its date and where it came from."""

    __tablename__ = "adoptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("reports.id"), index=True)
    level: Mapped[AdoptionLevel] = mapped_column(enum_type(AdoptionLevel))
    adopted_on: Mapped[date]
    # The adopting body when it is not this office (an upward record's destination).
    body: Mapped[str | None] = mapped_column(sa.String(200))
    publication: Mapped[str | None] = mapped_column(sa.String(200))
    # Where the fact came from: the lifecycle event (采用 / 提高采用级别) or an upward record.
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("report_events.id"))
    upward_id: Mapped[int | None] = mapped_column(sa.ForeignKey("upward_records.id"), unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Each report's highest level (the dashboard, the inbox's 采用级别) from the index alone.
    __table_args__ = (sa.Index("ix_adoptions_report_level", "report_id", "level"),)
