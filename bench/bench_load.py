"""Issue 9 point 5: the portal under load on loopback, against a bare Flask ceiling.

Usage (a PostgreSQL database filled by bench/generate.py; wrk from Debian: apt-get install -y wrk):

    .venv/bin/python bench/bench_load.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench_10m \
        --workers 4 --duration 10 --clients 1,16,64 --json bench/out/load.json
    # the whole picture in one run: saturating clients, paced people, and open-loop rates
    .venv/bin/python bench/bench_load.py --url … --duration 15 --clients 1,16,64 --paced 16,64 \
        --think-ms 1000 --rates 10,20,30,40,50,60

What runs: gunicorn (sync workers, --workers N) serving wsgi:app on 127.0.0.1 with DATABASE_URL set
to --url and the rate limits switched off (every client is 127.0.0.1, so the per-IP limits would
answer 429 after a few requests; the limits themselves are not what is measured). wrk drives each
page for --duration seconds at each client count (bounded in time; wrk's threads = min(2, clients)):

- public submit page: GET /submit (the form, with its category and district lists);
- public track page: GET /track/<number> of a request with a long timeline, with a citizen's
  session that has proven the tracking credentials;
- staff queue, street: GET /staff/?tab=all as a handler of the busiest street;
- staff queue, center: GET /staff/?tab=all as the center's dispatcher;
- public board: GET /board?month=<last month> (the ranking; the month's snapshot is frozen first
  if it has none);
- public cases: GET /board/cases (the published closed requests, newest first, and their number);
- staff queue, word filter: GET /staff/?tab=all&q=路灯 as the center's dispatcher (issue 7's text
  filter over the open requests' words; needs bench/add_search_words.py on the database first);
- knowledge base search: GET /staff/kb/?q=停车收费 as the center's dispatcher (issue 7's article search).

``--pages`` runs only the pages named (their labels, separated by semicolons).

Before its first point each page is requested 10 times per worker, one at a time, so every
worker has served it once: a worker's first view of a page builds what the process keeps (the
board's rendered ranking tables, 170 ms at 10,000,000; the reference lists; Jinja's compiled
templates) and is not what the points measure. wrk corrects its latencies for coordinated
omission (it adds the answers a steady client would have waited for during a stall), so a few
such first views at one client read as a p95 of 300 ms and more (the sixth session's board).

Then the same gunicorn settings serve bench/bare_app.py (GET / answers "ok") at the same client
counts: the ceiling. It is measured before the pages too (at one client and the most clients), so
a run on a host whose speed moved while it ran shows that in its report. Each page's throughput
is stated as a fraction of the ceiling's.

With --think-ms T, each client waits after every answer before its next request (a random wait,
exponentially distributed with mean T ms, so the clients do not move in step): 64 clients are then
64 people working at that pace, an offered load of about 64 / (T + latency) requests a second, instead of 64 loops that send again the instant they are
answered (the default, T = 0, which measures saturation: past the machine's capacity a page's
latency is the queue in front of the workers, whatever the page costs). These clients are Python
threads (``paced``), one connection per request as gunicorn's sync workers close each one: wrk's
own ``delay()`` reports the time a client spent reconnecting and waiting as latency (a bare
endpoint's p95 came out at 460 ms).

With --paced N,… the paced points come after the saturating ones in the same run; with --rates
R,… open-loop points follow (``open_loop``: Poisson arrivals at R a second, latency from each
arrival, 128 client threads), and the report names the highest rate at which each page keeps
its p95 under 50 ms (the other issues' target), as a fraction of the ceiling.

Sessions are made with the app's own secret key and session serializer (the cookie a real
sign-in or tracking lookup would set), so no password is needed and no form is posted. Not
driven: POST /submit (creating requests), sign-in itself.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PORTAL_LOG_LEVEL", "WARNING")

from sqlalchemy import func, select  # noqa: E402

from bench.bench_queue import percentile  # noqa: E402
from bench.generate import normalise_url  # noqa: E402

USER_AGENT = "bench-load/1"
WORD_FILTER = "路灯"        # one category's word: in about one open request in 40 (bench/add_search_words.py)
KB_QUERY = "停车收费"
LUA_REPORT = r"""
done = function(summary, latency, requests)
  io.write(string.format(
    "JSON {\"requests\": %d, \"seconds\": %.3f, \"p50_us\": %d, \"p95_us\": %d, \"p99_us\": %d, " ..
    "\"max_us\": %d, \"errors_status\": %d, \"errors_connect\": %d, \"errors_timeout\": %d, " ..
    "\"errors_read\": %d}\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, summary.errors.status, summary.errors.connect,
    summary.errors.timeout, summary.errors.read))
