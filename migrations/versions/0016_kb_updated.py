"""The knowledge base editor's list, most recently updated first, read from an index

Revision ID: 0016_kb_updated
Revises: 0015_open_id
Create Date: 2026-12-04 12:00:00

``/staff/kb/`` without a search shows the most recently updated articles. With no index on
``updated_at`` every view read and sorted the whole knowledge base: 13 ms for 10,000 articles on
PostgreSQL (docs/benchmarks/queues-and-load.md, ninth session). ``ix_kb_articles_updated``
(updated_at, id) is walked backwards and the page stops at its last row. Both engines.
"""
from alembic import op

revision = "0016_kb_updated"
down_revision = "0015_open_id"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_kb_articles_updated", "kb_articles", ["updated_at", "id"])


def downgrade():
    op.drop_index("ix_kb_articles_updated", table_name="kb_articles")
