"""a covering index for the work queues; the caller's earlier requests by phone

Revision ID: 0009_queue_idx
Revises: 0008_governance
Create Date: 2026-12-02 10:00:00

The queue pages count every tab in one query and sort each tab by the next due time
(services/queues.py). Both read only these columns of the open requests; with them in one index
starting with the status, the counts and the ordering of a page's ids need no table row
(an index-only scan on PostgreSQL, a covering index on SQLite). The id is the last column
because a PostgreSQL index does not carry it otherwise (SQLite's rowid is in every index). Measured with
bench/bench_queue.py (docs/benchmarks/queues-and-load.md).

A request's page lists the caller's earlier requests (same phone, newest first): without an index
on the phone that was a scan of the whole table, 0.8 s of CPU on 1,000,000 requests.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0009_queue_idx"
down_revision = "0008_governance"
branch_labels = None
depends_on = None

COLUMNS = ['status', 'feedback_due_at', 'sign_due_at', 'handling_unit_id', 'created_at', 'supervision_level',
           'return_count', 'review_unit_id', 'review_by_leader', 'id']


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_queue', COLUMNS, unique=False)
        batch_op.create_index('ix_tickets_citizen_phone', ['citizen_phone', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_citizen_phone')
        batch_op.drop_index('ix_tickets_queue')
