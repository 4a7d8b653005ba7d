"""The status × action grid of the request lifecycle.

``EXPECTED`` below is written out by hand from the domain rules (DOMAIN.md), on
purpose *not* derived from ``TRANSITIONS``: the test compares the two.
"""
from __future__ import annotations

import itertools

import pytest

from portal.domain.lifecycle import (
    AFTER_FEEDBACK, AT_CENTER, INITIAL, OPEN, TERMINAL, TRANSITIONS, UNIT_WORKING, WITH_UNIT,
    Action, IllegalTransition, Status, allowed_actions, apply, replay,
)

S, A = Status, Action

# Every legal (status, action) -> next status. Anything not listed is illegal.
EXPECTED: dict[tuple[Status, Action], Status] = {
    # 待受理
    (S.SUBMITTED, A.ACCEPT): S.ACCEPTED,
    (S.SUBMITTED, A.ANSWER): S.ANSWERED,
    (S.SUBMITTED, A.INVALIDATE): S.INVALID,
    (S.SUBMITTED, A.MERGE): S.MERGED,
    (S.SUBMITTED, A.DISPATCH): S.DISPATCHED,
    (S.SUBMITTED, A.SUPERVISE): S.SUBMITTED,
    (S.SUBMITTED, A.SUPPLEMENT): S.SUBMITTED,
    (S.SUBMITTED, A.TRANSFER_DISCIPLINE): S.SUBMITTED,
    # 待派单
    (S.ACCEPTED, A.ANSWER): S.ANSWERED,
    (S.ACCEPTED, A.INVALIDATE): S.INVALID,
    (S.ACCEPTED, A.MERGE): S.MERGED,
    (S.ACCEPTED, A.DISPATCH): S.DISPATCHED,
    (S.ACCEPTED, A.SUPERVISE): S.ACCEPTED,
    (S.ACCEPTED, A.SUPPLEMENT): S.ACCEPTED,
    (S.ACCEPTED, A.TRANSFER_DISCIPLINE): S.ACCEPTED,
    # 待签收
    (S.DISPATCHED, A.SIGN): S.HANDLING,
    (S.DISPATCHED, A.REDISPATCH): S.DISPATCHED,
    (S.DISPATCHED, A.REQUEST_RETURN): S.RETURN_PENDING,
    (S.DISPATCHED, A.NOTE): S.DISPATCHED,
    (S.DISPATCHED, A.SUPERVISE): S.DISPATCHED,
    (S.DISPATCHED, A.SUPPLEMENT): S.DISPATCHED,
    (S.DISPATCHED, A.TRANSFER_DISCIPLINE): S.DISPATCHED,
    (S.DISPATCHED, A.TRANSFER): S.DISPATCHED,          # an admin moves it off a unit being deactivated
    # 办理中
    (S.HANDLING, A.REDISPATCH): S.DISPATCHED,
    (S.HANDLING, A.REQUEST_RETURN): S.RETURN_PENDING,
    (S.HANDLING, A.REQUEST_EXTENSION): S.EXTENSION_PENDING,
    (S.HANDLING, A.FEEDBACK): S.FED_BACK,
    (S.HANDLING, A.SUBMIT_FEEDBACK): S.FEEDBACK_REVIEW,
    (S.HANDLING, A.NOTE): S.HANDLING,
    (S.HANDLING, A.SUPERVISE): S.HANDLING,
    (S.HANDLING, A.SUPPLEMENT): S.HANDLING,
    (S.HANDLING, A.TRANSFER_DISCIPLINE): S.HANDLING,
    (S.HANDLING, A.TRANSFER): S.DISPATCHED,          # an admin moves it off a unit being deactivated
    # 退单待审
    (S.RETURN_PENDING, A.APPROVE_RETURN): S.ACCEPTED,
    (S.RETURN_PENDING, A.REJECT_RETURN): S.DISPATCHED,
    (S.RETURN_PENDING, A.SUPERVISE): S.RETURN_PENDING,
    (S.RETURN_PENDING, A.SUPPLEMENT): S.RETURN_PENDING,
    (S.RETURN_PENDING, A.TRANSFER_DISCIPLINE): S.RETURN_PENDING,
    (S.RETURN_PENDING, A.TRANSFER): S.DISPATCHED,          # an admin moves it off a unit being deactivated
    # 延期待审
    (S.EXTENSION_PENDING, A.APPROVE_EXTENSION): S.HANDLING,
    (S.EXTENSION_PENDING, A.REJECT_EXTENSION): S.HANDLING,
    (S.EXTENSION_PENDING, A.NOTE): S.EXTENSION_PENDING,
    (S.EXTENSION_PENDING, A.SUPERVISE): S.EXTENSION_PENDING,
    (S.EXTENSION_PENDING, A.SUPPLEMENT): S.EXTENSION_PENDING,
    (S.EXTENSION_PENDING, A.TRANSFER_DISCIPLINE): S.EXTENSION_PENDING,
    (S.EXTENSION_PENDING, A.TRANSFER): S.DISPATCHED,          # an admin moves it off a unit being deactivated
    # 反馈待审核
    (S.FEEDBACK_REVIEW, A.APPROVE_FEEDBACK): S.FED_BACK,
    (S.FEEDBACK_REVIEW, A.REJECT_FEEDBACK): S.HANDLING,
    (S.FEEDBACK_REVIEW, A.SUPERVISE): S.FEEDBACK_REVIEW,
    (S.FEEDBACK_REVIEW, A.SUPPLEMENT): S.FEEDBACK_REVIEW,
    (S.FEEDBACK_REVIEW, A.TRANSFER_DISCIPLINE): S.FEEDBACK_REVIEW,
    (S.FEEDBACK_REVIEW, A.TRANSFER): S.DISPATCHED,          # an admin moves it off a unit being deactivated
    # 已反馈待回访
    (S.FED_BACK, A.SEND_BACK): S.HANDLING,
    (S.FED_BACK, A.CALLBACK): S.CALLED_BACK,
    (S.FED_BACK, A.RATE): S.CALLED_BACK,          # the citizen's online rating counts as the callback
    (S.FED_BACK, A.SUPERVISE): S.FED_BACK,
    (S.FED_BACK, A.SUPPLEMENT): S.FED_BACK,
    (S.FED_BACK, A.TRANSFER_DISCIPLINE): S.FED_BACK,
    # 已回访
    (S.CALLED_BACK, A.REHANDLE): S.HANDLING,
    (S.CALLED_BACK, A.CLOSE): S.CLOSED,
    (S.CALLED_BACK, A.CALLBACK): S.CALLED_BACK,   # a later center callback beside the rating
    (S.CALLED_BACK, A.RATE): S.CALLED_BACK,
    (S.CALLED_BACK, A.SUPERVISE): S.CALLED_BACK,
    (S.CALLED_BACK, A.SUPPLEMENT): S.CALLED_BACK,
    (S.CALLED_BACK, A.TRANSFER_DISCIPLINE): S.CALLED_BACK,
    # 已办结
    (S.CLOSED, A.TRANSFER_DISCIPLINE): S.CLOSED,
    (S.CLOSED, A.RATE): S.CLOSED,
    # ANSWERED, INVALID, MERGED: nothing at all
}

