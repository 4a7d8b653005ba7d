from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.access import Tier, UnitRef
from ..extensions import db


class Unit(db.Model):
    """A member unit of the hotline network: center (1) → district/department/enterprise (2) → street (3)."""
    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint("tier IN (1, 2, 3)", name="tier"),
        CheckConstraint("(tier = 1) = (parent_id IS NULL)", name="parent_by_tier"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    tier: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    #: materialised path of ids, "/1/17/203/": a unit's subtree is ``path LIKE '/1/17/%'``
    path: Mapped[str] = mapped_column(String(255), default="", index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: 一把手审核: feedback waits for the unit leader's approval
    requires_leader_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    #: a tier-2 unit reviews its streets' feedback before it reaches the center
    reviews_child_feedback: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    parent: Mapped["Unit | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Unit"]] = relationship(back_populates="parent", order_by="Unit.code")

    @property
    def ancestor_ids(self) -> frozenset[int]:
        return frozenset(int(p) for p in self.path.strip("/").split("/") if p)

    @property
    def tier_enum(self) -> Tier:
        return Tier(self.tier)

    def ref(self) -> UnitRef:
        return UnitRef(id=self.id, tier=self.tier, active=self.active, ancestors=self.ancestor_ids)

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.name}>"
