"""The SLA scan (every 5 minutes): overdue requests, warnings before due, automatic supervision.

* **overdue** is not a stored flag: a request is overdue while it is with a unit and its
  feedback due time has passed (the queues compute it the same way from ``feedback_due_at``),
  so there is nothing to get out of date. The scan counts them for the job record.
* **warn before due**: requests due within ``WARN_BEFORE`` are handed to
  ``warn_before_due`` — the hook point for the issue-8 notification (see docs/issue5.md).
* **supervision**: requests more than a day overdue are put under supervision
  (``portal.jobs.supervise_overdue``, through ``perform``).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..domain.lifecycle import WITH_UNIT
from ..extensions import db
from ..models import Ticket

WARN_BEFORE = timedelta(hours=24)


def overdue_count(now: datetime) -> int:
    return db.session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.status.in_(list(WITH_UNIT)), Ticket.feedback_due_at < now)) or 0


def due_soon(now: datetime, limit: int = 1000) -> list[Ticket]:
    """Requests with a unit whose feedback is due within ``WARN_BEFORE`` (not yet overdue)."""
    return list(db.session.scalars(select(Ticket).where(
        Ticket.status.in_(list(WITH_UNIT)), Ticket.feedback_due_at >= now,
        Ticket.feedback_due_at < now + WARN_BEFORE).order_by(Ticket.feedback_due_at).limit(limit)))


def warn_before_due(now: datetime, tickets: list[Ticket]) -> int:
    """Hook point for the "warn before due" messages (issue 8 builds the notify function).

    The integrator makes this call it, e.g. ``return notify.warn_before_due(now, tickets)``;
    it must be idempotent (the scan runs every 5 minutes) and return how many it warned.
    Until then nobody is warned and it returns 0.
    """
    return 0


def scan(now: datetime) -> dict:
    from ..jobs import supervise_overdue
    warned = warn_before_due(now, due_soon(now))
    supervised = supervise_overdue(now)
    return {"overdue": overdue_count(now), "warned": warned, "supervised": supervised}
