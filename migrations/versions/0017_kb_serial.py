"""PostgreSQL: the knowledge base is searched by one process, not with parallel workers

Revision ID: 0017_kb_serial
Revises: 0016_kb_updated
Create Date: 2026-12-04 12:20:00

With 10,000 articles PostgreSQL ran every knowledge base search (the editor's, the operator's
answer panel, the citizens' suggestions) with a parallel worker: ranking the 1,407 articles
matching 停车收费 took 7.7–7.9 ms that way and 7.0–7.5 ms in one process. The worker only added
a second process's CPU, which the other pages being served lack on a busy server
(docs/benchmarks/queues-and-load.md, ninth session). ``parallel_workers = 0`` on the table tells
the planner not to plan parallel scans of it. SQLite has no parallel query.
"""
from alembic import op

revision = "0017_kb_serial"
down_revision = "0016_kb_updated"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE kb_articles SET (parallel_workers = 0)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE kb_articles RESET (parallel_workers)")
