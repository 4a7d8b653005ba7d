"""The public submit page's server time (GET /submit: the form with every street, district and
category), through the real app in this process, as bench_queue.py measures the staff pages.

    .venv/bin/python bench/bench_submit.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench_1m

Each view is timed on the wall clock and as the serving thread's CPU time; --warmup views first,
then --repeat; p50/p95 by nearest rank.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PORTAL_LOG_LEVEL", "WARNING")

from bench.bench_queue import percentile  # noqa: E402
from bench.generate import normalise_url  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="SQLAlchemy URL, or a path to an SQLite file")
    ap.add_argument("--repeat", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--wtforms-options", action="store_true",
                    help="write the options through WTForms' own Select, as before portal/web/fields.py (to compare)")
    args = ap.parse_args(argv)
    if args.wtforms_options:
        from wtforms.widgets import Select

        from portal.web.fields import QuickSelect
        QuickSelect.render_option = classmethod(Select.render_option.__func__)
    from portal import create_app
    from portal.heap import settle
    app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_url(args.url), "SCHEDULER_ENABLED": False,
                      "RATELIMIT_ENABLED": False, "TESTING": False})
    settle()                       # as wsgi.py does in every worker
    client = app.test_client()
    wall, cpu = [], []
    for k in range(args.warmup + args.repeat):
        t0, c0 = time.perf_counter(), time.thread_time()
        resp = client.get("/submit")
        elapsed, cpu_s = time.perf_counter() - t0, time.thread_time() - c0
        if resp.status_code != 200:
            raise SystemExit(f"/submit: HTTP {resp.status_code}")
        if k >= args.warmup:
            wall.append(elapsed * 1000)
            cpu.append(cpu_s * 1000)
    print(f"GET /submit ({len(resp.data):,} bytes), {args.repeat} views: "
          f"p50 {percentile(wall, 50):.1f} ms, p95 {percentile(wall, 95):.1f} ms; "
          f"CPU p50 {percentile(cpu, 50):.1f} ms, p95 {percentile(cpu, 95):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
