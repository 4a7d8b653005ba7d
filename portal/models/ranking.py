"""Rankings: the settings in force from a month, and one snapshot per month.

A month has at most one frozen snapshot (written once, on the 1st of the next month, and
never recomputed) and at most one provisional snapshot (the current month, replaced by
each hourly refresh). ``services.ranking`` is the only code that writes them.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, String,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .ticket import Callback, Ticket
from .unit import Unit

#: the ranking's response aggregation reads tickets by dispatch month and unit
Index("ix_tickets_dispatched_unit", Ticket.dispatched_at, Ticket.handling_unit_id)
#: the callback aggregation finds a month's callbacks, then each request's others
Index("ix_callbacks_ticket_at", Callback.ticket_id, Callback.at)


class RankingSettings(db.Model):
    """Weights (whole percent, summing to 100), minimum volume and class sizes, effective from a month."""
    __tablename__ = "ranking_settings"
    __table_args__ = (
        CheckConstraint("w_response + w_resolution + w_satisfaction = 100", name="weights_sum_100"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "YYYY-MM": these settings apply to this month and later ones, until a later row
    effective_from: Mapped[str] = mapped_column(String(7), unique=True)
    w_response: Mapped[int] = mapped_column(Integer)
    w_resolution: Mapped[int] = mapped_column(Integer)
    w_satisfaction: Mapped[int] = mapped_column(Integer)
    min_volume: Mapped[int] = mapped_column(Integer)
    advanced_n: Mapped[int] = mapped_column(Integer)
    progress_n: Mapped[int] = mapped_column(Integer)
    rectification_n: Mapped[int] = mapped_column(Integer)
    governance_n: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class RankingSnapshot(db.Model):
    __tablename__ = "ranking_snapshots"
    __table_args__ = (UniqueConstraint("month", "provisional", name="uq_ranking_snapshots_month_provisional"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    provisional: Mapped[bool] = mapped_column(Boolean)
    computed_at: Mapped[datetime] = mapped_column(DateTime)
    #: the settings used, as they were
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    #: city-wide figures of the month, so the board reads nothing but the snapshot:
    #: {"categories": [[category id, n], ...], "districts": [[unit id, n], ...]}
    figures: Mapped[dict] = mapped_column(JSON, default=dict)

    rows: Mapped[list["RankingRow"]] = relationship(back_populates="snapshot", cascade="all, delete-orphan",
                                                    order_by="RankingRow.position")


class RankingRow(db.Model):
    """One unit in one snapshot: its counts, rates, rank and classes."""
    __tablename__ = "ranking_rows"
    __table_args__ = (
        UniqueConstraint("snapshot_id", "unit_id", name="uq_ranking_rows_snapshot_unit"),
        Index("ix_ranking_rows_unit_snapshot", "unit_id", "snapshot_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("ranking_snapshots.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    group: Mapped[str] = mapped_column(String(16))
    #: board order within the snapshot
    position: Mapped[int] = mapped_column(Integer)
    dispatched: Mapped[int] = mapped_column(Integer)
    signed_on_time: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    resolved: Mapped[int] = mapped_column(Integer)
    satisfied: Mapped[int] = mapped_column(Integer)
    response_rate: Mapped[float | None] = mapped_column(Float)
    resolution_rate: Mapped[float | None] = mapped_column(Float)
    satisfaction_rate: Mapped[float | None] = mapped_column(Float)
    composite: Mapped[float | None] = mapped_column(Float)
    ranked: Mapped[bool] = mapped_column(Boolean)
    rank: Mapped[int | None] = mapped_column(Integer)
    previous_rank: Mapped[int | None] = mapped_column(Integer)
    advanced: Mapped[bool] = mapped_column(Boolean, default=False)
    progress: Mapped[bool] = mapped_column(Boolean, default=False)
    rectification: Mapped[bool] = mapped_column(Boolean, default=False)
    governance: Mapped[bool] = mapped_column(Boolean, default=False)
    governance_since: Mapped[str | None] = mapped_column(String(7))

    snapshot: Mapped[RankingSnapshot] = relationship(back_populates="rows")
    unit: Mapped[Unit] = relationship()

    @property
    def change(self) -> int | None:
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank
