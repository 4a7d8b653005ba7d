"""Proactive governance (issue 7, points 3–4): hot spots (举一反三) and 每月一题 topics.

Only ``portal.services.governance`` changes these rows.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .category import Category
from .ticket import Ticket
from .unit import Unit


class HotspotRule(db.Model):
    """A cluster threshold the center keeps: N requests in M days (one row per kind of cluster)."""
    __tablename__ = "hotspot_rules"
    __table_args__ = (
        CheckConstraint("min_count >= 2 AND window_days >= 1 AND window_days <= 366", name="positive"),
        CheckConstraint("kind IN ('street_category', 'address')", name="kind"),
    )

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    min_count: Mapped[int] = mapped_column(Integer)
    window_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class HotspotAlert(db.Model):
    """热点预警: one class of requests (same street and category, or same address) that keeps coming.

    The requests it lists are those of its class received from ``since`` to ``until``; while the
    alert is open the job moves ``until`` and ``count`` forward (the count is of requests as
    received: one invalidated later stays counted; the listing shows today's state). Once the responsible unit records
    what it did about the whole class (``acted``), a new alert for the class needs N new requests
    after that.
    """
    __tablename__ = "hotspot_alerts"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'acted')", name="status"),
        CheckConstraint("status <> 'acted' OR (acted_at IS NOT NULL AND action_note <> '')", name="acted_has_note"),
        CheckConstraint("count >= 1", name="count_positive"),
        Index("ix_hotspot_alerts_key", "kind", "street_id", "category_id", "address"),
        Index("ix_hotspot_alerts_status_unit", "status", "unit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    street_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    #: 0 for an address cluster (any category); never NULL so the key compares with "="
    category_id: Mapped[int] = mapped_column(Integer, default=0)
    address: Mapped[str] = mapped_column(String(200), default="")
    #: the responsible unit (the street: 属地) — its staff and the units above it see the alert
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    status: Mapped[str] = mapped_column(String(8), default="open")
    count: Mapped[int] = mapped_column(Integer)
    min_count: Mapped[int] = mapped_column(Integer)
    window_days: Mapped[int] = mapped_column(Integer)
    since: Mapped[datetime] = mapped_column(DateTime)
    until: Mapped[datetime] = mapped_column(DateTime)
    action_note: Mapped[str] = mapped_column(Text, default="")
    acted_at: Mapped[datetime | None] = mapped_column(DateTime)
    acted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    street: Mapped[Unit] = relationship(foreign_keys=[street_id])
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])


# Hot-spot detection groups requests by (street, category) and (street, address) over a time
# window, and counts each open alert's class after its latest request: these two indexes let both
# be index range scans (bench/bench_hotspots.py: the second run on 200,000 requests went from
# minutes to seconds on SQLite). Declared here, beside the feature, rather than in ticket.py.
Index("ix_tickets_hotspot_category", Ticket.street_id, Ticket.category_id, Ticket.created_at, Ticket.status)
Index("ix_tickets_hotspot_address", Ticket.street_id, Ticket.address, Ticket.created_at, Ticket.status)


class Topic(db.Model):
    """每月一题: one of the year's high-frequency hard problems, with one plan and three lists."""
    __tablename__ = "topics"
    __table_args__ = (CheckConstraint("year >= 2000 AND year <= 2100", name="year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the public address: /topics/<slug>
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    year: Mapped[int] = mapped_column(Integer, index=True)
    month: Mapped[int | None] = mapped_column(Integer)
    #: space- or comma-separated words; a request whose title or text contains one matches
    keywords: Mapped[str] = mapped_column(String(300), default="")
    lead_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    plan: Mapped[str] = mapped_column(Text, default="")          # 一方案
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    lead_unit: Mapped[Unit] = relationship()
    categories: Mapped[list[Category]] = relationship(secondary="topic_categories", order_by="Category.code")
    tasks: Mapped[list["TopicTask"]] = relationship(back_populates="topic", order_by="TopicTask.id",
                                                    cascade="all, delete-orphan")
    responsibilities: Mapped[list["TopicResponsibility"]] = relationship(
        order_by="TopicResponsibility.id", cascade="all, delete-orphan")
    policies: Mapped[list["TopicPolicy"]] = relationship(order_by="TopicPolicy.id", cascade="all, delete-orphan")

    @property
    def keyword_list(self) -> list[str]:
        return [w for w in self.keywords.replace("，", " ").replace(",", " ").split() if w]


class TopicCategory(db.Model):
    __tablename__ = "topic_categories"

    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), primary_key=True)


class TopicTask(db.Model):
    """任务清单: one task, its owner unit, due date and status."""
    __tablename__ = "topic_tasks"
    __table_args__ = (CheckConstraint("status IN ('todo', 'doing', 'done')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    owner_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    due: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8), default="todo")
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    topic: Mapped[Topic] = relationship(back_populates="tasks")
    owner_unit: Mapped[Unit] = relationship()


class TopicResponsibility(db.Model):
    """责任清单: which unit answers for what."""
    __tablename__ = "topic_responsibilities"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    duty: Mapped[str] = mapped_column(String(300))

    unit: Mapped[Unit] = relationship()


class TopicPolicy(db.Model):
    """政策清单: a policy document, its status and date."""
    __tablename__ = "topic_policies"
    __table_args__ = (CheckConstraint("status IN ('drafting', 'issued', 'in_force')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="drafting")
    issued_on: Mapped[date | None] = mapped_column(Date)


__all__ = ["HotspotRule", "HotspotAlert", "Topic", "TopicCategory", "TopicTask", "TopicResponsibility",
           "TopicPolicy"]
