"""Random lives of requests: a hypothesis state machine drives one to four requests through
``perform()`` with whoever may act (operator, dispatcher, the system, the handling unit's
handler and leader, its parent unit's, an assisting unit's, the requester) and checks,
after every step, what the code promises about the stored rows.

Runs on both backends (30 examples × 25 steps; about 5 s on SQLite, 10 s on PostgreSQL).
The ``app`` fixture is function-scoped, so the whole hypothesis run happens inside one
test and one database; every example starts its own new requests and resets the two
review settings it may change.
"""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition, rule,
                                 run_state_machine_as_test)
from sqlalchemy import select

from portal.domain.access import Actor, Role, can_view, permitted_actions
from portal.domain.deadlines import Urgency
from portal.domain.intake import RequestKind
from portal.domain.lifecycle import (AFTER_FEEDBACK, AT_CENTER, OPEN, TERMINAL, TRANSITIONS, WITH_UNIT, Action,
                                     Status, replay)
from portal.extensions import db
from portal.models import Category, Ticket, User
from portal.services import tickets as svc
from portal.services.tickets import (IllegalTransition, InvalidInput, NotPermitted, create_ticket, facts_for, perform,
                                     visible_clause)
from tests.conftest import CITIZEN
from tests.factories import CONTENT
from tests.integration.support import snapshot

A, S = Action, Status
SYSTEM = Actor(Role.SYSTEM)
CATEGORIES = ["SZSS-LD", "JTGL-XHD", "HJBH-LTSK"]
PLACES = [("110105", "110105001"), ("110105", "110105002"), ("110108", "110108001"), (None, None)]
DISPATCH_TARGETS = ["110105", "110105001", "110105002", "110105003", "110108", "110108001", "D-SCJGJ"]
ASSISTS = ["D-SCJGJ", "E-ZLS", "110105002"]
STREETS_UNDER = {"110105": ["110105001", "110105002", "110105003"], "110108": ["110108001", "110108002"]}
TEXTS = ["已核实情况", "请尽快办理", "市民反映属实，已安排处理", "经协调已解决"]
#: actions that refuse an empty set of details with InvalidInput (CLOSE only sometimes: left out)
NEED_DETAILS = frozenset({
    A.ANSWER, A.INVALIDATE, A.MERGE, A.DISPATCH, A.REDISPATCH, A.NOTE, A.REQUEST_RETURN, A.REJECT_RETURN,
    A.REQUEST_EXTENSION, A.REJECT_EXTENSION, A.FEEDBACK, A.SUBMIT_FEEDBACK, A.REJECT_FEEDBACK, A.SEND_BACK,
    A.CALLBACK, A.REHANDLE, A.TRANSFER_DISCIPLINE, A.SUPPLEMENT, A.RATE, A.TRANSFER,
})
#: handlers whose view of every request is checked: the SQL scope against the permission rule
SCOPE_UNITS = ["110105", "110105001", "110105002", "110105003", "110108", "110108001", "D-SCJGJ", "E-ZLS"]


