"""Issue 4's queue benchmark: server time of the staff queue pages through the real app.

Usage (a database filled by bench/generate.py):

    .venv/bin/python bench/bench_queue.py --url /tmp/bench_1m.db --repeat 30
    .venv/bin/python bench/bench_queue.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench_10m
    # --json FILE also writes every figure; --explain prints the slowest statement's plan per page

Who is measured: the center's dispatcher, the busiest street (by open requests) and its district
(a handler account for each is created in the benchmark database if it has none), plus a
request's page. For each page: the tabs (each tab's first page, with the tab counts), the
filters (category, urgency, dates, district or street, text), sort by due / by newest,
pagination (page 2 and a deep page), the htmx count poll (/staff/counts) and a request page.

How: Flask's test client against the real app (routing, login, scope, the queue service, the
templates), in this process, signed in by setting the Flask-Login session (no password). The
time is the whole request as the server sees it (wall clock), and the CPU time of the thread
that served it (on SQLite that is all the work, so it holds up on a shared machine where the
wall clock mostly measures waiting for a core; on PostgreSQL the server's CPU is not in it); the SQL statements of each page are counted
and timed with SQLAlchemy's cursor events, so the slowest statement of a slow page is named.
Each URL is requested --warmup times first, then --repeat times; p50/p95/p99 by nearest rank.

The tab counts are kept QUEUE_COUNTS_SECONDS (10 s) per scope, as in production, so most
repeats find them kept; `PORTAL_QUEUE_COUNTS_SECONDS=0` counts on every page (what a street's
page costs when no colleague has loaded it in the last 10 s). docs/BENCHMARKS.md gives both.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PORTAL_LOG_LEVEL", "WARNING")

from sqlalchemy import event, func, select, text  # noqa: E402

from bench.generate import normalise_url  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    k = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[k - 1]


class SqlRecorder:
    """Counts and times every statement the app sends while ``on``."""

    def __init__(self, engine):
        self.on = False
        self.statements: list[tuple[float, str]] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if self.on:
            self.statements.append((time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter()),
                                    statement, parameters))


def setup_users(app):
    """The dispatcher, the busiest street and its district, each with a handler account."""
    from portal.domain.access import Role
    from portal.domain.deadlines import utcnow
    from portal.domain.lifecycle import OPEN
    from portal.extensions import db
    from portal.models import Ticket, Unit, User
    from portal.services.users import create_user, new_password

    with app.app_context():
        dispatcher = db.session.scalar(select(User).where(User.role == Role.DISPATCHER).order_by(User.id))
        busiest = db.session.execute(
            select(Ticket.handling_unit_id, func.count()).join(Unit, Unit.id == Ticket.handling_unit_id)
            .where(Ticket.status.in_([s.value for s in OPEN]), Unit.tier == 3)
            .group_by(Ticket.handling_unit_id).order_by(func.count().desc()).limit(1)).first()
        street = db.session.get(Unit, busiest[0])
        district = street.parent

        def handler(unit: Unit, username: str) -> User:
            user = db.session.scalar(select(User).where(User.unit_id == unit.id, User.role == Role.HANDLER))
            if user is None:
                user = create_user(utcnow(), username=username, display_name=f"基准测试 {unit.name}",
                                   role=Role.HANDLER, unit=unit, password=new_password())
                db.session.commit()
            return user

        users = {"center": dispatcher, "district": handler(district, "bench.district"),
                 "street": handler(street, "bench.street")}
        info = {k: (u.id, u.get_id(), u.username, u.unit.name) for k, u in users.items()}
        # a request each can see: the newest open request of the street (visible to all three)
        ticket_id = db.session.scalar(select(Ticket.id).where(Ticket.handling_unit_id == street.id)
                                      .order_by(Ticket.id.desc()).limit(1))
        category_id = db.session.scalar(select(Ticket.category_id).where(Ticket.handling_unit_id == street.id)
                                        .group_by(Ticket.category_id).order_by(func.count().desc()).limit(1))
        from portal.models import Category
        top_category = db.session.get(Category, category_id).parent_id
        return info, dict(ticket_id=ticket_id, category=top_category, district=district.id, street=street.id,
                          street_name=street.name)


def scenarios(who: str, ctx: dict) -> list[tuple[str, str]]:
    """(label, url) of every page measured for this user."""
    from portal.domain.deadlines import to_local, utcnow
    today = to_local(utcnow()).date()
    week_ago = (today - timedelta(days=7)).isoformat()
    tabs = (["intake", "returns", "extensions", "callback", "due_soon", "overdue", "supervised", "pingpong", "all"]
            if who == "center" else ["to_sign", "handling", "due_soon", "overdue", "returned", "to_review", "all"])
    out = [(f"tab {t}", "/staff/?" + urlencode({"tab": t})) for t in tabs]
    place = {"district": ctx["district"]} if who == "center" else (
        {"street": ctx["street"]} if who == "district" else {})
    filters = [
        ("filter category", {"tab": "all", "category": ctx["category"]}),
        ("filter urgency", {"tab": "all", "urgency": "urgent"}),
        ("filter dates (7 days)", {"tab": "all", "from": week_ago, "to": today.isoformat()}),
        ("filter text", {"tab": "all", "q": "噪声"}),
        ("filter all four", {"tab": "all", "category": ctx["category"], "urgency": "normal", "from": week_ago,
                             "q": "小区"}),
        ("sort newest", {"tab": "all", "sort": "new"}),
        ("page 2", {"tab": "all", "page": 2}),
        ("page 20", {"tab": "all", "page": 20}),
    ]
    if place:
        filters.insert(4, (f"filter {next(iter(place))}", {"tab": "all", **place}))
    out += [(label, "/staff/?" + urlencode(args)) for label, args in filters]
    out.append(("counts poll (htmx)", "/staff/counts?tab=all"))
    out.append(("request page", f"/staff/tickets/{ctx['ticket_id']}"))
    return out


def run(url: str, repeat: int, warmup: int, explain: bool, only: list[str] | None) -> dict:
    from portal import create_app
    from portal.extensions import db
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SCHEDULER_ENABLED": False, "RATELIMIT_ENABLED": False,
                      "TESTING": False})
    users, ctx = setup_users(app)
    from portal.heap import settle
    settle()            # as wsgi.py does in every worker
    with app.app_context():
        engine = db.engine
        dialect = engine.dialect.name
        tickets = db.session.scalar(text("SELECT COUNT(*) FROM tickets"))
        open_count = db.session.scalar(text(
            "SELECT COUNT(*) FROM tickets WHERE status NOT IN ('closed', 'answered', 'invalid', 'merged')"))
    recorder = SqlRecorder(engine)
    results = {"database": dialect, "tickets": tickets, "open": open_count, "repeat": repeat,
               "street": ctx["street_name"], "pages": []}
    print(f"{dialect}: {tickets:,} requests, {open_count:,} open; busiest street {ctx['street_name']}")
    print(f"{'user':<9} {'page':<26} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'cpu p50':>8} {'cpu p95':>8} "
          f"{'SQL':>4} {'slowest SQL ms':>14}")
    for who, (uid, session_id, username, unit_name) in users.items():
        if only and who not in only:
            continue
        client = app.test_client()
        with app.test_request_context(environ_base=client.environ_base):   # the client's address and agent
            from portal.extensions import login_manager
            identifier = login_manager._session_identifier_generator()   # session_protection = "strong"
        with client.session_transaction() as sess:
            sess["_user_id"] = session_id
            sess["_id"] = identifier
            sess["_fresh"] = True
            sess["_seen"] = time.time()
        for label, page in scenarios(who, ctx):
            times, cpu, slowest = [], [], (0.0, "", None)
            n_sql = 0
            for k in range(warmup + repeat):
                recorder.statements.clear()
                recorder.on = True
                t0, c0 = time.perf_counter(), time.thread_time()
                resp = client.get(page)
                elapsed, cpu_s = time.perf_counter() - t0, time.thread_time() - c0
                recorder.on = False
                if resp.status_code != 200:
                    raise SystemExit(f"{who} {page}: HTTP {resp.status_code}")
                with client.session_transaction() as sess:      # keep the idle timer fresh
                    sess["_seen"] = time.time()
                if k >= warmup:
                    times.append(elapsed * 1000)
                    cpu.append(cpu_s * 1000)
                    n_sql = len(recorder.statements)
                    top = max(recorder.statements, key=lambda s: s[0], default=(0.0, "", None))
                    if top[0] > slowest[0]:
                        slowest = top
            row = dict(user=who, unit=unit_name, page=label, url=page, p50=round(percentile(times, 50), 1),
                       p95=round(percentile(times, 95), 1), p99=round(percentile(times, 99), 1),
                       mean=round(statistics.fmean(times), 1), cpu_p50=round(percentile(cpu, 50), 1),
                       cpu_p95=round(percentile(cpu, 95), 1), sql=n_sql, slowest_sql_ms=round(slowest[0] * 1000, 1),
                       slowest_sql=" ".join(slowest[1].split())[:400])
            results["pages"].append(row)
            print(f"{who:<9} {label:<26} {row['p50']:>8} {row['p95']:>8} {row['p99']:>8} {row['cpu_p50']:>8} "
                  f"{row['cpu_p95']:>8} {n_sql:>4} "
                  f"{row['slowest_sql_ms']:>14}", flush=True)
            if explain and slowest[1]:
                print_plan(app, slowest[1], slowest[2])
    all_p95 = [r["p95"] for r in results["pages"]]
    results["worst_p95"] = max(all_p95) if all_p95 else None
    return results


def print_plan(app, statement: str, parameters) -> None:
    from portal.extensions import db
    with app.app_context():
        conn = db.session.connection()
        prefix = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN ANALYZE "
        cur = conn.connection.driver_connection.cursor()
        cur.execute(prefix + statement, parameters)
        for row in cur.fetchall():
            print("      ", " | ".join(str(x) for x in row))
        db.session.rollback()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="SQLAlchemy URL, or a path to an SQLite file")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--only", action="append", choices=["center", "district", "street"])
    ap.add_argument("--explain", action="store_true", help="print the plan of each page's slowest statement")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    results = run(normalise_url(args.url), args.repeat, args.warmup, args.explain, args.only)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    print(f"worst p95: {results['worst_p95']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
