"""Work queues: which requests each tier sees in which tab, as SQL.

Every tab is a WHERE clause on ``Ticket``; the tab counts are one aggregate query
(``count(*) FILTER (WHERE ...)``), the rows one paged query with the units and category joined in,
so a queue page costs the same few statements whatever its size.
"""
from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import cache
from typing import NamedTuple

from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy import Integer, and_, any_, bindparam, case, cast, false, func, literal_column, or_, select, true, text as sql_text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased, joinedload, selectinload

from ..domain.access import Actor, Role, Tier, can
from ..domain.deadlines import Urgency, from_local
from ..domain.lifecycle import N_, OPEN, WITH_UNIT, Action, Status
from ..extensions import db
from ..models import Category, Ticket, TicketUnit, Unit
from . import search
from .tickets import facts_for, visible_clause

S = Status
PAGE_SIZE = 30
log = logging.getLogger(__name__)
DUE_SOON = timedelta(hours=24)
PINGPONG_RETURNS = 2
#: a query that looks like the start of a tracking number (digits and dashes) filters by it, not by words
TRACKING_PREFIX = re.compile(r"\d{4,}[\d-]*")


@dataclass(frozen=True)
class Tab:
    key: str
    label: str


CENTER_TABS = [
    Tab("intake", N_("待受理/派单")), Tab("returns", N_("退单审核")), Tab("extensions", N_("延期审核")),
    Tab("callback", N_("待回访")), Tab("due_soon", N_("24小时内到期")), Tab("overdue", N_("已超期")),
    Tab("supervised", N_("督办中")), Tab("pingpong", N_("多次退单")), Tab("all", N_("全部在办")),
]
UNIT_TABS = [
    Tab("to_sign", N_("待签收")), Tab("handling", N_("办理中")), Tab("due_soon", N_("24小时内到期")),
    Tab("overdue", N_("已超期")), Tab("returned", N_("退单中")), Tab("to_review", N_("待审核")),
    Tab("all", N_("全部在办")),
]


def tabs_for(actor: Actor) -> list[Tab]:
    if actor.role in (Role.OPERATOR, Role.DISPATCHER):
        return CENTER_TABS
    if actor.role in (Role.HANDLER, Role.LEADER):
        return UNIT_TABS
    return []


def status_in(statuses):
    """``status IN (...)`` with the statuses written into the SQL as literals, not bound.

    PostgreSQL's partial index in the queue's order (``ix_tickets_queue_order``, migration
    0013_queue_order: ``WHERE status IN (the open statuses)``) serves a query only when the
    planner can prove from the query's own condition that every row it wants is in the index,
    and a bound parameter proves nothing once a statement is prepared (psycopg prepares a
    statement run five times, and PostgreSQL may then plan it without the values). The statuses
    are this module's own constants, never user input."""
    values = sorted(s.value for s in statuses)
    if len(values) == 1:
        return Ticket.status == literal_column(f"'{values[0]}'")
    return Ticket.status.in_([literal_column(f"'{v}'") for v in values])


def _open():
    return status_in(OPEN)


def _with_unit():
    return status_in(WITH_UNIT)


#: bind parameters of the tab clauses: built once per process (``_clauses``), given values per page
NOW, SOON, UNIT = "queue_now", "queue_soon", "queue_unit"


def _kind(actor: Actor) -> str | None:
    if actor.role in (Role.OPERATOR, Role.DISPATCHER):
        return "center"
    if actor.role in (Role.HANDLER, Role.LEADER):
        return actor.role.value
    return None


