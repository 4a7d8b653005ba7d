"""The queues' tab counts shared by the workers through Redis (services/shared_counts.py), against
the machine's real Redis. A second worker is this app with its own kept counts emptied: all a new
process has is what Redis holds."""
from __future__ import annotations

import uuid

import pytest
import redis
from sqlalchemy import event

from portal.domain.lifecycle import Status
from portal.extensions import db
from portal.services import queues, shared_counts

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix():
    client = redis.Redis.from_url(REDIS)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("Redis is not running at 127.0.0.1:6379 (it is on the CI machine)")
    name = f"test-queue-counts:{uuid.uuid4().hex}"
    yield name
    for key in client.scan_iter(name + ":*"):
        client.delete(key)
    client.close()


@pytest.fixture
def app_config(prefix):
    return {"QUEUE_COUNTS_STORAGE": REDIS, "QUEUE_COUNTS_PREFIX": prefix}


class Counted:
    """How many count statements the app sent."""

    def __init__(self):
        self.n = 0

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.n += "count(" in statement.lower() and "FILTER" in statement


@pytest.fixture
def counted(app):
    listener = Counted()
    event.listen(db.engine, "before_cursor_execute", listener)
    yield listener
    event.remove(db.engine, "before_cursor_execute", listener)


def another_worker(app) -> None:
    app.extensions["queue_counts"]["entries"].clear()


def center_counts(users, now):
    center = users["dispatcher"]
    return queues.counts(center.actor(), now, center.unit.path)


def test_a_second_worker_reads_the_counts_the_first_made(app, users, now, make_ticket, counted):
    make_ticket(Status.HANDLING)
    first = center_counts(users, now)
    assert counted.n == 1 and first["all"] >= 1
    another_worker(app)
    assert center_counts(users, now) == first
    assert counted.n == 1                                   # read, not counted again


def test_a_committed_change_makes_every_workers_counts_old(app, users, now, make_ticket, counted):
    before = center_counts(users, now)
    make_ticket(Status.HANDLING)                            # perform() and a commit, in "this" worker
    another_worker(app)
    after = center_counts(users, now)
    assert counted.n == 2 and after["all"] == before["all"] + 1


def test_a_rolled_back_change_leaves_them_current(app, users, now, make_ticket, counted):
    first = center_counts(users, now)
    make_ticket(Status.HANDLING, commit=False)
    db.session.rollback()
    another_worker(app)
    assert center_counts(users, now) == first and counted.n == 1


def test_counts_made_before_a_change_committed_are_not_stored_as_current(app):
    scope = ("center", 1, None, None)
    found, _, generation = shared_counts.lookup(scope)
    assert found is None and generation is not None
    shared_counts.note_change(db.session())                # another request changes one and commits
    db.session.commit()
    shared_counts.store(generation, scope, {"all": 1}, 10)  # the first one stores what it counted before
    assert shared_counts.lookup(scope)[0] is None


@pytest.mark.parametrize("app_config", [{"QUEUE_COUNTS_STORAGE": "redis://127.0.0.1:1/0"}])
def test_without_redis_each_worker_counts_for_itself(app, users, now, make_ticket, counted, caplog):
    make_ticket(Status.HANDLING)
    first = center_counts(users, now)
    another_worker(app)
    assert center_counts(users, now) == first and counted.n == 2
    assert "shared store unavailable" in caplog.text
