"""Fill a migrated, seeded portal database with N realistic requests, fast.

Usage (from the repository root, with the project's virtualenv):

    # SQLite: a fresh file, migrated and seeded, then 1,000,000 requests over 13 months
    .venv/bin/python bench/generate.py --url instance/bench_1m.db --init --count 1000000

    # PostgreSQL: 10,000,000 requests, 1,100,000 of them in last month (the ranking benchmark)
    createdb -h 127.0.0.1 -U postgres bench_10m
    .venv/bin/python bench/generate.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench_10m \
        --init --count 10000000 --month-load 1100000

Options: --url (an SQLAlchemy URL, or a path taken as an SQLite file), --count, --months (13),
--seed (the same seed gives the same data; a second run into the same database needs another
seed), --month-load N (N of the requests fall in one month: --load-month YYYY-MM, default the
last complete month, Beijing time), --now (ISO time, default now), --init (upgrade to the newest
migration and seed the hierarchy, categories and demo staff first if the database is empty),
--chunk (requests per INSERT ... SELECT).

How: nothing goes through the ORM row by row. Small reference tables (units, categories, the
life-cycle steps of every variant, the Damm check-digit tables, the days) are written with
executemany; everything else is INSERT ... SELECT over a series of ids (generate_series on
PostgreSQL, a recursive CTE on SQLite), chunk by chunk. Randomness is an integer hash of
(id, seed), identical on both engines, so a seed reproduces the data.

What is generated, per request (see docs/benchmarks/queues-and-load.md for the shares):
- ids in time order, created uniformly over the window (or with one heavy month);
- 55 % consultations answered on the spot, 2 % invalid, 0.5 % merged into the previous request,
  the rest dispatched: straight to a street (55 %), via the street's district (20 %), to a
  department or enterprise (17 %), or handled by a district itself (8 %); streets and
  categories are drawn with a skew (a few streets and categories get much more);
- each dispatched request follows one life-cycle variant: normal, an approved extension,
  a rejected return, or (2 %, last 60 days only) stuck: supervised and overdue;
- every step has a time; the request's status is the last step whose time has passed, so the
  open work is the recent work, with realistic shares overdue, waiting to sign, waiting for
  callback; steps in the future are not written;
- the ticket row, its ticket_units (the handling path), one ticket_event per step (with the
  actor's role and unit, from/to status, public flag and data as services.tickets.perform
  writes them) and a center callback for every request that reached the callback step;
- citizens are synthetic: names "测试市民NNNN", phones "100" + 8 digits (no real number begins
  with 100); a pool of callers a third the size of the requests, so callers repeat.
Not generated: outbox rows, attachments, citizens' online ratings, assisting units, notes;
handler actions carry the unit but no user id (the hierarchy has no users for most units).
"""
from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from portal.domain.deadlines import DEFAULT_RULES, LOCAL_TZ, Urgency, utcnow  # noqa: E402
from portal.domain.lifecycle import OPEN  # noqa: E402
from portal.domain.tracking import _DAMM  # noqa: E402

OPEN_SQL = ", ".join(sorted(f"'{s.value}'" for s in OPEN))
MASK32 = 4294967296
EPOCH = datetime(1970, 1, 1)
BJ_OFFSET = 8 * 3600      # Asia/Shanghai has no DST: local = UTC + 8 h

CONTENT_FALLBACK = "反映{parent}方面的问题（{name}）：情况已持续一段时间，多次反映未果，希望有关部门尽快核实处理并给予答复。"
ANSWER_TEXT = "您好，您咨询的事项可通过“北京通”App 或政务服务网在线办理，所需材料为身份证和相关证明，办理时限为5个工作日。"
REPLIES = [
    "经核实，情况属实。我单位已联系相关责任单位现场处置，问题已解决，感谢您的监督。",
    "您反映的问题已转交执法队现场检查，已责令整改，并将持续跟踪，如再发生请再次来电。",
    "经协调，商家已同意退款，款项将在七个工作日内退回原支付账户。",
    "已安排维修人员到场处理，目前已恢复正常，后续将加强日常巡查。",
]

# variants: path * 10 + branch for dispatched requests; 90 answer, 91 invalid, 92 merged
PATH_STREET, PATH_VIA_DISTRICT, PATH_TIER2, PATH_DISTRICT_SELF = 0, 1, 2, 3
BRANCH_NORMAL, BRANCH_EXTENSION, BRANCH_RETURN, BRANCH_STUCK = 0, 1, 2, 3
V_ANSWER, V_INVALID, V_MERGED = 90, 91, 92
EXTENSION_SECONDS = 5 * 86400


def steps_for(variant: int) -> list[tuple]:
    """(action, from, to, time column, unit, actor, public, note) of every step of a variant,
    in the order ``perform`` would have recorded them."""
    submit = ("submit", None, "submitted", "c", None, "intake", True, "")
    if variant == V_ANSWER:
        return [submit, ("answer", "submitted", "answered", "t_end", None, "operator", True, ANSWER_TEXT)]
    if variant == V_INVALID:
        return [submit, ("invalidate", "submitted", "invalid", "t_end", None, "operator", True,
                         "重复来电，内容与本人此前诉求一致")]
    if variant == V_MERGED:
        return [submit, ("merge", "submitted", "merged", "t_end", None, "operator", True, "")]
    path, branch = divmod(variant, 10)
    s = [submit, ("accept", "submitted", "accepted", "t_accept", None, "operator", True, ""),
         ("dispatch", "accepted", "dispatched", "t_dispatch", "first", "dispatcher", True, "")]
    if path == PATH_VIA_DISTRICT:
        s.append(("redispatch", "dispatched", "dispatched", "t_redispatch", "final", "first", True, ""))
    s.append(("sign", "dispatched", "handling", "t_sign", "final", "final", True, ""))
    if branch == BRANCH_EXTENSION:
        s += [("request_extension", "handling", "extension_pending", "t_x1", "final", "final", False,
               "需协调多个部门联合执法，申请延期5天"),
              ("approve_extension", "extension_pending", "handling", "t_x2", "final", "dispatcher", True, "")]
    elif branch == BRANCH_RETURN:
        s += [("request_return", "handling", "return_pending", "t_x1", "final", "final", False, "不属于本单位职责"),
              ("reject_return", "return_pending", "dispatched", "t_x2", "final", "dispatcher", False,
               "经核实属于该单位职责范围"),
              ("sign", "dispatched", "handling", "t_sign2", "final", "final", True, "")]
    elif branch == BRANCH_STUCK:
        s.append(("supervise", "handling", "handling", "t_x1", "final", "dispatcher", False, "已超期，请加快办理"))
        return s
    s += [("feedback", "handling", "fed_back", "t_feedback", "final", "final", True, "@reply"),
          ("callback", "fed_back", "called_back", "t_callback", "final", "operator", True, ""),
          ("close", "called_back", "closed", "t_close", "final", "operator", True, "@close")]
    return s


