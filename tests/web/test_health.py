"""Issue 9 · /healthz: JSON for a monitor; 503 when the database is down."""
from __future__ import annotations

from portal import create_app
from portal.extensions import db
from tests.conftest import _config


def test_healthz_reports_the_database(client):
    resp = client.get("/healthz")
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] == "ok"
    assert body["database"]["ok"] is True and body["database"]["engine"] == "sqlite"
    assert resp.headers["Cache-Control"] == "no-store"
    assert "scheduler" in body


def test_healthz_is_503_when_the_database_is_down():
    app = create_app(_config("postgresql+psycopg://postgres@127.0.0.1:1/portal?connect_timeout=2"))
    resp = app.test_client().get("/healthz")
    body = resp.get_json()
    assert resp.status_code == 503
    assert body == {"status": "unavailable", "scheduler": None,
                    "database": {"ok": False, "engine": "postgresql", "error": "OperationalError"}}
    with app.app_context():
        db.engine.dispose()



def test_healthz_reports_the_scheduler_heartbeat_age(client):
    from datetime import timedelta

    from portal.domain.deadlines import utcnow
    from portal.models.scheduler import SchedulerLock
    body = client.get("/healthz").get_json()
    assert body["scheduler"] == {"heartbeat_at": None, "age_seconds": None}     # no scheduler running
    beat = utcnow() - timedelta(seconds=90)
    lock = db.session.get(SchedulerLock, "scheduler") or SchedulerLock(name="scheduler")
    lock.holder, lock.acquired_at, lock.heartbeat_at = "host:1:test", beat, beat
    db.session.add(lock)
    db.session.commit()
    body = client.get("/healthz").get_json()
    assert body["scheduler"]["heartbeat_at"] == beat.isoformat() + "Z"
    assert 90 <= body["scheduler"]["age_seconds"] < 90 + 600
    assert body["status"] == "ok"          # a stale scheduler does not take the web out of service
