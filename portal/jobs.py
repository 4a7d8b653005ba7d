"""Scheduled jobs. Thin: each opens an app context and calls a service with ``now``.

Exactly one process runs them: ``make run`` embeds the scheduler in the one dev
server process; production runs ``flask portal scheduler`` on its own.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from .domain.access import Actor, Role
from .domain.deadlines import utcnow
from .domain.lifecycle import WITH_UNIT, Action
from .extensions import db
from .models import Ticket
from .services.tickets import perform

log = logging.getLogger("portal.jobs")
OVERDUE_GRACE = timedelta(days=1)


def supervise_overdue(now: datetime) -> int:
    """督办: put requests more than a day past their feedback due time under supervision.

    Idempotent: a request already under supervision is left alone.
    """
    stmt = (select(Ticket).where(Ticket.status.in_(list(WITH_UNIT)), Ticket.supervision_level == 0,
                                 Ticket.feedback_due_at < now - OVERDUE_GRACE)
            .order_by(Ticket.id).limit(1000))
    system = Actor(Role.SYSTEM)
    n = 0
    for ticket in db.session.scalars(stmt):
        perform(ticket, Action.SUPERVISE, system, now, level=1, note="超期一天以上，系统自动督办")
        n += 1
    return n


def deliver_notifications(now: datetime) -> int:
    """Send pending outbox messages (console backend by default)."""
    from .services.notify import deliver
    return deliver(now)


def anonymise_closed(now: datetime) -> int:
    """Retention: erase citizens' names, phones and e-mails on requests closed over N months ago."""
    from .services.retention import anonymise_closed as run
    return run(now)


#: name → (service, trigger kwargs for APScheduler)
JOBS: dict[str, tuple[Callable[[datetime], object], dict]] = {
    "supervise_overdue": (supervise_overdue, {"trigger": "interval", "minutes": 5}),
    "deliver_notifications": (deliver_notifications, {"trigger": "interval", "seconds": 30}),
    "anonymise_closed": (anonymise_closed, {"trigger": "cron", "hour": 3, "minute": 30}),   # issue 9
}


def run_job(app, name: str, now: datetime | None = None):
    fn, _ = JOBS[name]
    with app.app_context():
        try:
            result = fn(now or utcnow())
            db.session.commit()
            log.info("job %s done: %s", name, result)
            return result
        except Exception:
            db.session.rollback()
            log.exception("job %s failed", name)
            raise


def build_scheduler(app, scheduler_cls=None):
    from apscheduler.schedulers.background import BackgroundScheduler
    scheduler = (scheduler_cls or BackgroundScheduler)(timezone="Asia/Shanghai")
    for name, (_, trigger) in JOBS.items():
        scheduler.add_job(run_job, args=[app, name], id=name, name=name, coalesce=True, max_instances=1,
                          replace_existing=True, **trigger)
    return scheduler


def start_embedded(app) -> None:
    """Start the scheduler inside this process (once, and not in the reloader's parent)."""
    import os
    if app.debug and os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        return
    if app.extensions.get("portal_scheduler"):
        return
    scheduler = build_scheduler(app)
    scheduler.start()
    app.extensions["portal_scheduler"] = scheduler
    log.info("embedded scheduler started with jobs: %s", ", ".join(JOBS))
