"""knowledge base search columns, request search text, repeat links; FTS5 (SQLite) / GIN tsvector (PostgreSQL)

Revision ID: 0007_kb
Revises: 0006_open311

Existing articles and requests are segmented (jieba) and indexed here, so an upgraded
database searches its old data at once.
"""
from alembic import op
import sqlalchemy as sa


revision = "0007_kb"
down_revision = "0006_open311"
branch_labels = None
depends_on = None

BATCH = 2000

SQLITE_UP = [
    "CREATE VIRTUAL TABLE kb_fts USING fts5(search_title, search_body, content='kb_articles', content_rowid='id')",
    "CREATE TRIGGER kb_articles_fts_ai AFTER INSERT ON kb_articles BEGIN "
    "INSERT INTO kb_fts(rowid, search_title, search_body) VALUES (new.id, new.search_title, new.search_body); END",
    "CREATE TRIGGER kb_articles_fts_ad AFTER DELETE ON kb_articles BEGIN "
    "INSERT INTO kb_fts(kb_fts, rowid, search_title, search_body) "
    "VALUES ('delete', old.id, old.search_title, old.search_body); END",
    "CREATE TRIGGER kb_articles_fts_au AFTER UPDATE OF search_title, search_body ON kb_articles BEGIN "
    "INSERT INTO kb_fts(kb_fts, rowid, search_title, search_body) "
    "VALUES ('delete', old.id, old.search_title, old.search_body); "
    "INSERT INTO kb_fts(rowid, search_title, search_body) VALUES (new.id, new.search_title, new.search_body); END",
    "CREATE VIRTUAL TABLE ticket_fts USING fts5(tokens, content='ticket_texts', content_rowid='ticket_id')",
    "CREATE TRIGGER ticket_texts_fts_ai AFTER INSERT ON ticket_texts BEGIN "
    "INSERT INTO ticket_fts(rowid, tokens) VALUES (new.ticket_id, new.tokens); END",
    "CREATE TRIGGER ticket_texts_fts_ad AFTER DELETE ON ticket_texts BEGIN "
    "INSERT INTO ticket_fts(ticket_fts, rowid, tokens) VALUES ('delete', old.ticket_id, old.tokens); END",
    "CREATE TRIGGER ticket_texts_fts_au AFTER UPDATE OF tokens ON ticket_texts BEGIN "
    "INSERT INTO ticket_fts(ticket_fts, rowid, tokens) VALUES ('delete', old.ticket_id, old.tokens); "
    "INSERT INTO ticket_fts(rowid, tokens) VALUES (new.ticket_id, new.tokens); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS ticket_texts_fts_au", "DROP TRIGGER IF EXISTS ticket_texts_fts_ad",
    "DROP TRIGGER IF EXISTS ticket_texts_fts_ai", "DROP TABLE IF EXISTS ticket_fts",
    "DROP TRIGGER IF EXISTS kb_articles_fts_au", "DROP TRIGGER IF EXISTS kb_articles_fts_ad",
    "DROP TRIGGER IF EXISTS kb_articles_fts_ai", "DROP TABLE IF EXISTS kb_fts",
]
# the same expressions as portal/services/search.py (an expression index is used only by the same expression)
PG_UP = [
    "CREATE INDEX ix_kb_articles_search ON kb_articles USING gin "
    "((setweight(to_tsvector('simple', search_title), 'A') || setweight(to_tsvector('simple', search_body), 'B')))",
    "CREATE INDEX ix_ticket_texts_search ON ticket_texts USING gin (to_tsvector('simple', tokens))",
]
PG_DOWN = ["DROP INDEX IF EXISTS ix_ticket_texts_search", "DROP INDEX IF EXISTS ix_kb_articles_search"]


def _backfill(bind) -> None:
    from portal.domain.segment import index_tokens
    kb = sa.table("kb_articles", sa.column("id"), sa.column("question"), sa.column("keywords"),
                  sa.column("answer"), sa.column("search_title"), sa.column("search_body"))
    for row in bind.execute(sa.select(kb.c.id, kb.c.question, kb.c.keywords, kb.c.answer)).all():
        bind.execute(kb.update().where(kb.c.id == row.id).values(
            search_title=index_tokens(f"{row.question} {row.keywords}"), search_body=index_tokens(row.answer)))
    tickets = sa.table("tickets", sa.column("id"), sa.column("title"), sa.column("content"), sa.column("address"))
    texts = sa.table("ticket_texts", sa.column("ticket_id"), sa.column("tokens"))
    last = 0
    while True:
        rows = bind.execute(sa.select(tickets.c.id, tickets.c.title, tickets.c.content, tickets.c.address)
                            .where(tickets.c.id > last).order_by(tickets.c.id).limit(BATCH)).all()
        if not rows:
            break
        bind.execute(texts.insert(), [{"ticket_id": r.id, "tokens": index_tokens(f"{r.title} {r.content} {r.address}")}
                                      for r in rows])
        last = rows[-1].id


def upgrade():
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_title", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("search_body", sa.Text(), server_default="", nullable=False))

    op.create_table("ticket_texts",
    sa.Column("ticket_id", sa.Integer(), autoincrement=False, nullable=False),
    sa.Column("tokens", sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_texts_ticket_id_tickets")),
    sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_texts"))
    )
    op.create_table("ticket_repeats",
    sa.Column("ticket_id", sa.Integer(), autoincrement=False, nullable=False),
    sa.Column("repeat_of_id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(["repeat_of_id"], ["tickets.id"], name=op.f("fk_ticket_repeats_repeat_of_id_tickets")),
    sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_repeats_ticket_id_tickets")),
    sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_repeats"))
    )
    with op.batch_alter_table("ticket_repeats", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_repeats_repeat_of_id"), ["repeat_of_id"], unique=False)

    bind = op.get_bind()
    _backfill(bind)
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_UP:      # from here on, triggers keep the FTS tables in step
            op.execute(statement)
        op.execute("INSERT INTO kb_fts(kb_fts) VALUES ('rebuild')")
        op.execute("INSERT INTO ticket_fts(ticket_fts) VALUES ('rebuild')")
    else:
        for statement in PG_UP:
            op.execute(statement)


def downgrade():
    bind = op.get_bind()
    for statement in (SQLITE_DOWN if bind.dialect.name == "sqlite" else PG_DOWN):
        op.execute(statement)
    with op.batch_alter_table("ticket_repeats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_repeats_repeat_of_id"))
    op.drop_table("ticket_repeats")
    op.drop_table("ticket_texts")
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.drop_column("search_body")
        batch_op.drop_column("search_title")
