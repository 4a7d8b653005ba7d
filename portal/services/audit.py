"""The audit trail of admin changes: who, when, what, before → after (``audit_log``)."""
from __future__ import annotations

from datetime import datetime

from ..extensions import db
from ..models import AuditEntry


def record(user_id: int | None, action: str, target_type: str, target_id: int | None, now: datetime,
           *, before: dict | None = None, after: dict | None = None, **extra) -> AuditEntry:
    """Append one entry in the caller's transaction (the route commits it with the change)."""
    detail = {"before": before or {}, "after": after or {}}
    detail.update(extra)
    entry = AuditEntry(at=now, user_id=user_id, action=action, target_type=target_type, target_id=target_id,
                       detail=detail)
    db.session.add(entry)
    db.session.flush()
    return entry
