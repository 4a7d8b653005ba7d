"""Exactly one scheduler, and a record of every job run.

* ``run(app, name, ...)`` runs one job from ``portal.jobs.JOBS`` in its own app context,
  records a ``JobRun`` (job, period, started, finished, outcome, error) and commits once.
* ``DatabaseLock`` decides which process runs the jobs: a session advisory lock on
  PostgreSQL (held on a dedicated connection for the scheduler's life), a compare-and-set on
  the ``scheduler_lock`` row on SQLite (a holder whose heartbeat is older than
  ``STALE_AFTER`` is presumed dead and replaced). Both write ``heartbeat_at`` on the row,
  which ``heartbeat_at()`` reads (for /healthz).
* ``Runner`` takes the lock (or waits for it, retrying) and then starts APScheduler with
  every job in ``JOBS``, a heartbeat, and a catch-up at start (freeze last month's ranking
  if it is missing). ``make run`` embeds one (background); ``flask portal scheduler`` runs
  one in the foreground.
"""
from __future__ import annotations

import inspect
import logging
import os
import socket
import threading
import traceback
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from ..domain.deadlines import utcnow
from ..extensions import db
from ..models import JobRun, SchedulerLock

log = logging.getLogger("portal.scheduler")
LOCK_NAME = "scheduler"
ADVISORY_KEY = 1234500005          # pg_try_advisory_lock(bigint): this app's scheduler
HEARTBEAT_EVERY = timedelta(seconds=30)
STALE_AFTER = timedelta(minutes=2)
RETRY_EVERY = 30.0                 # seconds between attempts to take the lock


class UnknownJob(KeyError):
    pass


class NoMonth(ValueError):
    """The job does not take a month."""


# --- job runs -----------------------------------------------------------------------------------

def takes_month(fn) -> bool:
    try:
        return "month" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def period_of(fn, now: datetime, month: str | None) -> str:
    getter = getattr(fn, "period_of", None)
    if getter is not None:
        return str(getter(now, month) or "")
    return month or ""


def run(app, name: str, now: datetime | None = None, month: str | None = None, trigger: str = "manual"):
    """Run job ``name`` once and record the run. Re-raises the job's exception after recording it."""
    from ..jobs import JOBS
    if name not in JOBS:
        raise UnknownJob(name)
    fn, _ = JOBS[name]
    if month is not None and not takes_month(fn):
        raise NoMonth(name)
    with app.app_context():
        now = now or utcnow()
        record = JobRun(job=name, period=period_of(fn, now, month), started_at=utcnow(), outcome="running",
                        trigger=trigger)
        db.session.add(record)
        db.session.commit()
        record_id = record.id
        try:
            result = fn(now, month=month) if month is not None else fn(now)
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            record = db.session.get(JobRun, record_id)
            record.finished_at, record.outcome = utcnow(), "error"
            record.error = f"{type(exc).__name__}: {exc}"[:2000]
            db.session.commit()
            log.error("job %s failed: %s\n%s", name, exc, traceback.format_exc(limit=5))
            raise
        record = db.session.get(JobRun, record_id)
        record.finished_at, record.outcome, record.result = utcnow(), "ok", str(result)[:2000]
        db.session.commit()
        log.info("job %s done: %s", name, result)
        return result


def mark_interrupted(now: datetime | None = None) -> int:
    """Runs a scheduler started but never finished (it was killed mid-job), marked ``interrupted``.

    Called by the scheduler that has just taken the lock: only one scheduler runs at a time, so a
    run still ``running`` from the scheduler or its catch-up belongs to a process that is gone.
    Its work was one transaction and was rolled back; the job runs again at its next time (a missed
    monthly freeze by the catch-up). Manual runs (``flask portal jobs run``) are left alone: one may
    be running now."""
    now = now or utcnow()
    t = JobRun.__table__
    res = db.session.execute(t.update().where(t.c.outcome == "running", t.c.trigger.in_(("scheduler", "catch-up")))
                             .values(outcome="interrupted", finished_at=now,
                                     error="the scheduler stopped before the job finished; nothing of it was kept"))
    db.session.commit()
    return res.rowcount


def recent_runs(limit: int = 100, job: str | None = None) -> list[JobRun]:
    stmt = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
    if job:
        stmt = stmt.where(JobRun.job == job)
    return list(db.session.scalars(stmt))


def heartbeat_at() -> datetime | None:
    """When the scheduler holding the lock last said it was alive (naive UTC), or None."""
    return db.session.scalar(select(SchedulerLock.heartbeat_at).where(SchedulerLock.name == LOCK_NAME,
                                                                      SchedulerLock.holder != ""))


# --- the lock ----------------------------------------------------------------------------------

