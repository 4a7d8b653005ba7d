"""The queue's order (nearest deadline first, requests without one last, then the oldest) on both
engines, and on PostgreSQL the partial index in that order (migration 0013_queue_order): the
page's statement must write the index's very expression, or PostgreSQL sorts every open request
in scope again (93,000 of them for the center at 10,000,000 requests)."""
from __future__ import annotations

import random
from datetime import datetime

import pytest
from sqlalchemy import event, select, text

from portal.domain.lifecycle import OPEN, Status
from portal.domain.segment import query_terms
from portal.extensions import db
from portal.models import Ticket, TicketText
from portal.services import queues
from portal.services.seed import DemoBuilder


def _expected(tickets) -> list[int]:
    def key(t: Ticket):
        due = t.sign_due_at if t.status is Status.DISPATCHED else t.feedback_due_at
        return (due is None, due or datetime.min, t.created_at, t.id)
    return [t.id for t in sorted(tickets, key=key)]


@pytest.fixture
def demo(app, now):
    DemoBuilder(now, random.Random(11)).build(150)          # requests in every state, through perform()
    db.session.commit()


def _paged(actor, path, now, tab_counts=None, **args) -> tuple[list[int], int]:
    """Every page of the "all" tab with these filters, in order, and the total the pages gave."""
    out, page = [], 1
    while True:
        filters = queues.parse_filters({**args, "page": str(page)})
        rows, total = queues.rows(actor, "all", filters, now, path, tab_counts=tab_counts)
        out += [r.id for r in rows]
        if len(out) >= total or not rows:
            return out, total
        page += 1


def _pages(actor, path, now, **args) -> list[int]:
    return _paged(actor, path, now, **args)[0]


