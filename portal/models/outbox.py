from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class OutboxMessage(db.Model):
    """A notification written in the same transaction as the event that causes it.

    A job delivers it after commit, so nothing is lost when a gateway is down.
    ``recipient`` is a phone or an address: never logged, never shown.

    Delivery claims rows with a lease (``lease_until`` / ``claimed_by``) so two runs of the job
    never send the same row; ``dedupe_key`` makes scheduled warnings idempotent.
    """
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(32))          # receipt, dispatched, feedback, rate_prompt, ...
    channel: Mapped[str] = mapped_column(String(16))        # sms, email
    recipient: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="pending")   # pending, sent, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: citizen | unit (a handler notification to a unit contact)
    audience: Mapped[str] = mapped_column(String(8), default="citizen", server_default="citizen")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    #: one row per key at most (due-soon / overdue warnings per deadline and contact)
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    #: the delivery run that holds the row, and until when
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    dead_at: Mapped[datetime | None] = mapped_column(DateTime)
