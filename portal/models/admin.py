from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .category import Category
from .unit import Unit


class DispatchRule(db.Model):
    """派单规则: requests of this category from this area go to this unit by default.

    The area is a district or a street; a street's rule wins over its district's.
    Shown as the first suggestion in the center's dispatch form, never applied by itself.
    """
    __tablename__ = "dispatch_rules"
    __table_args__ = (UniqueConstraint("category_id", "area_id", name="uq_dispatch_rules_category_area"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    category: Mapped[Category] = relationship()
    area: Mapped[Unit] = relationship(foreign_keys=[area_id])
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])


class Setting(db.Model):
    """City-wide settings kept by admins (e.g. ``working_days``: "1" or "0")."""
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(48), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime)
