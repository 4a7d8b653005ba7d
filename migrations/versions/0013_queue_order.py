"""PostgreSQL: the open requests in the queue's order, so a page reads its 30 rows and stops; the filters' indexes

Revision ID: 0013_queue_order
Revises: 0012_ticket_vector
Create Date: 2026-12-02 23:30:00

A queue page shows 30 open requests, the nearest deadline first. At 10,000,000 requests the city
has about 93,000 open ones, and every page of the center read all of them from ix_tickets_queue
and sorted them to keep 30 (docs/benchmarks/queues-and-load.md: the center's unfiltered pages
were the slowest left).

``ix_tickets_queue_order`` holds only the open requests (a partial index: about 1 % of a year's
requests), keyed by the queue's order: the deadline that matters now (sign-for while waiting to be
signed, else feedback; ``services.queues.next_due_expr``, written there with the same literal),
then the creation time and the id; PostgreSQL's ascending order puts requests with no deadline
last, as the queue does. Every column a tab or a filter tests is INCLUDEd, and the columns of
the deadline's expression too (PostgreSQL reads an expression index without the table only
when it holds the expression's own columns), so a page walks the index in order and tests each
entry without reading the table.

Beside it, over the same open requests:

* ``ix_tickets_queue_new``: keyed by the creation time and the id, with the same columns
  INCLUDEd: the "newest first" order, and a date filter's range (a week of the open requests is
  most of them, which PostgreSQL's statistics over all requests cannot know; with the columns
  included, a wrong guess still reads no table row).
* ``ix_tickets_open_category``, ``_urgency``, ``_district``, ``_street``: (the column, id), so a
  filtered page's count reads only the matching entries instead of every open request (at
  10,000,000 requests the center's category count went from 20 ms to 3 ms).

PostgreSQL only: SQLite keeps sorting from ix_tickets_queue (its pages meet their target at
1,000,000 requests, and SQLite is not the engine for a city of 10 million requests a year).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0013_queue_order"
down_revision = "0012_ticket_vector"
branch_labels = None
depends_on = None

OPEN = ("accepted", "called_back", "dispatched", "extension_pending", "fed_back", "feedback_review", "handling",
        "return_pending", "submitted")
INCLUDED = ("status", "sign_due_at", "feedback_due_at", "handling_unit_id", "supervision_level", "return_count", "review_unit_id",
            "review_by_leader", "category_id", "urgency", "district_id", "street_id")


#: the filters' own indexes over the open requests: (name, column)
BY_FILTER = (("ix_tickets_open_category", "category_id"), ("ix_tickets_open_urgency", "urgency"),
             ("ix_tickets_open_district", "district_id"), ("ix_tickets_open_street", "street_id"))
INDEXES = ("ix_tickets_queue_order", "ix_tickets_queue_new") + tuple(name for name, _ in BY_FILTER)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    where = "WHERE status IN ({})".format(", ".join(f"'{s}'" for s in OPEN))
    included = f"INCLUDE ({', '.join(INCLUDED)})"
    op.execute("CREATE INDEX ix_tickets_queue_order ON tickets "
               "((CASE WHEN status = 'dispatched' THEN sign_due_at ELSE feedback_due_at END), created_at, id) "
               f"{included} {where}")
    op.execute(f"CREATE INDEX ix_tickets_queue_new ON tickets (created_at, id) {included} {where}")
    for name, column in BY_FILTER:
        op.execute(f"CREATE INDEX {name} ON tickets ({column}, id) {where}")
    op.execute("ANALYZE tickets")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