VARIANTS = [p * 10 + b for p in range(4) for b in range(4)] + [V_ANSWER, V_INVALID, V_MERGED]
TIME_COLUMNS = ["c", "t_accept", "t_dispatch", "t_redispatch", "t_sign", "t_x1", "t_x2", "t_sign2",
                "t_feedback", "t_callback", "t_close", "t_end"]


def damm_step(state: int, digits: str) -> int:
    for ch in digits:
        state = _DAMM[state][int(ch)]
    return state


class Dialect:
    def __init__(self, name: str):
        self.name = name
        self.pg = name == "postgresql"

    def xor(self, a: str, b: str) -> str:
        return f"(({a}) # ({b}))" if self.pg else f"((({a}) | ({b})) - (({a}) & ({b})))"

    def ts(self, seconds: str) -> str:
        """Epoch seconds → the engine's naive-UTC DATETIME, as SQLAlchemy stores it."""
        if self.pg:
            return f"(to_timestamp({seconds}) AT TIME ZONE 'UTC')"
        return f"(strftime('%Y-%m-%d %H:%M:%S', {seconds}, 'unixepoch') || '.000000')"

    def json(self, expr: str) -> str:
        return f"CAST({expr} AS json)" if self.pg else expr

    def pad7(self, expr: str) -> str:
        return f"lpad(CAST({expr} AS text), 7, '0')" if self.pg else f"printf('%07d', {expr})"

    def pad8(self, expr: str) -> str:
        return f"lpad(CAST({expr} AS text), 8, '0')" if self.pg else f"printf('%08d', {expr})"

    def series(self) -> str:
        """The CTE ``series(i)``: the ids :a..:b."""
        if self.pg:
            return "series(i) AS (SELECT CAST(g AS bigint) FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) AS g)"
        return "series(i) AS (SELECT :a UNION ALL SELECT i + 1 FROM series WHERE i < :b)"

    def bigint_params(self, sql: str) -> str:
        """PostgreSQL types a bound Python int as the smallest integer that holds it; products of
        two of them overflow. Every numeric parameter is a bigint."""
        if not self.pg:
            return sql
        return re.sub(r":(seed|t0|i0|span|n|step|now|first_id|callers)\b", r"CAST(:\1 AS bigint)", sql)

    def temp(self) -> str:
        return "CREATE TEMPORARY TABLE" if not self.pg else "CREATE TEMPORARY TABLE"


def mix_layers(d: Dialect, names: list[str]) -> list[str]:
    """CTEs ending in ``h``: i and one 32-bit hash per name (a murmur-style finalizer over i and the seed).
    CTEs, not nested subqueries: SQLite's parser has a small stack."""
    cols0 = ", ".join(f"(i * 2654435761 + :seed * 1000003 + {k + 1} * 40503) % {MASK32} AS {n}"
                      for k, n in enumerate(names))
    ctes = [d.series(), f"m0 AS (SELECT i, {cols0} FROM series)"]
    for layer in (1, 2):
        cols = ", ".join(f"({d.xor(n, f'{n} >> 16')} * 73244475) % {MASK32} AS {n}" for n in names)
        ctes.append(f"m{layer} AS (SELECT i, {cols} FROM m{layer - 1})")
    cols = ", ".join(f"{d.xor(n, f'{n} >> 16')} AS {n}" for n in names)
    ctes.append(f"h AS MATERIALIZED (SELECT i, {cols} FROM m2)")
    return ctes


