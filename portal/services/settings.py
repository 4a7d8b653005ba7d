"""City-wide settings kept by admins (``settings`` table, key → value)."""
from __future__ import annotations

from datetime import datetime

from ..domain.deadlines import NATURAL, WORKING_DAYS, Calendar
from ..extensions import db
from ..models import Setting

WORKING_DAYS_KEY = "working_days"


def get(key: str, default: str = "") -> str:
    row = db.session.get(Setting, key)
    return row.value if row is not None else default


def put(key: str, value: str, now: datetime) -> None:
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=value, updated_at=now))
    else:
        row.value, row.updated_at = value, now
    db.session.flush()


def calendar() -> Calendar:
    """How every deadline the services compute counts time: working days or natural days."""
    return WORKING_DAYS if get(WORKING_DAYS_KEY, "0") == "1" else NATURAL
