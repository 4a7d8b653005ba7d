"""The SLA scan (every 5 minutes): overdue requests, warnings before due, automatic supervision.

* **overdue** is not a stored flag: a request is overdue while it is with a unit and its
  feedback due time has passed (the queues compute it the same way from ``feedback_due_at``),
  so there is nothing to get out of date. The scan counts them for the job record.
* **warn before due**: ``services.notify.warn_deadlines`` writes one "due soon" and one
  "overdue" message per feedback deadline to the handling unit's contacts (idempotent).
* **supervision**: requests more than a day overdue are put under supervision
  (``portal.jobs.supervise_overdue``, through ``perform``).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from ..domain.lifecycle import WITH_UNIT
from ..extensions import db
from ..models import Ticket


def overdue_count(now: datetime) -> int:
    return db.session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.status.in_(list(WITH_UNIT)), Ticket.feedback_due_at < now)) or 0


def scan(now: datetime) -> dict:
    from ..jobs import supervise_overdue
    from .notify import warn_deadlines
    warned = warn_deadlines(now)
    supervised = supervise_overdue(now)
    return {"overdue": overdue_count(now), "warned": warned, "supervised": supervised}