@cache
def _clauses(kind: str, within_open: bool = False) -> dict:
    """The WHERE clause of every tab for this kind of actor, by key, with bind parameters for the
    time and the unit (``tab_params``): built once per process, since building SQL expressions
    cost more than a small query. ``within_open``: for a query already limited to the open
    requests (the counts), the terms that only say "open" again are left out."""
    now, soon, unit = bindparam(NOW), bindparam(SOON), bindparam(UNIT)
    is_open = true() if within_open else _open()
    if kind == "center":
        return {
            "intake": status_in([S.SUBMITTED, S.ACCEPTED]),
            "returns": status_in([S.RETURN_PENDING]),
            "extensions": status_in([S.EXTENSION_PENDING]),
            "callback": status_in([S.FED_BACK, S.CALLED_BACK]),
            "due_soon": and_(_with_unit(), Ticket.feedback_due_at >= now, Ticket.feedback_due_at < soon),
            "overdue": and_(_with_unit(), Ticket.feedback_due_at < now),
            "supervised": and_(is_open, Ticket.supervision_level > 0),
            "pingpong": and_(is_open, Ticket.return_count >= PINGPONG_RETURNS),
            "all": is_open,
        }
    mine = Ticket.handling_unit_id == unit
    # feedback waiting for this actor's approval (the reviewer is recorded on the request); a
    # handler reviews what does not wait for the leader
    review = and_(status_in([S.FEEDBACK_REVIEW]), Ticket.review_unit_id == unit)
    if kind != Role.LEADER.value:
        review = and_(review, Ticket.review_by_leader.is_(False))
    return {
        "to_sign": and_(mine, status_in([S.DISPATCHED])),
        "handling": and_(mine, status_in([S.HANDLING, S.EXTENSION_PENDING, S.FEEDBACK_REVIEW])),
        "due_soon": and_(mine, _with_unit(), Ticket.feedback_due_at >= now, Ticket.feedback_due_at < soon),
        "overdue": and_(mine, _with_unit(), Ticket.feedback_due_at < now),
        "returned": and_(mine, status_in([S.RETURN_PENDING])),
        "to_review": review,
        "all": is_open,
    }


def tab_clauses(actor: Actor) -> dict:
    """The tab clauses for this actor (``_clauses``); run them with ``tab_params``."""
    kind = _kind(actor)
    return _clauses(kind) if kind else {}


def tab_params(actor: Actor, now: datetime) -> dict:
    """The values of the tab clauses' bind parameters."""
    return {NOW: now, SOON: now + DUE_SOON, UNIT: actor.unit_id}


@cache
def _count_columns(kind: str) -> tuple:
    """``count(*) FILTER (WHERE tab)`` per tab. PostgreSQL tests a FILTER's condition without
    evaluating an expression per row: the center's nine counts over 89,974 open requests at
    10,000,000 took 71 ms of CPU where ``sum(CASE ...)`` took 133 ms. SQLite has FILTER from 3.30."""
    tabs = CENTER_TABS if kind == "center" else UNIT_TABS
    clauses = _clauses(kind, within_open=True)
    if sqlite3.sqlite_version_info < (3, 30) and is_sqlite():
        return tuple(func.coalesce(func.sum(case((clauses[t.key], 1), else_=0)), 0).label(t.key) for t in tabs)
    return tuple(func.count().filter(clauses[t.key]).label(t.key) for t in tabs)


def unit_scope_ids(actor: Actor, unit_path: str):
    """A unit's open requests as a select of ids (its subtree's open rows in ``ticket_units``), or
    None for the center, which sees every request."""
    if actor.role in (Role.HANDLER, Role.LEADER) and actor.unit_id is not None:
        return (select(TicketUnit.ticket_id).join(Unit, Unit.id == TicketUnit.unit_id)
                .where(TicketUnit.ticket_open == true(), Unit.path.startswith(unit_path, autoescape=True)))
    return None


def queue_scope(actor: Actor, unit_path: str, walk: bool = False):
    """The open requests this actor may see, for the queues (every tab is a subset of the open ones).

    The same requests as ``visible_clause`` among the open ones, found from the other end: a unit
    starts from its own subtree's open rows in ``ticket_units`` (the partial index
    ``ix_ticket_units_open``: a street's few hundred) rather than checking every open request of
    the city against its handling path. The center sees every request (no clause).

    ``walk`` (PostgreSQL): for a page read in order from ``ix_tickets_queue_order``, the same
    test written so that it stays a filter (a hash of the unit's ids, built once) instead of
    becoming a join. As a join PostgreSQL judges a unit's open requests a handful of the table's
    10,000,000 (74 estimated where a district has 6,357), so it reads and sorts the city's open
    requests (27 ms), which is right for a count or a small unit, and wrong for a page of a big
    one; as a filter it walks the index in order and stops at the unit's 30th (3 ms)."""
    mine = unit_scope_ids(actor, unit_path)
    if mine is not None:
        if walk and not is_sqlite():
            return func.coalesce(Ticket.id.in_(mine), false())
        return Ticket.id.in_(mine)
    return visible_clause(actor, unit_path)


