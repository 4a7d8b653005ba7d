"""The role × action grid of the permission rule.

A small fake hierarchy (ids only)::

    1 center
    ├── 10 district ── 101 street, 102 street
    ├── 20 district ── 201 street
    └── 30 department

Every expected set below is written out by hand; actors not named in a
scenario's table may do nothing at all.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.domain.access import (
    Actor, Facts, Role, Tier, UnitRef, can, can_send_to, can_view, permitted_actions,
)
from portal.domain.lifecycle import TRANSITIONS, WITH_UNIT, Action, Status

A, S, R = Action, Status, Role

TIER_OF = {1: 1, 10: 2, 20: 2, 30: 2, 101: 3, 102: 3, 201: 3}


def _unit_actor(role: Role, unit: int) -> Actor:
    return Actor(role, unit_id=unit, tier=TIER_OF[unit], user_id=1000 + unit)


ACTORS: dict[str, Actor] = {
    "operator": Actor(R.OPERATOR, unit_id=1, tier=1, user_id=1),
    "dispatcher": Actor(R.DISPATCHER, unit_id=1, tier=1, user_id=2),
    # center roles attached to a non-center unit (misconfigured accounts)
    "operator@10": Actor(R.OPERATOR, unit_id=10, tier=2, user_id=3),
    "dispatcher@101": Actor(R.DISPATCHER, unit_id=101, tier=3, user_id=4),
    **{f"{role.value}@{unit}": _unit_actor(role, unit)
       for unit in (1, 10, 101, 102, 20, 201, 30) for role in (R.HANDLER, R.LEADER)},
    "citizen": Actor(R.CITIZEN),
    "admin": Actor(R.ADMIN, unit_id=1, tier=1, user_id=5),
    "system": Actor(R.SYSTEM),
}

PATH_101 = frozenset({1, 10, 101})
PATH_10 = frozenset({1, 10})


def at_center(status: Status) -> Facts:
    return Facts(status, is_requester=True)


def street(status: Status, **kw) -> Facts:
    """Held by street 101 (directly dispatched, or re-dispatched by district 10)."""
    return Facts(status, handling_unit_id=101, handling_tier=3, path_ancestors=PATH_101,
                 is_requester=True, **kw)


def district(status: Status) -> Facts:
    """Held by district 10, before it re-dispatches to a street."""
    return Facts(status, handling_unit_id=10, handling_tier=2, path_ancestors=PATH_10, is_requester=True)


def assisted(status: Status) -> Facts:
    """Held by street 101 with street 201 (another district) assisting."""
    return Facts(status, handling_unit_id=101, handling_tier=3,
                 path_ancestors=PATH_101 | {20, 201}, assisting_unit_ids=frozenset({201}),
                 is_requester=True)


CENTER_OPEN = {A.SUPERVISE, A.SUPPLEMENT, A.TRANSFER_DISCIPLINE}   # what a dispatcher may always do while open

SCENARIOS: list[tuple[str, Facts, dict[str, set[Action]]]] = [
    ("submitted", at_center(S.SUBMITTED), {
        "operator": {A.ACCEPT, A.ANSWER, A.INVALIDATE, A.MERGE, A.DISPATCH, A.SUPPLEMENT},
        "dispatcher": {A.ACCEPT, A.ANSWER, A.INVALIDATE, A.MERGE, A.DISPATCH,
                       A.SUPPLEMENT, A.SUPERVISE, A.TRANSFER_DISCIPLINE},
        "citizen": {A.SUPPLEMENT},
        "system": {A.SUPERVISE},
    }),
    ("accepted", at_center(S.ACCEPTED), {
        "operator": {A.ANSWER, A.INVALIDATE, A.MERGE, A.DISPATCH, A.SUPPLEMENT},
        "dispatcher": {A.ANSWER, A.INVALIDATE, A.MERGE, A.DISPATCH,
                       A.SUPPLEMENT, A.SUPERVISE, A.TRANSFER_DISCIPLINE},
        "citizen": {A.SUPPLEMENT},
        "system": {A.SUPERVISE},
    }),
    ("answered", at_center(S.ANSWERED), {}),
    ("invalid", at_center(S.INVALID), {}),
    ("merged", at_center(S.MERGED), {}),
    ("street-dispatched", street(S.DISPATCHED), {
        "operator": {A.SUPPLEMENT},
        "dispatcher": CENTER_OPEN,
        "handler@101": {A.SIGN, A.NOTE, A.REQUEST_RETURN},
        "leader@101": {A.SIGN, A.NOTE, A.REQUEST_RETURN},
        "citizen": {A.SUPPLEMENT},
        "system": {A.SUPERVISE},
        "admin": {A.TRANSFER},   # only to move it off a unit being deactivated
    }),
    ("street-handling", street(S.HANDLING), {
        "operator": {A.SUPPLEMENT},
        "dispatcher": CENTER_OPEN,
        "handler@101": {A.NOTE, A.REQUEST_RETURN, A.REQUEST_EXTENSION, A.FEEDBACK},
        "leader@101": {A.NOTE, A.REQUEST_RETURN, A.REQUEST_EXTENSION, A.FEEDBACK},
        "citizen": {A.SUPPLEMENT},
        "system": {A.SUPERVISE},
        "admin": {A.TRANSFER},   # only to move it off a unit being deactivated
    }),
    ("street-return-pending", street(S.RETURN_PENDING), {
        "operator": {A.SUPPLEMENT},
        "dispatcher": {A.APPROVE_RETURN, A.REJECT_RETURN, A.SUPERVISE, A.SUPPLEMENT, A.TRANSFER_DISCIPLINE},
        "citizen": {A.SUPPLEMENT},
        "system": {A.SUPERVISE},
        "admin": {A.TRANSFER},   # only to move it off a unit being deactivated
    }),
    ("street-extension-pending", street(S.EXTENSION_PENDING), {
        "operator": {A.SUPPLEMENT},
        "dispatcher": {A.APPROVE_EXTENSION, A.REJECT_EXTENSION, A.SUPERVISE, A.SUPPLEMENT,
                       A.TRANSFER_DISCIPLINE},
        "handler@101": {A.NOTE},
        "leader@101": {A.NOTE},
        "citizen": {A.SUPPLEMENT},
        "system": {A.SUPERVISE},
        "admin": {A.TRANSFER},   # only to move it off a unit being deactivated
    }),
    ("street-feedback-review-no-reviewer", street(S.FEEDBACK_REVIEW), {
        "operator": {A.SUPPLEMENT},
        "dispatcher": CENTER_OPEN,
        "citizen": {A.SUPPLEMENT},
        "system": {A.SUPERVISE},
        "admin": {A.TRANSFER},   # only to move it off a unit being deactivated
    }),
    ("street-fed-back", street(S.FED_BACK), {
        "operator": {A.SEND_BACK, A.CALLBACK, A.SUPPLEMENT},
        "dispatcher": {A.SEND_BACK, A.CALLBACK, A.SUPPLEMENT, A.SUPERVISE, A.TRANSFER_DISCIPLINE},
        "citizen": {A.SUPPLEMENT, A.RATE},
        "system": {A.SUPERVISE},
    }),
    ("street-called-back", street(S.CALLED_BACK), {
        "operator": {A.CALLBACK, A.REHANDLE, A.CLOSE, A.SUPPLEMENT},
        "dispatcher": {A.CALLBACK, A.REHANDLE, A.CLOSE, A.SUPPLEMENT, A.SUPERVISE, A.TRANSFER_DISCIPLINE},
        "citizen": {A.SUPPLEMENT, A.RATE},
        "system": {A.SUPERVISE},
    }),
    ("street-closed", street(S.CLOSED), {
        "dispatcher": {A.TRANSFER_DISCIPLINE},
        "citizen": {A.RATE},
    }),
    # the district holds it: it may re-dispatch to a street (REDISPATCH), the street sees nothing yet
    ("district-dispatched", district(S.DISPATCHED), {
        "operator": {A.SUPPLEMENT},
        "dispatcher": CENTER_OPEN,
        "handler@10": {A.SIGN, A.NOTE, A.REQUEST_RETURN, A.REDISPATCH},
        "leader@10": {A.SIGN, A.NOTE, A.REQUEST_RETURN, A.REDISPATCH},
        "citizen": {A.SUPPLEMENT},
        "system": {A.SUPERVISE},
        "admin": {A.TRANSFER},   # only to move it off a unit being deactivated
    }),
    ("district-handling", district(S.HANDLING), {
        "operator": {A.SUPPLEMENT},
        "dispatcher": CENTER_OPEN,
        "handler@10": {A.REDISPATCH, A.NOTE, A.REQUEST_RETURN, A.REQUEST_EXTENSION, A.FEEDBACK},
        "leader@10": {A.REDISPATCH, A.NOTE, A.REQUEST_RETURN, A.REQUEST_EXTENSION, A.FEEDBACK},
        "citizen": {A.SUPPLEMENT},
        "system": {A.SUPERVISE},
        "admin": {A.TRANSFER},   # only to move it off a unit being deactivated
    }),
    ("district-return-pending", district(S.RETURN_PENDING), {
        "operator": {A.SUPPLEMENT},
        "dispatcher": {A.APPROVE_RETURN, A.REJECT_RETURN, A.SUPERVISE, A.SUPPLEMENT, A.TRANSFER_DISCIPLINE},
        "citizen": {A.SUPPLEMENT},
        "system": {A.SUPERVISE},
        "admin": {A.TRANSFER},   # only to move it off a unit being deactivated
    }),
    # feedback must be reviewed by the district: the street submits it for review instead
    ("street-handling-reviewed-by-district", street(S.HANDLING, review_unit_id=10), {
        "operator": {A.SUPPLEMENT},
        "dispatcher": CENTER_OPEN,
        "handler@101": {A.NOTE, A.REQUEST_RETURN, A.REQUEST_EXTENSION, A.SUBMIT_FEEDBACK},
        "leader@101": {A.NOTE, A.REQUEST_RETURN, A.REQUEST_EXTENSION, A.SUBMIT_FEEDBACK},
        "citizen": {A.SUPPLEMENT},
        "system": {A.SUPERVISE},
        "admin": {A.TRANSFER},   # only to move it off a unit being deactivated
    }),
    ("street-handling-reviewed-by-own-leader", street(S.HANDLING, review_unit_id=101, review_by_leader=True), {
        "operator": {A.SUPPLEMENT},
        "dispatcher": CENTER_OPEN,
        "handler@101": {A.NOTE, A.REQUEST_RETURN, A.REQUEST_EXTENSION, A.SUBMIT_FEEDBACK},
        "leader@101": {A.NOTE, A.REQUEST_RETURN, A.REQUEST_EXTENSION, A.SUBMIT_FEEDBACK},
        "citizen": {A.SUPPLEMENT},
        "system": {A.SUPERVISE},
        "admin": {A.TRANSFER},   # only to move it off a unit being deactivated
    }),
    ("street-review-by-district-staff", street(S.FEEDBACK_REVIEW, review_unit_id=10), {
        "operator": {A.SUPPLEMENT},
        "dispatcher": CENTER_OPEN,
        "handler@10": {A.APPROVE_FEEDBACK, A.REJECT_FEEDBACK},
        "leader@10": {A.APPROVE_FEEDBACK, A.REJECT_FEEDBACK},
        "citizen": {A.SUPPLEMENT},
        "system": {A.SUPERVISE},
        "admin": {A.TRANSFER},   # only to move it off a unit being deactivated
    }),
    ("street-review-by-district-leader", street(S.FEEDBACK_REVIEW, review_unit_id=10, review_by_leader=True), {
        "operator": {A.SUPPLEMENT},
        "dispatcher": CENTER_OPEN,
        "leader@10": {A.APPROVE_FEEDBACK, A.REJECT_FEEDBACK},
        "citizen": {A.SUPPLEMENT},
        "system": {A.SUPERVISE},
        "admin": {A.TRANSFER},   # only to move it off a unit being deactivated
    }),
    ("street-review-by-own-leader", street(S.FEEDBACK_REVIEW, review_unit_id=101, review_by_leader=True), {
        "operator": {A.SUPPLEMENT},
        "dispatcher": CENTER_OPEN,
        "leader@101": {A.APPROVE_FEEDBACK, A.REJECT_FEEDBACK},
        "citizen": {A.SUPPLEMENT},
        "system": {A.SUPERVISE},
        "admin": {A.TRANSFER},   # only to move it off a unit being deactivated
    }),
    # an assisting unit (协办) may only add notes, and only while notes are possible at all
    ("assisted-dispatched", assisted(S.DISPATCHED), {
        "operator": {A.SUPPLEMENT},
        "dispatcher": CENTER_OPEN,
        "handler@101": {A.SIGN, A.NOTE, A.REQUEST_RETURN},
        "leader@101": {A.SIGN, A.NOTE, A.REQUEST_RETURN},
        "handler@201": {A.NOTE},
        "leader@201": {A.NOTE},
        "citizen": {A.SUPPLEMENT},
        "system": {A.SUPERVISE},
        "admin": {A.TRANSFER},   # only to move it off a unit being deactivated
    }),
    ("assisted-handling", assisted(S.HANDLING), {
        "operator": {A.SUPPLEMENT},
        "dispatcher": CENTER_OPEN,
        "handler@101": {A.NOTE, A.REQUEST_RETURN, A.REQUEST_EXTENSION, A.FEEDBACK},
        "leader@101": {A.NOTE, A.REQUEST_RETURN, A.REQUEST_EXTENSION, A.FEEDBACK},
        "handler@201": {A.NOTE},
        "leader@201": {A.NOTE},
        "citizen": {A.SUPPLEMENT},
        "system": {A.SUPERVISE},
        "admin": {A.TRANSFER},   # only to move it off a unit being deactivated
    }),
    ("assisted-return-pending", assisted(S.RETURN_PENDING), {
        "operator": {A.SUPPLEMENT},
        "dispatcher": {A.APPROVE_RETURN, A.REJECT_RETURN, A.SUPERVISE, A.SUPPLEMENT, A.TRANSFER_DISCIPLINE},
        "citizen": {A.SUPPLEMENT},
        "system": {A.SUPERVISE},
        "admin": {A.TRANSFER},   # only to move it off a unit being deactivated
    }),
    ("assisted-fed-back", assisted(S.FED_BACK), {
        "operator": {A.SEND_BACK, A.CALLBACK, A.SUPPLEMENT},
        "dispatcher": {A.SEND_BACK, A.CALLBACK, A.SUPPLEMENT, A.SUPERVISE, A.TRANSFER_DISCIPLINE},
        "citizen": {A.SUPPLEMENT, A.RATE},
        "system": {A.SUPERVISE},
    }),
]


def _drop_requester(facts: Facts) -> Facts:
    return Facts(**{**facts.__dict__, "is_requester": False})


@pytest.mark.parametrize("requester", [True, False], ids=["requester", "stranger"])
@pytest.mark.parametrize(("facts", "expected"), [(f, e) for _, f, e in SCENARIOS],
                         ids=[name for name, _, _ in SCENARIOS])
@pytest.mark.parametrize("actor_name", list(ACTORS))
def test_grid(actor_name, facts, expected, requester):
    if not requester:
        facts = _drop_requester(facts)
    want = set(expected.get(actor_name, set()))
    if actor_name == "citizen" and not requester:
        want = set()   # a citizen who has not proved the tracking credentials may do nothing
    got = permitted_actions(ACTORS[actor_name], facts)
    assert set(got) == want
    assert len(got) == len(set(got))
    # can() agrees action by action, including the ones permitted_actions leaves out
    for action in Action:
        assert can(ACTORS[actor_name], action, facts) == (action in want), action


def test_scenario_tables_name_only_known_actors():
    for name, _, expected in SCENARIOS:
        assert set(expected) <= set(ACTORS), name


# --- who sees what -------------------------------------------------------------

CENTER_VIEWERS = {"operator", "dispatcher", "citizen", "system"}
UNIT_1 = {"handler@1", "leader@1"}


@pytest.mark.parametrize(("facts", "viewers"), [
    (at_center(S.SUBMITTED), CENTER_VIEWERS),
    (street(S.HANDLING), CENTER_VIEWERS | UNIT_1 | {"handler@10", "leader@10", "handler@101", "leader@101"}),
    (district(S.HANDLING), CENTER_VIEWERS | UNIT_1 | {"handler@10", "leader@10"}),
    (assisted(S.HANDLING), CENTER_VIEWERS | UNIT_1 | {"handler@10", "leader@10", "handler@101", "leader@101",
                                                      "handler@20", "leader@20", "handler@201", "leader@201"}),
    (street(S.CLOSED), CENTER_VIEWERS | UNIT_1 | {"handler@10", "leader@10", "handler@101", "leader@101"}),
    (_drop_requester(street(S.HANDLING)),
     {"operator", "dispatcher", "system"} | UNIT_1 | {"handler@10", "leader@10", "handler@101", "leader@101"}),
], ids=["at-center", "street", "district", "assisted", "closed", "not-requester"])
def test_can_view(facts, viewers):
    assert {name for name, actor in ACTORS.items() if can_view(actor, facts)} == viewers


def test_district_sees_its_street_but_not_the_other_way_round():
    assert can_view(ACTORS["handler@10"], street(S.HANDLING))
    assert not can_view(ACTORS["handler@101"], district(S.HANDLING))
    assert not can_view(ACTORS["handler@102"], street(S.HANDLING))     # sibling street
    assert not can_view(ACTORS["handler@20"], street(S.HANDLING))      # another district
    assert not can_view(ACTORS["handler@201"], street(S.HANDLING))     # a street of another district
    assert not can_view(ACTORS["handler@30"], street(S.HANDLING))      # a department


def test_admin_sees_nothing_and_may_only_transfer_work_a_unit_holds():
    for _, facts, _ in SCENARIOS:
        assert not can_view(ACTORS["admin"], facts)
        held = facts.status in WITH_UNIT
        assert permitted_actions(ACTORS["admin"], facts) == ([A.TRANSFER] if held else [])
    assert not can(ACTORS["admin"], A.SUBMIT, Facts(None))


def test_only_an_admin_transfers_and_only_to_an_active_tier_2_or_3_unit():
    street_101 = UnitRef(101, 3, True, frozenset({1, 10, 101}))
    district_10 = UnitRef(10, 2, True, frozenset({1, 10}))
    assert can_send_to(ACTORS["admin"], A.TRANSFER, street_101)
    assert can_send_to(ACTORS["admin"], A.TRANSFER, district_10)
    assert not can_send_to(ACTORS["admin"], A.TRANSFER, UnitRef(1, 1, True, frozenset({1})))
    assert not can_send_to(ACTORS["admin"], A.TRANSFER, UnitRef(102, 3, False, frozenset({1, 10, 102})))
    for name in ("dispatcher", "handler@10", "leader@101"):
        assert not can_send_to(ACTORS[name], A.TRANSFER, street_101)


def test_unit_staff_without_a_unit_see_nothing():
    facts = Facts(S.HANDLING, handling_unit_id=None, path_ancestors=frozenset())
    assert not can_view(Actor(R.HANDLER), facts)
    assert permitted_actions(Actor(R.HANDLER), facts) == []


@pytest.mark.parametrize("name", ["operator@10", "dispatcher@101"])
def test_center_roles_at_a_non_center_unit_get_nothing(name):
    actor = ACTORS[name]
    for _, facts, _ in SCENARIOS:
        assert not can_view(actor, facts)
        assert permitted_actions(actor, facts) == []
    assert not can(actor, A.SUBMIT, Facts(None))
    # …even on a request their own unit holds
    own = Facts(S.HANDLING, handling_unit_id=actor.unit_id, handling_tier=actor.tier,
                path_ancestors=frozenset({1, actor.unit_id}))
    assert permitted_actions(actor, own) == []


# --- specific rules, spelled out --------------------------------------------------

def test_operator_lacks_what_the_dispatcher_has():
    op, disp = ACTORS["operator"], ACTORS["dispatcher"]
    for action, facts in [
        (A.APPROVE_RETURN, street(S.RETURN_PENDING)),
        (A.REJECT_RETURN, street(S.RETURN_PENDING)),
        (A.APPROVE_EXTENSION, street(S.EXTENSION_PENDING)),
        (A.REJECT_EXTENSION, street(S.EXTENSION_PENDING)),
        (A.SUPERVISE, street(S.HANDLING)),
        (A.TRANSFER_DISCIPLINE, street(S.CLOSED)),
    ]:
        assert can(disp, action, facts), action
        assert not can(op, action, facts), action


@pytest.mark.parametrize("status", [S.DISPATCHED, S.HANDLING])
def test_redispatch_only_by_a_tier2_holder(status):
    facts = district(status)
    assert can(ACTORS["handler@10"], A.REDISPATCH, facts)
    assert can(ACTORS["leader@10"], A.REDISPATCH, facts)
    others = [name for name in ACTORS if name not in ("handler@10", "leader@10")]
    assert [n for n in others if can(ACTORS[n], A.REDISPATCH, facts)] == []
    # a street holding the request may not re-dispatch it
    assert not can(ACTORS["handler@101"], A.REDISPATCH, street(status))
    # a department holding it may (where to is can_send_to's business)
    dept = Facts(status, handling_unit_id=30, handling_tier=2, path_ancestors=frozenset({1, 30}))
    assert can(ACTORS["handler@30"], A.REDISPATCH, dept)


def test_redispatch_needs_the_tier_on_the_actor():
    facts = district(S.HANDLING)
    assert not can(Actor(R.HANDLER, unit_id=10, tier=3), A.REDISPATCH, facts)
    assert not can(Actor(R.HANDLER, unit_id=10, tier=None), A.REDISPATCH, facts)


def test_feedback_or_submit_feedback_depends_on_review_unit():
    h = ACTORS["handler@101"]
    direct, reviewed = street(S.HANDLING), street(S.HANDLING, review_unit_id=10)
    assert can(h, A.FEEDBACK, direct) and not can(h, A.SUBMIT_FEEDBACK, direct)
    assert can(h, A.SUBMIT_FEEDBACK, reviewed) and not can(h, A.FEEDBACK, reviewed)


@pytest.mark.parametrize("action", [A.APPROVE_FEEDBACK, A.REJECT_FEEDBACK])
def test_feedback_review(action):
    by_staff = street(S.FEEDBACK_REVIEW, review_unit_id=10)
    by_leader = street(S.FEEDBACK_REVIEW, review_unit_id=10, review_by_leader=True)
    assert can(ACTORS["handler@10"], action, by_staff)
    assert can(ACTORS["leader@10"], action, by_staff)
    assert not can(ACTORS["handler@10"], action, by_leader)
    assert can(ACTORS["leader@10"], action, by_leader)
    # the unit that wrote the feedback does not review it, nor does the center
    for name in ("handler@101", "leader@101", "operator", "dispatcher", "system"):
        assert not can(ACTORS[name], action, by_staff), name
    # a leader of another unit is not the reviewer
    assert not can(ACTORS["leader@20"], action, _with_path(by_leader, {20}))


def _with_path(facts: Facts, extra: set[int]) -> Facts:
    return Facts(**{**facts.__dict__, "path_ancestors": facts.path_ancestors | extra})


def test_review_requires_the_request_to_be_in_review():
    facts = street(S.HANDLING, review_unit_id=10)
    assert not can(ACTORS["leader@10"], A.APPROVE_FEEDBACK, facts)


@pytest.mark.parametrize("action", [a for a in Action if a is not A.NOTE])
def test_assisting_units_may_only_note(action):
    facts = assisted(S.HANDLING)
    assert not can(ACTORS["handler@201"], action, facts)
    assert not can(ACTORS["leader@201"], action, facts)


def test_assisting_unit_must_be_able_to_see_the_request():
    # assisting but (wrongly) not on the path: scope wins
    facts = Facts(S.HANDLING, handling_unit_id=101, path_ancestors=PATH_101,
                  assisting_unit_ids=frozenset({201}))
    assert not can(ACTORS["handler@201"], A.NOTE, facts)


def test_parent_unit_watches_but_does_not_act():
    for status in (S.DISPATCHED, S.HANDLING, S.EXTENSION_PENDING, S.FED_BACK):
        facts = street(status)
        assert can_view(ACTORS["leader@10"], facts)
        assert permitted_actions(ACTORS["leader@10"], facts) == []


def test_submit():
    new = Facts(None)
    allowed = {name for name, actor in ACTORS.items() if can(actor, A.SUBMIT, new)}
    # a citizen needs no credentials to file a new request
    assert allowed == {"operator", "dispatcher", "citizen"}
    for name, actor in ACTORS.items():
        for status in Status:
            assert not can(actor, A.SUBMIT, Facts(status, is_requester=True)), (name, status)


@pytest.mark.parametrize("action", [a for a in Action if a is not A.SUBMIT])
def test_nothing_but_submit_on_a_request_that_does_not_exist(action):
    for actor in ACTORS.values():
        assert not can(actor, action, Facts(None, is_requester=True))


def test_role_labels():
    for role in Role:
        assert role.label.strip()


# --- where to send ------------------------------------------------------------------

UNITS = {
    1: UnitRef(1, 1, True, frozenset({1})),
    10: UnitRef(10, 2, True, frozenset({1, 10})),
    20: UnitRef(20, 2, True, frozenset({1, 20})),
    30: UnitRef(30, 2, True, frozenset({1, 30})),
    101: UnitRef(101, 3, True, frozenset({1, 10, 101})),
    102: UnitRef(102, 3, True, frozenset({1, 10, 102})),
    103: UnitRef(103, 3, False, frozenset({1, 10, 103})),   # inactive street of district 10
    201: UnitRef(201, 3, True, frozenset({1, 20, 201})),
    40: UnitRef(40, 2, False, frozenset({1, 40})),          # inactive district
}


@pytest.mark.parametrize(("actor_name", "action", "targets"), [
    ("operator", A.DISPATCH, {10, 20, 30, 101, 102, 201}),
    ("dispatcher", A.DISPATCH, {10, 20, 30, 101, 102, 201}),
    ("handler@10", A.DISPATCH, set()),
    ("handler@101", A.DISPATCH, set()),
    ("handler@10", A.REDISPATCH, {101, 102}),
    ("leader@10", A.REDISPATCH, {101, 102}),
    ("handler@20", A.REDISPATCH, {201}),
    ("handler@30", A.REDISPATCH, set()),      # a department has no streets below it
    ("handler@101", A.REDISPATCH, set()),     # a street passes nothing on
    ("operator", A.REDISPATCH, set()),
    ("dispatcher", A.REDISPATCH, set()),
    ("dispatcher", A.SIGN, set()),
    ("handler@10", A.NOTE, set()),
])
def test_can_send_to(actor_name, action, targets):
    got = {uid for uid, unit in UNITS.items() if can_send_to(ACTORS[actor_name], action, unit)}
    assert got == targets


def test_never_to_an_inactive_unit_or_the_center():
    for actor in ACTORS.values():
        for action in (A.DISPATCH, A.REDISPATCH):
            assert not can_send_to(actor, action, UNITS[103])
            assert not can_send_to(actor, action, UNITS[40])
            assert not can_send_to(actor, action, UNITS[1])


# --- property: can() never goes beyond the lifecycle and the actor's scope -----------

_units = st.sampled_from([None, 1, 10, 20, 30, 101, 102, 201])
_unit_sets = st.frozensets(st.sampled_from([1, 10, 20, 30, 101, 102, 201]), max_size=4)
_actors = st.builds(Actor, role=st.sampled_from(list(Role)), unit_id=_units,
                    tier=st.sampled_from([None, 1, 2, 3]), user_id=st.none() | st.integers(1, 5))
_facts = st.builds(Facts, status=st.none() | st.sampled_from(list(Status)), handling_unit_id=_units,
                   handling_tier=st.sampled_from([None, 1, 2, 3]), path_ancestors=_unit_sets,
                   assisting_unit_ids=_unit_sets, review_unit_id=_units, review_by_leader=st.booleans(),
                   is_requester=st.booleans())


@settings(max_examples=400, deadline=None)
@given(actor=_actors, action=st.sampled_from(list(Action)), facts=_facts)
def test_can_implies_legal_transition_and_view(actor, action, facts):
    if not can(actor, action, facts):
        return
    if actor.role is Role.ADMIN:
        # an admin only moves open requests off a unit being deactivated, without seeing them
        assert action is A.TRANSFER and (facts.status, action) in TRANSITIONS and not can_view(actor, facts)
        return
    if action is A.SUBMIT:
        assert facts.status is None
        return
    assert (facts.status, action) in TRANSITIONS
    assert can_view(actor, facts)
    if actor.role in (Role.OPERATOR, Role.DISPATCHER):
        assert actor.tier == Tier.CENTER
    if actor.role in (Role.HANDLER, Role.LEADER):
        # unit staff act only on requests their unit holds, assists with or reviews
        assert actor.unit_id in ({facts.handling_unit_id, facts.review_unit_id} | facts.assisting_unit_ids)
    if actor.role is Role.CITIZEN:
        assert facts.is_requester
