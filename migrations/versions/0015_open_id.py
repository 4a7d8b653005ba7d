"""PostgreSQL: the open requests by id, with what the queue tests and orders, for the word filter

Revision ID: 0015_open_id
Revises: 0014_published
Create Date: 2026-12-04 11:45:00

The staff queue's word filter finds the open requests containing the words in the open
requests' own word index (migration 0012_ticket_vector), then needs, for each match, what the
tab tests and the order reads (status, deadlines, units, creation time). With only
``ix_tickets_queue_order`` and ``ix_tickets_queue_new`` (keyed by the deadline and by the
creation time) PostgreSQL could not look a match up by its id without reading the table, so it
read every open request in scope from ``ix_tickets_queue_new`` and hashed them against the
matches: 86,045 entries for the center's 2,078 matches of 路灯 at 10,000,000 requests (18 ms a
page, docs/benchmarks/queues-and-load.md, ninth session).

``ix_tickets_open_id`` holds the same open requests keyed by id, with the same columns INCLUDEd
as 0013's indexes and the creation time: each match is one step into a small index and no
table row is read (8 ms for 路灯). PostgreSQL only, like 0013: SQLite reads its matches its own way.
"""
from alembic import op

revision = "0015_open_id"
down_revision = "0014_published"
branch_labels = None
depends_on = None

OPEN = ("accepted", "called_back", "dispatched", "extension_pending", "fed_back", "feedback_review", "handling",
        "return_pending", "submitted")
INCLUDED = ("status", "sign_due_at", "feedback_due_at", "created_at", "handling_unit_id", "supervision_level",
            "return_count", "review_unit_id", "review_by_leader", "category_id", "urgency", "district_id", "street_id")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    where = "WHERE status IN ({})".format(", ".join(f"'{s}'" for s in OPEN))
    op.execute(f"CREATE INDEX ix_tickets_open_id ON tickets (id) INCLUDE ({', '.join(INCLUDED)}) {where}")
    op.execute("ANALYZE tickets")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_tickets_open_id")