def test_random_lives_of_requests(app, units, now):
    by_unit_role = {(u.unit_id, u.role): u.actor() for u in db.session.scalars(select(User))}
    operator = by_unit_role[(units["BJ12345"].id, Role.OPERATOR)]
    dispatcher = by_unit_role[(units["BJ12345"].id, Role.DISPATCHER)]
    admin = by_unit_role[(units["BJ12345"].id, Role.ADMIN)]
    categories = {c.code: c for c in db.session.scalars(select(Category).where(Category.code.in_(CATEGORIES)))}
    seeded_leader_approval = units["110105001"].requires_leader_approval
    seeded_district_review = units["110105"].reviews_child_feedback

    def staff(unit, role: Role) -> Actor:
        return by_unit_role.get((unit.id, role)) or Actor(role, unit.id, unit.tier)

    scope_actors = [operator, admin] + [staff(units[c], Role.HANDLER) for c in SCOPE_UNITS]
    paths = {units[c].id: units[c].path for c in SCOPE_UNITS}     # no unit moves in this test
    performed: Counter = Counter()
    reached: set[S] = set()

    class Lifecycles(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            db.session.rollback()
            units["110105001"].requires_leader_approval = seeded_leader_approval
            units["110105"].reviews_child_feedback = seeded_district_review
            db.session.commit()
            self.clock = now
            self.ids: list[int] = []
            self.touched: set[int] = set()     # checked after the step; the others cannot have changed

        # --- who may act, with which details ------------------------------------------------------------------

        def candidates(self, t: Ticket) -> list[tuple[str, Actor, bool]]:
            out = [("operator", operator, False), ("dispatcher", dispatcher, False), ("system", SYSTEM, False),
                   ("citizen", CITIZEN, True), ("admin", admin, False)]
            unit = t.handling_unit
            if unit is not None:
                out += [(f"{unit.code}:handler", staff(unit, Role.HANDLER), False),
                        (f"{unit.code}:leader", staff(unit, Role.LEADER), False)]
                if unit.parent is not None and unit.parent.tier == 2:
                    out += [(f"{unit.parent.code}:handler", staff(unit.parent, Role.HANDLER), False),
                            (f"{unit.parent.code}:leader", staff(unit.parent, Role.LEADER), False)]
            for tu in sorted(t.units, key=lambda tu: tu.unit_id):
                if tu.role == "assist" and tu.current:
                    out.append((f"{tu.unit.code}:assist", staff(tu.unit, Role.HANDLER), False))
            return out

        def feasible(self, t: Ticket, action: A) -> bool:
            """Whether valid details exist at all (otherwise the action is skipped, not attempted)."""
            if action is A.MERGE:
                return bool(self.merge_targets(t))
            if action is A.REDISPATCH:
                return t.handling_unit.code in STREETS_UNDER
            if action is A.REQUEST_EXTENSION:
                return t.feedback_due_at + timedelta(days=15) > max(self.clock, t.feedback_due_at)
            if action is A.RATE:
                return t.rated_at is None
            if action is A.REHANDLE:
                return not svc._last_callback_good(t)
            return True

        def merge_targets(self, t: Ticket) -> list[int]:
            return [i for i in self.ids if i != t.id and db.session.get(Ticket, i).status not in TERMINAL]

        def details(self, t: Ticket, action: A, data) -> dict:
            def text() -> str:
                return data.draw(st.sampled_from(TEXTS))

            def flag() -> bool:
                return data.draw(st.booleans())

            if action is A.ACCEPT:
                return {"urgency": data.draw(st.sampled_from([None, "normal", "urgent"]))}
            if action is A.ANSWER:
                return {"answer": text()}
            if action is A.MERGE:
                return {"into": db.session.get(Ticket, data.draw(st.sampled_from(self.merge_targets(t))))}
            if action is A.DISPATCH:
                code = data.draw(st.sampled_from(DISPATCH_TARGETS))
                d = {"unit": units[code]}
                if flag():
                    d["assist"] = [units[data.draw(st.sampled_from([c for c in ASSISTS if c != code]))]]
                return d
            if action is A.REDISPATCH:
                return {"unit": units[data.draw(st.sampled_from(STREETS_UNDER[t.handling_unit.code]))]}
            if action is A.TRANSFER:      # an admin moves the work off the unit (as when deactivating it)
                return {"unit": units[data.draw(st.sampled_from(
                    [c for c in DISPATCH_TARGETS if c != t.handling_unit.code]))]}
            if action in (A.SIGN, A.APPROVE_RETURN, A.APPROVE_EXTENSION, A.APPROVE_FEEDBACK):
                return {}
            if action in (A.NOTE, A.TRANSFER_DISCIPLINE):
                return {"note": text()}
            if action in (A.INVALIDATE, A.REQUEST_RETURN, A.REJECT_RETURN, A.REJECT_EXTENSION, A.REJECT_FEEDBACK,
                          A.SEND_BACK):
                return {"reason": text()}
            if action is A.REQUEST_EXTENSION:
                due = t.feedback_due_at
                low = max(self.clock, due)
                room = int((due + timedelta(days=15) - low).total_seconds() // 60)
                return {"due": low + timedelta(minutes=data.draw(st.integers(1, room))), "reason": text()}
            if action is A.FEEDBACK:
                return {"reply": text(), "report": data.draw(st.sampled_from(["", "附现场照片"]))}
            if action is A.SUBMIT_FEEDBACK:
                return {"reply": text()}
            if action is A.CALLBACK:
                if flag():
                    return {"contacted": True, "resolved": flag(), "satisfied": flag()}
                return {"contacted": False}
            if action is A.REHANDLE:
                d = {"reason": text()}
                if flag():
                    d["due"] = self.clock + timedelta(hours=data.draw(st.integers(1, 240)))
                return d
            if action is A.CLOSE:
                return {"reason": "" if svc._last_callback_good(t) and flag() else text()}
            if action is A.SUPERVISE:
                return {"level": data.draw(st.integers(1, 4))}
            if action is A.SUPPLEMENT:
                return {"text": text()}
            if action is A.RATE:
                return {"resolved": flag(), "satisfied": flag(), "comment": text()}
            raise AssertionError(f"no details for {action}")

        # --- rules ---------------------------------------------------------------------------------------------

        def _new(self, category: str, urgency: Urgency, place, by_operator: bool) -> None:
            district, street = place
            t = create_ticket(operator if by_operator else CITIZEN, self.clock, category=categories[category],
                              kind=RequestKind.COMPLAINT, content=CONTENT, urgency=urgency,
                              district=units[district] if district else None, street=units[street] if street else None)
            db.session.commit()
            self.ids.append(t.id)
            self.touched.add(t.id)

        @initialize(category=st.sampled_from(CATEGORIES), urgency=st.sampled_from(list(Urgency)),
                    place=st.sampled_from(PLACES), by_operator=st.booleans())
        def first_request(self, category, urgency, place, by_operator):
            self._new(category, urgency, place, by_operator)

        @precondition(lambda self: len(self.ids) < 4)
        @rule(category=st.sampled_from(CATEGORIES), urgency=st.sampled_from(list(Urgency)),
              place=st.sampled_from(PLACES), by_operator=st.booleans())
        def another_request(self, category, urgency, place, by_operator):
            self.clock += timedelta(minutes=1)
            self._new(category, urgency, place, by_operator)

        @rule(street_leader=st.booleans(), district_reviews=st.booleans())
        def change_review_settings(self, street_leader, district_reviews):
            units["110105001"].requires_leader_approval = street_leader
            units["110105"].reviews_child_feedback = district_reviews
            db.session.commit()

        def options(self, t: Ticket, only: frozenset[A] | None = None) -> list[tuple[str, A, Actor, bool]]:
            return [(name, action, actor, req) for name, actor, req in self.candidates(t)
                    for action in permitted_actions(actor, facts_for(t, requester=req))
                    if (only is None or action in only) and self.feasible(t, action)]

        @rule(data=st.data())
        def act(self, data):
            """A short walk: one to six permitted actions on one request, checking the rows after each."""
            open_ids = [i for i in self.ids if db.session.get(Ticket, i).status in OPEN]
            tid = data.draw(st.sampled_from(open_ids or self.ids), label="ticket")
            for _ in range(data.draw(st.integers(1, 6), label="steps")):
                t = db.session.get(Ticket, tid)
                self.clock += timedelta(minutes=data.draw(st.integers(1, 3 * 24 * 60), label="minutes later"))
                options = self.options(t)
                if not options:
                    assert t.status in TERMINAL - {S.CLOSED}, (t.status, "an open request nobody can act on")
                    return
                # moving the request on is likelier than notes, supervision, or ending it at the center
                weighted = [o for o in options for _ in range(weight(t.status, o[1]))]
                name, action, actor, req = data.draw(st.sampled_from(weighted), label="who, what")
                details = self.details(t, action, data)
                perform(t, action, actor, self.clock, requester=req, **details)
                db.session.commit()
                performed[action] += 1
                reached.add(t.status)
                self.touched.add(tid)
                self.check()

        @rule(data=st.data(), incomplete=st.booleans())
        def refused(self, data, incomplete):
            """Either a random actor tries what it may not do (NotPermitted / IllegalTransition), or a permitted
            action comes without its details (InvalidInput); either way nothing changes."""
            t = db.session.get(Ticket, data.draw(st.sampled_from(self.ids), label="ticket"))
            if incomplete:
                options = self.options(t, only=NEED_DETAILS)
                if not options:
                    return
                name, action, actor, req = data.draw(st.sampled_from(options), label="who, what")
                expected = InvalidInput
            else:
                people = self.candidates(t) + [(repr(a), a, False) for a in scope_actors]
                name, actor, req = data.draw(st.sampled_from(people), label="who")
                allowed = set(permitted_actions(actor, facts_for(t, requester=req)))
                action = data.draw(st.sampled_from([a for a in Action if a not in allowed]), label="what")
                expected = NotPermitted if (t.status, action) in TRANSITIONS else IllegalTransition
            before = snapshot(t.id)
            with pytest.raises(expected):
                perform(t, action, actor, self.clock + timedelta(seconds=1), requester=req)
            db.session.rollback()
            assert snapshot(t.id) == before

        # --- invariants -------------------------------------------------------------------------------------

        @invariant()
        def stored_rows_are_consistent(self):
            self.check()

        def check(self):
            db.session.expire_all()
            touched = sorted(self.touched)
            for tid in touched:
                t = db.session.get(Ticket, tid)
                check_ticket(t, self.candidates(t))
            if touched:
                check_scope(touched, scope_actors, paths)
            self.touched.clear()

    run_state_machine_as_test(Lifecycles, settings=settings(
        max_examples=30, stateful_step_count=25, deadline=None, database=None, print_blob=True, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]))
    # the walk really went somewhere (a typical run: 150-350 actions, 11-13 statuses)
    assert sum(performed.values()) >= 50 and len(reached) >= 6, (performed, reached)


#: sends the request back a step (kept, but less often than moving it forward)
LOOPS = frozenset({A.REQUEST_RETURN, A.APPROVE_RETURN, A.REJECT_RETURN, A.REQUEST_EXTENSION, A.REJECT_FEEDBACK,
                   A.SEND_BACK, A.REHANDLE})


def weight(status: S, action: A) -> int:
    """Forward 8, loops back 3, notes/supervision/ending at the center 1: lives get long enough to close."""
    if action in (A.ANSWER, A.INVALIDATE, A.MERGE):
        return 1
    if TRANSITIONS[status, action] is status and action is not A.REDISPATCH:
        return 1
    return 3 if action in LOOPS else 8


def check_ticket(t: Ticket, candidates) -> None:
    events = t.events
    actions = [e.action for e in events]
    count = Counter(actions)
    # the trail: seq 1..n, starts with SUBMIT, each step starts where the last ended, and replays to the status
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert actions[0] is A.SUBMIT and events[0].from_status is None and count[A.SUBMIT] == 1
    assert all(b.from_status is a.to_status for a, b in zip(events, events[1:]))
    assert events[-1].to_status is t.status
    assert replay(actions) is t.status
    assert all(a.at <= b.at for a, b in zip(events, events[1:]))
    # the INSERT is version 1, then exactly one UPDATE per perform: it moves updated_at (the clock only goes
    # forward) and writes nothing before its single flush (no autoflush half-way through)
    assert t.version == len(events)
    assert t.updated_at == events[-1].at

    # where the request is
    primaries = [tu.unit_id for tu in t.units if tu.role == "primary" and tu.current]
    assert primaries == ([] if t.handling_unit_id is None else [t.handling_unit_id])
    assert len({tu.unit_id for tu in t.units}) == len(t.units)
    if t.status in WITH_UNIT:
        assert None not in (t.handling_unit_id, t.dispatched_at, t.sign_due_at, t.feedback_due_at)
    if t.status in AT_CENTER:
        assert (t.handling_unit_id, t.sign_due_at, t.feedback_due_at, t.signed_at) == (None,) * 4
    if t.status in UNIT_SIGNED:
        assert t.signed_at is not None and t.handling_unit_id is not None
    if t.status is S.DISPATCHED and t.events[-1].action in (A.DISPATCH, A.REDISPATCH):
        assert t.signed_at is None
    assert (t.pending_due_at is not None) == (t.status is S.EXTENSION_PENDING)

    # feedback, callback, closing
    assert (t.fed_back_at is not None) == (t.status in AFTER_FEEDBACK | {S.CLOSED})
    if t.status in AFTER_FEEDBACK | {S.FEEDBACK_REVIEW, S.CLOSED}:
        assert t.reply.strip() and t.report.strip()
    if t.status in (S.CALLED_BACK, S.CLOSED):
        assert t.callbacks
    assert len(t.callbacks) == count[A.CALLBACK] + count[A.RATE]
    assert [c.source for c in t.callbacks].count("citizen") == count[A.RATE] <= 1
    assert (t.rated_at is not None) == (count[A.RATE] == 1)
    assert (t.closed_at is not None) == (t.status in TERMINAL)
    if t.status is S.ANSWERED:
        assert t.answer.strip()
    if t.status is S.MERGED:
        assert t.merged_into_id not in (None, t.id)
    else:
        assert t.merged_into_id is None

    # the counters are the trail's counts
    assert t.return_count == count[A.APPROVE_RETURN]
    assert t.redispatch_count == count[A.REDISPATCH]
    assert t.rehandle_count == count[A.REHANDLE]
    assert t.extension_count == count[A.APPROVE_EXTENSION]
    assert t.supervision_level == max([e.data["level"] for e in events if e.action is A.SUPERVISE], default=0)

    # the reviewer is fixed on the request while its feedback waits (the unit itself, by its leader, or the
    # street's district), whatever the review settings have become since
    assert (t.review_unit_id is not None) == (t.status is S.FEEDBACK_REVIEW)
    if t.status is S.FEEDBACK_REVIEW:
        hu = t.handling_unit
        assert (t.review_unit_id, t.review_by_leader) in {(hu.id, True), (hu.parent_id, False)}
    else:
        assert t.review_by_leader is False

    # an open request can always be moved on by someone (the review settings change at random meanwhile)
    if t.status in OPEN:
        facts = {req: facts_for(t, requester=req) for req in (False, True)}
        movers = [a for _, actor, req in candidates for a in permitted_actions(actor, facts[req])
                  if TRANSITIONS[t.status, a] is not t.status]
        assert movers, (t.status, "nobody can move this request on")


UNIT_SIGNED = frozenset({S.HANDLING, S.EXTENSION_PENDING, S.FEEDBACK_REVIEW, S.FED_BACK, S.CALLED_BACK, S.CLOSED})


def check_scope(ids: list[int], actors: list[Actor], paths: dict[int, str]) -> None:
    """The SQL scope (visible_clause) and the permission rule (can_view) agree on every request.

    One query: a boolean column per actor."""
    columns = [visible_clause(a, paths.get(a.unit_id)).label(f"actor_{i}") for i, a in enumerate(actors)]
    rows = db.session.execute(select(Ticket.id, *columns).where(Ticket.id.in_(ids))).all()
    assert len(rows) == len(ids)
    for tid, *seen in rows:
        t = db.session.get(Ticket, tid)
        facts = facts_for(t)
        for actor, visible in zip(actors, seen):
            assert bool(visible) == can_view(actor, facts), (actor, t.status)
            if t.handling_unit_id is not None and actor.unit_id == t.handling_unit_id:
                assert visible
