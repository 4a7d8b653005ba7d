"""Crash: kill -9 of a gunicorn worker and of the scheduler in the middle of the load. The
master replaces the worker; no request is lost (every receipt is stored) or half-written (every
stored request has its event and its SMS receipt); requests cut off with the worker are at most
the connections dropped. A scheduler started after the killed one takes the lock over (the
advisory lock died with the connection) and its heartbeat goes on."""
from __future__ import annotations

import os
import signal
import time

from tests.reliability.conftest import assert_nothing_lost_or_half_written, run_load, wait_receipts


def test_kill_9_of_a_worker_and_the_scheduler_mid_load(stack, tmp_path):
    killed: dict = {}
    first = stack.start_scheduler(tmp_path / "scheduler.log")
    stack.wait_for(lambda: stack.scheduler_lock()[0] != "", what="the first scheduler to take the lock")
    first_holder, first_beat = stack.scheduler_lock()

    def kill_one(s, out):
        wait_receipts(out, 5)                                         # the load is under way
        before = s.worker_pids()
        assert len(before) == 3
        os.kill(before[0], signal.SIGKILL)
        killed.update(pid=before[0], at=time.monotonic(), before=set(before))
        os.killpg(first.pid, signal.SIGKILL)                          # the scheduler, mid-load
        first.wait()
        s.start_scheduler(tmp_path / "scheduler.log")
        wait_receipts(out, 5, since=killed["at"])                     # and goes on after the kill

    out = run_load(stack, clients=32, seconds=24, during=kill_one)
    after = set(stack.worker_pids())
    assert killed["pid"] not in after and len(after) == 3            # replaced by the master
    assert not [s for s in out.statuses if s >= 500], (out.statuses, out.bodies_5xx[:1])
    assert [t for t, _ in out.receipts if t < killed["at"]], "no receipts before the kill"
    assert [t for t, _ in out.receipts if t > killed["at"]], "the site did not carry on after the kill"
    assert_nothing_lost_or_half_written(stack, out)
    # the new scheduler took over: another holder, a later heartbeat, visible on /healthz
    stack.wait_for(lambda: stack.scheduler_lock()[0] not in ("", first_holder), what="the second scheduler")
    holder, beat = stack.scheduler_lock()
    assert beat > first_beat
    import json
    import urllib.request
    with urllib.request.urlopen(stack.base + "/healthz", timeout=10) as resp:  # nosec B310
        health = json.load(resp)
    assert health["scheduler"]["age_seconds"] is not None and health["scheduler"]["age_seconds"] < 600
    print(f"crash: {len(out.receipts)} receipts, {len(out.dropped)} connections cut; statuses {out.statuses}")