class DatabaseLock:
    """The one-scheduler lock. ``acquire()`` → bool, ``beat()`` → still ours, ``release()``."""

    def __init__(self, engine, holder: str | None = None):
        self.engine = engine
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.pg = engine.dialect.name == "postgresql"
        self._conn = None            # PostgreSQL: the connection that holds the advisory lock
        self.held = False

    def _ensure_row(self) -> None:
        try:
            with self.engine.begin() as conn:
                if conn.execute(select(SchedulerLock.name).where(SchedulerLock.name == LOCK_NAME)).first() is None:
                    conn.execute(SchedulerLock.__table__.insert().values(name=LOCK_NAME, holder=""))
        except IntegrityError:
            pass                     # another process inserted it at the same moment

    def acquire(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        self._ensure_row()
        t = SchedulerLock.__table__
        if self.pg:
            conn = self.engine.connect()
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar()
            conn.commit()
            if not got:
                conn.close()
                return False
            self._conn = conn
            with self.engine.begin() as c:
                c.execute(t.update().where(t.c.name == LOCK_NAME)
                          .values(holder=self.holder, acquired_at=now, heartbeat_at=now))
            self.held = True
            return True
        with self.engine.begin() as conn:
            stale = now - STALE_AFTER
            res = conn.execute(t.update().where(
                t.c.name == LOCK_NAME,
                (t.c.holder == self.holder) | (t.c.holder == "") | t.c.heartbeat_at.is_(None)
                | (t.c.heartbeat_at < stale))
                .values(holder=self.holder, acquired_at=now, heartbeat_at=now))
            self.held = res.rowcount == 1
        return self.held

    def beat(self, now: datetime | None = None) -> bool:
        """Write the heartbeat; False if the lock is no longer ours."""
        if not self.held:
            return False
        t = SchedulerLock.__table__
        with self.engine.begin() as conn:
            res = conn.execute(t.update().where(t.c.name == LOCK_NAME, t.c.holder == self.holder)
                               .values(heartbeat_at=now or utcnow()))
        if res.rowcount != 1 and not self.pg:
            self.held = False
        elif res.rowcount != 1:      # PostgreSQL: the advisory lock is the truth; put our name back
            with self.engine.begin() as conn:
                conn.execute(t.update().where(t.c.name == LOCK_NAME)
                             .values(holder=self.holder, heartbeat_at=now or utcnow()))
        return self.held

    def release(self) -> None:
        if not self.held:
            return
        t = SchedulerLock.__table__
        try:
            with self.engine.begin() as conn:
                conn.execute(t.update().where(t.c.name == LOCK_NAME, t.c.holder == self.holder)
                             .values(holder="", heartbeat_at=None))
        finally:
            if self._conn is not None:
                try:
                    self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
                    self._conn.commit()
                finally:
                    self._conn.close()
                    self._conn = None
            self.held = False


# --- the runner --------------------------------------------------------------------------------

def _run_scheduled(app, name: str, trigger: str = "scheduler") -> None:
    try:
        run(app, name, trigger=trigger)
    except Exception:       # recorded in JobRun and logged by run(); the scheduler keeps going
        pass


def _catch_up(app) -> None:
    """At start: freeze last month if its snapshot is missing, then refresh the provisional board."""
    from ..domain import months
    from . import ranking
    with app.app_context():
        now = utcnow()
        missing = ranking.snapshot(months.previous(months.current(now)), provisional=False) is None
    if missing:
        _run_scheduled(app, "rank_freeze", "catch-up")
    _run_scheduled(app, "rank_refresh", "catch-up")


class Runner:
    """Take the lock (waiting for it if another scheduler holds it), then run the jobs."""

    def __init__(self, app, scheduler_cls=None, holder: str | None = None, catch_up: bool = True):
        from apscheduler.schedulers.background import BackgroundScheduler
        self.app = app
        self.scheduler_cls = scheduler_cls or BackgroundScheduler
        with app.app_context():
            self.lock = DatabaseLock(db.engine, holder)
        self.catch_up = catch_up
        self.scheduler = None
        self._stop = threading.Event()

    def build(self):
        from ..jobs import JOBS
        scheduler = self.scheduler_cls(timezone="Asia/Shanghai")
        for name, (_, trigger) in JOBS.items():
            scheduler.add_job(_run_scheduled, args=[self.app, name], id=name, name=name, coalesce=True,
                              max_instances=1, replace_existing=True, **trigger)
        scheduler.add_job(self._beat, "interval", seconds=HEARTBEAT_EVERY.total_seconds(), id="_heartbeat",
                          name="heartbeat", coalesce=True, max_instances=1, replace_existing=True)
        if self.catch_up:
            scheduler.add_job(_catch_up, args=[self.app], id="_catch_up", name="catch-up", max_instances=1,
                              replace_existing=True, next_run_time=datetime.now().astimezone())
        return scheduler

    def _beat(self) -> None:
        if not self.lock.beat():
            log.error("scheduler lock lost (another process took it over); stopping this scheduler")
            self._stop.set()
            if self.scheduler is not None:
                self.scheduler.shutdown(wait=False)

    def try_start(self) -> bool:
        """Start if the lock is free; False (and nothing started) if another scheduler holds it."""
        if not self.lock.acquire():
            return False
        with self.app.app_context():
            interrupted = mark_interrupted()
        if interrupted:
            log.warning("%d job run(s) of a previous scheduler never finished; marked interrupted", interrupted)
        self.scheduler = self.build()
        log.info("scheduler lock taken by %s", self.lock.holder)
        self.scheduler.start()           # blocks for a BlockingScheduler
        return True

    def start_background(self) -> None:
        """Embedded: start now if possible, else keep trying on a daemon thread."""
        if self.try_start():
            return
        log.info("another scheduler holds the lock; this process will wait and retry")

        def standby():
            while not self._stop.wait(RETRY_EVERY):
                if self.try_start():
                    return
        threading.Thread(target=standby, name="scheduler-standby", daemon=True).start()

    def run_forever(self, echo=print) -> None:
        """Foreground (``flask portal scheduler``): wait for the lock, then run until stopped."""
        while not self.try_start():
            echo("another scheduler holds the lock; retrying in 30 s")
            if self._stop.wait(RETRY_EVERY):
                return

    def stop(self) -> None:
        self._stop.set()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.lock.release()

