"""PostgreSQL restart during the load (run last, once: other work shares this PostgreSQL).

While the database is down every answer is the generic 503 page (never a 500, never a
traceback); afterwards the app recovers by itself (pool pre-ping) without a restart of gunicorn,
and nothing a client was given a receipt for is lost."""
from __future__ import annotations

import os
import shutil
import subprocess  # nosec B404
import time
import urllib.error
import urllib.request

import pytest

from tests.reliability.conftest import assert_nothing_lost_or_half_written, run_load, wait_receipts


# it restarts the machine's PostgreSQL: nothing else may use it meanwhile (make test runs the
# "serial" tests on their own, after the rest)
pytestmark = pytest.mark.serial


def cluster() -> tuple[str, str] | None:
    if os.geteuid() != 0 or not shutil.which("pg_ctlcluster") or not os.path.isdir("/etc/postgresql"):
        return None
    versions = sorted(os.listdir("/etc/postgresql"))
    return (versions[-1], "main") if versions else None


def pg_ready() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"], check=False).returncode == 0  # nosec


def test_database_restart_during_load(stack):
    found = cluster()
    if found is None:
        pytest.skip("needs root and pg_ctlcluster to restart the local PostgreSQL")
    health: list[int] = []
    restart: dict = {}

    def restart_postgres(s, out):
        wait_receipts(out, 5)                    # the load is under way
        restart["start"] = time.monotonic()
        try:
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *found, "restart", "-m", "fast"],  # nosec
                           check=True, capture_output=True, timeout=120)
        finally:
            if not pg_ready():
                subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *found, "start"],  # nosec
                               check=False, capture_output=True, timeout=120)
        restart["end"] = time.monotonic()
        for _ in range(50):                      # what a monitor sees right after the restart
            try:
                with urllib.request.urlopen(s.base + "/healthz", timeout=5) as resp:  # nosec B310
                    health.append(resp.status)
            except urllib.error.HTTPError as exc:
                health.append(exc.code)
            if health[-1] == 200:
                break
            time.sleep(0.2)
        wait_receipts(out, 5, since=restart["end"])    # submissions succeed again, by themselves

    out = run_load(stack, clients=32, seconds=25, during=restart_postgres)
    assert set(out.statuses) <= {200, 503}, (out.statuses, out.bodies_5xx[:1])
    assert out.statuses.get(503, 0) > 0, "the restart went unnoticed: the test proved nothing"
    for body in out.bodies_5xx:
        assert "Traceback" not in body and "psycopg" not in body and "错误编号" in body
    assert health and health[-1] == 200                              # recovered by itself
    assert [t for t, _ in out.receipts if t > restart["end"]], "no submission succeeded after the restart"
    assert_nothing_lost_or_half_written(stack, out)
    assert "Traceback" not in stack.log_text()
