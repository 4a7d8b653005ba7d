"""Crash: kill -9 of the scheduler while it writes a monthly snapshot, in the middle of the load.
The snapshot is absent (nothing of it kept, the month's provisional board untouched), never
partial; the next scheduler takes the lock, marks the dead run interrupted, freezes the month
by its catch-up, and the snapshot it writes is complete: every row the ranking computes.

How the kill lands mid-write, every time: the month has a provisional snapshot, and the test holds
that row locked (SELECT ... FOR UPDATE). Freezing writes the frozen snapshot and all its rows, then
removes the provisional one as its last statement, and waits there for the test's lock. The test
sees the scheduler's backend waiting with its rows inserted (it holds a RowExclusiveLock on
ranking_rows) and kills the scheduler's process group with SIGKILL.
"""
from __future__ import annotations

import os
import random
import signal

from sqlalchemy import text

from portal import create_app
from portal.domain import months
from portal.domain.deadlines import utcnow
from portal.extensions import db
from tests.reliability.conftest import assert_nothing_lost_or_half_written, run_load, wait_receipts

WAITING_FREEZE = """
SELECT a.pid FROM pg_stat_activity a
WHERE a.datname = current_database() AND a.wait_event_type = 'Lock'
  AND a.query ILIKE 'DELETE FROM ranking_snapshots%'
  AND EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
              WHERE l.pid = a.pid AND c.relname = 'ranking_rows' AND l.mode = 'RowExclusiveLock')
"""


def _app(stack):
    return create_app({"SQLALCHEMY_DATABASE_URI": stack.url, "SCHEDULER_ENABLED": False,
                       "SECRET_KEY": stack.env["PORTAL_SECRET_KEY"]})


def _prepare_month(stack) -> str:
    """Requests over the last three months (driven through perform(), as the demo is), no frozen
    snapshot for last month (the server was down on the 1st), and a provisional one for it."""
    from portal.services import ranking
    from portal.services.seed import DemoBuilder
    app = _app(stack)
    with app.app_context():
        now = utcnow()
        month = months.previous(months.current(now))
        DemoBuilder(now, random.Random(9)).build(160)
        db.session.execute(text("DELETE FROM ranking_snapshots WHERE month = :m"), {"m": month})
        ranking.refresh_provisional(now, month)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return month


def _expected_rows(stack, month: str) -> list[tuple]:
    from portal.services import ranking
    app = _app(stack)
    with app.app_context():
        _, scores = ranking.compute(month)
        out = sorted((s.counts.unit_id, s.counts.dispatched, s.counts.signed_on_time, s.counts.answered,
                      s.counts.resolved, s.counts.satisfied, s.rank) for s in scores)
        db.session.remove()
        db.engine.dispose()
    return out


def _snapshots(stack, month: str) -> dict:
    with stack.engine.connect() as conn:
        rows = conn.execute(text("SELECT s.provisional, count(r.id) FROM ranking_snapshots s "
                                 "LEFT JOIN ranking_rows r ON r.snapshot_id = s.id WHERE s.month = :m "
                                 "GROUP BY s.id, s.provisional"), {"m": month}).all()
        orphans = conn.execute(text("SELECT count(*) FROM ranking_rows r WHERE NOT EXISTS "
                                    "(SELECT 1 FROM ranking_snapshots s WHERE s.id = r.snapshot_id)")).scalar()
    assert orphans == 0
    return {("provisional" if p else "frozen"): n for p, n in rows}


def test_a_snapshot_killed_mid_write_is_absent_then_complete(stack, tmp_path):
    month = _prepare_month(stack)
    before = _snapshots(stack, month)
    assert set(before) == {"provisional"} and before["provisional"] > 0, before
    blocker = stack.engine.connect()
    held = blocker.begin()
    blocker.execute(text("SELECT id FROM ranking_snapshots WHERE month = :m AND provisional FOR UPDATE"),
                    {"m": month})
    seen: dict = {}
    last_id = stack.scalar("SELECT max(id) FROM tickets")

    def kill_mid_freeze(s, out):
        wait_receipts(out, 5)                                              # the load is under way
        first = s.start_scheduler(tmp_path / "scheduler-1.log")            # its catch-up freezes the month
        s.wait_for(lambda: s.scalar(WAITING_FREEZE) is not None, timeout=240,
                   what="the scheduler's freeze to have written its rows and wait on the last statement")
        seen["backend"] = s.scalar(WAITING_FREEZE)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        held.rollback()                                                    # let the orphaned backend go on
        blocker.close()
        s.wait_for(lambda: s.scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = :p",
                                    p=seen["backend"]) == 0, what="the killed scheduler's backend to end")
        seen["after_kill"] = _snapshots(s, month)
        seen["runs_after_kill"] = s.scalar("SELECT count(*) FROM job_runs WHERE job = 'rank_freeze' "
                                           "AND outcome = 'running'")

    out = run_load(stack, clients=16, seconds=10, during=kill_mid_freeze)
    # absent, never partial: the killed transaction left no frozen snapshot and no row of one
    assert seen["after_kill"] == before, seen["after_kill"]
    assert seen["runs_after_kill"] == 1                  # the dead run, still marked running
    assert not [st for st in out.statuses if st >= 500], (out.statuses, out.bodies_5xx[:1])
    assert_nothing_lost_or_half_written(stack, out, after_id=last_id)

    stack.start_scheduler(tmp_path / "scheduler-2.log")
    stack.wait_for(lambda: "frozen" in _snapshots(stack, month), what="the catch-up of the second scheduler")
    after = _snapshots(stack, month)
    assert set(after) == {"frozen"}, after               # the provisional board gave way to the frozen one
    with stack.engine.connect() as conn:
        frozen = sorted(tuple(r) for r in conn.execute(text(
            "SELECT r.unit_id, r.dispatched, r.signed_on_time, r.answered, r.resolved, r.satisfied, r.rank "
            "FROM ranking_rows r JOIN ranking_snapshots s ON s.id = r.snapshot_id "
            "WHERE s.month = :m AND NOT s.provisional"), {"m": month}))
        outcomes = [tuple(r) for r in conn.execute(text(
            "SELECT trigger, outcome FROM job_runs WHERE job = 'rank_freeze' ORDER BY id"))]
    assert frozen == _expected_rows(stack, month) and len(frozen) == before["provisional"]
    assert outcomes == [("catch-up", "interrupted"), ("catch-up", "ok")], outcomes
