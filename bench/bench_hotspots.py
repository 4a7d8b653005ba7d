"""Benchmark: the hot-spot job (举一反三) over one month of 1,000,000 requests.

    .venv/bin/python bench/bench_hotspots.py --engine sqlite
    .venv/bin/python bench/bench_hotspots.py --engine postgresql --pg postgresql+psycopg://postgres@127.0.0.1:5432/test

Builds a fresh database (the real migrations and seed: 390 units, the categories), bulk-loads
N requests received over the last 30 days (Core inserts / COPY, not the service: this measures
the job, not intake), spread over every street and subcategory with a skew (a few streets and
categories get far more, as in the real reports) and a pool of addresses per street, then times:

1. the first run (raises every alert),
2. a second run at the same instant (idempotent: nothing raised, nothing changed),
3. a run an hour later after 1,000 more requests arrived (open alerts grow).

On PostgreSQL the loaded table is VACUUM ANALYZEd (as autovacuum would have done over the month),
on SQLite ANALYZEd.

Thresholds are the shipped defaults (5 in 7 days for street+category, 3 in 30 days for one
address). Results go to docs/benchmarks/hotspots.md by hand; nothing here asserts a time.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

NOW = datetime(2026, 11, 30, 16, 0)     # 2026-12-01 00:00 in Beijing
COLUMNS = ["tracking_no", "query_code", "channel", "kind", "urgency", "category_id", "district_id", "street_id",
           "address", "title", "content", "requester_type", "citizen_name", "citizen_phone", "citizen_email",
           "enterprise_name", "credit_code", "consent_publish", "locale", "status", "review_by_leader",
           "supervision_level", "return_count", "redispatch_count", "rehandle_count", "extension_count",
           "rating_comment", "reply", "report", "answer", "close_reason", "closed_at", "created_at", "updated_at",
           "version"]


def make_app(url: str):
    from portal import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True,
                       "SCHEDULER_ENABLED": False})


def fresh_database(engine_name: str, pg: str) -> str:
    if engine_name == "sqlite":
        path = Path("/tmp") / f"bench_hotspots_{os.getpid()}.db"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    url = make_url(pg)
    name = f"bench_hotspots_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(engine_name: str, pg: str, url: str) -> None:
    if engine_name == "sqlite":
        Path(make_url(url).database).unlink(missing_ok=True)
        return
    admin = create_engine(make_url(pg), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def rows(n: int, streets: list[tuple[int, int]], cats: list[int], rng: random.Random, start: datetime,
         span: timedelta, offset: int):
    """Request rows as tuples in COLUMNS order. Streets and categories are skewed (Pareto-ish)."""
    street_w = [1 / (i + 1) ** 0.8 for i in range(len(streets))]
    cat_w = [1 / (i + 1) ** 0.9 for i in range(len(cats))]
    seconds = span.total_seconds()
    picked_streets = rng.choices(streets, weights=street_w, k=n)
    picked_cats = rng.choices(cats, weights=cat_w, k=n)
    for i in range(n):
        street_id, district_id = picked_streets[i]
        created = start + timedelta(seconds=rng.random() * seconds)
        answered = rng.random() < 0.55
        status = "answered" if answered else "submitted"
        addr = f"{rng.randrange(60)}号院" if rng.random() < 0.7 else ""
        yield (f"B{offset + i:011d}", "QC0000", "phone", "complaint", "normal", picked_cats[i], district_id, street_id,
               addr, "路灯不亮", "街道主路一排路灯已经连续一周不亮，晚上出行很不方便，请尽快维修。", "citizen", "", "", "", "",
               "", False, "zh", status, False, 0, 0, 0, 0, 0, "", "", "", "", "",
               created if answered else None, created, created, 1)


def load(engine_name: str, n: int, start: datetime, span: timedelta, offset: int, seed: int) -> float:
    from portal.extensions import db
    from portal.models import Category, Ticket, Unit
    rng = random.Random(seed)
    streets = [(u.id, u.parent_id) for u in db.session.scalars(select(Unit).where(Unit.tier == 3).order_by(Unit.id))]
    rng.shuffle(streets)
    cats = list(db.session.scalars(select(Category.id).where(Category.parent_id.isnot(None)).order_by(Category.id)))
    rng.shuffle(cats)
    t0 = time.perf_counter()
    gen = rows(n, streets, cats, rng, start, span, offset)
    if engine_name == "postgresql":
        raw = db.session.connection().connection.driver_connection
        with raw.cursor() as cur:
            with cur.copy(f"COPY tickets ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in gen:
                    copy.write_row(row)
    else:
        batch: list[dict] = []
        for row in gen:
            batch.append(dict(zip(COLUMNS, row)))
            if len(batch) == 20000:
                db.session.execute(insert(Ticket.__table__), batch)
                batch.clear()
        if batch:
            db.session.execute(insert(Ticket.__table__), batch)
    db.session.commit()
    if engine_name == "postgresql":
        # a month of requests arrives over a month, and autovacuum keeps the visibility map current;
        # a bulk COPY leaves it empty, so vacuum once as autovacuum would have
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE tickets"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return time.perf_counter() - t0


def _backend_cpu() -> float | None:
    """CPU seconds used so far by this session's PostgreSQL backend (same machine only), else None."""
    from portal.extensions import db
    if db.session.get_bind().dialect.name != "postgresql":
        return None
    pid = db.session.scalar(text("SELECT pg_backend_pid()"))
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(fn, *args):
    """Wall time; this process's CPU time (for SQLite that includes the database's own work); and on
    PostgreSQL the server backend's CPU time. On a shared, busy machine the CPU times are the
    figures to compare: wall time there mostly measures waiting for a core."""
    from portal.extensions import db
    b0 = _backend_cpu()
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn(*args)
    db.session.commit()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    b1 = _backend_cpu()
    server = f"; server cpu={b1 - b0:.2f}s" if b0 is not None and b1 is not None else ""
    return wall, f"{result}; cpu={cpu:.2f}s{server}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg", default=os.environ.get("PORTAL_TEST_DATABASE_URL",
                                                       "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    from flask_migrate import upgrade
    from portal.extensions import db
    from portal.models import HotspotAlert, Ticket
    from portal.services.governance import detect_hotspots
    from portal.services.seed import seed_all

    url = fresh_database(args.engine, args.pg)
    app = make_app(url)
    try:
        with app.app_context():
            upgrade(revision="heads")
            seed_all(NOW - timedelta(days=40), demo_tickets=0)
            db.session.commit()
            load_s = load(args.engine, args.rows, NOW - timedelta(days=30), timedelta(days=30), 0, 1)
            total = db.session.scalar(select(func.count()).select_from(Ticket))
            print(f"engine={args.engine} requests={total} load={load_s:.1f}s")
            first_s, first = timed(detect_hotspots, NOW)
            alerts = db.session.scalar(select(func.count()).select_from(HotspotAlert))
            print(f"first run: {first_s:.2f}s ({first}); alerts={alerts}")
            second_s, second = timed(detect_hotspots, NOW)
            print(f"second run, same instant: {second_s:.2f}s ({second})")
            load(args.engine, 1000, NOW, timedelta(hours=1), args.rows, 2)
            third_s, third = timed(detect_hotspots, NOW + timedelta(hours=1))
            print(f"an hour later, 1,000 more requests: {third_s:.2f}s ({third})")
            db.session.remove()
            db.engine.dispose()
    finally:
        if not args.keep:
            drop_database(args.engine, args.pg, url)


if __name__ == "__main__":
    main()
