"""Crash: kill -9 of a gunicorn worker in the middle of the load. The master replaces it; no
request is lost (every receipt is stored) or half-written (every stored request has its event
and its SMS receipt); requests cut off with the worker are at most the connections dropped."""
from __future__ import annotations

import os
import signal
import time

from tests.reliability.conftest import assert_nothing_lost_or_half_written, run_load


def test_kill_9_of_a_worker_mid_load(stack):
    killed: dict = {}

    def kill_one(s, t0):
        time.sleep(8)
        before = s.worker_pids()
        assert len(before) == 3
        os.kill(before[0], signal.SIGKILL)
        killed.update(pid=before[0], at=time.monotonic(), before=set(before))

    out = run_load(stack, clients=32, seconds=24, during=kill_one)
    after = set(stack.worker_pids())
    assert killed["pid"] not in after and len(after) == 3            # replaced by the master
    assert not [s for s in out.statuses if s >= 500], (out.statuses, out.bodies_5xx[:1])
    assert [t for t, _ in out.receipts if t < killed["at"]], "no receipts before the kill"
    assert [t for t, _ in out.receipts if t > killed["at"] + 5], "the site did not carry on after the kill"
    assert_nothing_lost_or_half_written(stack, out)
    print(f"crash: {len(out.receipts)} receipts, {len(out.dropped)} connections cut; statuses {out.statuses}")
