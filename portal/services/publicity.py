"""政务公开: closed requests whose citizens consented to publication, for the public board.

Only the category, the street, what was asked, the unit's reply and the rating are shown.
The citizen's name, phone, e-mail, address and enterprise never leave this module: the
query does not select them, and the text goes through ``privacy.redact`` (the one scrub of every
public text: the citizen's and the enterprise's names, runs of digits long enough to be a phone
or an id number, e-mail addresses).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased, joinedload

from ..domain.lifecycle import Status
from ..domain.privacy import redact
from ..extensions import db
from ..models import Callback, Category, Ticket, Unit

PAGE_SIZE = 20


@dataclass
class Case:
    tracking_no: str
    category: Category
    street: str
    content: str
    reply: str
    closed_at: datetime
    resolved: bool | None
    satisfied: bool | None


#: the number shown is counted up to this many (then "more than"); pages go as far as it reaches
COUNT_AT_MOST = 10_000
#: a word search reads this many of the newest published cases (a plain LIKE over every one of
#: millions would read a quarter of the table for each search of a rare word)
SEARCH_WITHIN = 20_000


@dataclass
class CasePage:
    cases: list[Case]
    total: int              # counted up to COUNT_AT_MOST
    more: bool              # there are more than COUNT_AT_MOST
    page: int               # the page shown (the one asked for, within the pages there are)
    pages: int


def cases(q: str = "", page: int = 1) -> CasePage:
    """One page of published cases, newest first, and how many there are (up to ``COUNT_AT_MOST``).

    Both walk ``ix_tickets_published`` (migration 0014_published) and stop: at 10,000,000
    requests 2.5 million are published, and counting or sorting them all on every view read a
    quarter of the table. A word search looks among the newest ``SEARCH_WITHIN`` of them."""
    q = (q or "").strip()[:50]
    newest = _newest(q)
    total = db.session.scalar(select(func.count()).select_from(
        select(newest.c.id).where(*_matches(newest, q)).limit(COUNT_AT_MOST + 1).subquery())) or 0
    more = total > COUNT_AT_MOST
    total = min(total, COUNT_AT_MOST)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    street = aliased(Unit)
    rows = db.session.execute(
        select(Ticket.id, Ticket.tracking_no, Ticket.category_id, street.name, Ticket.content, Ticket.reply,
               Ticket.closed_at, Ticket.citizen_name, Ticket.enterprise_name)
        .join(newest, newest.c.id == Ticket.id)
        .outerjoin(street, street.id == Ticket.street_id).where(*_matches(newest, q))
        # the subquery's order (PostgreSQL walks ix_tickets_published backwards and stops; ordering
        # by the joined row's closed_at walked every request by its closing time instead)
        .order_by(newest.c.closed_at.desc(), newest.c.id.desc())
        .limit(max(0, min(PAGE_SIZE, total - (page - 1) * PAGE_SIZE))).offset((page - 1) * PAGE_SIZE)).all()
    ids = [r[0] for r in rows]
    cats = {c.id: c for c in db.session.scalars(select(Category).options(joinedload(Category.parent))  # full_name
                                                        .where(Category.id.in_({r[2] for r in rows})))} \
        if rows else {}
    ratings = _ratings(ids)
    out = []
    for tid, no, cat_id, street_name, content, reply, closed_at, name, enterprise in rows:
        resolved, satisfied = ratings.get(tid, (None, None))
        names = (name, enterprise)
        out.append(Case(no, cats.get(cat_id), street_name or "", redact(content, names), redact(reply, names),
                        closed_at, resolved, satisfied))
    return CasePage(out, total, more, page, pages)


def newest_stamp() -> tuple | None:
    """(closed_at, id) of the newest published case: one step down ``ix_tickets_published``.
    A kept page of cases is the same while this is (but for changes to older cases, which the
    page's time to live covers)."""
    row = db.session.execute(select(Ticket.closed_at, Ticket.id).where(*_published())
                             .order_by(Ticket.closed_at.desc(), Ticket.id.desc()).limit(1)).first()
    return tuple(row) if row else None


def _published() -> tuple:
    # "= true", not "IS true": PostgreSQL proves the partial index's predicate from the first
    # and not from the second (it sorted 2.5M rows)
    return Ticket.status == Status.CLOSED, Ticket.consent_publish == True  # noqa: E712


def _newest(q: str):
    """The published cases a view reads, newest first: all of them (a page walks the index and
    stops), or for a word search the newest ``SEARCH_WITHIN``."""
    published = (select(Ticket.id, Ticket.closed_at, Ticket.content, Ticket.reply, Ticket.category_id)
                 .where(*_published()))
    if q:
        published = published.order_by(Ticket.closed_at.desc(), Ticket.id.desc()).limit(SEARCH_WITHIN)
    return published.subquery("published")


def _matches(published, q: str) -> list:
    if not q:
        return []
    # SQLAlchemy's own escaping of % and _ (autoescape), not ours
    return [or_(published.c.content.contains(q, autoescape=True), published.c.reply.contains(q, autoescape=True),
                published.c.category_id.in_(select(Category.id).where(Category.name.contains(q, autoescape=True))))]


def _ratings(ids: list[int]) -> dict[int, tuple[bool | None, bool | None]]:
    """The rating each request counts with (rule of services.tickets.rated_callback)."""
    if not ids:
        return {}
    from sqlalchemy import and_, case
    preference = case((and_(Callback.source == "center", Callback.contacted.is_(True)), 0),
                      (Callback.source == "citizen", 1), else_=2)
    rn = func.row_number().over(partition_by=Callback.ticket_id, order_by=(preference, Callback.id.desc()))
    sub = (select(Callback.ticket_id, Callback.contacted, Callback.resolved, Callback.satisfied, rn.label("rn"))
           .where(Callback.ticket_id.in_(ids)).subquery())
    rows = db.session.execute(select(sub.c.ticket_id, sub.c.resolved, sub.c.satisfied)
                              .where(sub.c.rn == 1, sub.c.contacted.is_(True)))
    return {t: (r, s) for t, r, s in rows}