def is_sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def _open_rare():
    """``_open()``, marked for SQLite's planner as true for few rows.

    Open requests are a small share of all (about 1 % of a year's), but SQLite's statistics (no
    STAT4) only know the average rows per status; with nine statuses bound as parameters it
    estimated most of the table and scanned all of it whenever a query needed more columns than an
    index holds: 0.3 s for one count on 100,000 requests (bench/bench_queue.py,
    docs/benchmarks/queues-and-load.md). ``likelihood(X, 0.01)`` is X, with that hint; other engines get X.
    Every tab is a subset of the open requests, so adding this term changes no result.
    On PostgreSQL the term is left out (None): it has per-status statistics, and a second copy
    of the status condition made it square the selectivity (2,469 rows estimated for 122,143)
    and pick a plain index scan over the index-only one: 2.1 s instead of a fraction of that.
    """
    clause = _open()
    if db.session.get_bind().dialect.name == "sqlite":
        return func.likelihood(clause, literal_column("0.01"))   # untyped: a Boolean would add "= 1"
    return None


#: kept counts older than this are not served while they are counted again: counted at once
STALE_AT_MOST_SECONDS = 60


def counts(actor: Actor, now: datetime, unit_path: str, fresh: bool = False) -> dict[str, int]:
    """All tab counts in one query, kept ``QUEUE_COUNTS_SECONDS`` per scope in this process and
    counted again behind the pages that find them old.

    Every center user shares the center's counts, and each of the 1,400 operators' tab bars polls
    them every 30 s besides every page they open: counted each time, that is dozens of scans of
    all open requests a second (at 10,000,000 requests, about 45 ms of wall and 70-130 ms of CPU
    each; docs/BENCHMARKS.md). Kept, a process counts a scope at most once in that time.

    A page that finds its scope's counts old (older than the TTL, or this process has changed a
    request since: ``forget_counts``) is served them as they are, up to ``STALE_AT_MOST_SECONDS``
    old, while one thread of this process counts the scope again for the pages after it: no page
    waits for a count but the first of a scope, one kept too long, or one asked ``fresh``: the
    staff pages ask for that right after the user's own change (``note_own_change``), whichever
    process serves them, so a user sees their own work counted at once. Other people's changes
    show within the TTL and a count's time, well inside the tab bar's own 30 s refresh."""
    kind = _kind(actor)
    if kind is None:
        return {}
    ttl = current_app.config["QUEUE_COUNTS_SECONDS"]
    key = (kind, actor.tier, None if kind == "center" else actor.unit_id, None if kind == "center" else unit_path)
    statement = (select(*_count_columns(kind)).select_from(Ticket)
                 .where(queue_scope(actor, unit_path), _open_rare() if is_sqlite() else _open()))
    params = tab_params(actor, now)
    if ttl <= 0:
        return _count(statement, params)
    kept = _Kept.of(current_app)
    generation, hit = kept.generation, kept.entries.get(key)
    if hit is not None and not fresh:
        hit_generation, counted_at, found = hit
        age = time.monotonic() - counted_at
        if hit_generation == generation and age < ttl:
            return dict(found)
        if age < STALE_AT_MOST_SECONDS:
            kept.count_behind(current_app._get_current_object(), key, statement, params)
            return dict(found)
    found = _count(statement, params)
    kept.keep(key, generation, found)
    return dict(found)


def _count(statement, params, *, behind: bool = False) -> dict[str, int]:
    """``behind``: counted in a thread for the pages after this one (no page waits for it), so on
    PostgreSQL in one process rather than parallel workers. A parallel count of the center's open
    requests at 10,000,000 takes about 45 ms of wall on three processes (120 ms of CPU); alone, 70
    ms on one. Nobody waits for a count behind the pages, and on a busy two-core server the CPU
    the workers take is what the pages being served lack."""
    if behind and not is_sqlite():
        # this transaction only: the session's connection goes back to the pool as it was
        db.session.execute(sql_text("SET LOCAL max_parallel_workers_per_gather = 0"))
    row = db.session.execute(statement, params).one()
    return {key: int(value) for key, value in row._mapping.items()}


