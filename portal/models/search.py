"""Search text of requests and the links between repeated requests (issue 7)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .ticket import Ticket

#: tables that exist only in the database, not in these models: SQLite's FTS5 indexes and
#: their shadow tables (created by migration 0007_kb; see ``include_name``)
FTS_TABLES = ("kb_fts", "ticket_fts")


#: columns and indexes that exist on one engine only and are not models (migrations 0007_kb,
#: 0011_kb_vector, 0012_ticket_vector, 0013_queue_order, 0015_open_id, 0018_open_texts)
ENGINE_ONLY = {("column", "search_vector"), ("index", "ix_kb_articles_vector"), ("index", "ix_kb_articles_search"),
               ("index", "ix_ticket_texts_search"), ("index", "ix_ticket_texts_vector"),
               ("index", "ix_ticket_texts_open_vector"), ("index", "ix_ticket_open_texts_vector"),
               ("index", "ix_tickets_queue_order"),
               ("index", "ix_tickets_queue_new"), ("index", "ix_tickets_open_category"),
               ("index", "ix_tickets_open_urgency"), ("index", "ix_tickets_open_district"),
               ("index", "ix_tickets_open_street"), ("index", "ix_tickets_open_id")}


def include_name(name, type_, parent_names) -> bool:
    """For Alembic's compare: skip the FTS5 virtual tables and their shadow tables, and the
    PostgreSQL-only search vector column and GIN indexes."""
    if type_ == "table" and name:
        return not any(name == t or name.startswith(t + "_") for t in FTS_TABLES)
    return (type_, name) not in ENGINE_ONLY


class TicketText(db.Model):
    """A request's title, content and address segmented into words (分词), written at intake.

    SQLite indexes ``tokens`` in the FTS5 table ``ticket_fts`` (kept by triggers), PostgreSQL
    in a GIN index over the generated column ``search_vector`` (``to_tsvector('simple', tokens)``).
    The open requests' words are also in ``TicketOpenText``.
    """
    __tablename__ = "ticket_texts"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True, autoincrement=False)
    tokens: Mapped[str] = mapped_column(Text, default="")


class TicketOpenText(db.Model):
    """The open requests' words alone (migration 0018_open_texts): a row while the request is open
    (its status in ``OPEN``), written at intake with its ``TicketText`` and deleted or written again
    by ``services.tickets.perform`` in the flush that changes the status.

    The staff queue's word filter and the search for similar or duplicate requests look only among
    open requests. Beside 10,000,000 requests' words (8 GB) each match read a page of their own
    table, rarely in memory; this table holds the ~86,000 open ones (tens of MB) and stays there.
    PostgreSQL indexes it in a GIN index over a generated ``search_vector``, as ``ticket_texts``.
    """
    __tablename__ = "ticket_open_texts"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True, autoincrement=False)
    tokens: Mapped[str] = mapped_column(Text, default="")


class TicketRepeat(db.Model):
    """重复反映: this request repeats an earlier one (same caller, category and street within 30 days)."""
    __tablename__ = "ticket_repeats"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True, autoincrement=False)
    repeat_of_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    ticket: Mapped[Ticket] = relationship(foreign_keys=[ticket_id])
    repeat_of: Mapped[Ticket] = relationship(foreign_keys=[repeat_of_id])
