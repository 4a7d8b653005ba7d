"""Give a database made by ``bench/generate.py`` its search words, so that issue 7's searches can
be measured at issue 9's size (10,000,000 requests): every request's row in ``ticket_texts``
(title, content and address segmented by the same ``index_tokens`` as intake) and
``--articles`` knowledge base articles (through the ORM, segmented as the editor does).

    .venv/bin/python bench/add_search_words.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench_10m

The generator draws each request's content from a pool per category and its address from the
street's name and a number, so each distinct text is segmented once (in Python, by jieba) and
the rows are written by one INSERT ... SELECT joining on the texts. The word indexes are dropped
for the load and built again after it (their definitions read back from the database first).
Idempotent: a request that has its row already is left alone (ON CONFLICT: an anti-join
against the table being filled was planned as a scan per row, since the table looked empty).
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from bench.bench_search import NOW, add_articles  # noqa: E402


def segment_distinct(conn, column: str, table: str, index_tokens) -> int:
    """``table`` (value, tokens): each distinct value of ``tickets.column`` segmented once."""
    values = [v for (v,) in conn.execute(text(f"SELECT DISTINCT {column} FROM tickets"))]  # nosec B608: fixed names
    conn.execute(text(f"CREATE TEMP TABLE {table} (value TEXT PRIMARY KEY, tokens TEXT NOT NULL)"))
    rows = [{"v": v or "", "t": index_tokens(v or "")} for v in values]
    for i in range(0, len(rows), 5000):
        conn.execute(text(f"INSERT INTO {table} VALUES (:v, :t) ON CONFLICT DO NOTHING"), rows[i:i + 5000])  # nosec B608
    conn.execute(text(f"ANALYZE {table}"))
    return len(rows)


def add_words(db, index_tokens, open_statuses: list[str]) -> None:
    conn = db.session.connection()
    t0 = time.perf_counter()
    n_content = segment_distinct(conn, "content", "bench_words_content", index_tokens)
    n_title = segment_distinct(conn, "title", "bench_words_title", index_tokens)
    n_address = segment_distinct(conn, "address", "bench_words_address", index_tokens)
    print(f"segmented {n_content} contents, {n_title} titles, {n_address} addresses in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    indexes = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes "
                                "WHERE tablename = 'ticket_texts' AND indexname <> 'pk_ticket_texts'")).all()
    for name, _ in indexes:
        conn.execute(text(f'DROP INDEX "{name}"'))
    conn.execute(text("SET LOCAL synchronous_commit = off"))
    conn.execute(text("SET LOCAL maintenance_work_mem = '2GB'"))
    t0 = time.perf_counter()
    result = conn.execute(text("""
        INSERT INTO ticket_texts (ticket_id, tokens)
        SELECT t.id, concat_ws(' ', nullif(wt.tokens, ''), nullif(wc.tokens, ''), nullif(wa.tokens, ''))
        FROM tickets t
        JOIN bench_words_content wc ON wc.value = coalesce(t.content, '')
        JOIN bench_words_title wt ON wt.value = coalesce(t.title, '')
        JOIN bench_words_address wa ON wa.value = coalesce(t.address, '')
        ON CONFLICT (ticket_id) DO NOTHING"""))
    print(f"{result.rowcount} rows into ticket_texts in {time.perf_counter() - t0:.1f} s", flush=True)
    # the open requests' words on their own (migration 0018_open_texts), as services.tickets keeps them
    result = conn.execute(text("""
        INSERT INTO ticket_open_texts (ticket_id, tokens)
        SELECT t.id, tt.tokens FROM tickets t JOIN ticket_texts tt ON tt.ticket_id = t.id
        WHERE t.status = ANY(:open)
        ON CONFLICT (ticket_id) DO NOTHING"""), {"open": open_statuses})
    print(f"{result.rowcount} rows into ticket_open_texts", flush=True)
    for _, definition in indexes:
        t0 = time.perf_counter()
        conn.execute(text(definition))
        print(f"{definition[:70]}… {time.perf_counter() - t0:.1f} s", flush=True)
    db.session.commit()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="a PostgreSQL database made by bench/generate.py")
    parser.add_argument("--articles", type=int, default=10_000)
    args = parser.parse_args(argv)
    from portal import create_app
    from portal.domain.lifecycle import OPEN
    from portal.domain.segment import index_tokens
    from portal.extensions import db
    from portal.models import Category, KbArticle
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.url, "SECRET_KEY": "bench", "TESTING": True,
                      "LOG_LEVEL": "WARNING", "SCHEDULER_ENABLED": False})
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            parser.error("PostgreSQL only (the 10,000,000-request database)")
        add_words(db, index_tokens, sorted(s.value for s in OPEN))
        have = db.session.query(KbArticle).count()
        if have < args.articles:
            t0 = time.perf_counter()
            cats = {c.code: c.id for c in db.session.query(Category)}
            add_articles(db, cats, args.articles - have, random.Random(7), start=have)
            print(f"{args.articles - have} articles (ORM, segmented) in {time.perf_counter() - t0:.1f} s", flush=True)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE ticket_texts"))
            c.execute(text("VACUUM ANALYZE ticket_open_texts"))
            c.execute(text("VACUUM ANALYZE kb_articles"))
        print(f"done at {NOW:%Y-%m-%d} reference", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
