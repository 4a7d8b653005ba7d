"""Open311 (issue 8): API keys per channel, what the API keeps about a request that the
ticket has no column for, and the unit contacts that handler notifications go to."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.intake import Channel
from ..extensions import db
from .types import enum_column
from .unit import Unit


class ApiKey(db.Model):
    """A key for one channel's system (微信, 留言板, another hotline…). Only its SHA-256 is kept;
    the key itself is shown once, when an admin creates it."""
    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint("rate_per_minute > 0", name="rate_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, 12, name="api_key_channel"))
    #: the first characters of the key, to tell keys apart in lists and logs (not secret)
    prefix: Mapped[str] = mapped_column(String(12), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    rate_per_minute: Mapped[int] = mapped_column(Integer, default=60)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def rate_limit(self) -> str:
        return f"{self.rate_per_minute}/minute"


class Open311Request(db.Model):
    """What a request posted through the API carried beyond the ticket's columns."""
    __tablename__ = "open311_requests"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    #: for tokens/{token}: a client written for batch servers can look the request up by it
    token: Mapped[str] = mapped_column(String(32), unique=True)
    lat: Mapped[float | None] = mapped_column(Float)
    long: Mapped[float | None] = mapped_column(Float)
    address_string: Mapped[str] = mapped_column(String(200), default="")
    media_url: Mapped[str] = mapped_column(String(500), default="")
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class UnitContact(db.Model):
    """Where a unit's handlers are told about their queue: an e-mail address or a mobile number
    of the unit's duty desk, kept by admins. Never shown outside the admin pages."""
    __tablename__ = "unit_contacts"
    __table_args__ = (
        UniqueConstraint("unit_id", "channel", "address", name="uq_unit_contacts_unit_channel_address"),
        CheckConstraint("channel IN ('email', 'sms')", name="channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    unit: Mapped[Unit] = relationship()