class _Kept:
    """One app's kept counts in this process, and the threads counting them again."""

    def __init__(self) -> None:
        self.generation = 0
        self.entries: dict[tuple, tuple[int, float, dict]] = {}
        self.counting: dict[tuple, threading.Thread] = {}
        self.lock = threading.Lock()

    @staticmethod
    def of(app) -> "_Kept":
        # per app, so the tests' many apps in one process never share one
        kept = app.extensions.get("queue_counts")
        if kept is None:
            kept = app.extensions.setdefault("queue_counts", _Kept())
        return kept

    def keep(self, key, generation: int, found: dict) -> None:
        if len(self.entries) > 10_000:       # scopes are units (about 2,000 in Beijing): never reached in use
            self.entries.clear()
        self.entries[key] = (generation, time.monotonic(), found)

    def count_behind(self, app, key, statement, params) -> None:
        """Count ``key`` again in a thread of this process, unless one is counting it already."""
        with self.lock:
            if key in self.counting:
                return
            thread = threading.Thread(target=self._count_in_thread, args=(app, key, statement, params),
                                      name="queue-counts", daemon=True)
            self.counting[key] = thread
        thread.start()

    def _count_in_thread(self, app, key, statement, params) -> None:
        try:
            generation = self.generation     # a change made while counting leaves the result old
            with app.app_context():
                self.keep(key, generation, _count(statement, params, behind=True))
        except Exception:                    # the pages go on with the kept counts; the next one tries again
            log.exception("counting a queue's tabs again failed")
        finally:
            with self.lock:
                self.counting.pop(key, None)

    def settle(self, timeout: float = 30.0) -> None:
        """Wait for the counts being counted again (tests; a worker's shutdown)."""
        with self.lock:
            threads = list(self.counting.values())
        for thread in threads:
            thread.join(timeout)


def settle_counts() -> None:
    """Wait until this app's counts being counted again behind the pages are kept."""
    if has_app_context():
        kept = current_app.extensions.get("queue_counts")
        if kept is not None:
            kept.settle()


def forget_counts() -> None:
    """This process changed a request: the counts it kept may be wrong now (counted again behind
    the next page of each scope)."""
    if has_app_context():
        _Kept.of(current_app).generation += 1
    if has_request_context():
        g.queue_counts_changed = True       # note_own_change: this user's next page counts at once


def note_own_change(session) -> None:
    """After a staff request: if it changed a request, the user's next queue page counts its tabs
    at once (``fresh``), whichever process serves it. ``session`` is Flask's."""
    if g.get("queue_counts_changed"):
        session["recount"] = 1


def own_change_pending(session) -> bool:
    """Before a staff page's counts: the user changed a request since their last counted page."""
    return "recount" in session and session.pop("recount") is not None


@dataclass
class Filters:
    category_id: int | None = None
    urgency: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    district_id: int | None = None
    street_id: int | None = None
    text: str = ""
    sort: str = "due"            # due | new
    page: int = 1
    errors: list[str] = field(default_factory=list)

    @property
    def narrows(self) -> bool:
        """Does any filter narrow the tab (sorting and the page do not)?"""
        return bool(self.category_id or self.urgency or self.date_from or self.date_to or self.district_id
                    or self.street_id or self.text)

    def as_args(self) -> dict:
        out = {k: v for k, v in {
            "category": self.category_id, "urgency": self.urgency, "from": self.date_from, "to": self.date_to,
            "district": self.district_id, "street": self.street_id, "q": self.text or None,
            "sort": None if self.sort == "due" else self.sort}.items() if v}
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in out.items()}


def parse_filters(args) -> Filters:
    f = Filters()

    def as_int(name):
        value = args.get(name, "").strip()
        if not value:
            return None
        if not value.isdigit():
            f.errors.append(name)
            return None
        return int(value)

    def as_date(name):
        value = args.get(name, "").strip()
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            f.errors.append(name)
            return None

    f.category_id = as_int("category")
    f.district_id = as_int("district")
    f.street_id = as_int("street")
    f.urgency = args.get("urgency") if args.get("urgency") in ("normal", "urgent") else None
    f.date_from, f.date_to = as_date("from"), as_date("to")
    f.text = (args.get("q") or "").strip()[:100]
    f.sort = "new" if args.get("sort") == "new" else "due"
    page = as_int("page")
    f.page = page if page and page > 0 else 1
    return f