end
"""


def make_cookies(url: str) -> tuple[dict[str, str], dict]:
    """Session cookies for the pages that need one, made with the app's own serializer."""
    from flask import session
    from flask_login import login_user
    from portal import create_app
    from portal.domain.access import Role
    from portal.domain.lifecycle import OPEN
    from portal.extensions import db
    from portal.models import Ticket, TicketEvent, Unit, User
    from portal.web.auth.routes import SEEN
    from portal.web.public.guard import prove

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SCHEDULER_ENABLED": False})
    serializer = app.session_interface.get_signing_serializer(app)
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": USER_AGENT}
    cookies, info = {}, {}
    with app.app_context():
        street_id = db.session.execute(
            select(Ticket.handling_unit_id).join(Unit, Unit.id == Ticket.handling_unit_id)
            .where(Ticket.status.in_([s.value for s in OPEN]), Unit.tier == 3)
            .group_by(Ticket.handling_unit_id).order_by(func.count().desc()).limit(1)).scalar()
        street_user = db.session.scalar(select(User).where(User.unit_id == street_id, User.role == Role.HANDLER))
        if street_user is None:
            from portal.domain.deadlines import utcnow
            from portal.services.users import create_user, new_password
            street_user = create_user(utcnow(), username="bench.street", display_name="基准测试 街道承办人",
                                      role=Role.HANDLER, unit=db.session.get(Unit, street_id), password=new_password())
            db.session.commit()
        center_user = db.session.scalar(select(User).where(User.role == Role.DISPATCHER).order_by(User.id))
        # a closed request with the longest public timeline
        ticket = db.session.scalar(select(Ticket).where(Ticket.status == "closed", Ticket.redispatch_count > 0)
                                   .order_by(Ticket.id.desc()).limit(1))
        info = {"street": street_user.unit.name, "center_user": center_user.username,
                "ticket_events": db.session.scalar(select(func.count()).select_from(TicketEvent)
                                                   .where(TicketEvent.ticket_id == ticket.id))}
        for key, user in (("street", street_user), ("center", center_user)):
            with app.test_request_context(environ_base=environ):
                login_user(user)
                session.permanent = True
                session[SEEN] = time.time() + 3600      # the idle timer starts an hour from now
                cookies[key] = serializer.dumps(dict(session))
        with app.test_request_context(environ_base=environ):
            prove(ticket.id)
            cookies["citizen"] = serializer.dumps(dict(session))
        info["tracking_no"] = ticket.tracking_no
        # the public board reads the month's frozen snapshot: freeze the last month's if it has none
        from portal.domain import months
        from portal.domain.deadlines import utcnow
        from portal.services import ranking
        month = months.previous(months.current(utcnow()))
        if ranking.snapshot(month) is None:
            ranking.freeze(month, utcnow())
            db.session.commit()
        info["board_month"] = month
        db.engine.dispose()
    return cookies, info


class Gunicorn:
    def __init__(self, app_spec: str, port: int, workers: int, env: dict):
        self.app_spec, self.port, self.workers, self.env = app_spec, port, workers, env
        self.proc = None

    def __enter__(self):
        cmd = [str(ROOT / ".venv/bin/gunicorn"), "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}",
               "--chdir", str(ROOT), "--timeout", "60", "--log-level", "warning", self.app_spec]
        self.proc = subprocess.Popen(cmd, env={**os.environ, **self.env}, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=5).read()
                return self
            except OSError:
                time.sleep(0.5)
        raise SystemExit(f"gunicorn {self.app_spec} did not start")

    def __exit__(self, *exc):
        os.killpg(self.proc.pid, signal.SIGTERM)   # the process group we started: the master and its workers
        self.proc.wait(timeout=30)


