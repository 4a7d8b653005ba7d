"""Full-text search for Chinese (全文检索): the knowledge base and requests, on SQLite and PostgreSQL.

Text is segmented by jieba (``domain.segment``) into space-separated words stored beside it:
``kb_articles.search_title`` / ``search_body`` (written by a mapper event on every insert and
update) and ``ticket_texts.tokens`` (written by ``create_ticket``). The engines index those words:

* SQLite: FTS5 tables ``kb_fts`` and ``ticket_fts`` (external content, kept by triggers in the
  same transaction), ranked by ``bm25`` (question and keywords weigh four times the answer);
* PostgreSQL: GIN indexes over stored, generated ``to_tsvector('simple', ...)`` columns
  (migrations 0011_kb_vector, 0012_ticket_vector), ranked by ``ts_rank``.

The open requests' words are also kept on their own (``ticket_open_texts``, 0018_open_texts), for
the searches that look only among open requests: the staff queue's word filter, similar requests
and merge candidates.

A query is segmented the same way; only words made of letters and digits reach the engine, each
quoted, so punctuation, FTS/tsquery operators and SQL never do. A query with no word finds nothing.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import Float, Integer, bindparam, column, func, literal_column, select, table, text

from ..domain.lifecycle import OPEN
from ..domain.segment import fts5_query, index_tokens, query_terms, tsquery
from ..extensions import db
from ..models import KbArticle, Ticket, TicketOpenText, TicketText

KB_WEIGHTS = (4.0, 1.0)     # bm25 column weights: question+keywords, answer
#: the knowledge base's words: a stored, generated tsvector column on PostgreSQL (migration 0011_kb_vector),
#: so ranking reads it instead of re-parsing every matching article
PG_KB_VECTOR = "kb_articles.search_vector"
#: the requests' words, likewise (migration 0012_ticket_vector): checked and ranked without re-parsing,
#: with word statistics for the planner
PG_TICKET_VECTOR = "ticket_texts.search_vector"
#: the open requests' words alone (migration 0018_open_texts)
PG_OPEN_VECTOR = "ticket_open_texts.search_vector"
#: on SQLite, how many of a street's newest matching-scope requests are weighed for similarity
SQLITE_CANDIDATES = 500


def _engine() -> str:
    return db.session.get_bind().dialect.name


# --- knowledge base ------------------------------------------------------------------------

def search_kb(query: str, *, today: date | None = None, category_id: int | None = None,
              include_retired: bool = False, limit: int = 10, min_terms: int = 1, options=()) -> list[KbArticle]:
    """Articles best matching ``query`` first (any of its words; none when it has no word).
    ``today`` keeps only articles valid that day; ``min_terms`` drops articles sharing fewer of the
    query's words (for suggestions to citizens); ``options``: loader options for the articles
    (what the caller shows of each)."""
    terms = query_terms(query)
    if not terms:
        return []
    if _engine() == "postgresql":
        # matched and ranked in the article's own row: joined to a ranked subquery of the same
        # table, PostgreSQL read all 10,000 articles to hash them against 停车收费's 1,407 matches
        # (13 ms where the search alone takes 5)
        vector = literal_column(PG_KB_VECTOR)
        q = func.to_tsquery(literal_column("'simple'"), bindparam("kbq", tsquery(terms)))
        rank = -func.ts_rank(vector, q, 1)
        stmt = select(KbArticle).where(vector.op("@@")(q)).options(*options)
    else:
        ranked = (text(f"SELECT rowid AS id, bm25(kb_fts, {KB_WEIGHTS[0]}, {KB_WEIGHTS[1]}) AS rank "
                       "FROM kb_fts WHERE kb_fts MATCH :kbq").bindparams(kbq=fts5_query(terms))
                  .columns(id=Integer, rank=Float).subquery("kb_ranked"))
        rank = ranked.c.rank
        stmt = select(KbArticle).join(ranked, ranked.c.id == KbArticle.id).options(*options)
    if not include_retired:
        stmt = stmt.where(KbArticle.active.is_(True))
    if today is not None:
        stmt = stmt.where((KbArticle.valid_from.is_(None)) | (KbArticle.valid_from <= today),
                          (KbArticle.valid_to.is_(None)) | (KbArticle.valid_to >= today))
    if category_id is not None:
        stmt = stmt.where(KbArticle.category_id == category_id)
    fetch = limit if min_terms <= 1 else limit * 4
    articles = list(db.session.scalars(stmt.order_by(rank, KbArticle.id).limit(fetch)))
    if min_terms > 1:
        terms = set(query_terms(query))
        need = min(min_terms, len(terms))
        articles = [a for a in articles
                    if len(terms & set(f"{a.search_title} {a.search_body}".split())) >= need][:limit]
    return articles


# --- requests --------------------------------------------------------------------------------

def ticket_tokens(title: str | None, content: str | None, address: str | None) -> str:
    """A request's search words: its title, content and address, segmented."""
    return index_tokens(f"{title or ''} {content or ''} {address or ''}")