def next_due_expr():
    """The deadline that matters now: sign-for while waiting to be signed, else feedback.

    Written exactly as PostgreSQL's ``ix_tickets_queue_order`` (migration 0013_queue_order) is
    defined, with the status as a literal: an index on an expression serves only a query that
    writes the same expression."""
    return case((status_in([S.DISPATCHED]), Ticket.sign_due_at), else_=Ticket.feedback_due_at)


#: a tab of at most this many requests is sorted rather than walked in ix_tickets_queue_order
SORT_AT_MOST = 5_000
#: the same for a unit's tabs. A unit's scope is a join from its rows in ticket_units, and sorting
#: its matches reads each one's table row (a street's 1,905 open requests at 10,000,000: 9 ms),
#: where the center's are read from an index; walking finds a page of a unit's 1,905 in the
#: first 2 % of the city's open requests (2 ms). Below this the unit's few are cheaper to sort.
SORT_AT_MOST_UNIT = 500
#: PostgreSQL: a unit holding more open requests than this intersects them with a word filter's
#: matches, where a smaller one checks each of its own against them (``rows``)
WORDS_INTERSECT_FROM = 1_000


def sort_at_most(actor: Actor) -> int:
    """How many matches a tab may hold and still be sorted rather than walked (PostgreSQL)."""
    return SORT_AT_MOST if _kind(actor) == "center" else SORT_AT_MOST_UNIT


