"""三率四类 against hand-computed fixtures."""
import pytest

from portal.domain import months
from portal.domain.scoring import BadSettings, Counts, Previous, Settings, composite, rank, rate

S = Settings()


def c(uid, dispatched=20, on_time=20, answered=10, resolved=10, satisfied=10, group="street"):
    return Counts(unit_id=uid, code=f"U{uid:03d}", group=group, dispatched=dispatched, signed_on_time=on_time,
                  answered=answered, resolved=resolved, satisfied=satisfied)


def by_id(scores):
    return {s.counts.unit_id: s for s in scores}


def test_rates_by_hand():
    # 20 dispatched, 18 on time; 8 answered, 6 resolved, 5 satisfied
    (s,) = rank([c(1, 20, 18, 8, 6, 5)], S, "2026-11")
    assert s.response_rate == pytest.approx(0.9)
    assert s.resolution_rate == pytest.approx(0.75)
    assert s.satisfaction_rate == pytest.approx(0.625)
    # 0.1*0.9 + 0.45*0.75 + 0.45*0.625 = 0.09 + 0.3375 + 0.28125
    assert s.composite == pytest.approx(0.70875)


def test_nothing_dispatched_is_none_not_a_division_error():
    (s,) = rank([c(1, 0, 0, 0, 0, 0)], S, "2026-11")
    assert (s.response_rate, s.resolution_rate, s.satisfaction_rate, s.composite) == (None, None, None, None)
    assert not s.ranked and s.rank is None
    assert rate(0, 0) is None and rate(3, 4) == 0.75


def test_composite_without_callbacks_uses_the_rates_it_has():
    assert composite(0.8, None, None, S) == pytest.approx(0.8)
    assert composite(1.0, 0.5, None, S) == pytest.approx((10 * 1.0 + 45 * 0.5) / 55)
    assert composite(None, None, None, S) is None


def test_custom_weights():
    s = Settings(w_response=20, w_resolution=30, w_satisfaction=50)
    assert composite(1.0, 0.5, 0.0, s) == pytest.approx(0.2 + 0.15)


@pytest.mark.parametrize("weights", [(10, 45, 40), (50, 50, 50), (0, 0, 0), (-10, 60, 50)])
def test_weights_not_summing_to_100_refused(weights):
    with pytest.raises(BadSettings):
        Settings(w_response=weights[0], w_resolution=weights[1], w_satisfaction=weights[2])


def test_minimum_volume_lists_but_does_not_rank():
    scores = by_id(rank([c(1, 9), c(2, 10), c(3, 30, 15)], S, "2026-11"))
    assert not scores[1].ranked and scores[1].rank is None and scores[1].composite is not None
    assert scores[2].rank == 1 and scores[3].rank == 2
    # unranked units come after the ranked ones, never in a class but governance
    order = [s.counts.unit_id for s in rank([c(1, 9), c(2, 10), c(3, 30, 15)], S, "2026-11")]
    assert order == [2, 3, 1]
    assert scores[1].classes == ("governance",)


def test_ties_broken_by_satisfaction_then_resolution_then_response_then_volume():
    # equal composite 0.55 / 0.45 weights arranged so satisfaction decides
    a = c(1, 10, 10, 10, 10, 0)     # resp 1, res 1, sat 0: 0.1 + 0.45 = 0.55
    b = c(2, 10, 10, 10, 0, 10)     # resp 1, res 0, sat 1: 0.55
    scores = by_id(rank([a, b], S, "2026-11"))
    assert scores[1].composite == pytest.approx(scores[2].composite)
    assert scores[2].rank == 1 and scores[1].rank == 2
    # equal on every rate: more volume first
    scores = by_id(rank([c(1, 10, 10), c(2, 40, 40)], S, "2026-11"))
    assert (scores[2].rank, scores[1].rank) == (1, 2)


def test_equal_on_everything_share_a_rank():
    scores = by_id(rank([c(1), c(2), c(3, 20, 10)], S, "2026-11"))
    assert (scores[1].rank, scores[2].rank, scores[3].rank) == (1, 1, 3)


def test_groups_are_ranked_separately():
    scores = by_id(rank([c(1, group="street"), c(2, 20, 10, group="street"), c(3, 20, 10, group="district")],
                        S, "2026-11"))
    assert scores[3].rank == 1 and scores[2].rank == 2