def check(port: int, path: str, cookie: str | None) -> None:
    """The page answers 200 with this session (wrk counts a redirect to the sign-in page as a success)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = client_headers(cookie)
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        raise SystemExit(f"GET {path}: HTTP {resp.status} {resp.getheader('Location') or ''}")
    conn.close()
    return body


def warm(port: int, path: str, cookie: str | None, workers: int) -> None:
    """Request ``path`` 10 times per worker, one at a time (which worker accepts is the kernel's
    choice: 10 per worker leaves one that never served it a chance of 0.75 ** 40 with 4)."""
    headers = client_headers(cookie)
    for _ in range(10 * workers):
        get_ok(port, path, headers)


def wrk(url: str, clients: int, duration: int, cookie: str | None, lua: str) -> dict:
    cmd = ["wrk", "-t", str(min(2, clients)), "-c", str(clients), "-d", f"{duration}s", "--timeout", "30s",
           "-H", f"User-Agent: {USER_AGENT}", "-s", lua]
    if cookie:
        cmd += ["-H", f"Cookie: session={cookie}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("JSON "))
    r = json.loads(line[5:])
    r["rps"] = round(r["requests"] / r["seconds"], 1)
    for k in ("p50", "p95", "p99", "max"):
        r[k] = round(r.pop(f"{k}_us") / 1000, 1)
    r["errors"] = r["errors_status"] + r["errors_connect"] + r["errors_timeout"] + r["errors_read"]
    return r


def client_headers(cookie: str | None) -> dict:
    return {"User-Agent": USER_AGENT, **({"Cookie": f"session={cookie}"} if cookie else {})}


def get_ok(port: int, path: str, headers: dict) -> bool:
    """One GET on a new connection (gunicorn's sync workers close each one): answered 200?"""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        conn.close()
        return resp.status == 200
    except OSError:
        return False


def latency_stats(latencies: list[float]) -> dict:
    return {**{f"p{p}": round(percentile(latencies, p), 1) for p in (50, 95, 99)}, "max": round(max(latencies), 1)}


def paced(port: int, path: str, clients: int, duration: int, cookie: str | None, think_ms: int) -> dict:
    """``clients`` threads, each requesting ``path`` and then waiting a random think time (mean
    ``think_ms``), for ``duration`` seconds; the latency of each answer as the client saw it."""
    import random
    import threading

    headers = client_headers(cookie)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = time.monotonic()
    end = start + duration

    def client(seed: int) -> None:
        rng = random.Random(seed)
        time.sleep(rng.uniform(0, think_ms / 1000))        # clients start spread out, not in step
        while time.monotonic() < end:
            t0 = time.perf_counter()
            ok = get_ok(port, path, headers)
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed * 1000)
                errors[0] += not ok
            time.sleep(rng.expovariate(1000 / think_ms))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - start
    return {"requests": len(latencies), "seconds": round(seconds, 3), "rps": round(len(latencies) / seconds, 1),
            **latency_stats(latencies), "errors": errors[0]}


def open_loop(port: int, path: str, rate: float, duration: int, cookie: str | None, seed: int = 9) -> dict:
    """Requests arriving at random (a Poisson process) at ``rate`` a second for ``duration``
    seconds, whatever the answers; each request's latency counts from its arrival time. A closed
    loop (wrk, ``paced``) sends less while the server is slow and so hides part of the wait; here a
    slow answer delays no arrival, and a request that finds every client thread busy waits, and
    that wait is counted."""
    import random
    from concurrent.futures import ThreadPoolExecutor

    headers = client_headers(cookie)
    rng = random.Random(seed)
    arrivals, t = [], rng.expovariate(rate)
    while t < duration:
        arrivals.append(t)
        t += rng.expovariate(rate)

    def fetch(due: float) -> tuple[float, bool]:
        ok = get_ok(port, path, headers)
        return (time.perf_counter() - due) * 1000, ok

    start = time.perf_counter() + 0.2
    with ThreadPoolExecutor(max_workers=128) as pool:
        futures = []
        for a in arrivals:
            wait = start + a - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            futures.append(pool.submit(fetch, start + a))
        done = [f.result() for f in futures]
    latencies = [d[0] for d in done]
    seconds = time.perf_counter() - start
    return {"requests": len(done), "seconds": round(seconds, 3), "rps": round(len(done) / duration, 1),
            "rate": rate, **latency_stats(latencies), "errors": sum(not d[1] for d in done)}


