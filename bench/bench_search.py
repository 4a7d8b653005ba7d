"""Benchmark of the Chinese full-text search (issue 7): 10,000 knowledge base articles and
1,000,000 requests, on SQLite (FTS5) and PostgreSQL (GIN tsvector).

    .venv/bin/python bench/bench_search.py --engine sqlite
    .venv/bin/python bench/bench_search.py --engine postgresql --url postgresql+psycopg://postgres@127.0.0.1:5432/test
    # --keep leaves the database; --reuse URL measures on it again without rebuilding
    # at issue 9's size: bench/generate.py's 10,000,000, given words by bench/add_search_words.py
    .venv/bin/python bench/bench_search.py --reuse postgresql+psycopg://postgres@127.0.0.1:5432/bench_10m

Builds a fresh database (the real migrations and seed), adds the articles through the ORM
(segmented by the mapper event, as the editor does) and the requests in bulk (their search
rows segmented by the same ``index_tokens``; texts are drawn from a pool so the pool is
segmented once), then times, each over ``--queries`` queries: the knowledge base search
(operators and citizens), the staff queue's text filter (a full queue page: count + rows),
the near-duplicate merge candidates of a request, and the citizens' similar open requests.
Prints p50/p95/max in milliseconds; results go to docs/benchmarks/search.md by hand.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

NOW = datetime(2026, 11, 16, 2, 0, 0)
PLACES = ["小区", "医院周边", "学校门口", "商场", "地铁站", "菜市场", "公园", "写字楼", "工地", "路口"]
PROBLEMS = [
    ("JTGL-TCSF", "停车收费不合理", "停车场收费高于公示标准，每小时收二十元"),
    ("WYGL-TCLX", "停车混乱", "车辆乱停乱放，消防通道被占用"),
    ("SZSS-LD", "路灯不亮", "一排路灯连续一周不亮，晚上出行不方便"),
    ("SZSS-DLJS", "道路积水", "下雨后积水很深，排水口堵塞"),
    ("SRHW-LJQY", "垃圾清运不及时", "垃圾桶满了三天没有清运，气味很大"),
    ("JSGL-YJSG", "夜间施工扰民", "夜里十一点以后还在施工，噪声很大"),
    ("HJBH-LTSK", "露天烧烤", "每天晚上露天烧烤油烟很大，营业到凌晨"),
    ("SCGL-PXTF", "培训机构不退费", "培训机构突然停课，预交学费不退"),
    ("LDBZ-TQGZ", "拖欠工资", "公司拖欠三个月工资，多次讨要无果"),
    ("ZFGJJ-TQ", "公积金提取", "咨询租房提取公积金需要什么材料"),
    ("JY-YEY", "幼儿园入园", "咨询幼儿园入园报名时间和材料"),
    ("GGAQ-XFTD", "消防通道堵塞", "消防通道堆满杂物，安全出口被锁"),
    ("WYGL-FWC", "物业服务差", "物业不打扫楼道，电梯故障无人维修"),
    ("SCGL-WLXF", "网购纠纷", "网上买的电器无法开机，商家拒绝退货"),
]
DETAILS = ["希望尽快处理", "已经反映多次", "影响居民休息", "存在安全隐患", "请相关部门核查", "老人孩子出行不便",
           "周末尤其严重", "请给个说法", "附近居民意见很大", "希望加强管理"]
QUERIES = ["停车收费", "小区停车收费不合理", "路灯不亮", "垃圾清运", "公积金 提取 材料", "幼儿园入园报名",
           "夜间施工噪声", "拖欠工资怎么办", "培训机构退费", "消防通道", "物业服务", "网购 退货", "积水",
           "露天烧烤油烟", "停车", "收费", "小区", "电梯故障", "，。！", "\"NEAR(a b)\" OR *"]


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed(fn, args_list):
    out = []
    for args in args_list:
        t = time.perf_counter()
        fn(*args)
        out.append((time.perf_counter() - t) * 1000)
    return out


def report(name, ms):
    print(f"{name:42s} n={len(ms):4d}  p50={statistics.median(ms):8.1f} ms  p95={pct(ms, 95):8.1f} ms  "
          f"max={max(ms):8.1f} ms", flush=True)


def make_database(engine: str, url: str | None) -> tuple[str, callable]:
    if engine == "sqlite":
        path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_search_{os.getpid()}.db"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}", lambda: [p.unlink(missing_ok=True) for p in
                                              (path, Path(f"{path}-wal"), Path(f"{path}-shm"))]
    base = make_url(url)
    name = f"bench_search_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return base.set(database=name).render_as_string(hide_password=False), drop


def add_articles(db, cats: dict[str, int], n_articles: int, rng: random.Random, start: int = 0) -> None:
    """``n_articles`` active articles through the ORM (segmented by the mapper event, as the editor does)."""
    from portal.models import KbArticle
    for i in range(start, start + n_articles):
        code, title, body = rng.choice(PROBLEMS)
        place = rng.choice(PLACES)
        db.session.add(KbArticle(
            question=f"{place}{title}怎么办？（{i}）", keywords=f"{title}，{place}",
            answer=f"关于{place}{body}的问题，{rng.choice(DETAILS)}，可向所在街道或主管部门反映，一般在 5 个工作日内答复。",
            category_id=cats.get(code), active=True, created_at=NOW, updated_at=NOW))
        if i % 1000 == 999:
            db.session.flush()
    db.session.commit()


def build(app, n_articles: int, n_requests: int, rng: random.Random) -> None:
    from flask_migrate import upgrade
    from portal.domain.segment import index_tokens
    from portal.extensions import db
    from portal.models import Category, Ticket, TicketOpenText, TicketText, Unit
    from portal.services.seed import seed_all

    t0 = time.perf_counter()
    upgrade(revision="heads")
    seed_all(NOW, demo_tickets=0)
    db.session.commit()
    cats = {c.code: c.id for c in db.session.scalars(select(Category))}
    streets = list(db.session.execute(select(Unit.id, Unit.parent_id).where(Unit.tier == 3, Unit.kind != "other")))
    print(f"migrated and seeded in {time.perf_counter() - t0:.1f} s", flush=True)

    t0 = time.perf_counter()
    add_articles(db, cats, n_articles, rng)
    print(f"{n_articles} articles (ORM, segmented) in {time.perf_counter() - t0:.1f} s", flush=True)

    # requests: a pool of texts segmented once, rows in bulk
    t0 = time.perf_counter()
    pool = []
    for _ in range(3000):
        code, title, body = rng.choice(PROBLEMS)
        content = f"{rng.choice(PLACES)}{body}，{rng.choice(DETAILS)}。"
        address = f"{rng.choice(PLACES)}{rng.randint(1, 99)}号"
        pool.append((code, content[:30], content, address, index_tokens(f"{content[:30]} {content} {address}")))
    defaults = {c.name: c.default.arg for c in Ticket.__table__.columns
                if c.default is not None and not callable(c.default.arg)}
    tickets, texts, open_texts = Ticket.__table__, TicketText.__table__, TicketOpenText.__table__
    conn = db.session.connection()
    batch_t, batch_x, batch_o = [], [], []
    start = NOW - timedelta(days=365)
    step = timedelta(days=365) / n_requests
    for i in range(1, n_requests + 1):
        code, title, content, address, tokens = pool[rng.randrange(len(pool))]
        street, district = streets[rng.randrange(len(streets))]
        at = start + step * i
        # open work is recent, as in the city: nothing older than 30 days is still open, and a fifth
        # of the last 30 days' requests are (about 16,000 of 1,000,000; bench/generate.py's
        # Beijing-shaped data has 7,700). The first version left a fifth of the whole year open
        # (200,000), which made the queue's text filter weigh 26 times the real open work.
        closed = at < NOW - timedelta(days=30) or rng.random() < 0.8
        row = dict(defaults)
        row.update(id=i, tracking_no=f"B{i:012d}", query_code="ABCDEF", channel="phone", kind="complaint",
                   urgency="normal", category_id=cats[code], district_id=district, street_id=street, address=address,
                   title=title, content=content, requester_type="citizen", citizen_phone=f"+86138{i % 10_000_000:08d}",
                   status="closed" if closed else "accepted", closed_at=at + timedelta(days=3) if closed else None,
                   created_at=at, updated_at=at, version=1)
        batch_t.append(row)
        batch_x.append({"ticket_id": i, "tokens": tokens})
        if not closed:
            batch_o.append({"ticket_id": i, "tokens": tokens})
        if len(batch_t) == 10_000:
            conn.execute(tickets.insert(), batch_t)
            conn.execute(texts.insert(), batch_x)
            if batch_o:
                conn.execute(open_texts.insert(), batch_o)
            batch_t, batch_x, batch_o = [], [], []
            if i % 100_000 == 0:
                db.session.commit()
                conn = db.session.connection()
                print(f"  {i} requests, {time.perf_counter() - t0:.0f} s", flush=True)
    if batch_t:
        conn.execute(tickets.insert(), batch_t)
        conn.execute(texts.insert(), batch_x)
        if batch_o:
            conn.execute(open_texts.insert(), batch_o)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"SELECT setval('tickets_id_seq', {n_requests})"))
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    print(f"{n_requests} requests (bulk) in {time.perf_counter() - t0:.1f} s", flush=True)


def measure(app, queries: int, rng: random.Random) -> None:
    from portal.domain.lifecycle import OPEN
    from portal.extensions import db
    from portal.models import Ticket, Unit, User
    from portal.services import queues, repeats, search
    from portal.services.intake import kb_suggestions, similar_open_requests

    qs = [rng.choice(QUERIES) for _ in range(queries)]
    today = NOW.date()
    for q in QUERIES[:3]:                          # warm up (jieba's dictionary, caches)
        search.search_kb(q)
    report("kb search (operator, top 10)", timed(lambda q: search.search_kb(q, today=today, limit=10),
                                                 [(q,) for q in qs]))
    report("kb suggestions (citizen, min 2 words)", timed(lambda q: kb_suggestions(q, today), [(q,) for q in qs]))

    operator = db.session.scalar(select(User).where(User.username == "operator"))
    actor, path = operator.actor(), operator.unit.path
    # with the tab counts, as the queue page passes them (kept per process: counted once here)
    tab_counts = queues.counts(actor, NOW, path)
    report("queue text filter (center, all open)", timed(
        lambda q: queues.rows(actor, "all", queues.parse_filters({"q": q}), NOW, path, tab_counts=tab_counts),
        [(q,) for q in qs]))

    # open requests drawn by the database (at 10,000,000 one request in 150 is open)
    open_ids = list(db.session.scalars(select(Ticket.id).where(Ticket.status.in_(list(OPEN)))
                                       .order_by(func.random()).limit(queries)))
    report("merge candidates of a request", timed(
        lambda tid: repeats.merge_candidates(db.session.get(Ticket, tid)), [(tid,) for tid in open_ids]))
    streets = [sid for (sid,) in db.session.execute(select(Unit.id).where(Unit.tier == 3).limit(200))]
    report("similar open requests (citizen typing)", timed(
        lambda q, s: similar_open_requests(q, s), [(f"{rng.choice(PLACES)}{rng.choice(PROBLEMS)[2]}", rng.choice(streets))
                                                  for _ in range(queries)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--url", default=os.environ.get("PORTAL_TEST_DATABASE_URL", ""))
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", metavar="URL", help="measure again on a database an earlier --keep run built")
    args = parser.parse_args()
    from portal import create_app
    if args.reuse:
        url, drop = args.reuse, (lambda: None)
    else:
        url, drop = make_database(args.engine, args.url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True, "LOG_LEVEL": "WARNING"})
    rng = random.Random(7)
    try:
        with app.app_context():
            if not args.reuse:
                build(app, args.articles, args.requests, rng)
            from portal.heap import settle
            settle()            # as wsgi.py does in every worker
            measure(app, args.queries, rng)
            from portal.extensions import db
            db.session.remove()
            db.engine.dispose()
    finally:
        if not args.keep:
            drop()


if __name__ == "__main__":
    main()