def _ladder(n, group="street"):
    """n units with strictly falling scores: unit 1 is best."""
    return [c(i, 40, 40 - i, 10, 10, 10, group=group) for i in range(1, n + 1)]


def test_advanced_and_rectification():
    s = Settings(advanced_n=2, rectification_n=2, progress_n=0)
    scores = by_id(rank(_ladder(6), s, "2026-11"))
    assert [u for u, x in scores.items() if x.advanced] == [1, 2]
    assert sorted(u for u, x in scores.items() if x.rectification) == [5, 6]
    # a group too small for both: rectification never takes an advanced unit
    scores = by_id(rank(_ladder(3), s, "2026-11"))
    assert [u for u, x in scores.items() if x.rectification] == [3]


def test_progress_is_the_largest_climb_among_the_not_advanced():
    s = Settings(advanced_n=1, rectification_n=0, progress_n=1)
    # this month 1..5 by unit id; last month unit 1 was 5th (advanced now: excluded),
    # unit 4 climbed 6 → 4 (2 places), unit 3 climbed 4 → 3 (1 place), unit 2 fell
    prev = {1: Previous(rank=5), 2: Previous(rank=1), 3: Previous(rank=4), 4: Previous(rank=6), 5: Previous(None)}
    scores = by_id(rank(_ladder(5), s, "2026-11", prev))
    assert [u for u, x in scores.items() if x.progress] == [4]
    assert scores[4].change == 2 and scores[2].change == -1 and scores[5].change is None
    # no climb at all: nobody is in the progress class
    prev = {u: Previous(rank=u) for u in range(1, 6)}
    assert not any(x.progress for x in rank(_ladder(5), s, "2026-11", prev))


def test_governance_top_by_volume_and_persisting_across_months():
    s = Settings(governance_n=2, advanced_n=0, rectification_n=0, progress_n=0)
    oct_ = rank([c(1, 100), c(2, 90), c(3, 50), c(4, 0)], s, "2026-10")
    g = {x.counts.unit_id: x.governance_since for x in oct_ if x.governance}
    assert g == {1: "2026-10", 2: "2026-10"}
    prev = {x.counts.unit_id: Previous(x.rank, x.governance, x.governance_since) for x in oct_}
    # November: unit 2 stays in the top 2 (keeps its October start), unit 3 enters, unit 1 leaves
    nov = rank([c(1, 10), c(2, 90), c(3, 95), c(4, 0)], s, "2026-11", prev)
    g = {x.counts.unit_id: x.governance_since for x in nov if x.governance}
    assert g == {2: "2026-10", 3: "2026-11"}
    prev = {x.counts.unit_id: Previous(x.rank, x.governance, x.governance_since) for x in nov}
    # December: unit 1 back in: its streak starts again
    dec = rank([c(1, 200), c(2, 90), c(3, 5), c(4, 0)], s, "2026-12", prev)
    g = {x.counts.unit_id: x.governance_since for x in dec if x.governance}
    assert g == {1: "2026-12", 2: "2026-10"}


def test_governance_counts_unranked_units_with_volume():
    s = Settings(governance_n=1, min_volume=1000)
    (x,) = [x for x in rank([c(1, 50), c(2, 60)], s, "2026-11") if x.governance]
    assert x.counts.unit_id == 2 and not x.ranked


def test_months():
    from datetime import datetime
    assert months.previous("2026-01") == "2025-12"
    assert months.shift("2026-11", 2) == "2027-01"
    start, end = months.bounds("2026-11")
    assert start == datetime(2026, 10, 31, 16, 0) and end == datetime(2026, 11, 30, 16, 0)
    # 2026-11-30 17:00 UTC is already December in Beijing
    assert months.current(datetime(2026, 11, 30, 17, 0)) == "2026-12"
    for bad in ("2026-13", "2026-1", "26-11", "", "2026-00", "abcd-ef"):
        with pytest.raises(months.BadMonth):
            months.parse(bad)
    with pytest.raises(months.BadMonth):
        months.checked("2026-12", datetime(2026, 11, 16))
    assert months.checked("2026-11", datetime(2026, 11, 16)) == "2026-11"
    assert months.last_n("2026-02", 3) == ["2025-12", "2026-01", "2026-02"]