def _statements_of(run, *needles) -> list[tuple[str, dict]]:
    """(statement, parameters) of what ``run()`` executes that contains every one of ``needles``."""
    seen: list[tuple[str, dict]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if all(n in statement for n in needles):
            seen.append((statement, parameters))
    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return seen


@pytest.fixture(params=["sorted", "walked"])
def way(request, monkeypatch):
    """Both ways to a page: sorting its matches, or (PostgreSQL) walking the ordered index, which
    a page takes when it has more than ``SORT_AT_MOST`` matches (``SORT_AT_MOST_UNIT`` for a unit;
    more than the demo holds)."""
    if request.param == "walked":
        monkeypatch.setattr(queues, "SORT_AT_MOST", 0)
        monkeypatch.setattr(queues, "SORT_AT_MOST_UNIT", 0)
    return request.param


def test_the_queue_reads_nearest_deadline_first_and_no_deadline_last(demo, users, now, way):
    center = users["dispatcher"]
    open_tickets = list(db.session.scalars(select(Ticket).where(Ticket.status.in_(list(OPEN)))))
    dues = [t.sign_due_at if t.status is Status.DISPATCHED else t.feedback_due_at for t in open_tickets]
    assert any(d is None for d in dues) and sum(d is not None for d in dues) > queues.PAGE_SIZE   # both kinds, pages
    got = _pages(center.actor(), center.unit.path, now)
    assert got == _expected(open_tickets)
    newest = _pages(center.actor(), center.unit.path, now, sort="new")
    assert newest == [t.id for t in sorted(open_tickets, key=lambda t: (t.created_at, t.id), reverse=True)]


def test_a_street_reads_its_own_open_requests_in_the_same_order(demo, users, now, way):
    street = users["jianwai"]
    got = _pages(street.actor(), street.unit.path, now)
    assert got
    mine = list(db.session.scalars(select(Ticket).where(Ticket.id.in_(got))))
    assert got == _expected(mine)


@pytest.mark.parametrize("args", [{}, {"urgency": "urgent"}, {"sort": "due", "page": "2"}])
def test_postgresql_reads_the_center_page_from_the_ordered_index(backend, demo, users, now, args, monkeypatch):
    """A page with many matches walks the index: forbidding a sort leaves PostgreSQL the ordered
    index or a plan it costs as disabled, so the page's statement must come out as a scan of
    ix_tickets_queue_order with no Sort."""
    if backend != "postgresql":
        pytest.skip("ix_tickets_queue_order is PostgreSQL's (migration 0013_queue_order)")
    monkeypatch.setattr(queues, "SORT_AT_MOST", 0)            # the demo's 100-odd open requests count as many
    center = users["dispatcher"]
    seen = _statements_of(lambda: queues.rows(center.actor(), "all", queues.parse_filters(args), now, center.unit.path),
                          "ORDER BY", "LIMIT")
    assert seen, "the page ran no ordered statement"
    statement, parameters = seen[0]
    conn = db.session.connection()
    conn.execute(text("SET LOCAL enable_sort = off"))
    conn.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
    assert "ix_tickets_queue_order" in plan, plan
    assert "Sort" not in plan.replace("Sort Key", ""), plan


def test_postgresql_has_the_open_requests_indexes_of_0013(backend, app):
    """The queue's order, newest first, and each filter's own index: partial, over the open
    requests only (their predicate names every open status and nothing else)."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL's indexes (migration 0013_queue_order)")
    rows = dict(db.session.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tickets' "
        "AND (indexname LIKE 'ix_tickets_queue_%' OR indexname LIKE 'ix_tickets_open_%')")).all())
    assert set(rows) == {"ix_tickets_queue_order", "ix_tickets_queue_new", "ix_tickets_open_category",
                         "ix_tickets_open_urgency", "ix_tickets_open_district", "ix_tickets_open_street",
                         "ix_tickets_open_id"}
    for name, definition in rows.items():
        for status in Status:
            assert (f"'{status.value}'" in definition) == (status in OPEN), (name, status)


def test_postgresql_looks_the_center_word_matches_up_by_id(backend, demo, users, now):
    """The center's word filter looks each match up in ix_tickets_open_id (migration 0015_open_id)
    rather than reading every open request of the city to hash them against the matches; a unit's
    few open requests are still hashed against them. Same results as before either way."""
    if backend != "postgresql":
        pytest.skip("ix_tickets_open_id is PostgreSQL's (migration 0015_open_id)")
    center, street = users["dispatcher"], users["jianwai"]
    got = []

    def run():
        got.append(queues.rows(center.actor(), "all", queues.parse_filters({"q": "路灯"}), now, center.unit.path))
        queues.rows(street.actor(), "all", queues.parse_filters({"q": "路灯"}), now, street.unit.path)
    seen = _statements_of(run, "ORDER BY", "to_tsquery")
    found, total = got[0]
    assert total > 0 and len(seen) == 2
    (center_sql, parameters), (street_sql, _) = seen
    assert "= ANY (CAST((SELECT array_agg" in center_sql and "ANY" not in street_sql
    for sql in (center_sql, street_sql):     # the open requests' own words (migration 0018_open_texts)
        assert "ticket_open_texts" in sql and "ticket_texts" not in sql.replace("ticket_open_texts", ""), sql
    conn = db.session.connection()
    conn.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + center_sql, parameters))
    assert "Index Cond: (id = ANY" in plan, plan            # each match looked up by its id
    assert "Hash" not in plan and "ix_tickets_queue_new" not in plan, plan
    matches = {t.id for t in db.session.scalars(select(Ticket).where(Ticket.status.in_(list(OPEN))))
               if "路灯" in f"{t.title}{t.content}{t.address or ''}"}
    assert total == len(matches) and {r.id for r in found} <= matches


def _center_word_pages(center, now, word: str, **args) -> tuple[list[int], int]:
    actor, path = center.actor(), center.unit.path
    return _paged(actor, path, now, tab_counts=queues.counts(actor, now, path, fresh=True), q=word, **args)


@pytest.mark.parametrize("sort", ["due", "new"])
def test_the_center_walks_its_order_for_a_common_word(backend, demo, users, now, sort, monkeypatch):
    """The center's word filter on the "all" tab: a common word's matches counted from the open
    requests' words alone and the page found by walking the queue's order with the matches
    hashed (PostgreSQL), a rare word's looked up and sorted; the same requests, total and order
    either way, and as the rule says."""
    monkeypatch.setattr(queues, "PAGE_SIZE", 7)             # several pages of the demo's matches
    center = users["dispatcher"]
    open_tickets = list(db.session.scalars(select(Ticket).where(Ticket.status.in_(list(OPEN)))))
    words = [w for t in open_tickets for w in set(db.session.get(TicketText, t.id).tokens.split())
             if len(w) >= 2 and query_terms(w, search_mode=False) == [w]]
    word = max(set(words), key=words.count)                 # the commonest word of the open requests
    matching = [t for t in open_tickets if word in db.session.get(TicketText, t.id).tokens.split()]
    assert queues.PAGE_SIZE < len(matching) < len(open_tickets)      # more than a page, fewer than all
    if sort == "new":
        expected = [t.id for t in sorted(matching, key=lambda t: (t.created_at, t.id), reverse=True)]
    else:
        expected = _expected(matching)
    monkeypatch.setattr(queues, "WALK_PER_MATCH", 0.0)      # never walked: each match looked up
    looked_up = _center_word_pages(center, now, word, sort=sort)
    monkeypatch.setattr(queues, "WALK_PER_MATCH", 1e9)      # always walked
    seen = _statements_of(lambda: _center_word_pages(center, now, word, sort=sort), "ORDER BY", "LIMIT")
    walked = _center_word_pages(center, now, word, sort=sort)
    assert looked_up == walked == (expected, len(expected))
    past = str(-(-len(expected) // queues.PAGE_SIZE) + 1)   # the page after the last: no row, the same total
    for setting in (0.0, 1e9):
        monkeypatch.setattr(queues, "WALK_PER_MATCH", setting)
        counts = queues.counts(center.actor(), now, center.unit.path)
        assert queues.rows(center.actor(), "all", queues.parse_filters({"q": word, "page": past, "sort": sort}), now,
                           center.unit.path, tab_counts=counts) == ([], len(expected))
    if backend != "postgresql":
        return                                              # SQLite: FTS5's own way, either setting
    statement, parameters = seen[0]
    assert "coalesce(tickets.id IN (SELECT ticket_open_texts.ticket_id" in statement, statement
    conn = db.session.connection()
    conn.execute(text("SET LOCAL enable_sort = off"))
    conn.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
    index = "ix_tickets_queue_new" if sort == "new" else "ix_tickets_queue_order"
    assert index in plan and "hashed SubPlan" in plan, plan
    assert "Sort" not in plan.replace("Sort Key", ""), plan


def test_the_center_looks_a_rare_word_up_and_walks_only_for_the_all_tab(backend, demo, users, now):
    """By the default rule a word with few matches among many open requests is looked up, not
    walked; another tab or another filter beside the words takes the general way."""
    if backend != "postgresql":
        pytest.skip("the walk is PostgreSQL's")
    center = users["dispatcher"]
    actor, path = center.actor(), center.unit.path
    counts = queues.counts(actor, now, path, fresh=True)
    total_open = counts["all"]
    rare = db.session.get(TicketText, db.session.scalar(select(Ticket.id).where(Ticket.status.in_(list(OPEN)))
                                                         .order_by(Ticket.id))).tokens.split()
    word = next(w for w in rare if len(w) >= 2 and query_terms(w, search_mode=False) == [w]
                and queues.PAGE_SIZE * total_open / max(1, _open_matches(w)) > queues.WALK_PER_MATCH * _open_matches(w))
    for args, tab in (({"q": word}, "all"), ({"q": word, "urgency": "normal"}, "all"), ({"q": word}, "intake")):
        seen = _statements_of(lambda: queues.rows(actor, tab, queues.parse_filters(args), now, path, tab_counts=counts),
                              "ORDER BY", "LIMIT")
        assert seen and all("coalesce(tickets.id IN" not in s for s, _ in seen), (args, tab, seen)
        assert "= ANY (CAST((SELECT array_agg" in seen[0][0]


def _open_matches(word: str) -> int:
    return db.session.scalar(text("SELECT count(*) FROM ticket_open_texts WHERE search_vector @@ "
                                  "to_tsquery('simple', :w)"), {"w": word})


def _ordered_statements(actor, path, now, tab="all") -> list[str]:
    return [statement for statement, _ in _statements_of(
        lambda: queues.rows(actor, tab, queues.parse_filters({}), now, path, tab_counts=queues.counts(actor, now, path)),
        "ORDER BY", "LIMIT")]


def test_a_unit_walks_its_tab_sooner_than_the_center(backend, demo, users, now, monkeypatch):
    """A unit's matches are sorted by reading each one's table row through its scope, so a unit's
    tab walks the ordered index from SORT_AT_MOST_UNIT matches on, the center's from SORT_AT_MOST."""
    if backend != "postgresql":
        pytest.skip("SQLite always sorts (no ordered index)")
    street, center = users["jianwai"], users["dispatcher"]
    mine = queues.counts(street.actor(), now, street.unit.path)["all"]
    assert 0 < mine < queues.SORT_AT_MOST
    monkeypatch.setattr(queues, "SORT_AT_MOST_UNIT", mine - 1)
    walked = _ordered_statements(street.actor(), street.unit.path, now)
    assert walked and "NULLS LAST" in walked[-1], walked
    sorted_ = _ordered_statements(center.actor(), center.unit.path, now)
    assert sorted_ and "NULLS LAST" not in sorted_[-1], sorted_       # the center's demo tab is small: sorted
    monkeypatch.setattr(queues, "SORT_AT_MOST_UNIT", mine)
    assert "NULLS LAST" not in _ordered_statements(street.actor(), street.unit.path, now)[-1]


def test_a_big_unit_intersects_its_open_requests_with_the_word_matches(backend, demo, users, now, monkeypatch):
    """PostgreSQL: a unit holding many open requests (a district) intersects them with a word
    filter's matches instead of checking each of its requests' words in turn; the same requests,
    total and order as the join a small unit keeps, and as the rule says."""
    district = users["chaoyang"]
    actor, path = district.actor(), district.unit.path
    mine = [t for t in db.session.scalars(select(Ticket).where(Ticket.status.in_(list(OPEN))))
            if t.id in set(db.session.scalars(queues.unit_scope_ids(actor, path)))]
    words = [w for t in mine for w in db.session.get(TicketText, t.id).tokens.split()
             if len(w) >= 2 and query_terms(w, search_mode=False) == [w]]
    word = max(set(words), key=words.count)                 # the district's commonest word
    expected = _expected([t for t in mine if word in db.session.get(TicketText, t.id).tokens.split()])
    assert 2 <= len(expected) < len(mine)
    counts = queues.counts(actor, now, path, fresh=True)

    def pages(tab_counts):
        return _paged(actor, path, now, tab_counts=tab_counts, q=word)
    joined = pages(None)
    monkeypatch.setattr(queues, "WORDS_INTERSECT_FROM", 0)
    seen = _statements_of(lambda: pages(counts), "ORDER BY")
    intersected = pages(counts)
    assert joined == intersected == (expected, len(expected))
    assert any("INTERSECT ALL" in s for s, _ in seen) == (backend == "postgresql")     # SQLite: FTS5's own way
