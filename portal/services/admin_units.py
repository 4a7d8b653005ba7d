"""Admin changes to the unit hierarchy: create, rename, move, deactivate (moving open
work in the same step through ``perform(TRANSFER)``), and the CSV import with a preview.

Every change writes an audit entry. Services flush; the route commits once.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select

from ..domain.access import KINDS_BY_TIER, Actor, Tier
from ..domain.hierarchy import MAX_CODE, MAX_NAME, HEADER, Existing, HierarchyError, Problem, UnitRow, parse
from ..domain.lifecycle import AFTER_FEEDBACK, WITH_UNIT, Action, N_
from ..extensions import db
from ..models import Ticket, Unit
from . import audit
from .tickets import InvalidInput, perform
from .units import existing_units, import_units, rebuild_paths


def _snapshot(unit: Unit) -> dict:
    return {"code": unit.code, "name": unit.name, "tier": unit.tier, "kind": unit.kind,
            "parent": unit.parent.code if unit.parent is not None else None, "active": unit.active,
            "leader_approval": unit.requires_leader_approval, "reviews_children": unit.reviews_child_feedback}


def open_count(unit: Unit) -> int:
    """Requests this unit holds now (a unit's part still to do)."""
    return db.session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.handling_unit_id == unit.id, Ticket.status.in_(list(WITH_UNIT)))) or 0


def unfinished_count(unit: Unit) -> int:
    """Requests the unit holds or that may come back to it (fed back, awaiting the callback)."""
    return db.session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.handling_unit_id == unit.id, Ticket.status.in_(list(WITH_UNIT | AFTER_FEEDBACK)))) or 0


def search(q: str, limit: int = 50) -> list[Unit]:
    q = (q or "").strip()
    if not q:
        return []
    like = f"%{q}%"
    return list(db.session.scalars(select(Unit).where(or_(Unit.name.like(like), Unit.code.like(like)))
                                   .order_by(Unit.tier, Unit.code).limit(limit)))


def children(unit_id: int) -> list[Unit]:
    return list(db.session.scalars(select(Unit).where(Unit.parent_id == unit_id).order_by(Unit.code)))