def run(url: str, workers: int, duration: int, clients: list[int], port: int, think_ms: int = 0,
        rates: list[float] | None = None, paced_clients: list[int] | None = None,
        only: list[str] | None = None) -> dict:
    cookies, info = make_cookies(url)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA_REPORT)
        lua = f.name
    base = f"http://127.0.0.1:{port}"
    pages = [("public submit page", "/submit", None), ("public track page", f"/track/{info['tracking_no']}", "citizen"),
             ("staff queue, street", "/staff/?tab=all", "street"), ("staff queue, center", "/staff/?tab=all", "center"),
             ("public board", f"/board?month={info['board_month']}", None),
             ("public cases", "/board/cases", None),
             # issue 7's searches, where the database has its words (bench/add_search_words.py)
             ("staff queue, word filter", "/staff/?tab=all&q=" + quote(WORD_FILTER), "center"),
             ("knowledge base search", "/staff/kb/?q=" + quote(KB_QUERY), "center")]
    if only:
        pages = [p for p in pages if p[0] in only]
    env = {"DATABASE_URL": url, "PORTAL_RATELIMIT_ENABLED": "false", "PORTAL_LOG_LEVEL": "WARNING",
           "PORTAL_SCHEDULER_ENABLED": "false"}
    results = {"workers": workers, "duration_s": duration, "clients": clients, "think_ms": think_ms, "info": info,
               "rates": rates or [], "paced_clients": paced_clients or [], "rows": [], "paced": [], "open": []}
    print(f"gunicorn --workers {workers} (sync) on 127.0.0.1:{port}; wrk {duration} s per point"
          + (f"; each client waits {think_ms} ms between requests" if think_ms else ""))
    print(f"{'page':<22} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6}")
    # the ceiling measured first as well as last: a host whose speed moves during the run (the
    # eleventh session's fell to a third) shows it here, and then the run says little
    def bare(c: int, label: str) -> dict:
        r = (paced(port, "/", c, duration, None, think_ms) if think_ms and not paced_clients
             else wrk(base + "/", c, duration, None, lua))
        print(f"{label:<22} {c:>7} {r['rps']:>8} {r['p50']:>8} {r['p95']:>8} {r['p99']:>8} {r['errors']:>6}",
              flush=True)
        return r

    with Gunicorn("bench.bare_app:app", port, workers, {}):
        warm(port, "/", None, workers)
        results["ceiling_first"] = [dict(clients=c, **bare(c, "bare Flask, first"))
                                    for c in sorted({1, max(clients or [1])})]
    with Gunicorn("wsgi:app", port, workers, env):
        for label, path, who in pages:
            check(port, path, cookies.get(who) if who else None)
            warm(port, path, cookies.get(who) if who else None, workers)
            for c in clients:
                cookie = cookies.get(who) if who else None
                r = (paced(port, path, c, duration, cookie, think_ms) if think_ms and not paced_clients
                     else wrk(base + path, c, duration, cookie, lua))
                results["rows"].append(dict(page=label, path=path, clients=c, **r))
                print(f"{label:<22} {c:>7} {r['rps']:>8} {r['p50']:>8} {r['p95']:>8} {r['p99']:>8} {r['errors']:>6}",
                      flush=True)
            for c in paced_clients or []:
                r = paced(port, path, c, duration, cookies.get(who) if who else None, think_ms or 1000)
                results["paced"].append(dict(page=label, path=path, clients=c, think_ms=think_ms or 1000, **r))
                print(f"{label:<22} {c:>4} paced {r['rps']:>8} {r['p50']:>8} {r['p95']:>8} {r['p99']:>8} "
                      f"{r['errors']:>6}", flush=True)
            for rate in rates or []:
                r = open_loop(port, path, rate, duration, cookies.get(who) if who else None)
                results["open"].append(dict(page=label, path=path, **r))
                print(f"{label:<22} {rate:>5}/s open {r['rps']:>7} {r['p50']:>8} {r['p95']:>8} {r['p99']:>8} "
                      f"{r['errors']:>6}", flush=True)
    with Gunicorn("bench.bare_app:app", port, workers, {}):
        warm(port, "/", None, workers)
        for c in clients:
            results["rows"].append(dict(page="bare Flask (ceiling)", path="/", clients=c,
                                        **bare(c, "bare Flask (ceiling)")))
        for c in paced_clients or []:
            r = paced(port, "/", c, duration, None, think_ms or 1000)
            results["paced"].append(dict(page="bare Flask (ceiling)", path="/", clients=c, think_ms=think_ms or 1000, **r))
        for rate in rates or []:
            r = open_loop(port, "/", rate, duration, None)
            results["open"].append(dict(page="bare Flask (ceiling)", path="/", **r))
    ceiling = {r["clients"]: r["rps"] for r in results["rows"] if r["page"] == "bare Flask (ceiling)"}
    for r in results["rows"]:
        r["of_ceiling"] = round(r["rps"] / ceiling[r["clients"]], 3) if ceiling.get(r["clients"]) else None
    os.unlink(lua)
    return results


