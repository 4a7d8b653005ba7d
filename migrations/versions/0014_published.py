"""The public board's published cases in their order, so a page reads its 20 and stops

Revision ID: 0014_published
Revises: 0013_queue_order
Create Date: 2026-12-03 17:50:00

``/board/cases`` lists the closed requests whose citizens consented to publication, newest first,
with their number. At 10,000,000 requests that is 2,497,263 requests (bench/generate.py's data):
counting them all on every view, and sorting them for a page, read a quarter of the table.
``ix_tickets_published`` holds only those requests, keyed by (closed_at, id): a page walks it
backwards and stops at its 20th entry, and the number shown is counted from it up to a cap
(``services.publicity.COUNT_AT_MOST``). Both engines: SQLite has partial indexes too.
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_published"
down_revision = "0013_queue_order"
branch_labels = None
depends_on = None

WHERE_POSTGRESQL = "status = 'closed' AND consent_publish"     # models.ticket.PUBLISHED_WHERE_*
WHERE_SQLITE = "status = 'closed' AND consent_publish = 1"


def upgrade():
    op.create_index("ix_tickets_published", "tickets", ["closed_at", "id"],
                    sqlite_where=sa.text(WHERE_SQLITE), postgresql_where=sa.text(WHERE_POSTGRESQL))


def downgrade():
    op.drop_index("ix_tickets_published", table_name="tickets")
