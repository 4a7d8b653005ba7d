"""Due times, extensions and the UTC ↔ Beijing conversion."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.domain.deadlines import (
    DEFAULT_RULES, LOCAL_TZ, MAX_EXTENSION, BadExtension, DeadlineRule, DueTimes, Urgency,
    check_extension, due_times, from_local, to_local, utcnow,
)

NOW = datetime(2026, 11, 16, 2, 0, 0)   # naive UTC: Monday 10:00 in Beijing


def test_default_rules():
    assert DEFAULT_RULES[Urgency.NORMAL] == DeadlineRule(sign_minutes=120, feedback_hours=168)
    assert DEFAULT_RULES[Urgency.URGENT] == DeadlineRule(sign_minutes=30, feedback_hours=24)
    assert set(DEFAULT_RULES) == set(Urgency)


def test_urgency_labels():
    assert Urgency.URGENT.label == "紧急"
    assert Urgency.NORMAL.label == "一般"


@pytest.mark.parametrize(("urgency", "sign", "feedback"), [
    (Urgency.NORMAL, datetime(2026, 11, 16, 4, 0), datetime(2026, 11, 23, 2, 0)),
    (Urgency.URGENT, datetime(2026, 11, 16, 2, 30), datetime(2026, 11, 17, 2, 0)),
])
def test_due_times_with_default_rules(urgency, sign, feedback):
    assert due_times(NOW, DEFAULT_RULES[urgency]) == DueTimes(sign_due=sign, feedback_due=feedback)


def test_due_times_with_a_category_rule():
    due = due_times(datetime(2026, 12, 31, 23, 50), DeadlineRule(sign_minutes=15, feedback_hours=72))
    assert due.sign_due == datetime(2027, 1, 1, 0, 5)
    assert due.feedback_due == datetime(2027, 1, 3, 23, 50)
    assert due.sign_due.tzinfo is None and due.feedback_due.tzinfo is None


@pytest.mark.parametrize(("minutes", "hours"), [(0, 1), (1, 0), (-5, 24), (30, -1), (0, 0)])
def test_rule_refuses_non_positive_values(minutes, hours):
    with pytest.raises(ValueError, match="positive"):
        DeadlineRule(sign_minutes=minutes, feedback_hours=hours)


def test_rule_accepts_the_smallest_positive_values():
    rule = DeadlineRule(sign_minutes=1, feedback_hours=1)
    assert due_times(NOW, rule) == DueTimes(NOW + timedelta(minutes=1), NOW + timedelta(hours=1))


# --- extensions ----------------------------------------------------------------------

DUE = NOW + timedelta(days=3)


def test_max_extension_is_15_days():
    assert MAX_EXTENSION == timedelta(days=15)


@pytest.mark.parametrize(("requested", "message"), [
    (NOW - timedelta(hours=1), "晚于当前时间"),
    (NOW, "晚于当前时间"),
    (DUE - timedelta(hours=1), "晚于原办理时限"),
    (DUE, "晚于原办理时限"),
    (DUE + timedelta(days=15, seconds=1), "不得超过15天"),
    (DUE + timedelta(days=30), "不得超过15天"),
])
def test_bad_extensions(requested, message):
    with pytest.raises(BadExtension, match=message):
        check_extension(NOW, DUE, requested)


@pytest.mark.parametrize("requested", [
    DUE + timedelta(seconds=1),
    DUE + timedelta(days=1),
    DUE + timedelta(days=15),     # exactly 15 days is allowed
])
def test_good_extensions(requested):
    assert check_extension(NOW, DUE, requested) == requested


def test_overdue_request_may_be_extended_from_the_old_due_time():
    overdue = NOW - timedelta(days=2)
    with pytest.raises(BadExtension, match="晚于当前时间"):
        check_extension(NOW, overdue, NOW - timedelta(hours=1))   # later than due, but in the past
    assert check_extension(NOW, overdue, overdue + timedelta(days=15)) == overdue + timedelta(days=15)
    with pytest.raises(BadExtension, match="不得超过15天"):
        # the 15 days count from the current due time, not from now
        check_extension(NOW, overdue, NOW + timedelta(days=14))


def test_bad_extension_is_a_value_error():
    assert issubclass(BadExtension, ValueError)


# --- time zones --------------------------------------------------------------------

def test_to_local_is_eight_hours_ahead():
    local = to_local(NOW)
    assert local == datetime(2026, 11, 16, 10, 0, tzinfo=LOCAL_TZ)
    assert local.replace(tzinfo=None) == datetime(2026, 11, 16, 10, 0)
    assert local.utcoffset() == timedelta(hours=8)


def test_to_local_crosses_midnight():
    assert to_local(datetime(2026, 12, 31, 16, 0)).replace(tzinfo=None) == datetime(2027, 1, 1, 0, 0)


def test_to_local_none():
    assert to_local(None) is None


def test_from_local_is_eight_hours_behind_and_naive():
    utc = from_local(datetime(2026, 11, 16, 10, 0))
    assert utc == NOW
    assert utc.tzinfo is None
    assert from_local(datetime(2027, 1, 1, 0, 0)) == datetime(2026, 12, 31, 16, 0)


@settings(max_examples=200, deadline=None)
@given(dt=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
def test_round_trip(dt):
    local = to_local(dt)
    assert local.utcoffset() == timedelta(hours=8)
    assert local.replace(tzinfo=None) - dt == timedelta(hours=8)
    assert from_local(local.replace(tzinfo=None)) == dt


def test_utcnow_is_naive_utc():
    before = datetime.now(timezone.utc).replace(tzinfo=None)
    now = utcnow()
    after = datetime.now(timezone.utc).replace(tzinfo=None)
    assert now.tzinfo is None
    assert before <= now <= after


# --- working days (工作日): China's holidays and make-up workdays --------------------------------

from portal.domain.deadlines import NATURAL, WORKING_DAYS, is_working_day  # noqa: E402


def local(*args) -> datetime:
    """A Beijing wall-clock time as naive UTC."""
    return from_local(datetime(*args))


def test_the_official_calendar_is_used():
    assert not is_working_day(datetime(2026, 10, 1).date())     # National Day
    assert not is_working_day(datetime(2026, 9, 25).date())     # Mid-Autumn Festival, a Friday
    assert is_working_day(datetime(2026, 9, 20).date())         # make-up workday, a Sunday
    assert is_working_day(datetime(2026, 10, 10).date())        # make-up workday, a Saturday
    assert not is_working_day(datetime(2026, 10, 11).date())    # an ordinary Sunday


def test_natural_days_count_every_hour():
    start = local(2026, 9, 30, 10, 0)
    assert NATURAL.add(start, timedelta(days=7)) == start + timedelta(days=7)


def test_seven_working_days_skip_the_national_day_week_and_count_the_make_up_saturday():
    # 14 h left on 30 Sep; 1–7 Oct off; 8, 9, 10 (Sat, make-up), 12, 13, 14 Oct; 10 h on 15 Oct
    assert WORKING_DAYS.add(local(2026, 9, 30, 10, 0), timedelta(days=7)) == local(2026, 10, 15, 10, 0)


def test_a_sign_for_clock_started_on_a_holiday_runs_from_the_next_working_day():
    assert WORKING_DAYS.add(local(2026, 10, 3, 10, 0), timedelta(minutes=120)) == local(2026, 10, 8, 2, 0)


def test_a_make_up_workday_counts():
    assert WORKING_DAYS.add(local(2026, 9, 20, 10, 0), timedelta(hours=2)) == local(2026, 9, 20, 12, 0)


def test_a_year_the_calendar_does_not_know_yet_skips_weekends():
    # 5 Jan 2030 is a Saturday
    assert WORKING_DAYS.add(local(2030, 1, 5, 10, 0), timedelta(hours=2)) == local(2030, 1, 7, 2, 0)


def test_due_times_follow_the_calendar():
    dues = due_times(local(2026, 9, 30, 10, 0), DEFAULT_RULES[Urgency.NORMAL], WORKING_DAYS)
    assert dues == DueTimes(sign_due=local(2026, 9, 30, 12, 0), feedback_due=local(2026, 10, 15, 10, 0))


def test_an_extension_may_reach_15_working_days_on():
    due = local(2026, 9, 30, 10, 0)
    now = due - timedelta(days=1)
    requested = due + timedelta(days=20)           # past 15 natural days, within 15 working days
    with pytest.raises(BadExtension):
        check_extension(now, due, requested)
    assert check_extension(now, due, requested, WORKING_DAYS) == requested
    with pytest.raises(BadExtension):
        check_extension(now, due, due + timedelta(days=40), WORKING_DAYS)
