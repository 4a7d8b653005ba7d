from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, false, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.access import Role
from ..domain.deadlines import Urgency
from ..domain.intake import Channel, RequesterType, RequestKind
from ..domain.lifecycle import TERMINAL, WITH_UNIT, Action, Status
from ..extensions import db
from .category import Category
from .types import enum_column
from .unit import Unit


#: ix_tickets_queue: the status first, then everything a queue page's count and ordering read, so
#: neither reads a table row; the id last (PostgreSQL's index does not carry it otherwise)
QUEUE_INDEX_COLUMNS = ("status", "feedback_due_at", "sign_due_at", "handling_unit_id", "created_at",
                       "supervision_level", "return_count", "review_unit_id", "review_by_leader",
                       "category_id", "urgency", "district_id", "street_id", "id")


def _in(statuses) -> str:
    return ", ".join(f"'{s.value}'" for s in sorted(statuses, key=lambda s: s.value))


#: a published case (services.publicity): closed, and the citizen consented
PUBLISHED_WHERE_POSTGRESQL = "status = 'closed' AND consent_publish"
PUBLISHED_WHERE_SQLITE = "status = 'closed' AND consent_publish = 1"


class Ticket(db.Model):
    """A citizen's request (诉求工单). Its status is written only by ``services.tickets.perform``."""
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(f"status NOT IN ({_in(TERMINAL)}) OR closed_at IS NOT NULL", name="closed_has_time"),
        CheckConstraint("status <> 'merged' OR merged_into_id IS NOT NULL", name="merged_has_target"),
        CheckConstraint("status <> 'feedback_review' OR review_unit_id IS NOT NULL", name="review_has_reviewer"),
        CheckConstraint(f"status NOT IN ({_in(WITH_UNIT)}) OR (handling_unit_id IS NOT NULL "
                        "AND sign_due_at IS NOT NULL AND feedback_due_at IS NOT NULL)", name="with_unit_has_dues"),
        Index("ix_tickets_unit_status", "handling_unit_id", "status"),
        Index("ix_tickets_status_feedback_due", "status", "feedback_due_at"),
        # every column the queue counts, the queue filters and the queue ordering read (services/queues.py;
        # migrations 0009_queue_idx, 0010_scope_open)
        Index("ix_tickets_queue", *QUEUE_INDEX_COLUMNS),
        # a request's page lists the caller's earlier requests, newest first (migration 0009_queue_idx)
        Index("ix_tickets_citizen_phone", "citizen_phone", "created_at"),
        # the public board's published cases, newest first (services.publicity; migration 0014_published)
        Index("ix_tickets_published", "closed_at", "id", sqlite_where=text(PUBLISHED_WHERE_SQLITE),
              postgresql_where=text(PUBLISHED_WHERE_POSTGRESQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_no: Mapped[str] = mapped_column(String(20), unique=True)
    query_code: Mapped[str] = mapped_column(String(12))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, 12), index=True)
    kind: Mapped[RequestKind] = mapped_column(enum_column(RequestKind, 16))
    urgency: Mapped[Urgency] = mapped_column(enum_column(Urgency, 8), default=Urgency.NORMAL)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    address: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(100), default="")
    content: Mapped[str] = mapped_column(Text)

    requester_type: Mapped[RequesterType] = mapped_column(enum_column(RequesterType, 12),
                                                          default=RequesterType.CITIZEN)
    citizen_name: Mapped[str] = mapped_column(String(64), default="")
    citizen_phone: Mapped[str] = mapped_column(String(32), default="")
    citizen_email: Mapped[str] = mapped_column(String(254), default="")
    enterprise_name: Mapped[str] = mapped_column(String(200), default="")
    credit_code: Mapped[str] = mapped_column(String(18), default="")
    consent_publish: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the language the citizen used; notifications go out in it
    locale: Mapped[str] = mapped_column(String(8), default="zh", server_default="zh")

    status: Mapped[Status] = mapped_column(enum_column(Status), index=True)
    handling_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    sign_due_at: Mapped[datetime | None] = mapped_column(DateTime)
    signed_at: Mapped[datetime | None] = mapped_column(DateTime)
    feedback_due_at: Mapped[datetime | None] = mapped_column(DateTime)
    fed_back_at: Mapped[datetime | None] = mapped_column(DateTime)
    reply: Mapped[str] = mapped_column(Text, default="")          # 答复市民 (shown on /track)
    report: Mapped[str] = mapped_column(Text, default="")         # 报告中心
    answer: Mapped[str] = mapped_column(Text, default="")         # 直接答复
    pending_due_at: Mapped[datetime | None] = mapped_column(DateTime)  # requested extension
    #: who must approve the feedback now waiting in FEEDBACK_REVIEW (fixed when it was submitted,
    #: so changing a unit's setting later cannot strand it)
    review_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    review_by_leader: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    close_reason: Mapped[str] = mapped_column(String(200), default="")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    supervision_level: Mapped[int] = mapped_column(Integer, default=0)
    supervised_at: Mapped[datetime | None] = mapped_column(DateTime)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    redispatch_count: Mapped[int] = mapped_column(Integer, default=0)
    rehandle_count: Mapped[int] = mapped_column(Integer, default=0)
    extension_count: Mapped[int] = mapped_column(Integer, default=0)
    rating_resolved: Mapped[bool | None] = mapped_column(Boolean)
    rating_satisfied: Mapped[bool | None] = mapped_column(Boolean)
    rating_comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}

    category: Mapped[Category] = relationship(lazy="joined")
    district: Mapped[Unit | None] = relationship(foreign_keys=[district_id])
    street: Mapped[Unit | None] = relationship(foreign_keys=[street_id])
    handling_unit: Mapped[Unit | None] = relationship(foreign_keys=[handling_unit_id])
    events: Mapped[list["TicketEvent"]] = relationship(back_populates="ticket", order_by="TicketEvent.seq",
                                                       cascade="all, delete-orphan")
    units: Mapped[list["TicketUnit"]] = relationship(back_populates="ticket", cascade="all, delete-orphan")
    callbacks: Mapped[list["Callback"]] = relationship(back_populates="ticket", order_by="Callback.id",
                                                       cascade="all, delete-orphan")
    attachments: Mapped[list["Attachment"]] = relationship(back_populates="ticket", order_by="Attachment.id",
                                                           cascade="all, delete-orphan")

    @property
    def assisting_unit_ids(self) -> frozenset[int]:
        return frozenset(tu.unit_id for tu in self.units if tu.role == "assist" and tu.current)


