"""Repeats (重复反映) linked at intake, near-duplicates suggested for merging, the repeat rate per
unit: fixtures with known answers, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from portal.domain.lifecycle import Status
from portal.extensions import db
from portal.models import TicketRepeat
from portal.services import repeats

S = Status
DAY = timedelta(days=1)


def _link(ticket):
    return db.session.get(TicketRepeat, ticket.id)


def test_repeat_links_known_answers(make_ticket, now):
    base = now - 60 * DAY
    a = make_ticket(S.CLOSED, start=base)                                   # day 0
    b = make_ticket(S.HANDLING, start=base + 29 * DAY)                      # day 29: repeat of a
    c = make_ticket(S.SUBMITTED, start=base + 45 * DAY)                     # day 45: repeat of b (latest)
    d = make_ticket(S.SUBMITTED, start=base + 46 * DAY, citizen_phone="13900000000")   # other caller
    e = make_ticket(S.SUBMITTED, start=base + 47 * DAY, category="SRHW-LJQY")          # other category
    f = make_ticket(S.SUBMITTED, start=base + 48 * DAY, unit="110105002")              # other street
    g = make_ticket(S.SUBMITTED, start=base + 90 * DAY)                     # day 90: 45 days after c: none
    links = {t.id: (_link(t).repeat_of_id if _link(t) else None) for t in (a, b, c, d, e, f, g)}
    assert links == {a.id: None, b.id: a.id, c.id: b.id, d.id: None, e.id: None, f.id: None, g.id: None}
    assert b.events[0].data == {"channel": "web", "repeat_of": a.tracking_no}
    assert repeats.repeat_of(c).id == b.id
    assert [t.id for t in repeats.repeats_of(a)] == [b.id]


def test_no_phone_no_repeat(make_ticket, now):
    make_ticket(S.SUBMITTED, citizen_phone="")
    t = make_ticket(S.SUBMITTED, citizen_phone="")
    assert _link(t) is None


def test_repeat_rates_per_unit(make_ticket, units):
    nov = datetime(2026, 10, 31, 16)          # 2026-11-01 00:00 in Beijing
    dec = datetime(2026, 11, 30, 16)
    jianwai, chaowai = units["110105001"], units["110105002"]
    make_ticket(S.HANDLING, start=nov - 5 * DAY)                                # October: not counted itself
    make_ticket(S.HANDLING, start=nov + DAY)                                    # repeat of the October one
    make_ticket(S.HANDLING, start=nov + 2 * DAY)                                # repeat
    make_ticket(S.HANDLING, start=nov + 3 * DAY, citizen_phone="13900000001")   # new caller
    make_ticket(S.HANDLING, start=nov + 3 * DAY, unit="110105002")              # chaowai: first from this caller there
    make_ticket(S.HANDLING, start=nov + 4 * DAY, unit="110105002", citizen_phone="13900000002")
    make_ticket(S.SUBMITTED, start=nov + 5 * DAY)                               # repeat, but held by nobody yet
    rates = repeats.repeat_rates(nov, dec)
    assert rates == {jianwai.id: (2, 3), chaowai.id: (0, 2)}
    assert db.session.scalar(select(func.count()).select_from(TicketRepeat)) == 3
    assert repeats.repeat_rates(dec, dec + 30 * DAY) == {}


def test_near_duplicates_at_the_same_street_are_merge_candidates(make_ticket):
    text = "小区门口垃圾桶已经满了三天没有清运，气味很大，招来很多蚊蝇。"
    target = make_ticket(S.ACCEPTED, category="SRHW-LJQY", content=text, citizen_phone="13900000011")
    near = make_ticket(S.HANDLING, category="SRHW-LJQY", citizen_phone="13900000012",
                       content="我们小区门口的垃圾桶满了三天了还没有清运，气味很大。")
    make_ticket(S.HANDLING, category="SRHW-LJQY", unit="110105002", citizen_phone="13900000013", content=text)
    make_ticket(S.CLOSED, category="SRHW-LJQY", citizen_phone="13900000014", content=text)
    make_ticket(S.HANDLING, citizen_phone="13900000015", content="小区门口路灯坏了三天，晚上很黑。")
    found = repeats.merge_candidates(target)
    assert [t.id for t, _ in found] == [near.id]            # same street, open, most words shared
    assert found[0][1] >= repeats.NEAR_DUPLICATE_SHARE


def test_similar_and_merge_candidates_search_only_the_open_requests_words(make_ticket):
    """Both look among the open requests' own words (ticket_open_texts, migration 0018_open_texts),
    never in every request's (ticket_texts: 8 GB at 10,000,000 requests, a page read per match)."""
    from sqlalchemy import event

    from portal.services.intake import similar_open_requests
    text = "小区门口垃圾桶已经满了三天没有清运，气味很大，招来很多蚊蝇。"
    target = make_ticket(S.ACCEPTED, category="SRHW-LJQY", content=text, citizen_phone="13900000021")
    near = make_ticket(S.HANDLING, category="SRHW-LJQY", citizen_phone="13900000022",
                       content="我们小区门口的垃圾桶满了三天了还没有清运，气味很大。")
    seen = []
    listener = lambda *args: seen.append(args[2])           # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        found = repeats.merge_candidates(target)
        similar = similar_open_requests(text, target.street_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert [t.id for t, _ in found] == [near.id]
    assert len(similar) == 2                                 # the target and the near one, both open
    searches = [s for s in seen if "ticket_open_texts" in s]
    assert len(searches) == 2, seen
    assert not [s for s in seen if "ticket_texts" in s.replace("ticket_open_texts", "")], seen