def index_ticket(ticket: Ticket) -> TicketText:
    """Segment a new request's title, content and address into its search row, and into the open
    requests' words while it is open (same transaction)."""
    row = TicketText(ticket_id=ticket.id, tokens=ticket_tokens(ticket.title, ticket.content, ticket.address))
    db.session.add(row)
    if ticket.status in OPEN:
        db.session.add(TicketOpenText(ticket_id=ticket.id, tokens=row.tokens))
    return row


_TICKET_FTS = table("ticket_fts", column("rowid", Integer), column("ticket_fts"))
_TICKET_TEXTS = table("ticket_texts", column("ticket_id", Integer), column("tokens"))
_OPEN_TEXTS = table("ticket_open_texts", column("ticket_id", Integer), column("tokens"))


def _pg_words(open_only: bool):
    """PostgreSQL: the table of words to search and its vector, the open requests' alone or all."""
    if open_only:
        return _OPEN_TEXTS, literal_column(PG_OPEN_VECTOR)
    return _TICKET_TEXTS, literal_column(PG_TICKET_VECTOR)


def ticket_ranked(query: str, *, every: bool = False, terms: list[str] | None = None, within=None,
                  open_only: bool = False):
    """A subquery (id, rank) of requests matching the query's words (any, or ``every`` one);
    lower rank = better. ``within``: a select of request ids to look among (say, the open ones
    at one street), so the engine weighs only those; ``open_only``: only open requests (on
    PostgreSQL from their own words). None when there is no word to look for."""
    if terms is None:
        terms = query_terms(query, search_mode=not every)
    if not terms:
        return None
    if _engine() == "postgresql":
        words, vector = _pg_words(open_only)
        q = func.to_tsquery(literal_column("'simple'"), bindparam("tq", tsquery(terms, every=every)))
        stmt = (select(words.c.ticket_id.label("id"),
                       (-func.ts_rank(vector, q, 1)).label("rank"))
                .where(vector.op("@@")(q)))
        if within is not None:
            stmt = stmt.where(words.c.ticket_id.in_(within))
    else:
        fts = literal_column("ticket_fts")
        stmt = (select(_TICKET_FTS.c.rowid.label("id"), func.bm25(fts).label("rank"))
                .where(fts.op("MATCH")(bindparam("tq", fts5_query(terms, every=every)))))
        if within is not None:
            stmt = stmt.where(_TICKET_FTS.c.rowid.in_(within))
        if open_only:
            stmt = stmt.where(_TICKET_FTS.c.rowid.in_(select(_OPEN_TEXTS.c.ticket_id)))
    return stmt.subquery("ticket_ranked")


