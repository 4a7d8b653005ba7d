"""The scheduler: job runs recorded, the one-scheduler lock, two schedulers started at once."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.domain.lifecycle import Status
from portal.extensions import db
from portal.jobs import JOBS, run_job
from portal.models import JobRun, RankingSnapshot, TicketEvent
from portal.services import scheduler as sched


def runs(job=None):
    db.session.expire_all()
    stmt = select(JobRun).order_by(JobRun.id)
    if job:
        stmt = stmt.where(JobRun.job == job)
    return list(db.session.scalars(stmt))


def test_every_run_is_recorded_with_its_period(app):
    now = datetime(2026, 11, 16, 2)
    run_job(app, "rank_freeze", now=now)
    run_job(app, "rank_refresh", now=now)
    (freeze,) = runs("rank_freeze")
    assert (freeze.period, freeze.outcome, freeze.trigger) == ("2026-10", "ok", "manual")
    assert freeze.finished_at is not None and freeze.started_at <= freeze.finished_at
    (refresh,) = runs("rank_refresh")
    assert refresh.period == "2026-11" and "provisional" in refresh.result
    run_job(app, "rank_freeze", now=now, month="2026-09")
    assert [r.period for r in runs("rank_freeze")] == ["2026-10", "2026-09"]


def test_a_failing_run_is_recorded_and_changes_nothing(app, monkeypatch):
    def boom(now):
        """Fails after writing."""
        db.session.add(RankingSnapshot(month="2000-01", provisional=True, computed_at=now, settings={}))
        db.session.flush()
        raise RuntimeError("disk on fire")
    monkeypatch.setitem(JOBS, "boom", (boom, {"trigger": "interval", "hours": 1}))
    with pytest.raises(RuntimeError):
        run_job(app, "boom")
    (r,) = runs("boom")
    assert r.outcome == "error" and "disk on fire" in r.error and r.finished_at is not None
    assert db.session.scalar(select(func.count()).select_from(RankingSnapshot)) == 0


def test_sla_scan_supervises_and_counts(app, make_ticket, now):
    t = make_ticket(Status.HANDLING, start=now - timedelta(days=20))
    result = run_job(app, "supervise_overdue", now=now)
    assert result == {"overdue": 1, "warned": 0, "supervised": 1}
    db.session.expire_all()
    assert t.supervision_level == 1
    n = db.session.scalar(select(func.count()).select_from(TicketEvent))
    assert run_job(app, "supervise_overdue", now=now)["supervised"] == 0
    assert db.session.scalar(select(func.count()).select_from(TicketEvent)) == n


def test_cli_month_option(app):
    cli = app.test_cli_runner()
    ok = cli.invoke(args=["portal", "jobs", "run", "rank_freeze", "--month", "2026-10"])
    assert ok.exit_code == 0, ok.output
    assert "2026-10 frozen" in ok.output
    for args, message in [(["rank_freeze", "--month", "2026-13"], "月份格式不正确"),
                          (["rank_freeze", "--month", "2999-01"], "尚未结束"),
                          (["supervise_overdue", "--month", "2026-10"], "不按月份运行")]:
        res = cli.invoke(args=["portal", "jobs", "run", *args])
        assert res.exit_code != 0 and message in res.output, res.output


# --- the lock --------------------------------------------------------------------------------------

def test_lock_one_holder_and_heartbeat(app):
    a, b = sched.DatabaseLock(db.engine, "a"), sched.DatabaseLock(db.engine, "b")
    try:
        assert sched.heartbeat_at() is None
        assert a.acquire() and not b.acquire()
        assert a.beat() and sched.heartbeat_at() is not None
        a.release()
        db.session.expire_all()
        assert sched.heartbeat_at() is None
        assert b.acquire() and not a.acquire()
    finally:
        a.release()
        b.release()


def test_sqlite_stale_holder_is_replaced(app, backend):
    if backend != "sqlite":
        pytest.skip("PostgreSQL: the advisory lock ends with its connection, there is no stale holder")
    a, b = sched.DatabaseLock(db.engine, "a"), sched.DatabaseLock(db.engine, "b")
    long_ago = datetime(2026, 1, 1)
    assert a.acquire(long_ago)
    assert b.acquire(long_ago + sched.STALE_AFTER + timedelta(seconds=1))
    assert not a.beat()           # a finds out it lost the lock and stops


def _wait_for(predicate, seconds=120.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_two_schedulers_started_at_once_run_a_job_once(app):
    runners = [sched.Runner(app, holder=f"runner-{i}") for i in range(2)]
    barrier = threading.Barrier(2)
    started: dict[int, bool] = {}

    def go(i):
        barrier.wait()
        started[i] = runners[i].try_start()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(started.values()) == [False, True]

        def catch_up_done():
            return [r.outcome for r in runs() if r.trigger == "catch-up"].count("ok") >= 2
        assert _wait_for(catch_up_done), [(r.job, r.outcome, r.error) for r in runs()]
    finally:
        for r in runners:
            r.stop()
    catch_up = [(r.job, r.period) for r in runs() if r.trigger == "catch-up"]
    assert sorted(j for j, _ in catch_up) == ["rank_freeze", "rank_refresh"]
    frozen = db.session.scalar(select(func.count()).select_from(RankingSnapshot)
                               .where(RankingSnapshot.provisional.is_(False)))
    assert frozen == 1


def test_a_run_left_running_by_a_dead_scheduler_is_marked_interrupted(app):
    """A scheduler killed mid-job leaves its run 'running'; the next one to take the lock marks it
    interrupted (its work was one transaction, rolled back). A manual run may be going on: untouched."""
    started = datetime(2026, 11, 16, 2)
    for trigger in ("scheduler", "catch-up", "manual"):
        db.session.add(JobRun(job="rank_freeze", period="2026-10", started_at=started, outcome="running",
                              trigger=trigger))
    db.session.add(JobRun(job="rank_refresh", period="2026-11", started_at=started, finished_at=started,
                          outcome="ok", trigger="scheduler"))
    db.session.commit()
    runner = sched.Runner(app, holder="after-the-crash", catch_up=False)
    try:
        assert runner.try_start()
    finally:
        runner.stop()
    outcomes = sorted((r.trigger, r.outcome) for r in runs())
    assert outcomes == [("catch-up", "interrupted"), ("manual", "running"), ("scheduler", "interrupted"),
                        ("scheduler", "ok")]
    assert all(r.finished_at is not None for r in runs() if r.outcome == "interrupted")
