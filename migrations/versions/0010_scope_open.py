"""the work queues' scope starts from a unit's own open requests

Revision ID: 0010_scope_open
Revises: 0009_queue_idx
Create Date: 2026-12-02 12:30:00

A handler sees a request when its handling path (ticket_units) crosses the handler's unit or a unit
below it. The queues checked that for every open request of the city (an EXISTS per request): on
1,000,000 requests, 21 ms for each of a street's three queue statements on SQLite, whatever the
street's own work (bench/bench_queue.py). ``ticket_units.ticket_open`` repeats whether the request
is open, kept by services.tickets.perform in the same flush as the status; the partial index over
the open rows by unit lets a queue start from the unit's own open requests.

The queue filters (category, urgency, district, street) read table rows of every open request in
scope: 100-120 ms for the center's filtered pages on SQLite. Those four columns join the covering
queue index, so the filtered count and ordering read only the index, as the unfiltered ones do.

Backfill: the column starts false everywhere (instant, no table rewrite on PostgreSQL) and only the
rows of open requests, a small share, are set true.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0010_scope_open"
down_revision = "0009_queue_idx"
branch_labels = None
depends_on = None

OPEN = ("submitted", "accepted", "dispatched", "handling", "return_pending", "extension_pending",
        "feedback_review", "fed_back", "called_back")


OLD_QUEUE = ['status', 'feedback_due_at', 'sign_due_at', 'handling_unit_id', 'created_at', 'supervision_level',
             'return_count', 'review_unit_id', 'review_by_leader', 'id']
NEW_QUEUE = OLD_QUEUE[:-1] + ['category_id', 'urgency', 'district_id', 'street_id', 'id']


def upgrade():
    op.add_column("ticket_units", sa.Column("ticket_open", sa.Boolean(), nullable=False,
                                            server_default=sa.false()))
    statuses = ", ".join(f"'{s}'" for s in OPEN)
    op.execute(f"UPDATE ticket_units SET ticket_open = true WHERE ticket_id IN "
               f"(SELECT id FROM tickets WHERE status IN ({statuses}))")
    op.create_index("ix_ticket_units_open", "ticket_units", ["unit_id", "ticket_id"],
                    sqlite_where=sa.text("ticket_open = 1"), postgresql_where=sa.text("ticket_open"))
    op.drop_index("ix_tickets_queue", table_name="tickets")
    op.create_index("ix_tickets_queue", "tickets", NEW_QUEUE)


def downgrade():
    op.drop_index("ix_tickets_queue", table_name="tickets")
    op.create_index("ix_tickets_queue", "tickets", OLD_QUEUE)
    op.drop_index("ix_ticket_units_open", table_name="ticket_units")
    with op.batch_alter_table("ticket_units") as batch_op:
        batch_op.drop_column("ticket_open")
