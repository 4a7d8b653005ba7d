from portal.domain.lifecycle import Status
from portal.models import TicketEvent
from portal.domain.lifecycle import replay


def test_every_status_reachable(make_ticket):
    for status in Status:
        t = make_ticket(status)
        assert t.status is status
        assert replay(e.action for e in t.events) is status
