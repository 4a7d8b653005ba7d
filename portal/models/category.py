from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.deadlines import Urgency
from ..extensions import db
from .types import enum_column


class Category(db.Model):
    """Two levels: 市场管理 > 网络消费纠纷."""
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128), default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped["Category | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Category"]] = relationship(back_populates="parent", order_by="Category.position")
    deadlines: Mapped[list["CategoryDeadline"]] = relationship(back_populates="category",
                                                               cascade="all, delete-orphan")

    def display(self, locale: str = "zh") -> str:
        return self.name_en if locale == "en" and self.name_en else self.name

    def full_name(self, locale: str = "zh") -> str:
        sep = " > "
        return (self.parent.display(locale) + sep if self.parent else "") + self.display(locale)


class CategoryDeadline(db.Model):
    """Sign-for and feedback deadlines for a category at one urgency."""
    __tablename__ = "category_deadlines"
    __table_args__ = (
        UniqueConstraint("category_id", "urgency", name="uq_category_deadlines_category_urgency"),
        CheckConstraint("sign_minutes > 0 AND feedback_hours > 0", name="positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    urgency: Mapped[Urgency] = mapped_column(enum_column(Urgency, 8))
    sign_minutes: Mapped[int] = mapped_column(Integer)
    feedback_hours: Mapped[int] = mapped_column(Integer)

    category: Mapped[Category] = relationship(back_populates="deadlines")