def ticket_match_ids(query: str, *, open_only: bool = False, from_id=None):
    """For filters (the staff queue): ids of requests containing every word of ``query``, as a
    select for ``Ticket.id.in_(...)``; None when the query has no word. Nothing is ranked.

    ``open_only``: only open requests. PostgreSQL reads them from the open requests' own words
    (``ticket_open_texts``, migration 0018_open_texts), however common the words are in the
    city's history. ``from_id`` (a value or a scalar subquery): only requests from this id on; on
    SQLite the queue passes its oldest open request, so FTS5 reads only the recent end of a common
    word's matches (open work is recent, and ids grow with time)."""
    terms = query_terms(query, search_mode=False)
    if not terms:
        return None
    if _engine() == "postgresql":
        words, vector = _pg_words(open_only)
        q = func.to_tsquery(literal_column("'simple'"), bindparam("tq", tsquery(terms, every=True)))
        stmt = select(words.c.ticket_id).where(vector.op("@@")(q))
        if from_id is not None and not open_only:
            stmt = stmt.where(words.c.ticket_id >= from_id)
        return stmt
    fts = literal_column("ticket_fts")
    stmt = select(_TICKET_FTS.c.rowid).where(fts.op("MATCH")(bindparam("tq", fts5_query(terms, every=True))))
    if from_id is not None:
        stmt = stmt.where(_TICKET_FTS.c.rowid >= from_id)
    if open_only:
        stmt = stmt.where(_TICKET_FTS.c.rowid.in_(select(_OPEN_TEXTS.c.ticket_id)))
    return stmt


def similar_tickets(query_or_terms, *, where=(), limit: int = 5, min_share: float = 0.0,
                    exclude_id: int | None = None, open_only: bool = False) -> list[tuple[Ticket, float]]:
    """Requests whose words best match, with the share of the query's words each contains
    (0..1), best first; ``where`` narrows them (same street...), ``open_only`` keeps open requests
    (searched among their own words), ``min_share`` drops weak matches. Only the best
    ``limit * 4`` by rank are weighed, so this stays one indexed query."""
    terms = query_or_terms if isinstance(query_or_terms, list) else query_terms(query_or_terms)
    within = select(Ticket.id).where(*where) if where else None
    if within is not None and exclude_id is not None:
        within = within.where(Ticket.id != exclude_id)
    if not terms:
        return []
    words = TicketOpenText if open_only else TicketText
    if within is not None and _engine() == "sqlite":
        # FTS5 cannot narrow a MATCH to a set of rowids (it reads every match in the city, then
        # filters): among one street's requests, weigh the newest candidates' words directly.
        stmt = (select(Ticket, words.tokens).join(words, words.ticket_id == Ticket.id)
                .where(Ticket.id.in_(within)).order_by(Ticket.created_at.desc(), Ticket.id.desc())
                .limit(SQLITE_CANDIDATES))
    elif within is not None:
        # the best candidates by their words alone, then only those requests read: joined to the
        # requests before ranking, PostgreSQL read every open request of the street from the table
        # (216 rows for 20 kept; at 10,000,000 requests each on its own page)
        ranked = ticket_ranked("", terms=terms, within=within, open_only=open_only)
        best = (select(ranked.c.id, ranked.c.rank).order_by(ranked.c.rank, ranked.c.id.desc())
                .limit(limit * 4).subquery("best"))
        stmt = (select(Ticket, words.tokens).join(best, best.c.id == Ticket.id)
                .join(words, words.ticket_id == Ticket.id).order_by(best.c.rank, Ticket.id.desc()))
    else:
        ranked = ticket_ranked("", terms=terms, open_only=open_only)
        stmt = (select(Ticket, words.tokens).join(ranked, ranked.c.id == Ticket.id)
                .join(words, words.ticket_id == Ticket.id)
                .order_by(ranked.c.rank, Ticket.id.desc()).limit(limit * 4))
        if exclude_id is not None:
            stmt = stmt.where(Ticket.id != exclude_id)
    rows = db.session.execute(stmt).all()
    wanted = set(terms)
    scored = []
    for ticket, tokens in rows:
        share = len(wanted & set(tokens.split())) / len(wanted)
        if share > 0 and share >= min_share:
            scored.append((ticket, share))
    scored.sort(key=lambda s: -s[1])          # stable: equal shares keep the engine's order
    return scored[:limit]


def terms_of_ticket(ticket: Ticket, max_terms: int = 16) -> list[str]:
    """The words that describe a request (for finding near-duplicates of it)."""
    return query_terms(f"{ticket.title} {ticket.content}", max_terms=max_terms, search_mode=False)