def child_counts(ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = db.session.execute(select(Unit.parent_id, func.count()).where(Unit.parent_id.in_(ids))
                              .group_by(Unit.parent_id)).all()
    return {pid: n for pid, n in rows}


def _check_parent(tier: int, parent: Unit | None, unit: Unit | None = None) -> None:
    if tier == Tier.CENTER:
        raise InvalidInput(N_("热线中心只能有一个，不能新建或移动"))
    if parent is None:
        raise InvalidInput(N_("请选择上级单位"))
    if unit is not None and (parent.id == unit.id or parent.path.startswith(unit.path)):
        raise InvalidInput(N_("不能把单位移到它自己或它的下级单位之下"))
    if parent.tier != tier - 1:
        raise InvalidInput(N_("层级不符：第 2 级单位的上级必须是热线中心，第 3 级单位的上级必须是第 2 级单位"))
    if not parent.active:
        raise InvalidInput(N_("上级单位已停用"))


def create_unit(user_id: int, now: datetime, *, code: str, name: str, kind: str, parent: Unit | None) -> Unit:
    code, name, kind = (code or "").strip(), (name or "").strip(), (kind or "").strip()
    if not code or len(code) > MAX_CODE:
        raise InvalidInput(N_("编码为空或过长"))
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(N_("名称为空或过长"))
    if db.session.scalar(select(func.count()).select_from(Unit).where(Unit.code == code)):
        raise InvalidInput(N_("编码已存在"))
    tier = next((t for t, kinds in KINDS_BY_TIER.items() if kind in kinds), None)
    if tier is None:
        raise InvalidInput(N_("单位类型无效"))
    _check_parent(tier, parent)
    unit = Unit(code=code, name=name, tier=tier, kind=kind, parent=parent, active=True, path="",
                requires_leader_approval=False, reviews_child_feedback=False, created_at=now, updated_at=now)
    db.session.add(unit)
    db.session.flush()
    unit.path = f"{parent.path}{unit.id}/"
    db.session.flush()
    audit.record(user_id, "unit.create", "unit", unit.id, now, after=_snapshot(unit))
    return unit


def rename_unit(user_id: int, now: datetime, unit: Unit, name: str) -> None:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(N_("名称为空或过长"))
    if name == unit.name:
        return
    before = _snapshot(unit)
    unit.name, unit.updated_at = name, now
    db.session.flush()
    audit.record(user_id, "unit.rename", "unit", unit.id, now, before=before, after=_snapshot(unit))


def move_unit(user_id: int, now: datetime, unit: Unit, parent: Unit | None) -> None:
    """Under another parent of the tier above; the subtree's paths follow."""
    _check_parent(unit.tier, parent, unit)
    if parent.id == unit.parent_id:
        return
    before = _snapshot(unit)
    unit.parent, unit.updated_at = parent, now
    db.session.flush()
    rebuild_paths()
    audit.record(user_id, "unit.move", "unit", unit.id, now, before=before, after=_snapshot(unit))


def deactivate_unit(admin: Actor, now: datetime, unit: Unit, transfer_to: Unit | None = None,
                    note: str = "") -> int:
    """Stop a unit. Refused while it has active sub-units, or holds open requests and no unit
    to move them to is given; with one, every open request moves there (``perform(TRANSFER)``,
    one event each) in the same transaction. Returns how many requests moved."""
    if unit.tier == Tier.CENTER:
        raise InvalidInput(N_("热线中心不能停用"))
    if not unit.active:
        return 0
    if db.session.scalar(select(func.count()).select_from(Unit).where(Unit.parent_id == unit.id, Unit.active)):
        raise InvalidInput(N_("该单位还有启用中的下级单位，请先停用或移走它们"))
    # fed back and awaiting the callback: a "not resolved" answer sends it back to this unit for
    # re-handling, so it must be closed (or re-handled and then moved) before the unit stops
    if db.session.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.handling_unit_id == unit.id, Ticket.status.in_(list(AFTER_FEEDBACK)))):
        raise InvalidInput(N_("该单位还有已反馈、等待回访的诉求，办结后才能停用"))
    tickets = list(db.session.scalars(select(Ticket).where(
        Ticket.handling_unit_id == unit.id, Ticket.status.in_(list(WITH_UNIT))).order_by(Ticket.id)))
    if tickets and transfer_to is None:
        raise InvalidInput(N_("该单位还有在办诉求，不能停用；请选择接收这些诉求的单位"))
    if transfer_to is not None and transfer_to.id == unit.id:
        raise InvalidInput(N_("请选择另一个承办单位"))
    for ticket in tickets:
        perform(ticket, Action.TRANSFER, admin, now, unit=transfer_to,
                note=note or f"{unit.name} 停用，移交 {transfer_to.name}")
    before = _snapshot(unit)
    unit.active, unit.updated_at = False, now
    db.session.flush()
    audit.record(admin.user_id, "unit.deactivate", "unit", unit.id, now, before=before, after=_snapshot(unit),
                 moved=[t.tracking_no for t in tickets], to=transfer_to.code if transfer_to is not None else None)
    return len(tickets)


def set_review(user_id: int, now: datetime, unit: Unit, *, leader_approval: bool, reviews_children: bool) -> None:
    """一把手审核 (the unit's leader approves its feedback) and, for a tier-2 unit, reviewing its
    streets' feedback. Feedback already waiting keeps the reviewer fixed when it was submitted."""
    if reviews_children and unit.tier != Tier.UNIT:
        raise InvalidInput(N_("只有第 2 级单位可以审核下级街道（乡镇）的反馈"))
    before = _snapshot(unit)
    unit.requires_leader_approval, unit.reviews_child_feedback = leader_approval, reviews_children
    unit.updated_at = now
    db.session.flush()
    after = _snapshot(unit)
    if after != before:
        audit.record(user_id, "unit.review", "unit", unit.id, now, before=before, after=after)


def activate_unit(user_id: int, now: datetime, unit: Unit) -> None:
    if unit.active:
        return
    if unit.parent is not None and not unit.parent.active:
        raise InvalidInput(N_("上级单位已停用"))
    before = _snapshot(unit)
    unit.active, unit.updated_at = True, now
    db.session.flush()
    audit.record(user_id, "unit.activate", "unit", unit.id, now, before=before, after=_snapshot(unit))


# --- CSV import / export -------------------------------------------------------------------------

@dataclass
class ImportPreview:
    added: list[UnitRow] = field(default_factory=list)
    renamed: list[tuple[UnitRow, str]] = field(default_factory=list)     # (row, old name or code)
    moved: list[tuple[UnitRow, str | None]] = field(default_factory=list)  # (row, old parent code)
    reactivated: list[UnitRow] = field(default_factory=list)
    deactivated: list[Unit] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unchanged: int = 0
    center_recode: tuple[str, str] | None = None                       # (old code, new code)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def changed(self) -> bool:
        return bool(self.added or self.renamed or self.moved or self.reactivated or self.deactivated)


