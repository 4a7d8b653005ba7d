"""The scheduler's own records: every job run, and the lock that lets exactly one scheduler run."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class JobRun(db.Model):
    """One run of a scheduled job, by the scheduler or by hand (``flask portal jobs run``)."""
    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started", "job", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    #: what the run was for, e.g. "2026-11" for a monthly freeze; "" when the job has no period
    period: Mapped[str] = mapped_column(String(32), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: running | ok | error | skipped
    outcome: Mapped[str] = mapped_column(String(16))
    result: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    #: "scheduler" or "manual"
    trigger: Mapped[str] = mapped_column(String(16), default="scheduler")


class SchedulerLock(db.Model):
    """The row that says which process runs the jobs, and when it last said it was alive.

    On SQLite the row is the lock (taken by a compare-and-set UPDATE); on PostgreSQL a
    session advisory lock is the lock and the row only carries the heartbeat.
    """
    __tablename__ = "scheduler_lock"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128), default="")
    acquired_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
