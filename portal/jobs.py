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
from .domain.lifecycle import WITH_UNIT, Action
from .extensions import db
from .models import Ticket
from .services.governance import detect_hotspots
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


def sla_scan(now: datetime) -> dict:
    """SLA scan: count overdue, warn before due (hook), supervise requests a day overdue."""
    from .services.sla import scan
    return scan(now)


def rank_freeze(now: datetime, month: str | None = None) -> str:
    """定榜: freeze last month's ranking (the 1st, 02:00 Beijing); --month YYYY-MM for another."""
    from .services.ranking import freeze_job
    return freeze_job(now, month)


def rank_refresh(now: datetime, month: str | None = None) -> str:
    """临时排名: refresh this month's provisional ranking (hourly)."""
    from .services.ranking import refresh_job
    return refresh_job(now, month)


def _period(name):
    def period_of(now, month=None):
        from .services import ranking
        return getattr(ranking, name).period_of(now, month)
    return period_of


rank_freeze.period_of = _period("freeze_job")     # type: ignore[attr-defined]
rank_refresh.period_of = _period("refresh_job")   # type: ignore[attr-defined]

#: name → (fn(now) or fn(now, month=None), trigger kwargs for APScheduler, in Asia/Shanghai).
#: A job that takes ``month`` can be run by hand for a given month (``--month YYYY-MM``).
JOBS: dict[str, tuple[Callable[..., object], dict]] = {
    # the SLA scan keeps the job's old name
    "supervise_overdue": (sla_scan, {"trigger": "interval", "minutes": 5}),
    "deliver_notifications": (deliver_notifications, {"trigger": "interval", "seconds": 30}),
    "rank_freeze": (rank_freeze, {"trigger": "cron", "day": 1, "hour": 2, "minute": 0}),
    "rank_refresh": (rank_refresh, {"trigger": "cron", "minute": 5}),
    "detect_hotspots": (detect_hotspots, {"trigger": "interval", "hours": 1}),
    "anonymise_closed": (anonymise_closed, {"trigger": "cron", "hour": 3, "minute": 30}),   # issue 9
}


def run_job(app, name: str, now: datetime | None = None, month: str | None = None, trigger: str = "manual"):
    """Run one job now, recorded as a JobRun (services.scheduler.run)."""
    from .services.scheduler import run
    return run(app, name, now=now, month=month, trigger=trigger)


def build_scheduler(app, scheduler_cls=None):
    """An APScheduler with every job (without taking the lock: use services.scheduler.Runner)."""
    from .services.scheduler import Runner
    return Runner(app, scheduler_cls).build()


def start_embedded(app) -> None:
    """Start the scheduler inside this process (once, and not in the reloader's parent),
    if this process gets the database lock; otherwise stand by and retry."""
    import os
    if app.debug and os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        return
    if app.extensions.get("portal_scheduler"):
        return
    from .services.scheduler import Runner
    import atexit
    runner = Runner(app)
    app.extensions["portal_scheduler"] = runner
    runner.start_background()
    atexit.register(runner.lock.release)     # a clean exit frees the lock at once
    log.info("embedded scheduler started (lock held: %s) with jobs: %s", runner.lock.held, ", ".join(JOBS))