def queue_order(sort: str, walk: bool) -> list:
    """The ORDER BY of a queue page: the newest first, or the nearest deadline first (requests
    without one last), then the oldest.

    ``walk``: written as ``NULLS LAST``, the order of PostgreSQL's ``ix_tickets_queue_order``,
    so the page reads the index in order and stops at its 30th match: right when the matches are
    many (the center's 91,000 open requests at 10,000,000 requests a year, 20 ms to sort). The
    same order written with a CASE for "no deadline" matches no index, so the database sorts the
    matches it finds through ``ix_tickets_queue``: right when they are few, since a walk in order
    may pass most of the index before its 30th match (the intake tab's requests have no deadline
    and lie at its end: 20 ms to walk, 2 ms to sort). SQLite always sorts (no such index)."""
    if sort == "new":
        return [Ticket.created_at.desc(), Ticket.id.desc()]
    due = next_due_expr()
    if not walk:
        return [case((due.is_(None), 1), else_=0), due, Ticket.created_at, Ticket.id]
    return [due.asc().nulls_last(), Ticket.created_at, Ticket.id]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def rows(actor: Actor, tab: str, filters: Filters, now: datetime, unit_path: str, tab_counts: dict | None = None):
    """(requests on this page, total matching) for a tab and filters. ``tab_counts``: this moment's
    ``counts`` for the actor, if the page has them already; with no filter narrowing the tab, its
    count is the total, and no second count is run."""
    clauses = tab_clauses(actor)
    clause = clauses.get(tab, clauses.get("all"))
    params = tab_params(actor, now)
    conds = [clause]
    if is_sqlite():
        conds.append(_open_rare())
    if filters.category_id:
        # the category and its subcategories as values: tested on each queue index entry, where a
        # subquery was a join to categories for every open request in scope
        chosen = list(db.session.scalars(select(Category.id).where(or_(Category.id == filters.category_id,
                                                                         Category.parent_id == filters.category_id))))
        conds.append(Ticket.category_id.in_(chosen) if chosen else false())
    if filters.urgency:
        conds.append(Ticket.urgency == filters.urgency)
    if filters.date_from:
        conds.append(Ticket.created_at >= from_local(datetime.combine(filters.date_from, datetime.min.time())))
    if filters.date_to:
        end = datetime.combine(filters.date_to, datetime.min.time()) + timedelta(days=1)
        conds.append(Ticket.created_at < from_local(end))
    if filters.district_id:
        conds.append(Ticket.district_id == filters.district_id)
    if filters.street_id:
        conds.append(Ticket.street_id == filters.street_id)
    by_words = bool(filters.text) and not TRACKING_PREFIX.fullmatch(filters.text)
    scoped_by_words = False
    center_words = None         # PostgreSQL, the center: (the matches as a select, their lookup by id)
    if filters.text:
        # the Chinese full-text search (every word of the query in the title, content or address),
        # or the start of a tracking number
        if not by_words:
            conds.append(Ticket.tracking_no.like(f"{_escape_like(filters.text)}%", escape="\\"))
        else:
            if is_sqlite():
                # FTS5 reads a word's matches from the queue's oldest open request on (min(id + 0):
                # from the open requests in the queue index, not by walking the primary key)
                oldest_open = (select(func.min(Ticket.id + 0)).where(queue_scope(actor, unit_path), _open())
                               .scalar_subquery())
                words = search.ticket_match_ids(filters.text, from_id=oldest_open)
                # "id + 0" keeps it from looking each match up in the table (a common word has
                # thousands of recent matches); it reads the open requests from the queue index
                # and checks each against the matches instead
                conds.append(false() if words is None else (Ticket.id + 0).in_(words))
            else:
                # PostgreSQL: the matches from the open requests' own words (ticket_open_texts,
                # migration 0018_open_texts: tens of MB that stay in memory, where each match read
                # a page of every request's 8 GB of words at 10,000,000 requests). A unit's few
                # open requests are hashed against them (IN); the center's are all of the city's,
                # so there each match is looked up instead, as one
                # array, in ix_tickets_open_id (migration 0015_open_id: what the tabs test and the
                # order, by id). Hashed, the center's 2,078 matches of 路灯 at 10,000,000 requests
                # read 86,045 open requests (18 ms); looked up, 8 ms. A common word on the center's
                # "all" tab walks the queue's order instead (_center_words_page). (An array's length is unknown
                # to the planner: a unit's scope joined to it was planned as if for one match.)
                words = search.ticket_match_ids(filters.text, open_only=True)
                mine = unit_scope_ids(actor, unit_path)
                if words is None:
                    conds.append(false())
                elif _kind(actor) == "center":
                    matches = words.with_only_columns(func.array_agg(words.selected_columns[0])).scalar_subquery()
                    center_words = (words, Ticket.id == any_(cast(matches, ARRAY(Integer))))
                    conds.append(center_words[1])
                elif mine is not None and (tab_counts or {}).get("all", 0) > WORDS_INTERSECT_FROM:
                    # a big unit (a district, a department): its open requests and the matches
                    # intersected, each read once, and only the requests in both looked up. Joined
                    # (IN), PostgreSQL judges a unit's scope a handful (105 estimated for a
                    # district's 8,142) and checks each one's words in turn: 噪声 in 朝阳区 at
                    # 10,000,000 requests 43 -> 14 ms; a street of 250 keeps the join (3 ms; 11
                    # intersected)
                    conds.append(Ticket.id.in_(words.intersect_all(mine)))
                    scoped_by_words = True
                else:
                    conds.append(Ticket.id.in_(words))

    def matching(walk: bool = False):
        if scoped_by_words:        # the unit's open requests are in the words' intersection already
            return select(Ticket.id).where(*conds)
        return select(Ticket.id).where(queue_scope(actor, unit_path, walk), *conds)

    def count() -> int:
        return db.session.scalar(matching().with_only_columns(func.count(Ticket.id)), params)

    def page(size: int) -> list[int]:
        """The page's ids, walking ix_tickets_queue_order (PostgreSQL) when the tab holds more
        than ``sort_at_most`` requests, else sorting them."""
        walk = not sqlite and size > most
        ordered = matching(walk).order_by(*queue_order(filters.sort, walk)).limit(PAGE_SIZE).offset(start)
        return list(db.session.scalars(ordered, params))

    # The page's ids first, from indexed columns only (ix_tickets_queue_order or ix_tickets_queue),
    # so no table row is read for the open requests being ordered; then the 30 rows with what they show.
    start = (filters.page - 1) * PAGE_SIZE
    sqlite = is_sqlite()
    most = sort_at_most(actor)
    walked = None
    if center_words is not None and tab == "all" and _only_words(filters):
        walked = _center_words_page(*center_words, clause, filters, start, params, tab_counts)
    if walked is not None:
        ids, total = walked
    elif by_words and sqlite:
        # a word search runs once: every matching open request's id in order (they are at most the
        # open work in scope), the total is their number and the page a slice of them
        ordered = matching().order_by(*queue_order(filters.sort, walk=False))
        every = db.session.connection().execute(ordered, params).scalars().all()   # plain ids: no ORM rows
        total, ids = len(every), every[start:start + PAGE_SIZE]
    elif tab_counts is not None and tab in tab_counts and not filters.narrows:
        total = tab_counts[tab]
        ids = page(total)
    elif not sqlite and (by_words or (tab_counts and tab_counts.get(tab, most + 1) <= most)):
        # PostgreSQL, a word search or a filtered page of a small tab (a street's work, the
        # center's intake): the page and the number of matches from one pass over the matches or
        # one read and sort of the tab (a window count), not every matching id brought back
        # (6,362 for 小区 at the center)
        got = db.session.connection().execute(
            matching().order_by(*queue_order(filters.sort, walk=False)).add_columns(func.count().over())
            .limit(PAGE_SIZE).offset(start), params).all()
        ids = [r[0] for r in got]
        # no row: past the last page (count them), or no match at all for a word search's first page
        total = got[0][1] if got else (count() if start or not by_words else 0)
    else:
        # a filtered page of a big tab (or SQLite's): the number of matches first, a count that
        # reads the index without keeping rows (a window count kept every match, 71,000 for a week
        # of the center's at 10,000,000 requests, before its first row came out); then the page,
        # walked when the tab is big: a filter leaves its matches spread through the order, so the
        # walk finds 30 early (a district's page: 3 ms where reading and sorting its 6,357 open
        # requests took 27 ms)
        total = count()
        ids = page(tab_counts.get(tab, total) if tab_counts else total)
    if not ids:
        return [], total
    found = {r.id: r for r in map(QueueRow._make, db.session.connection().execute(_row_statement(), {"ids": ids}))}
    return [found[i] for i in ids if i in found], total


