"""the open requests' words in a table of their own

Revision ID: 0018_open_texts
Revises: 0017_kb_serial
Create Date: 2026-12-04 16:00:00

The staff queue's word filter, similar requests and merge candidates look only among open
requests. Since 0012_ticket_vector PostgreSQL found them in a partial GIN index over the open
rows of ``ticket_texts``, but every match was then read from that table to check and rank it: at
10,000,000 requests ``ticket_texts`` is 8 GB, each match lies on a page of its own and few of
those pages stay in memory (小区 at the center: 6,362 matches, 12 ms warm of the page's ~20;
噪声 in a district 28 ms cold; docs/benchmarks/queues-and-load.md, ninth session).

* ``ticket_open_texts`` (ticket_id, tokens): a row per open request, kept by
  services.tickets.perform in the flush that changes the status (deleted when the request
  closes, written again if it reopens) and written at intake. Backfill: the words of the
  requests whose status is open.
* PostgreSQL: a generated, stored ``search_vector`` and a GIN index over it (as ``ticket_texts``).
* ``ticket_texts.ticket_open`` and its partial index go: nothing reads them now, and keeping the
  flag wrote a cold page of the big table whenever a request closed.
"""
import sqlalchemy as sa
from alembic import op

revision = "0018_open_texts"
down_revision = "0017_kb_serial"
branch_labels = None
depends_on = None

OPEN = ("submitted", "accepted", "dispatched", "handling", "return_pending", "extension_pending",
        "feedback_review", "fed_back", "called_back")


def upgrade():
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "ticket_open_texts",
        sa.Column("ticket_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("tokens", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_open_texts_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_open_texts")),
    )
    if pg:
        op.execute("ALTER TABLE ticket_open_texts ADD COLUMN search_vector tsvector "
                   "GENERATED ALWAYS AS (to_tsvector('simple', tokens)) STORED")
    statuses = ", ".join(f"'{s}'" for s in OPEN)
    # from the open requests (an index of them), each looked up by its id: not a scan of every
    # request's words
    op.execute("INSERT INTO ticket_open_texts (ticket_id, tokens) SELECT tt.ticket_id, tt.tokens "
               f"FROM tickets t JOIN ticket_texts tt ON tt.ticket_id = t.id WHERE t.status IN ({statuses})")
    if pg:
        op.execute("CREATE INDEX ix_ticket_open_texts_vector ON ticket_open_texts USING gin (search_vector)")
        op.execute("DROP INDEX IF EXISTS ix_ticket_texts_open_vector")
        op.execute("ALTER TABLE ticket_texts DROP COLUMN ticket_open")
        op.execute("ANALYZE ticket_open_texts")
    else:
        # SQLite 3.35+ drops a column in place; a batch copy would lose ticket_texts' FTS5 triggers
        op.execute("ALTER TABLE ticket_texts DROP COLUMN ticket_open")


def downgrade():
    op.add_column("ticket_texts", sa.Column("ticket_open", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE ticket_texts SET ticket_open = true WHERE ticket_id IN (SELECT ticket_id FROM ticket_open_texts)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_ticket_texts_open_vector ON ticket_texts USING gin (search_vector) WHERE ticket_open")
    op.drop_table("ticket_open_texts")
