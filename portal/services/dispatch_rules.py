"""派单规则: category × area → default handling unit, offered first in the dispatch form."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ..domain.access import Tier
from ..domain.lifecycle import N_
from ..extensions import db
from ..models import Category, DispatchRule, Unit
from . import audit
from .tickets import InvalidInput


def _snapshot(rule: DispatchRule) -> dict:
    return {"category": rule.category.code, "area": rule.area.code, "unit": rule.unit.code}


def listing() -> list[DispatchRule]:
    return list(db.session.scalars(select(DispatchRule).order_by(DispatchRule.id)))


def save(admin_id: int, now: datetime, *, category: Category | None, area: Unit | None,
         unit: Unit | None) -> DispatchRule:
    """Create the rule for (category, area), or point the existing one at another unit."""
    if category is None:
        raise InvalidInput(N_("请选择诉求分类"))
    if area is None or area.kind not in ("district", "street", "township", "area", "other") or area.tier == 1:
        raise InvalidInput(N_("区域必须是区或街道（乡镇）"))
    if unit is None or not unit.active or unit.tier not in (Tier.UNIT, Tier.STREET):
        raise InvalidInput(N_("承办单位必须是启用中的第 2 或第 3 级单位"))
    rule = db.session.scalar(select(DispatchRule).where(DispatchRule.category_id == category.id,
                                                        DispatchRule.area_id == area.id))
    if rule is None:
        rule = DispatchRule(category=category, area=area, unit=unit, created_at=now)
        db.session.add(rule)
        db.session.flush()
        audit.record(admin_id, "rule.create", "dispatch_rule", rule.id, now, after=_snapshot(rule))
        return rule
    before = _snapshot(rule)
    rule.unit = unit
    db.session.flush()
    audit.record(admin_id, "rule.update", "dispatch_rule", rule.id, now, before=before, after=_snapshot(rule))
    return rule


def delete(admin_id: int, now: datetime, rule: DispatchRule) -> None:
    before = _snapshot(rule)
    rid = rule.id
    db.session.delete(rule)
    db.session.flush()
    audit.record(admin_id, "rule.delete", "dispatch_rule", rid, now, before=before)


def suggestion(category: Category | None, street: Unit | None, district: Unit | None) -> Unit | None:
    """The most specific rule: street before district, the category before its parent."""
    if category is None:
        return None
    cats = [category.id] + ([category.parent_id] if category.parent_id else [])
    areas = [a.id for a in (street, district) if a is not None]
    if not areas:
        return None
    rules = {(r.category_id, r.area_id): r for r in db.session.scalars(select(DispatchRule).where(
        DispatchRule.category_id.in_(cats), DispatchRule.area_id.in_(areas)))}
    for area_id in areas:
        for cat_id in cats:
            rule = rules.get((cat_id, area_id))
            if rule is not None and rule.unit.active:
                return rule.unit
    return None
