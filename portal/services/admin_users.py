"""Admin changes to staff accounts. Every change writes an audit entry; passwords and TOTP
secrets never reach the audit trail or a log."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select

from ..domain.access import CENTER_ROLES, Role, Tier
from ..domain.lifecycle import N_
from ..extensions import db
from ..models import Unit, User
from . import audit, totp
from .auth import end_sessions
from .tickets import InvalidInput
from .users import create_user, hash_password, new_password

STAFF_CHOICES = [Role.OPERATOR, Role.DISPATCHER, Role.HANDLER, Role.LEADER, Role.ADMIN]


def _snapshot(user: User) -> dict:
    return {"username": user.username, "display_name": user.display_name, "role": user.role.value,
            "unit": user.unit.code if user.unit is not None else None, "active": user.active,
            "must_change_password": user.must_change_password, "totp": user.totp_enabled}


def _check_role_unit(role: Role, unit: Unit | None) -> None:
    if role not in STAFF_CHOICES:
        raise InvalidInput(N_("该角色不能用于员工账号"))
    if unit is None or not unit.active:
        raise InvalidInput(N_("请选择启用中的单位"))
    if role in CENTER_ROLES and unit.tier != Tier.CENTER:
        raise InvalidInput(N_("话务员和派单督办员必须属于热线中心"))


def _active_admins() -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.active)) or 0


def _refuse_last_admin(user: User) -> None:
    if user.role is Role.ADMIN and user.active and _active_admins() <= 1:
        raise InvalidInput(N_("这是最后一个启用的系统管理员，不能停用或改为其他角色"))


def create(admin_id: int, now: datetime, *, username: str, display_name: str, role: Role,
           unit: Unit | None) -> tuple[User, str]:
    """A new account with a temporary password (returned once) that must be changed at first sign-in."""
    _check_role_unit(role, unit)
    password = new_password()
    user = create_user(now, username=username, display_name=display_name, role=role, unit=unit,
                       password=password, must_change_password=True)
    audit.record(admin_id, "user.create", "user", user.id, now, after=_snapshot(user))
    return user, password


def update(admin_id: int, now: datetime, user: User, *, display_name: str, role: Role, unit: Unit | None) -> None:
    _check_role_unit(role, unit)
    if role is not Role.ADMIN:
        _refuse_last_admin(user)
    before = _snapshot(user)
    changed_scope = role is not user.role or unit.id != user.unit_id
    user.display_name = (display_name or user.username).strip()[:64]
    user.role, user.unit = role, unit
    if changed_scope:
        end_sessions(user)             # new role or unit: sign in again with the new scope
    db.session.flush()
    after = _snapshot(user)
    if after != before:
        audit.record(admin_id, "user.update", "user", user.id, now, before=before, after=after)


def deactivate(admin_id: int, now: datetime, user: User) -> None:
    _refuse_last_admin(user)
    if not user.active:
        return
    before = _snapshot(user)
    user.active = False
    end_sessions(user)
    audit.record(admin_id, "user.deactivate", "user", user.id, now, before=before, after=_snapshot(user))


def activate(admin_id: int, now: datetime, user: User) -> None:
    if user.active:
        return
    before = _snapshot(user)
    user.active, user.failed_logins, user.locked_until = True, 0, None
    db.session.flush()
    audit.record(admin_id, "user.activate", "user", user.id, now, before=before, after=_snapshot(user))


def reset_password(admin_id: int, now: datetime, user: User) -> str:
    """A temporary password, shown once to the admin; the user must change it at next sign-in
    and every session of the user ends now."""
    password = new_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.failed_logins, user.locked_until = 0, None
    end_sessions(user)
    audit.record(admin_id, "user.reset_password", "user", user.id, now, after={"must_change_password": True})
    return password


def force_change(admin_id: int, now: datetime, user: User) -> None:
    if user.must_change_password:
        return
    user.must_change_password = True
    db.session.flush()
    audit.record(admin_id, "user.force_change", "user", user.id, now, before={"must_change_password": False},
                 after={"must_change_password": True})


def reset_totp(admin_id: int, now: datetime, user: User) -> None:
    """The user lost the phone: two-factor sign-in is switched off (an admin enrols again at next sign-in)."""
    before = {"totp": user.totp_enabled}
    totp.disable(user)
    end_sessions(user)
    audit.record(admin_id, "user.reset_totp", "user", user.id, now, before=before, after={"totp": False})


def listing(*, q: str = "", role: str = "", unit_q: str = "", active: str = "", page: int = 1,
            per_page: int = 50) -> tuple[list[User], int]:
    stmt = select(User).join(Unit, Unit.id == User.unit_id)
    if q:
        stmt = stmt.where(or_(User.username.like(f"%{q}%"), User.display_name.like(f"%{q}%")))
    if role in {r.value for r in STAFF_CHOICES}:
        stmt = stmt.where(User.role == Role(role))
    if unit_q:
        stmt = stmt.where(or_(Unit.name.like(f"%{unit_q}%"), Unit.code == unit_q))
    if active in ("1", "0"):
        stmt = stmt.where(User.active.is_(active == "1"))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(db.session.scalars(stmt.order_by(User.username).limit(per_page).offset((page - 1) * per_page)))
    return rows, total


def change_own_password(user: User, current: str, new: str, now: datetime) -> None:
    from .users import MIN_PASSWORD, check_password
    if not check_password(user, current):
        raise InvalidInput(N_("当前密码不正确"))
    if len(new or "") < MIN_PASSWORD:
        raise InvalidInput(N_("密码至少 10 位"))
    if new == current:
        raise InvalidInput(N_("新密码不能与当前密码相同"))
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.session_epoch += 1          # other sessions end; the route signs this one in again
    db.session.flush()
    audit.record(user.id, "user.change_password", "user", user.id, now)
