"""PostgreSQL: the knowledge base's words as a stored tsvector, for ranking

Revision ID: 0011_kb_vector
Revises: 0010_scope_open
Create Date: 2026-12-02 13:30:00

The knowledge base search ranks the matching articles with ts_rank. Over the expression index of
0007_kb, PostgreSQL rebuilt each matching article's tsvector from its text to rank it: with
10,000 articles a query of common words matches a few thousand, and the search took p95 105 ms
(bench/bench_search.py). A generated, stored column holds the same vector; the GIN index is built
on it and the search reads it: 128 ms -> 21 ms for a three-word query on the benchmark's data.

A generated column is computed by PostgreSQL on every insert and update, so nothing in the app
writes it, and the model does not declare it (SQLite has no such column; its FTS5 table ranks).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0011_kb_vector"
down_revision = "0010_scope_open"
branch_labels = None
depends_on = None

VECTOR = ("setweight(to_tsvector('simple', search_title), 'A') || "
          "setweight(to_tsvector('simple', search_body), 'B')")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE kb_articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({VECTOR}) STORED")
    op.execute("CREATE INDEX ix_kb_articles_vector ON kb_articles USING gin (search_vector)")
    op.execute("DROP INDEX IF EXISTS ix_kb_articles_search")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE INDEX ix_kb_articles_search ON kb_articles USING gin (({VECTOR}))")
    op.execute("DROP INDEX IF EXISTS ix_kb_articles_vector")
    op.execute("ALTER TABLE kb_articles DROP COLUMN search_vector")
