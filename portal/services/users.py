"""Staff accounts: Argon2 hashes, one unit per user."""
from __future__ import annotations

import re
import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from ..domain.access import CENTER_ROLES, Role, Tier
from ..domain.lifecycle import N_
from ..extensions import db
from ..models import Unit, User
from .tickets import InvalidInput

_hasher = PasswordHasher()
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


def new_password() -> str:
    return secrets.token_urlsafe(12)


def create_user(now: datetime, *, username: str, display_name: str, role: Role, unit: Unit,
                password: str, must_change_password: bool = False) -> User:
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise InvalidInput(N_("用户名须为 3 至 64 位小写字母、数字或 . _ -"))
    if db.session.scalar(select(func.count()).select_from(User).where(User.username == username)):
        raise InvalidInput(N_("用户名已存在"))
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput(N_("密码至少 10 位"))
    if role in CENTER_ROLES and unit.tier != Tier.CENTER:
        raise InvalidInput(N_("话务员和派单督办员必须属于热线中心"))
    if role is Role.CITIZEN or role is Role.SYSTEM:
        raise InvalidInput(N_("该角色不能用于员工账号"))
    user = User(username=username, display_name=(display_name or username).strip()[:64], role=role, unit=unit,
                password_hash=hash_password(password), must_change_password=must_change_password,
                active=True, failed_logins=0, session_epoch=0, created_at=now)
    db.session.add(user)
    db.session.flush()
    return user