#: the p95 the other issues ask of these pages (issue 4's queues on PostgreSQL, 7's search, 5's board)
TARGET_P95_MS = 50


def markdown(results: dict) -> str:
    out = []
    if results["rows"] and results.get("think_ms") and not results.get("paced_clients"):
        # paced clients only (--think-ms without --paced): the throughput is the load offered
        out += ["| page | clients | req/s offered | p50 ms | p95 ms | p99 ms | errors |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        out += [f"| {r['page']} | {r['clients']} | {r['rps']} | {r['p50']} | {r['p95']} | {r['p99']} | "
                f"{r['errors']} |" for r in results["rows"]]
    elif results["rows"]:
        out += ["| page | clients | req/s | p50 ms | p95 ms | p99 ms | errors | throughput ÷ ceiling |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        out += [f"| {r['page']} | {r['clients']} | {r['rps']} | {r['p50']} | {r['p95']} | {r['p99']} | "
                f"{r['errors']} | {r['of_ceiling']:.1%} |" for r in results["rows"]]
    if results.get("paced"):
        out += ["", "Paced clients (each waits a random time, mean "
                f"{results['paced'][0]['think_ms']} ms, after every answer):", "",
                "| page | clients | req/s offered | p50 ms | p95 ms | p99 ms | errors |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        out += [f"| {r['page']} | {r['clients']} | {r['rps']} | {r['p50']} | {r['p95']} | {r['p99']} | "
                f"{r['errors']} |" for r in results["paced"]]
    if results.get("ceiling_first"):
        last = {r["clients"]: r["rps"] for r in results["rows"] if r["page"] == "bare Flask (ceiling)"}
        out += ["", "The bare endpoint before the pages and after them (req/s; the host held still if they agree):",
                "", "| clients | first | last |", "| ---: | ---: | ---: |"]
        out += [f"| {r['clients']} | {r['rps']} | {last.get(r['clients'], '')} |" for r in results["ceiling_first"]]
    if results.get("open"):
        ceiling = max((r["rps"] for r in results["rows"] if r["page"] == "bare Flask (ceiling)"), default=None)
        out += ["", "Open loop (requests arriving at random at a set rate, latency from arrival):", "",
                "| page | rate req/s | p50 ms | p95 ms | p99 ms | errors |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
        out += [f"| {r['page']} | {r['rate']:g} | {r['p50']} | {r['p95']} | {r['p99']} | {r['errors']} |"
                for r in results["open"]]
        out += ["", f"Highest rate tested at which the page's p95 stays under {TARGET_P95_MS} ms"
                + (f" (÷ the ceiling's {ceiling} req/s)" if ceiling else "") + ":", "",
                "| page | req/s | ÷ ceiling |", "| --- | ---: | ---: |"]
        for page in dict.fromkeys(r["page"] for r in results["open"] if r["page"] != "bare Flask (ceiling)"):
            held = [r["rate"] for r in results["open"] if r["page"] == page and r["p95"] < TARGET_P95_MS
                    and not r["errors"]]
            best = max(held, default=0)
            out.append(f"| {page} | {best:g} | {best / ceiling:.1%} |" if ceiling else f"| {page} | {best:g} | |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="SQLAlchemy URL (PostgreSQL), or a path to an SQLite file")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    ap.add_argument("--clients", default="1,16,64")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--think-ms", type=int, default=0,
                    help="each client waits this long between requests (0: send again at once, saturation)")
    ap.add_argument("--paced", default="", help="also these numbers of paced clients (think time --think-ms, "
                                                "default 1000), after the saturating ones, in the same run")
    ap.add_argument("--rates", default="", help="also open-loop points at these rates (requests a second)")
    ap.add_argument("--pages", default="", help="only these pages (their labels, separated by semicolons)")
    args = ap.parse_args(argv)
    results = run(normalise_url(args.url), args.workers, args.duration,
                  [int(x) for x in args.clients.split(",") if x], args.port,
                  args.think_ms if not args.paced else (args.think_ms or 1000),
                  rates=[float(x) for x in args.rates.split(",") if x],
                  paced_clients=[int(x) for x in args.paced.split(",") if x],
                  only=[x.strip() for x in args.pages.split(";") if x.strip()])
    print(markdown(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
