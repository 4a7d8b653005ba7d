"""The unit hierarchy: import a city's file, keep materialised paths right."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from ..domain.hierarchy import Existing, UnitRow, parse
from ..extensions import db
from ..models import Unit


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.renamed or self.moved)


def existing_units() -> dict[str, Existing]:
    rows = db.session.execute(select(Unit.code, Unit.tier, Unit.parent_id, Unit.id)).all()
    code_by_id = {r.id: r.code for r in rows}
    return {r.code: Existing(r.code, r.tier, code_by_id.get(r.parent_id)) for r in rows}


def import_units(data: bytes, now: datetime) -> ImportResult:
    """Apply a hierarchy file, idempotent by code. Raises ``HierarchyError`` (nothing changed)."""
    rows = parse(data, existing_units())
    by_code = {u.code: u for u in db.session.scalars(select(Unit))}
    result = ImportResult()
    # parents before children: tiers ascend
    for row in sorted(rows, key=lambda r: r.tier):
        _apply_row(row, by_code, now, result)
    db.session.flush()
    rebuild_paths()
    return result


def _apply_row(row: UnitRow, by_code: dict[str, Unit], now: datetime, result: ImportResult) -> None:
    parent = by_code.get(row.parent_code) if row.parent_code else None
    unit = by_code.get(row.code)
    if unit is None:
        unit = Unit(code=row.code, name=row.name, tier=row.tier, kind=row.kind, parent=parent, active=True,
                    created_at=now, updated_at=now)
        db.session.add(unit)
        by_code[row.code] = unit
        result.added.append(row.code)
        return
    changed = False
    if unit.name != row.name:
        unit.name = row.name
        result.renamed.append(row.code)
        changed = True
    if (unit.parent.code if unit.parent else None) != row.parent_code or unit.tier != row.tier:
        unit.parent, unit.tier = parent, row.tier
        result.moved.append(row.code)
        changed = True
    if unit.kind != row.kind or not unit.active:
        unit.kind, unit.active = row.kind, True
        changed = True
    if changed:
        unit.updated_at = now
    else:
        result.unchanged += 1


def rebuild_paths() -> None:
    """Recompute every unit's "/1/17/203/" path from the parent links (one pass, 400 rows)."""
    rows = db.session.execute(select(Unit.id, Unit.parent_id)).all()
    parent = {r.id: r.parent_id for r in rows}
    paths: dict[int, str] = {}

    def path_of(uid: int) -> str:
        if uid not in paths:
            p = parent[uid]
            paths[uid] = (path_of(p) if p else "/") + f"{uid}/"
        return paths[uid]

    for unit in db.session.scalars(select(Unit)):
        new = path_of(unit.id)
        if unit.path != new:
            unit.path = new
    db.session.flush()


def center() -> Unit | None:
    return db.session.scalar(select(Unit).where(Unit.tier == 1).order_by(Unit.id))


def districts() -> list[Unit]:
    return list(db.session.scalars(select(Unit).where(Unit.kind == "district", Unit.active).order_by(Unit.code)))


def streets_of(district_id: int) -> list[Unit]:
    return list(db.session.scalars(select(Unit).where(Unit.parent_id == district_id, Unit.tier == 3, Unit.active)
                                   .order_by(Unit.code)))
