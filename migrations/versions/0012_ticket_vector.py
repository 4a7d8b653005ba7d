"""requests' words as a stored tsvector (PostgreSQL) and an index of the open requests' words

Revision ID: 0012_ticket_vector
Revises: 0011_kb_vector
Create Date: 2026-12-02 17:00:00

The staff queue's word filter looks only among open requests, a small share of all (16,379 of
1,000,000 in bench/bench_search.py). On PostgreSQL it went through the GIN index of 0007_kb over
every request ever made: a word found in a fifth of them built a bitmap of 194,000 entries, each
candidate's text was parsed again to check it (the index was over an expression), and a query of
several common words took 250-340 ms (p95 315 ms over the benchmark's queries).

* ``ticket_texts.ticket_open`` repeats whether the request is open, kept by
  services.tickets.perform in the same flush as the status (as ``ticket_units.ticket_open`` of
  0010_scope_open). Backfill: false everywhere, then true for the open requests only.
* PostgreSQL: ``ticket_texts.search_vector``, a generated, stored ``to_tsvector('simple', tokens)``
  (computed by PostgreSQL on insert and update; not in the model, as 0011's), a GIN index on it
  for searches over all requests (similar requests, merge candidates), and a partial GIN index
  over the open requests' vectors for the queue's word filter. The old expression index goes.

SQLite keeps its FTS5 table; it has the flag too (the model is the same on both engines).
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0012_ticket_vector"
down_revision = "0011_kb_vector"
branch_labels = None
depends_on = None

OPEN = ("submitted", "accepted", "dispatched", "handling", "return_pending", "extension_pending",
        "feedback_review", "fed_back", "called_back")


def upgrade():
    op.add_column("ticket_texts", sa.Column("ticket_open", sa.Boolean(), nullable=False, server_default=sa.false()))
    statuses = ", ".join(f"'{s}'" for s in OPEN)
    op.execute(f"UPDATE ticket_texts SET ticket_open = true WHERE ticket_id IN "
               f"(SELECT id FROM tickets WHERE status IN ({statuses}))")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE ticket_texts ADD COLUMN search_vector tsvector "
               "GENERATED ALWAYS AS (to_tsvector('simple', tokens)) STORED")
    op.execute("CREATE INDEX ix_ticket_texts_vector ON ticket_texts USING gin (search_vector)")
    op.execute("CREATE INDEX ix_ticket_texts_open_vector ON ticket_texts USING gin (search_vector) WHERE ticket_open")
    op.execute("DROP INDEX IF EXISTS ix_ticket_texts_search")
    op.execute("ANALYZE ticket_texts")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_ticket_texts_search ON ticket_texts USING gin ((to_tsvector('simple', tokens)))")
        op.execute("DROP INDEX IF EXISTS ix_ticket_texts_open_vector")
        op.execute("DROP INDEX IF EXISTS ix_ticket_texts_vector")
        op.execute("ALTER TABLE ticket_texts DROP COLUMN search_vector")
    with op.batch_alter_table("ticket_texts") as batch_op:
        batch_op.drop_column("ticket_open")