class Generator:
    def __init__(self, url: str, *, count: int, months: int, seed: int, month_load: int | None,
                 load_month: str | None, now: datetime, chunk: int | None, drop_indexes: bool = False, log=print):
        self.url, self.count, self.months, self.seed = url, count, months, seed
        self.month_load, self.load_month, self.now = month_load, load_month, now.replace(microsecond=0)
        self.engine = create_engine(url)
        self.d = Dialect(self.engine.dialect.name)
        self.chunk = chunk or (1_000_000 if self.d.pg else 250_000)
        self.log = log
        self.drop_indexes = drop_indexes and self.d.pg
        self.now_s = int((self.now - EPOCH).total_seconds())

    # --- reference data ---------------------------------------------------------------------------
    def load_reference(self, conn) -> None:
        from portal.services.seed import CONTENTS
        rng = random.Random(self.seed)
        units = conn.execute(text("SELECT id, code, name, tier, kind, parent_id FROM units WHERE active")).all()
        if not units:
            raise SystemExit("the database has no units: run with --init (or `flask portal init`) first")
        by_id = {u.id: u for u in units}
        self.center_id = next(u.id for u in units if u.tier == 1)
        streets = [u for u in units if u.tier == 3 and u.parent_id in by_id and by_id[u.parent_id].kind == "district"]
        tier2 = [u for u in units if u.tier == 2 and u.kind in ("department", "enterprise")]
        rng.shuffle(streets)        # which streets get the most requests depends on the seed
        rng.shuffle(tier2)
        cats = conn.execute(text("SELECT c.id, c.code, c.name, p.name AS parent, c.parent_id FROM categories c "
                                 "JOIN categories p ON p.id = c.parent_id WHERE c.active ORDER BY c.id")).all()
        rules = {(r.category_id, r.urgency): (r.sign_minutes, r.feedback_hours) for r in conn.execute(
            text("SELECT category_id, urgency, sign_minutes, feedback_hours FROM category_deadlines"))}
        cats = list(cats)
        rng.shuffle(cats)
        users = {r.username: r.id for r in conn.execute(text("SELECT id, username FROM users"))}
        self.operator_id, self.dispatcher_id = users.get("operator"), users.get("dispatcher")

        def rule(cat, urgency):
            for cid in (cat.id, cat.parent_id):
                if (cid, urgency) in rules:
                    return rules[cid, urgency]
            r = DEFAULT_RULES[Urgency(urgency)]
            return r.sign_minutes, r.feedback_hours

        conn.execute(text(f"{self.d.temp()} bench_street (idx INTEGER PRIMARY KEY, unit_id INTEGER, "
                          "district_id INTEGER, name TEXT)"))
        conn.execute(text("INSERT INTO bench_street VALUES (:idx, :unit_id, :district_id, :name)"),
                     [dict(idx=i, unit_id=u.id, district_id=u.parent_id, name=u.name) for i, u in enumerate(streets)])
        conn.execute(text(f"{self.d.temp()} bench_tier2 (idx INTEGER PRIMARY KEY, unit_id INTEGER)"))
        conn.execute(text("INSERT INTO bench_tier2 VALUES (:idx, :unit_id)"),
                     [dict(idx=i, unit_id=u.id) for i, u in enumerate(tier2)])
        conn.execute(text(f"{self.d.temp()} bench_cat (idx INTEGER PRIMARY KEY, cat_id INTEGER, content TEXT, "
                          "sign_n BIGINT, fb_n BIGINT, sign_u BIGINT, fb_u BIGINT)"))
        rows = []
        for i, c in enumerate(cats):
            (sn, fn), (su, fu) = rule(c, "normal"), rule(c, "urgent")
            content = CONTENTS.get(c.code) or CONTENT_FALLBACK.format(parent=c.parent, name=c.name)
            rows.append(dict(idx=i, cat_id=c.id, content=content, sign_n=sn * 60, fb_n=fn * 3600,
                             sign_u=su * 60, fb_u=fu * 3600))
        conn.execute(text("INSERT INTO bench_cat VALUES (:idx, :cat_id, :content, :sign_n, :fb_n, :sign_u, :fb_u)"),
                     rows)
        self.n_streets, self.n_tier2, self.n_cats = len(streets), len(tier2), len(cats)

        conn.execute(text(f"{self.d.temp()} bench_steps (variant INTEGER, seq INTEGER, action TEXT, "
                          "from_status TEXT, to_status TEXT, tcol TEXT, unit TEXT, actor TEXT, public BOOLEAN, "
                          "note TEXT, PRIMARY KEY (variant, seq))"))
        conn.execute(text("INSERT INTO bench_steps VALUES (:variant, :seq, :action, :from_status, :to_status, "
                          ":tcol, :unit, :actor, :public, :note)"),
                     [dict(variant=v, seq=k + 1, action=a, from_status=f, to_status=t, tcol=tc, unit=u, actor=ac,
                           public=p, note=n)
                      for v in VARIANTS for k, (a, f, t, tc, u, ac, p, n) in enumerate(steps_for(v))])
        # Damm check digit of the tracking number YYMMDD-NNNNNNN-C: the state after the date per
        # day, then one digit and two three-digit chunks through lookup tables
        conn.execute(text(f"{self.d.temp()} bench_damm1 (s INTEGER, d INTEGER, n INTEGER, PRIMARY KEY (s, d))"))
        conn.execute(text("INSERT INTO bench_damm1 VALUES (:s, :d, :n)"),
                     [dict(s=s, d=x, n=_DAMM[s][x]) for s in range(10) for x in range(10)])
        conn.execute(text(f"{self.d.temp()} bench_damm3 (s INTEGER, d INTEGER, n INTEGER, PRIMARY KEY (s, d))"))
        conn.execute(text("INSERT INTO bench_damm3 VALUES (:s, :d, :n)"),
                     [dict(s=s, d=x, n=damm_step(s, f"{x:03d}")) for s in range(10) for x in range(1000)])
        first_day = (self.window_start_s + BJ_OFFSET) // 86400 - 1
        last_day = (self.now_s + BJ_OFFSET) // 86400 + 1
        days = []
        for ld in range(first_day, last_day + 1):
            ymd = (EPOCH + timedelta(days=ld)).strftime("%y%m%d")
            days.append(dict(ld=ld, ymd=ymd, s0=damm_step(0, ymd)))
        conn.execute(text(f"{self.d.temp()} bench_days (ld INTEGER PRIMARY KEY, ymd TEXT, s0 INTEGER)"))
        conn.execute(text("INSERT INTO bench_days VALUES (:ld, :ymd, :s0)"), days)
        cols = ", ".join(f"{c} BIGINT" for c in TIME_COLUMNS)
        conn.execute(text(
            f"{self.d.temp()} bench_plan (id BIGINT PRIMARY KEY, variant INTEGER, stop INTEGER, {cols}, "
            "chan TEXT, kind TEXT, urg TEXT, cat_id INTEGER, content TEXT, sign_w BIGINT, fb_w BIGINT, "
            "street_id INTEGER, district_id INTEGER, street_name TEXT, u_first INTEGER, u_final INTEGER, "
            "caller BIGINT, qc BIGINT, reply INTEGER, consent INTEGER, late INTEGER, "
            "cb_c INTEGER, cb_r INTEGER, cb_s INTEGER, tn TEXT)"))

    # --- the time window -------------------------------------------------------------------------------
    def segments(self) -> list[tuple[int, int, int]]:
        """[(n, start_s, end_s)] in time order; ids are handed out in this order."""
        local_now = self.now + timedelta(seconds=BJ_OFFSET)
        y, m = local_now.year, local_now.month - (self.months - 1)
        while m < 1:
            y, m = y - 1, m + 12
        start = int((datetime(y, m, 1) - EPOCH).total_seconds()) - BJ_OFFSET
        self.window_start_s = start
        if not self.month_load:
            return [(self.count, start, self.now_s)]
        if self.load_month:
            ly, lm = (int(x) for x in self.load_month.split("-"))
        else:
            ly, lm = (local_now.year, local_now.month - 1) if local_now.month > 1 else (local_now.year - 1, 12)
        ny, nm = (ly, lm + 1) if lm < 12 else (ly + 1, 1)
        m0 = int((datetime(ly, lm, 1) - EPOCH).total_seconds()) - BJ_OFFSET
        m1 = int((datetime(ny, nm, 1) - EPOCH).total_seconds()) - BJ_OFFSET
        if not (start <= m0 and m1 <= self.now_s):
            raise SystemExit("--load-month must be a complete month inside the window")
        if self.month_load > self.count:
            raise SystemExit("--month-load cannot exceed --count")
        rest = self.count - self.month_load
        before, after = m0 - start, self.now_s - m1
        n_before = round(rest * before / (before + after)) if before + after else rest
        return [(n_before, start, m0), (self.month_load, m0, m1), (rest - n_before, m1, self.now_s)]

    # --- the plan: one row per request, every step's time ---------------------------------------------------
    def plan_sql(self) -> str:
        d = self.d
        ns, n2, nc = self.n_streets, max(self.n_tier2, 1), self.n_cats
        hashed = mix_layers(d, ["ha", "hb", "hc", "hd", "he", "hg"])
        # r: per-request draws (all integers), c: the submit time
        r = f"""
        SELECT i, ha % 1000 AS u_flow, (ha / 1000) % 100 AS u_path, (ha / 100000) % 100 AS u_branch,
               (ha / 10000000) % 100 AS u_urg,
               CASE WHEN (hb / 100000) % 2 = 0 THEN (hb % 100000) * {ns} / 100000
                    ELSE ((hb % 100000) * (hb % 100000) / 100000) * {ns} / 100000 END AS street_idx,
               CASE WHEN (hb / 200000) % 2 = 0 THEN ((hb / 400000) % 1000) * {nc} / 1000
                    ELSE (((hb / 400000) % 1000) * ((hb / 400000) % 1000) / 1000) * {nc} / 1000 END AS cat_idx,
               hc % 1000 AS f1, (hc / 1000) % 1000 AS f2, (hc / 1000000) % 1000 AS f3,
               he % 1000 AS f4, (he / 1000) % 1000 AS f5, (he / 1000000) % 1000 AS f6,
               hd % 100 AS u_chan, (hd / 100) % 100 AS u_kind, (hd / 10000) % 100 AS u_late,
               (hd / 1000000) % 100 AS u_cb, (hd / 100000000) % 40 AS u_sat, hg % 1000000 AS qc,
               (hg / 1000000) % {n2} AS t2_idx, (hg / 100) % 4 AS reply,
               :t0 + ((i - :i0) * :span) / :n + hg % :step AS c
        FROM h"""
        # p: the draws turned into choices
        p = f"""
        SELECT r.*, s.unit_id AS street_id, s.district_id, s.name AS street_name,
               k.cat_id, k.content,
               CASE WHEN u_urg < 5 THEN 'urgent' ELSE 'normal' END AS urg,
               CASE WHEN u_urg < 5 THEN k.sign_u ELSE k.sign_n END AS sign_w,
               CASE WHEN u_urg < 5 THEN k.fb_u ELSE k.fb_n END AS fb_w,
               CASE WHEN u_flow < 550 THEN {V_ANSWER} WHEN u_flow < 570 THEN {V_INVALID}
                    WHEN u_flow < 575 AND i > :first_id THEN {V_MERGED} WHEN u_flow < 575 THEN {V_ANSWER}
                    ELSE 10 * (CASE WHEN u_path < 55 THEN 0 WHEN u_path < 75 THEN 1 WHEN u_path < 92 THEN 2 ELSE 3 END)
                         + (CASE WHEN u_branch < 5 THEN 1 WHEN u_branch < 8 THEN 2
                                 WHEN u_branch < 10 AND c > :now - 60 * 86400 THEN 3 ELSE 0 END) END AS variant,
               t2.unit_id AS tier2_id
        FROM r
        JOIN bench_street s ON s.idx = r.street_idx
        JOIN bench_cat k ON k.idx = r.cat_idx
        LEFT JOIN bench_tier2 t2 ON t2.idx = r.t2_idx"""
        # q: units and the times of the steps (NULL: the variant has no such step)
        q = f"""
        SELECT p.*,
               CASE variant / 10 WHEN 0 THEN street_id WHEN 1 THEN district_id WHEN 2 THEN tier2_id
                    WHEN 3 THEN district_id END AS u_first,
               CASE variant / 10 WHEN 0 THEN street_id WHEN 1 THEN street_id WHEN 2 THEN tier2_id
                    WHEN 3 THEN district_id END AS u_final,
               CASE WHEN variant < 90 THEN c + 60 + f1 * 3 / 2 END AS t_accept,
               CASE WHEN variant < 90 THEN c + 60 + f1 * 3 / 2 + 120 + f2 * 3 END AS t_dispatch,
               CASE WHEN variant >= 90 THEN c + 60 + f1 END AS t_end
        FROM p"""
        # the last dispatch, the first signing, and the base feedback time
        s = f"""
        SELECT q.*,
               CASE WHEN variant / 10 = 1 THEN t_dispatch + 300 + f3 * 6 END AS t_redispatch,
               CASE WHEN variant < 90 THEN
                   (CASE WHEN variant / 10 = 1 THEN t_dispatch + 300 + f3 * 6 ELSE t_dispatch END)
                   + (CASE WHEN u_late < 12 THEN sign_w * (1100 + f4 * 3) / 1000 ELSE sign_w * (50 + f4 * 85 / 100) / 1000 END)
               END AS t_sign1
        FROM q"""
        fb_base = ("(CASE WHEN f6 < 80 THEN t_dispatch + fb_w * (1000 + f5 / 2) / 1000 "
                   "ELSE t_dispatch + fb_w * (100 + f5 * 85 / 100) / 1000 END)")
        s2 = f"SELECT s.*, CASE WHEN {fb_base} > t_sign1 + 600 THEN {fb_base} ELSE t_sign1 + 600 END AS max_fb FROM s"
        t = f"""
        SELECT s2.*, t_sign1 AS t_sign,
               CASE variant % 10 WHEN {BRANCH_EXTENSION} THEN t_sign1 + (max_fb - t_sign1) / 2
                    WHEN {BRANCH_RETURN} THEN t_sign1 + 1800 + f6 * 20
                    WHEN {BRANCH_STUCK} THEN t_dispatch + fb_w + 86400 END AS t_x1,
               CASE variant % 10 WHEN {BRANCH_EXTENSION} THEN t_sign1 + (max_fb - t_sign1) / 2 + 3600 + f6 * 60
                    WHEN {BRANCH_RETURN} THEN t_sign1 + 1800 + f6 * 20 + 3600 + f3 * 40 END AS t_x2,
               CASE WHEN variant % 10 = {BRANCH_RETURN} THEN t_sign1 + 1800 + f6 * 20 + 3600 + f3 * 40
                    + sign_w * (50 + f4 * 85 / 100) / 1000 END AS t_sign2,
               CASE WHEN variant < 90 AND variant % 10 <> {BRANCH_STUCK} THEN
                    max_fb + (CASE variant % 10 WHEN {BRANCH_EXTENSION} THEN 3 * 86400
                                 WHEN {BRANCH_RETURN} THEN 1800 + f6 * 20 + 3600 + f3 * 40
                                      + sign_w * (50 + f4 * 85 / 100) / 1000 ELSE 0 END) END AS t_feedback
        FROM s2"""
        u = f"""
        SELECT t.*, t_feedback + 7200 + f1 * 200 AS t_callback,
               t_feedback + 7200 + f1 * 200 + 600 + f2 * 50 AS t_close
        FROM t"""
        reached = " + ".join(f"(CASE WHEN {c} <= :now THEN 1 ELSE 0 END)" for c in TIME_COLUMNS)
        cols = ", ".join(TIME_COLUMNS)
        # Each step is materialised: inlined, every column reference would repeat the whole expression
        # behind it (SQLite's program for the inlined chain grew to 885,000 instructions for 10 rows' worth)
        mat = ("r", "p", "q", "s", "s2", "t", "u")   # (on PostgreSQL too: measured faster than fewer)
        ctes = ",\n".join(hashed + [f"{name} AS {'MATERIALIZED ' if name in mat else ''}({body})" for name, body in
                                    (("r", r), ("p", p), ("q", q), ("s", s), ("s2", s2), ("t", t), ("u", u))])
        return f"""
        INSERT INTO bench_plan (id, variant, stop, {cols}, chan, kind, urg, cat_id, content, sign_w, fb_w,
                                street_id, district_id, street_name, u_first, u_final, caller, qc, reply, consent,
                                late, cb_c, cb_r, cb_s, tn)
        WITH RECURSIVE {ctes}
        SELECT i, variant, {reached}, {cols},
               CASE WHEN u_chan < 85 THEN 'phone' WHEN u_chan < 93 THEN 'web' WHEN u_chan < 98 THEN 'wechat'
                    ELSE 'app' END,
               CASE WHEN variant = {V_ANSWER} THEN 'consultation' WHEN u_kind < 45 THEN 'complaint'
                    WHEN u_kind < 75 THEN 'help' WHEN u_kind < 88 THEN 'report' WHEN u_kind < 97 THEN 'suggestion'
                    ELSE 'praise' END,
               urg, cat_id, content, sign_w, fb_w, street_id, district_id, street_name, u_first, u_final,
               (qc * 7 + i) % :callers, qc, reply, CASE WHEN u_kind % 10 < 6 THEN 1 ELSE 0 END,
               CASE WHEN u_late < 12 THEN 1 ELSE 0 END,
               CASE WHEN u_cb < 97 THEN 1 ELSE 0 END,
               CASE WHEN u_cb < 97 AND u_sat < 32 THEN 1 ELSE 0 END,
               CASE WHEN u_cb < 97 AND (u_sat < 32 OR u_sat % 3 = 0) AND u_sat <> 39 THEN 1 ELSE 0 END,
               dd.ymd || '-' || {d.pad7('(i * 7919 + :seed * 104729) % 10000000')} || '-'
                   || CAST(d3b.n AS text)
        FROM u AS x
        JOIN bench_days dd ON dd.ld = (x.c + {BJ_OFFSET}) / 86400
        JOIN bench_damm1 d1 ON d1.s = dd.s0 AND d1.d = ((i * 7919 + :seed * 104729) % 10000000) / 1000000
        JOIN bench_damm3 d3a ON d3a.s = d1.n AND d3a.d = (((i * 7919 + :seed * 104729) % 10000000) / 1000) % 1000
        JOIN bench_damm3 d3b ON d3b.s = d3a.n AND d3b.d = ((i * 7919 + :seed * 104729) % 10000000) % 1000
        """

    # --- the real tables -----------------------------------------------------------------------------------------
    def tickets_sql(self) -> str:
        d, ts = self.d, self.d.ts

        def reached(col):
            return f"p.{col} <= :now"
        tcol = "CASE st.tcol " + " ".join(f"WHEN '{c}' THEN p.{c}" for c in TIME_COLUMNS) + " END"
        dispatched = (f"CASE WHEN {reached('t_redispatch')} THEN p.t_redispatch "
                      f"WHEN {reached('t_dispatch')} THEN p.t_dispatch END")
        feedback_due = (f"CASE WHEN {reached('t_dispatch')} THEN p.t_dispatch + p.fb_w + "
                        f"(CASE WHEN p.variant % 10 = {BRANCH_EXTENSION} AND {reached('t_x2')} "
                        f"THEN {EXTENSION_SECONDS} ELSE 0 END) END")
        sign_due = (f"CASE WHEN p.variant % 10 = {BRANCH_RETURN} AND p.variant < 90 AND {reached('t_x2')} "
                    f"THEN p.t_x2 + p.sign_w ELSE ({dispatched}) + p.sign_w END")
        good = "(p.cb_c = 1 AND p.cb_r = 1 AND p.cb_s = 1)"
        reply = "CASE p.reply " + " ".join(f"WHEN {k} THEN '{t}'" for k, t in enumerate(REPLIES)) + " END"
        alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
        picks = [f"(p.qc / {31 ** k}) % 31" for k in range(4)] + ["p.id % 31", "(p.id / 31) % 31"]
        qc = " || ".join(f"substr('{alphabet}', CAST(1 + {x} AS integer), 1)" for x in picks)
        return f"""
        INSERT INTO tickets (id, tracking_no, query_code, channel, kind, urgency, category_id, district_id, street_id,
            address, title, content, requester_type, citizen_name, citizen_phone, citizen_email, enterprise_name,
            credit_code, consent_publish, locale, status, handling_unit_id, dispatched_at, sign_due_at, signed_at,
            feedback_due_at, fed_back_at, reply, report, answer, pending_due_at, review_unit_id, review_by_leader,
            closed_at, close_reason, merged_into_id, supervision_level, supervised_at, return_count,
            redispatch_count, rehandle_count, extension_count, rating_resolved, rating_satisfied, rating_comment,
            rated_at, created_at, updated_at, version)
        SELECT p.id, p.tn, {qc}, p.chan, p.kind, p.urg, p.cat_id, p.district_id, p.street_id,
            p.street_name || '辖区' || CAST(1 + p.qc % 300 AS text) || '号附近', substr(p.content, 1, 30), p.content,
            'citizen', '测试市民' || CAST(p.caller % 10000 AS text), '100' || {d.pad8('p.caller')}, '', '', '',
            p.consent = 1, 'zh', st.to_status,
            CASE WHEN {reached('t_redispatch')} THEN p.u_final WHEN {reached('t_dispatch')} THEN p.u_first END,
            {ts(dispatched)},
            CASE WHEN {reached('t_dispatch')} THEN {ts(sign_due)} END,
            CASE WHEN {reached('t_sign')} THEN {ts('p.t_sign')} END,
            {ts(feedback_due)},
            CASE WHEN {reached('t_feedback')} THEN {ts('p.t_feedback')} END,
            CASE WHEN {reached('t_feedback')} THEN {reply} ELSE '' END,
            CASE WHEN {reached('t_feedback')} THEN {reply} || '（已留存现场照片）' ELSE '' END,
            CASE WHEN p.variant = {V_ANSWER} AND {reached('t_end')} THEN '{ANSWER_TEXT}' ELSE '' END,
            CASE WHEN p.variant % 10 = {BRANCH_EXTENSION} AND p.variant < 90 AND {reached('t_x1')}
                      AND NOT ({reached('t_x2')}) THEN {ts(f'p.t_dispatch + p.fb_w + {EXTENSION_SECONDS}')} END,
            NULL, false,
            CASE WHEN {reached('t_close')} THEN {ts('p.t_close')} WHEN {reached('t_end')} THEN {ts('p.t_end')} END,
            CASE WHEN {reached('t_close')} AND NOT {good} THEN '经多次协调，已依法依规答复'
                 WHEN p.variant = {V_ANSWER} AND {reached('t_end')} THEN '直接答复'
                 WHEN p.variant = {V_INVALID} AND {reached('t_end')} THEN '重复来电，内容与本人此前诉求一致'
                 WHEN p.variant = {V_MERGED} AND {reached('t_end')} THEN '合并办理' ELSE '' END,
            CASE WHEN p.variant = {V_MERGED} AND {reached('t_end')} THEN p.id - 1 END,
            CASE WHEN p.variant % 10 = {BRANCH_STUCK} AND p.variant < 90 AND {reached('t_x1')} THEN 1 ELSE 0 END,
            CASE WHEN p.variant % 10 = {BRANCH_STUCK} AND p.variant < 90 AND {reached('t_x1')}
                 THEN {ts('p.t_x1')} END,
            0, CASE WHEN {reached('t_redispatch')} THEN 1 ELSE 0 END, 0,
            CASE WHEN p.variant % 10 = {BRANCH_EXTENSION} AND p.variant < 90 AND {reached('t_x2')} THEN 1 ELSE 0 END,
            NULL, NULL, '', NULL, {ts('p.c')}, {ts(tcol)}, p.stop
        FROM bench_plan p JOIN bench_steps st ON st.variant = p.variant AND st.seq = p.stop
        ORDER BY p.id
        """

    def units_sql(self) -> str:
        ts = self.d.ts
        return f"""
        INSERT INTO ticket_units (ticket_id, unit_id, role, current, assigned_at, ticket_open)
        SELECT p.id, p.u_first, 'primary', CASE WHEN p.t_redispatch <= :now THEN false ELSE true END,
               {ts('p.t_dispatch')}, t.status IN ({OPEN_SQL})
        FROM bench_plan p JOIN tickets t ON t.id = p.id WHERE p.t_dispatch <= :now
        UNION ALL
        SELECT p.id, p.u_final, 'primary', true, {ts('p.t_redispatch')}, t.status IN ({OPEN_SQL})
        FROM bench_plan p JOIN tickets t ON t.id = p.id WHERE p.t_redispatch <= :now
        """

    def events_sql(self) -> str:
        d, ts = self.d, self.d.ts
        tcol = "CASE st.tcol " + " ".join(f"WHEN '{c}' THEN p.{c}" for c in TIME_COLUMNS) + " END"
        reply = "CASE p.reply " + " ".join(f"WHEN {k} THEN '{t}'" for k, t in enumerate(REPLIES)) + " END"
        good = "(p.cb_c = 1 AND p.cb_r = 1 AND p.cb_s = 1)"
        b = "CASE WHEN {} = 1 THEN 'true' ELSE 'false' END"
        on_time = (f"CASE WHEN (CASE WHEN st.tcol = 't_sign2' THEN p.t_sign2 - p.t_x2 ELSE p.t_sign - "
                   f"COALESCE(p.t_redispatch, p.t_dispatch) END) <= p.sign_w THEN 'true' ELSE 'false' END")
        data = f"""CASE st.action
            WHEN 'submit' THEN '{{"channel": "' || p.chan || '"}}'
            WHEN 'dispatch' THEN '{{"assist": []}}'
            WHEN 'answer' THEN '{{"article_id": null}}'
            WHEN 'sign' THEN '{{"on_time": ' || {on_time} || '}}'
            WHEN 'callback' THEN '{{"contacted": ' || {b.format('p.cb_c')} || ', "resolved": '
                 || CASE WHEN p.cb_c = 1 THEN {b.format('p.cb_r')} ELSE 'null' END || ', "satisfied": '
                 || CASE WHEN p.cb_c = 1 THEN {b.format('p.cb_s')} ELSE 'null' END || '}}'
            WHEN 'supervise' THEN '{{"level": 1}}'
            ELSE '{{}}' END"""
        return f"""
        INSERT INTO ticket_events (ticket_id, seq, action, from_status, to_status, actor_role, actor_user_id,
                                   actor_unit_id, unit_id, note, public, data, at)
        SELECT p.id, st.seq, st.action, st.from_status, st.to_status,
            CASE st.actor WHEN 'intake' THEN (CASE WHEN p.chan = 'phone' THEN 'operator' ELSE 'citizen' END)
                          WHEN 'operator' THEN 'operator' WHEN 'dispatcher' THEN 'dispatcher' ELSE 'handler' END,
            CASE st.actor WHEN 'intake' THEN (CASE WHEN p.chan = 'phone' THEN :operator END)
                          WHEN 'operator' THEN :operator WHEN 'dispatcher' THEN :dispatcher END,
            CASE st.actor WHEN 'intake' THEN (CASE WHEN p.chan = 'phone' THEN :center END)
                          WHEN 'operator' THEN :center WHEN 'dispatcher' THEN :center
                          WHEN 'first' THEN p.u_first WHEN 'final' THEN p.u_final END,
            CASE st.unit WHEN 'first' THEN p.u_first WHEN 'final' THEN p.u_final END,
            CASE WHEN st.note = '@reply' THEN {reply}
                 WHEN st.note = '@close' THEN (CASE WHEN {good} THEN '' ELSE '经多次协调，已依法依规答复' END)
                 ELSE st.note END,
            st.public, {d.json(data)}, {ts(tcol)}
        FROM bench_plan p JOIN bench_steps st ON st.variant = p.variant AND st.seq <= p.stop
        """

    def callbacks_sql(self) -> str:
        ts = self.d.ts
        return f"""
        INSERT INTO callbacks (ticket_id, unit_id, user_id, source, contacted, resolved, satisfied, note, at)
        SELECT id, u_final, :operator, 'center', cb_c = 1,
               CASE WHEN cb_c = 1 THEN cb_r = 1 END, CASE WHEN cb_c = 1 THEN cb_s = 1 END,
               CASE WHEN cb_c = 0 THEN '多次拨打无人接听' WHEN cb_r = 1 AND cb_s = 1 THEN '市民表示认可'
                    ELSE '市民表示问题仍未解决' END,
               {ts('t_callback')}
        FROM bench_plan WHERE t_callback <= :now
        """

    # --- run ----------------------------------------------------------------------------------------------------------
    def run(self) -> dict:
        started = time.perf_counter()
        segments = self.segments()
        with self.engine.connect() as conn:
            if self.d.pg:
                conn.execute(text("SET synchronous_commit = off"))
                conn.execute(text("SET work_mem = '256MB'"))
                # foreign keys are row triggers on PostgreSQL, the bulk of the cost of a bulk load;
                # every reference here comes from a row that exists (units, categories, users, the
                # request itself). CHECK constraints and unique indexes still apply.
                conn.execute(text("SET session_replication_role = replica"))
            else:
                conn.exec_driver_sql("PRAGMA foreign_keys = ON")
                conn.exec_driver_sql("PRAGMA synchronous = OFF")
                conn.exec_driver_sql("PRAGMA cache_size = -400000")
                conn.exec_driver_sql("PRAGMA temp_store = MEMORY")
            self.load_reference(conn)
            conn.commit()
            dropped = self._drop_indexes(conn) if self.drop_indexes else []
            first_id = (conn.execute(text("SELECT MAX(id) FROM tickets")).scalar() or 0) + 1
            params = dict(now=self.now_s, seed=self.seed, first_id=first_id, callers=max(self.count // 3, 1),
                          operator=self.operator_id, dispatcher=self.dispatcher_id, center=self.center_id)
            sqls = dict(plan=self.plan_sql(), tickets=self.tickets_sql(), units=self.units_sql(),
                        events=self.events_sql(), callbacks=self.callbacks_sql())
            sqls = {k: self.d.bigint_params(v) for k, v in sqls.items()}
            timings = {k: 0.0 for k in sqls}
            totals = {"tickets": 0, "events": 0, "units": 0, "callbacks": 0, "skipped": 0}
            next_id = first_id
            for n, t0, t1 in segments:
                if n <= 0:
                    continue
                i0, span = next_id, t1 - t0
                step = max(span // n, 1)
                for a in range(i0, i0 + n, self.chunk):
                    b = min(a + self.chunk, i0 + n) - 1
                    p = dict(params, a=a, b=b, i0=i0, n=n, t0=t0, span=span, step=step)
                    for key in ("plan", "tickets", "units", "events", "callbacks"):
                        t = time.perf_counter()
                        if key == "tickets":
                            totals["skipped"] += self._drop_collisions(conn)
                        res = conn.execute(text(sqls[key]), p)
                        timings[key] += time.perf_counter() - t
                        if key in totals:
                            totals[key] += res.rowcount
                    conn.execute(text("DELETE FROM bench_plan"))
                    conn.commit()
                    done = b - first_id + 1
                    self.log(f"  {done:>11,} requests  {time.perf_counter() - started:7.1f} s")
                next_id = i0 + n
            t = time.perf_counter()
            for ddl in dropped:
                conn.execute(text(ddl))
                conn.commit()
            timings["indexes"] = time.perf_counter() - t
            t = time.perf_counter()
            self._finish(conn)
            timings["analyze"] = time.perf_counter() - t
        return dict(totals, seconds=round(time.perf_counter() - started, 1),
                    timings={k: round(v, 1) for k, v in timings.items()})

    def _drop_indexes(self, conn) -> list[str]:
        """PostgreSQL: drop the secondary indexes of the four big tables for the load and build them
        again at the end (one sort each instead of ten million insertions). Their definitions are
        also written to a file in case the run is interrupted."""
        rows = conn.execute(text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
            "AND i.tablename IN ('tickets', 'ticket_events', 'ticket_units', 'callbacks') "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)")).all()
        ddl = [r.indexdef for r in rows]
        path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-generate-indexes-{os.getpid()}.sql"
        path.write_text(";\n".join(ddl) + ";\n")
        self.log(f"dropping {len(rows)} indexes for the load; their definitions are in {path}")
        for r in rows:
            conn.execute(text(f'DROP INDEX "{r.indexname}"'))
        conn.execute(text("SET maintenance_work_mem = '512MB'"))
        conn.commit()
        return ddl

    def _drop_collisions(self, conn) -> int:
        """A generated tracking number that an existing request already has (the seed's random ones):
        leave that request out, and merge nothing into a missing request."""
        res = conn.execute(text("DELETE FROM bench_plan WHERE tn IN (SELECT tracking_no FROM tickets)"))
        if res.rowcount:
            conn.execute(text(f"UPDATE bench_plan SET variant = {V_ANSWER} WHERE variant = {V_MERGED} "
                              "AND NOT EXISTS (SELECT 1 FROM bench_plan q WHERE q.id = bench_plan.id - 1) "
                              "AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = bench_plan.id - 1)"))
        return res.rowcount

    def _finish(self, conn) -> None:
        if self.d.pg:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('tickets', 'id'), (SELECT MAX(id) FROM tickets))"))
            conn.commit()
            conn.execution_options(isolation_level="AUTOCOMMIT")
            raw = conn.connection.driver_connection
            raw.autocommit = True
            for table in ("tickets", "ticket_units", "ticket_events", "callbacks"):
                raw.execute(f"VACUUM ANALYZE {table}")
        else:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()


def init_database(url: str, demo_tickets: int) -> None:
    """Upgrade to the newest migration and seed the hierarchy, categories and demo staff if empty."""
    os.environ.setdefault("PORTAL_LOG_LEVEL", "WARNING")
    from flask_migrate import upgrade
    from portal import create_app
    from portal.extensions import db
    from portal.services.seed import is_seeded, seed_all
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SCHEDULER_ENABLED": False})
    with app.app_context():
        upgrade(revision="heads")
        if not is_seeded():
            seed_all(utcnow(), demo_tickets=demo_tickets)
            db.session.commit()
        db.engine.dispose()


def normalise_url(url: str) -> str:
    if "://" in url:
        return url
    return f"sqlite:///{Path(url).resolve()}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="SQLAlchemy URL, or a path to an SQLite file")
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=13)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--month-load", type=int, default=None, help="requests in one month (e.g. 1100000)")
    ap.add_argument("--load-month", default=None, help="YYYY-MM (Beijing); default the last complete month")
    ap.add_argument("--now", default=None, help="ISO time (naive UTC); default now")
    ap.add_argument("--chunk", type=int, default=None)
    ap.add_argument("--drop-indexes", action=argparse.BooleanOptionalAction, default=None,
                    help="PostgreSQL: drop secondary indexes during the load (default: from 1,000,000 requests)")
    ap.add_argument("--init", action="store_true", help="migrate and seed first if the database is empty")
    ap.add_argument("--demo-tickets", type=int, default=0, help="with --init: demo requests made through perform()")
    args = ap.parse_args(argv)
    if args.count < 1 or args.months < 2 or not 0 <= args.seed < 10 ** 9:
        ap.error("--count must be positive, --months at least 2, --seed in [0, 10^9)")
    url = normalise_url(args.url)
    if args.init:
        init_database(url, args.demo_tickets)
    now = datetime.fromisoformat(args.now) if args.now else utcnow()
    gen = Generator(url, count=args.count, months=args.months, seed=args.seed, month_load=args.month_load,
                    load_month=args.load_month, now=now, chunk=args.chunk,
                    drop_indexes=args.count >= 1_000_000 if args.drop_indexes is None else args.drop_indexes)
    print(f"generating {args.count:,} requests into {gen.engine.url.render_as_string(hide_password=True)}")
    result = gen.run()
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