GRID = list(itertools.product(list(Status), list(Action)))


@pytest.mark.parametrize(("status", "action"), GRID, ids=[f"{s.value}-{a.value}" for s, a in GRID])
def test_grid(status, action):
    if (status, action) in EXPECTED:
        assert apply(status, action) is EXPECTED[status, action]
    else:
        with pytest.raises(IllegalTransition) as info:
            apply(status, action)
        assert info.value.status is status
        assert info.value.action is action


def test_table_has_nothing_beyond_the_expected_grid():
    # the parametrized grid already covers this pair by pair; this names the extras in one diff
    assert dict(TRANSITIONS) == EXPECTED


def test_submit_starts_from_nothing():
    assert apply(None, A.SUBMIT) is S.SUBMITTED
    assert INITIAL is S.SUBMITTED


@pytest.mark.parametrize("action", [a for a in Action if a is not A.SUBMIT])
def test_nothing_but_submit_from_nothing(action):
    with pytest.raises(IllegalTransition) as info:
        apply(None, action)
    assert info.value.status is None
    assert "nothing" in str(info.value)


@pytest.mark.parametrize("status", list(Status))
def test_submit_is_never_legal_on_an_existing_request(status):
    with pytest.raises(IllegalTransition):
        apply(status, A.SUBMIT)


def test_illegal_transition_message_names_both():
    with pytest.raises(IllegalTransition, match="^sign is not allowed from submitted$"):
        apply(S.SUBMITTED, A.SIGN)


