"""How long the monthly ranking snapshot takes, and the board page's p95, on a big database.

Usage (after bench/generate.py has filled the database):

    .venv/bin/python bench/bench_snapshot.py --url /tmp/bench.db --month 2026-11
    .venv/bin/python bench/bench_snapshot.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench --month 2026-11

What is measured (wall clock, ``time.perf_counter``):
* ``aggregate``: the two GROUP BY queries of ``services.ranking.aggregate`` for the month;
* ``freeze``: the whole frozen snapshot (aggregate + ranking + city figures + writing the rows),
  run ``--runs`` times, each in a transaction that is rolled back, so every run does the work;
* ``board``: ``GET /board?month=…`` through the Flask test client (the whole request: routing,
  queries on the snapshot, templates), ``--requests`` times after a warm-up, p50/p95/max,
  with the snapshot committed once for these requests (removed afterwards unless --keep).
Results are printed as a Markdown table row for docs/benchmarks/ranking.md.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def normalise_url(url: str) -> str:
    return url if "://" in url else f"sqlite:///{Path(url).resolve()}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--month", required=True, help="YYYY-MM (Beijing), a month that has ended")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--keep", action="store_true", help="leave the frozen snapshot in the database")
    args = ap.parse_args(argv)
    os.environ.setdefault("PORTAL_LOG_LEVEL", "WARNING")

    from sqlalchemy import delete, func, select

    from portal import create_app
    from portal.domain import months
    from portal.domain.deadlines import utcnow
    from portal.extensions import db
    from portal.models import RankingSnapshot, Ticket
    from portal.services import ranking

    url = normalise_url(args.url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SCHEDULER_ENABLED": False, "RATELIMIT_ENABLED": False})
    engine_name = url.split(":", 1)[0]
    with app.app_context():
        start, end = months.bounds(args.month)
        n = db.session.scalar(select(func.count()).select_from(Ticket)
                              .where(Ticket.dispatched_at >= start, Ticket.dispatched_at < end))
        total = db.session.scalar(select(func.count()).select_from(Ticket))
        print(f"{engine_name}: {total:,} requests, {n:,} dispatched in {args.month}")
        existing = ranking.snapshot(args.month, provisional=False)
        if existing is not None:
            db.session.delete(existing)
            db.session.commit()

        t = time.perf_counter()
        counts = ranking.aggregate(args.month)
        agg = time.perf_counter() - t
        print(f"aggregate: {agg:.2f} s ({len(counts)} units)")

        freezes = []
        for _ in range(args.runs):
            t = time.perf_counter()
            ranking.freeze(args.month, utcnow())
            db.session.flush()
            freezes.append(time.perf_counter() - t)
            db.session.rollback()
        print("freeze: " + ", ".join(f"{x:.2f} s" for x in freezes))

        ranking.freeze(args.month, utcnow())
        db.session.commit()
        client = app.test_client()
        url_path = f"/board?month={args.month}"
        for _ in range(10):
            assert client.get(url_path).status_code == 200
        times = []
        for _ in range(args.requests):
            t = time.perf_counter()
            resp = client.get(url_path)
            times.append((time.perf_counter() - t) * 1000)
            assert resp.status_code == 200
        times.sort()
        p95 = times[max(0, int(len(times) * 0.95) - 1)]
        print(f"board: p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, max {times[-1]:.1f} ms "
              f"({args.requests} requests)")
        if not args.keep:
            db.session.execute(delete(RankingSnapshot).where(RankingSnapshot.month == args.month,
                                                             RankingSnapshot.provisional.is_(False)))
            db.session.commit()
        print(f"| {datetime.now():%Y-%m-%d} | {engine_name} | {total:,} | {n:,} | {agg:.2f} s | "
              f"{min(freezes):.2f} / {statistics.median(freezes):.2f} / {max(freezes):.2f} s | "
              f"{statistics.median(times):.1f} ms | {p95:.1f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