class TicketUnit(db.Model):
    """Every unit a request has been sent to (the handling path), primary or assisting.

    Scope queries join here: a unit sees a request when one of these units is in its subtree.

    ``ticket_open`` repeats whether the request is open (its status in ``OPEN``), kept by
    ``services.tickets.perform`` in the same flush as the status. The work queues show only open
    requests, so a unit's queue starts from its own open rows in the partial index
    ``ix_ticket_units_open`` (a street's few hundred) instead of checking the whole city's open
    requests against the handling path (migration 0010_scope_open).
    """
    __tablename__ = "ticket_units"
    __table_args__ = (
        Index("ix_ticket_units_open", "unit_id", "ticket_id", sqlite_where=text("ticket_open = 1"),
              postgresql_where=text("ticket_open")),
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(8), default="primary")   # primary | assist
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    assigned_at: Mapped[datetime] = mapped_column(DateTime)
    ticket_open: Mapped[bool] = mapped_column(Boolean, default=True, server_default=false())

    ticket: Mapped[Ticket] = relationship(back_populates="units")
    unit: Mapped[Unit] = relationship()


class TicketEvent(db.Model):
    """One step in a request's trail: who did what, when, from which status to which, with which words."""
    __tablename__ = "ticket_events"
    __table_args__ = (UniqueConstraint("ticket_id", "seq", name="uq_ticket_events_ticket_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[Action] = mapped_column(enum_column(Action, 24))
    from_status: Mapped[Status | None] = mapped_column(enum_column(Status, name="from_status"))
    to_status: Mapped[Status] = mapped_column(enum_column(Status, name="to_status"))
    actor_role: Mapped[Role] = mapped_column(enum_column(Role, 16))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    #: the unit the action sent the request to, or the one handling it after the action
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    #: shown on the citizen's public timeline
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    actor_unit: Mapped[Unit | None] = relationship(foreign_keys=[actor_unit_id])
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])


class Callback(db.Model):
    """回访: the center's call to the citizen after feedback, or the citizen's online rating.

    Both are kept. The rates use the latest center callback where there is one, else the
    citizen's rating (``services.tickets.rated_callback``).
    """
    __tablename__ = "callbacks"
    __table_args__ = (
        CheckConstraint("contacted OR (resolved IS NULL AND satisfied IS NULL)", name="answers_need_contact"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)  # the unit being rated
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: center: the hotline's call; citizen: the citizen's own online rating
    source: Mapped[str] = mapped_column(String(8), default="center", server_default="center")
    contacted: Mapped[bool] = mapped_column(Boolean)
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime, index=True)

    ticket: Mapped[Ticket] = relationship(back_populates="callbacks")


class Attachment(db.Model):
    """A photo, re-encoded (no EXIF/GPS), stored outside static/ under a random name."""
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_events.id"))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    mime: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(String(8), default="citizen")   # citizen | staff
    created_at: Mapped[datetime] = mapped_column(DateTime)

    ticket: Mapped[Ticket] = relationship(back_populates="attachments")