def _center_recode(data_rows: list[UnitRow], units: dict[str, Unit]) -> tuple[str, str] | None:
    """One portal serves one city with one center: a file whose tier-1 row has another code
    takes over the existing center (new code and name) instead of adding a second one."""
    tops = [r for r in data_rows if r.tier == Tier.CENTER]
    centers = [u for u in units.values() if u.tier == Tier.CENTER]
    if len(tops) == 1 and len(centers) == 1 and tops[0].code not in units:
        return centers[0].code, tops[0].code
    return None


def preview_import(data: bytes, *, deactivate_missing: bool = False) -> ImportPreview:
    """What applying this file would change; nothing is written."""
    out = ImportPreview()
    units = {u.code: u for u in db.session.scalars(select(Unit))}
    existing = existing_units()
    try:
        rows = parse(data, existing)
    except HierarchyError as exc:
        out.problems = exc.problems
        return out
    recode = _center_recode(rows, units)
    if recode is not None:
        old, new = recode
        units[new] = units.pop(old)
        out.center_recode = recode
        existing = {(new if c == old else c): Existing(new if c == old else c, e.tier,
                                                        new if e.parent_code == old else e.parent_code)
                    for c, e in existing.items()}
    in_file = {r.code for r in rows}
    for r in rows:
        unit = units.get(r.code)
        if unit is None:
            out.added.append(r)
            continue
        changed = False
        if recode is not None and r.code == recode[1]:
            out.renamed.append((r, f"{recode[0]} {unit.name}"))
            changed = True
        elif unit.name != r.name:
            out.renamed.append((r, unit.name))
            changed = True
        old_parent = existing[r.code].parent_code
        if old_parent != r.parent_code or unit.tier != r.tier:
            out.moved.append((r, old_parent))
            changed = True
        if not unit.active:
            out.reactivated.append(r)
            changed = True
        if not changed:
            out.unchanged += 1
    if deactivate_missing:
        for code, unit in sorted(units.items(), key=lambda kv: (-kv[1].tier, kv[0])):
            if code in in_file or not unit.active or unit.tier == Tier.CENTER:
                continue
            out.deactivated.append(unit)
            n = unfinished_count(unit)
            if n:
                out.problems.append(Problem(0, f"单位 {unit.code} {unit.name} 不在文件中，但还有 {n} 件在办诉求，"
                                                "不能停用：请先在单位页面移交"))
        gone = {u.code for u in out.deactivated}
        for r in rows:
            if r.parent_code in gone:
                out.problems.append(Problem(r.line, f"上级单位 {r.parent_code} 不在文件中，将被停用"))
        out.problems.sort(key=lambda p: p.line)
    return out


def apply_import(user_id: int, data: bytes, now: datetime, *, deactivate_missing: bool = False) -> ImportPreview:
    """Apply a file in the caller's transaction; a file with any problem changes nothing
    (raises ``HierarchyError``)."""
    preview = preview_import(data, deactivate_missing=deactivate_missing)
    if not preview.ok:
        raise HierarchyError(preview.problems)
    if preview.center_recode is not None:
        old, new = preview.center_recode
        center = db.session.scalar(select(Unit).where(Unit.code == old))
        center.code = new
        db.session.flush()
    import_units(data, now)
    for unit in preview.deactivated:
        unit.active, unit.updated_at = False, now
    db.session.flush()
    audit.record(user_id, "unit.import", "unit", None, now, after={
        "added": [r.code for r in preview.added], "renamed": [r.code for r, _ in preview.renamed],
        "moved": [r.code for r, _ in preview.moved], "reactivated": [r.code for r in preview.reactivated],
        "deactivated": [u.code for u in preview.deactivated]})
    return preview


def export_csv() -> bytes:
    """Every active unit in the ``import-units`` format, parents first; UTF-8 with a BOM so
    that Excel opens it (and the import reads it back)."""
    units = list(db.session.scalars(select(Unit).where(Unit.active).order_by(Unit.tier, Unit.code)))
    code_by_id = {u.id: u.code for u in db.session.scalars(select(Unit))}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    for u in units:
        w.writerow([u.code, u.name, u.tier, u.kind, code_by_id.get(u.parent_id, "") if u.parent_id else ""])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