def _only_words(filters: Filters) -> bool:
    """Is the word filter the only filter narrowing the tab?"""
    return not replace(filters, text="").narrows


#: PostgreSQL, the center's word filter: walk the queue's order when the walk is expected to pass
#: at most this many open requests for each match it would otherwise look up (``_center_words_page``).
#: Measured at 10,000,000 requests (84,567 open), rows() each way for 13 words of 189-1,520 open
#: matches: the walk was the faster from about 500 matches (八达岭, 564: 3.9 against 4.2 ms; 东风,
#: 469: 4.2 against 3.8), where it passes about 10 entries a match
WALK_PER_MATCH = 10.0


def _center_words_page(words, looked_up, tab_clause, filters: Filters, start: int, params: dict,
                       tab_counts: dict | None) -> tuple[list[int], int] | None:
    """The center's word filter on the "all" tab, every open request of the city (PostgreSQL):
    (the page's ids, the number of matches), or None without the tab counts (the general way).

    ``ticket_open_texts`` holds exactly the open requests' words (kept in the same flush as the
    status: migration 0018_open_texts), so the number of matches is a count of that table alone,
    no request read, and the page needs no window count. Then the page, one of two ways:

    * a common word's matches are many and spread through the queue's order: walking the order
      (``ix_tickets_queue_order``, or ``ix_tickets_queue_new`` for the newest first) with the
      matches hashed finds a page's 30 after about 30 x open / matches entries (路灯 at
      10,000,000 requests: 2,042 matches of 84,567 open, about 1,250 entries; rows() 10.1 ->
      6.0 ms), where looking every match up and sorting them reads each one;
    * a rare word's few matches are looked up by id in ``ix_tickets_open_id`` (``looked_up``) and
      sorted: a walk would pass most of the city's open requests before finding them.

    ``WALK_PER_MATCH`` sets the line between the two: walk when the entries expected to be passed
    are at most that many per match."""
    if not tab_counts or "all" not in tab_counts:
        return None
    total = db.session.scalar(words.with_only_columns(func.count(), maintain_column_froms=True), params) or 0
    if total <= start:
        return [], total
    passed = (start + PAGE_SIZE) * tab_counts["all"] / total     # open requests walked to this page's end
    walk = passed <= WALK_PER_MATCH * total
    match = func.coalesce(Ticket.id.in_(words), false()) if walk else looked_up
    statement = (select(Ticket.id).where(tab_clause, match)
                 .order_by(*queue_order(filters.sort, walk)).limit(PAGE_SIZE).offset(start))
    return list(db.session.scalars(statement, params)), total


