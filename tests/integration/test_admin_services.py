"""Admin services on SQLite and PostgreSQL: moving open work through perform(TRANSFER) when a
unit is deactivated, the CSV import applied in one transaction, working-day deadlines in every
deadline the services compute, the last admin."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.domain.access import Role
from portal.domain.deadlines import WORKING_DAYS, from_local
from portal.domain.hierarchy import HierarchyError
from portal.domain.lifecycle import Action, Status, replay
from portal.extensions import db
from portal.models import AuditEntry, TicketEvent, Unit
from portal.services import admin_units, admin_users, settings
from portal.services.tickets import InvalidInput, NotPermitted, perform
from tests.integration.support import reload, snapshot

A, S = Action, Status
DATA = Path(__file__).resolve().parents[1] / "data"


def local(*args) -> datetime:
    return from_local(datetime(*args))


def test_deactivate_transfers_each_open_request_with_an_event(app, units, users, make_ticket, now):
    tickets = [make_ticket(s, unit="110105002") for s in
               (S.DISPATCHED, S.HANDLING, S.RETURN_PENDING, S.EXTENSION_PENDING, S.FEEDBACK_REVIEW)]
    admin = users.actor("admin")
    moved = admin_units.deactivate_unit(admin, now, units["110105002"], units["110105001"])
    db.session.commit()
    assert moved == 5
    for t in tickets:
        t = reload(t.id)
        assert t.status is S.DISPATCHED and t.handling_unit.code == "110105001"
        assert t.review_unit_id is None and t.pending_due_at is None and t.signed_at is None
        assert t.events[-1].action is A.TRANSFER and replay(e.action for e in t.events) is S.DISPATCHED
        # the receiving street signs for it as for any dispatched request
        perform(t, A.SIGN, users.actor("jianwai"), now)
        db.session.commit()
        assert reload(t.id).status is S.HANDLING
    assert not db.session.scalar(select(Unit.active).where(Unit.code == "110105002"))


def test_deactivate_without_a_target_changes_nothing(app, units, users, make_ticket, now):
    t = make_ticket(S.HANDLING, unit="110105002")
    before = snapshot(t.id)
    with pytest.raises(InvalidInput):
        admin_units.deactivate_unit(users.actor("admin"), now, units["110105002"])
    db.session.rollback()
    assert snapshot(t.id) == before and units["110105002"].active


@pytest.mark.parametrize("status", [S.FED_BACK, S.CALLED_BACK])
def test_deactivate_is_refused_while_a_request_awaits_its_callback(app, units, users, make_ticket, now, status):
    """A "not resolved" callback would send it back to the stopped unit: it must be closed first."""
    t = make_ticket(status, unit="110105002")
    with pytest.raises(InvalidInput, match="等待回访"):
        admin_units.deactivate_unit(users.actor("admin"), now, units["110105002"], units["110105001"])
    db.session.rollback()
    assert units["110105002"].active and reload(t.id).handling_unit.code == "110105002"


def test_only_an_admin_transfers(app, units, users, make_ticket, now):
    t = make_ticket(S.HANDLING, unit="110105002")
    before = snapshot(t.id)
    for name in ("dispatcher", "chaoyang", "chaowai"):
        with pytest.raises(NotPermitted):
            perform(t, A.TRANSFER, users.actor(name), now, unit=units["110105001"])
        db.session.rollback()
    assert snapshot(t.id) == before


def test_a_whole_other_city_in_one_transaction(app, now, users):
    data = (DATA / "haibin_units.csv").read_bytes()
    result = admin_units.apply_import(users["admin"].id, data, now, deactivate_missing=True)
    db.session.commit()
    assert len(result.added) == 14
    active = db.session.execute(select(Unit.code, Unit.path).where(Unit.active)).all()
    assert len(active) == 15
    by_code = {u.code: u for u in db.session.scalars(select(Unit))}
    for code, path in active:
        unit = by_code[code]
        expected = (unit.parent.path if unit.parent else "/") + f"{unit.id}/"
        assert path == expected
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "unit.import")) == 1


@pytest.mark.parametrize("status", [S.HANDLING, S.FED_BACK])
def test_importing_another_city_is_refused_while_old_units_have_unfinished_requests(app, now, users, make_ticket,
                                                                                   status):
    make_ticket(status, unit="110105002")
    preview = admin_units.preview_import((DATA / "haibin_units.csv").read_bytes(), deactivate_missing=True)
    assert any("110105002" in p.message for p in preview.problems)


def test_a_bad_file_applies_nothing(app, now, users):
    before = sorted(tuple(r) for r in db.session.execute(select(Unit.code, Unit.name, Unit.parent_id, Unit.active)))
    bad = (DATA / "haibin_units.csv").read_bytes() + "HB09001,孤儿街道,3,street,HB09\n".encode()
    with pytest.raises(HierarchyError) as exc:
        admin_units.apply_import(users["admin"].id, bad, now, deactivate_missing=True)
    db.session.rollback()
    assert exc.value.problems[0].line == 17
    assert sorted(tuple(r) for r in db.session.execute(
        select(Unit.code, Unit.name, Unit.parent_id, Unit.active))) == before


def test_every_deadline_counts_working_days(app, units, users, make_ticket):
    """Dispatch, re-dispatch, reject-return, re-handle and extension all go through the calendar."""
    settings.put(settings.WORKING_DAYS_KEY, "1", local(2026, 9, 1))
    db.session.commit()
    cal = WORKING_DAYS
    start = local(2026, 9, 30, 9, 0)
    # dispatched to the district at 09:30 and re-dispatched to the street at 09:40 Beijing
    t = make_ticket(S.DISPATCHED, unit="110105001", via="110105", start=start)
    dispatch_at = [e.at for e in t.events if e.action is A.DISPATCH][0]
    redispatch_at = t.events[-1].at
    assert t.feedback_due_at == cal.add(dispatch_at, timedelta(days=7)) == local(2026, 10, 15, 9, 30)
    assert t.sign_due_at == cal.add(redispatch_at, timedelta(hours=2))
    jianwai, dispatcher = users.actor("jianwai"), users.actor("dispatcher")
    # a return rejected on a holiday: the sign-for clock starts on the next working day
    perform(t, A.REQUEST_RETURN, jianwai, local(2026, 9, 30, 11, 0), reason="不属于本单位")
    perform(t, A.REJECT_RETURN, dispatcher, local(2026, 10, 2, 10, 0), reason="属于本街道")
    assert t.sign_due_at == local(2026, 10, 8, 2, 0)
    # an extension may reach 15 working days past the due time (more than 15 natural days)
    perform(t, A.SIGN, jianwai, local(2026, 10, 8, 1, 0))
    far = t.feedback_due_at + timedelta(days=19)
    perform(t, A.REQUEST_EXTENSION, jianwai, local(2026, 10, 8, 2, 0), due=far, reason="需协调")
    assert t.pending_due_at == far
    perform(t, A.APPROVE_EXTENSION, dispatcher, local(2026, 10, 8, 3, 0))
    # re-handling without a given due time: the feedback deadline counted in working days
    perform(t, A.FEEDBACK, jianwai, local(2026, 10, 9, 3, 0), reply="已处理")
    perform(t, A.CALLBACK, users.actor("operator"), local(2026, 10, 9, 4, 0), contacted=True, resolved=False,
            satisfied=False)
    perform(t, A.REHANDLE, dispatcher, local(2026, 9, 30, 10, 0) + timedelta(days=9), reason="未解决")
    assert t.feedback_due_at == cal.add(local(2026, 10, 9, 10, 0), timedelta(days=7))
    db.session.commit()


def test_natural_days_are_the_default(app, make_ticket):
    t = make_ticket(S.DISPATCHED, unit="110105001", start=local(2026, 9, 30, 9, 0))
    assert t.feedback_due_at - t.dispatched_at == timedelta(days=7)


def test_the_last_admin_stays(app, users, now):
    with pytest.raises(InvalidInput):
        admin_users.deactivate(users["admin"].id, now, users["admin"])
    db.session.rollback()
    assert users["admin"].active