@pytest.mark.parametrize(("log", "expected"), [
    ([], None),
    (["submit"], S.SUBMITTED),
    (["submit", "accept", "answer"], S.ANSWERED),
    (["submit", "invalidate"], S.INVALID),
    (["submit", "accept", "dispatch", "sign", "note", "request_extension", "approve_extension",
      "feedback", "callback", "close", "rate"], S.CLOSED),
    # a district re-dispatches to a street, which asks to return it; the center re-dispatches
    (["submit", "accept", "dispatch", "sign", "redispatch", "request_return", "approve_return",
      "dispatch", "sign", "submit_feedback", "reject_feedback", "submit_feedback", "approve_feedback",
      "send_back", "feedback", "callback", "rehandle"], S.HANDLING),
    ([A.SUBMIT, A.DISPATCH, A.REQUEST_RETURN, A.REJECT_RETURN], S.DISPATCHED),
    (["submit", "supervise", "supplement", "transfer_discipline"], S.SUBMITTED),
    # the citizen rates online before the center calls; the center may still call back, then close
    (["submit", "dispatch", "sign", "feedback", "rate"], S.CALLED_BACK),
    (["submit", "dispatch", "sign", "feedback", "rate", "callback", "rate", "close", "rate"], S.CLOSED),
])
def test_replay(log, expected):
    assert replay(log) is expected


def test_replay_stops_at_the_first_illegal_step():
    with pytest.raises(IllegalTransition) as info:
        replay(["submit", "accept", "dispatch", "feedback", "callback"])
    assert info.value.status is S.DISPATCHED
    assert info.value.action is A.FEEDBACK


def test_replay_requires_submit_first():
    with pytest.raises(IllegalTransition):
        replay(["accept"])


def test_replay_refuses_a_second_submit():
    with pytest.raises(IllegalTransition):
        replay(["submit", "submit"])


def test_replay_refuses_unknown_actions():
    with pytest.raises(ValueError):
        replay(["submit", "teleport"])


def test_status_sets():
    assert OPEN == {S.SUBMITTED, S.ACCEPTED, S.DISPATCHED, S.HANDLING, S.RETURN_PENDING,
                    S.EXTENSION_PENDING, S.FEEDBACK_REVIEW, S.FED_BACK, S.CALLED_BACK}
    assert TERMINAL == {S.CLOSED, S.ANSWERED, S.INVALID, S.MERGED}
    assert AT_CENTER == {S.SUBMITTED, S.ACCEPTED}
    assert WITH_UNIT == {S.DISPATCHED, S.HANDLING, S.RETURN_PENDING, S.EXTENSION_PENDING, S.FEEDBACK_REVIEW}
    assert AFTER_FEEDBACK == {S.FED_BACK, S.CALLED_BACK}
    assert UNIT_WORKING == {S.HANDLING, S.EXTENSION_PENDING}
    assert OPEN | TERMINAL == set(Status)
    assert not OPEN & TERMINAL


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_terminal_statuses_never_change(status):
    allowed = allowed_actions(status)
    # closed requests may still be rated (RATE) and sent to discipline inspection; the rest: nothing
    expected = [A.TRANSFER_DISCIPLINE, A.RATE] if status is S.CLOSED else []
    assert allowed == expected
    for action in allowed:
        assert apply(status, action) is status


@pytest.mark.parametrize("status", sorted(OPEN))
def test_every_open_status_can_be_supervised_supplemented_and_transferred(status):
    for action in (A.SUPERVISE, A.SUPPLEMENT, A.TRANSFER_DISCIPLINE):
        assert apply(status, action) is status


def test_every_status_is_reachable_from_submit():
    reached = {S.SUBMITTED}
    frontier = [S.SUBMITTED]
    while frontier:
        s = frontier.pop()
        for a in Action:
            try:
                nxt = apply(s, a)
            except IllegalTransition:
                continue
            if nxt not in reached:
                reached.add(nxt)
                frontier.append(nxt)
    assert reached == set(Status)


@pytest.mark.parametrize("status", list(Status))
def test_status_has_label_and_badge(status):
    assert isinstance(status.label, str) and status.label.strip()
    assert isinstance(status.badge, str) and status.badge.strip()


@pytest.mark.parametrize("action", list(Action))
def test_action_has_label(action):
    assert isinstance(action.label, str) and action.label.strip()


def test_labels_are_distinct():
    assert len({s.label for s in Status}) == len(Status)
    assert len({a.label for a in Action}) == len(Action)