class QueueRow(NamedTuple):
    """What a queue row shows: plain values read in one statement, not ORM objects (loading 30
    requests with their units as objects cost more than every statement of the page together)."""
    id: int
    tracking_no: str
    title: str
    status: Status
    urgency: Urgency
    return_count: int
    supervision_level: int
    sign_due_at: datetime | None
    feedback_due_at: datetime | None
    handling_unit_id: int | None
    handling_unit_name: str | None
    #: the street, else the district, else ""
    place: str


@cache
def _row_statement():
    """Built once: the columns a row shows for the page's ids, the unit names joined in."""
    handling, street, district = aliased(Unit), aliased(Unit), aliased(Unit)
    return (select(Ticket.id, Ticket.tracking_no, Ticket.title, Ticket.status, Ticket.urgency, Ticket.return_count,
                   Ticket.supervision_level, Ticket.sign_due_at, Ticket.feedback_due_at, Ticket.handling_unit_id,
                   handling.name, func.coalesce(street.name, district.name, ""))
            .outerjoin(handling, handling.id == Ticket.handling_unit_id)
            .outerjoin(street, street.id == Ticket.street_id)
            .outerjoin(district, district.id == Ticket.district_id)
            .where(Ticket.id.in_(bindparam("ids", expanding=True))))


def signable(actor: Actor, page: list[QueueRow]) -> set[int]:
    """The ids on the page this actor may sign for now (the bulk sign-for checkboxes), by the one
    permission rule. Only rows waiting to be signed by the actor's own unit can pass (only the
    holder signs), so only those are loaded whole and put to ``can``."""
    ids = [r.id for r in page if r.status is S.DISPATCHED and r.handling_unit_id == actor.unit_id]
    if not ids:
        return set()
    tickets = db.session.scalars(
        select(Ticket).where(Ticket.id.in_(ids))
        .options(joinedload(Ticket.handling_unit).joinedload(Unit.parent),
                 selectinload(Ticket.units).joinedload(TicketUnit.unit))).unique()
    return {t.id for t in tickets if can(actor, Action.SIGN, facts_for(t))}


@dataclass(frozen=True)
class Countdown:
    """The row's next deadline and how close it is: ok, amber (near), red (past)."""
    due: datetime | None
    level: str
    minutes: int

    @property
    def overdue(self) -> bool:
        return self.level == "red"


def countdown(ticket: Ticket | QueueRow, now: datetime) -> Countdown:
    if ticket.status is S.DISPATCHED:
        due, near = ticket.sign_due_at, timedelta(minutes=30)
    elif ticket.status in WITH_UNIT:
        due, near = ticket.feedback_due_at, DUE_SOON
    else:
        return Countdown(None, "none", 0)
    left = due - now
    minutes = int(left.total_seconds() // 60)
    level = "red" if left < timedelta(0) else "amber" if left < near else "ok"
    return Countdown(due, level, minutes)


def street_choices(actor: Actor) -> list[Unit]:
    """Streets a unit may filter by (its own children); the center filters by district instead."""
    if actor.role in (Role.HANDLER, Role.LEADER) and actor.tier == Tier.UNIT:
        return list(db.session.scalars(select(Unit).where(Unit.parent_id == actor.unit_id).order_by(Unit.code)))
    return []


__all__ = ["Tab", "tabs_for", "tab_clauses", "tab_params", "queue_scope", "counts", "forget_counts", "settle_counts", "note_own_change",
           "own_change_pending", "rows", "QueueRow", "signable", "parse_filters",
           "Filters", "countdown",
           "street_choices", "PAGE_SIZE"]
