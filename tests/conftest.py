"""Shared fixtures.

Every test that needs a database gets a fresh one copied from a template that was
migrated (the real Alembic migrations) and seeded once per session with the Beijing
hierarchy, the categories and the demo staff (password ``TEST_PASSWORD``).

* SQLite: the template file is copied per test.
* PostgreSQL (when ``PORTAL_TEST_DATABASE_URL`` is set): ``CREATE DATABASE ... TEMPLATE``
  per test, dropped afterwards.

Tests under ``tests/integration/`` run on every available backend (the ``backend``
fixture is parametrized there); everything else runs on SQLite.
"""
from __future__ import annotations

import itertools
import os
import shutil
import uuid
from datetime import datetime

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.domain.access import Actor, Role
from portal.extensions import db

TEST_PASSWORD = "test-password-123"
#: the seeded admin's two-factor secret in tests (admins must have TOTP; login_as completes the step)
TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = datetime(2026, 11, 16, 2, 0, 0)   # a Monday, 10:00 in Beijing
PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
_counter = itertools.count()


def pg_url(dbname: str) -> str:
    url = make_url(PG_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.set(database=dbname).render_as_string(hide_password=False)


def _pg_admin():
    # pre-ping: a pooled connection may have died with a PostgreSQL restart (tests/reliability)
    return create_engine(pg_url(make_url(PG_URL).database or "postgres"), isolation_level="AUTOCOMMIT",
                         pool_pre_ping=True)


def _config(url: str, **extra) -> dict:
    cfg = {
        "SQLALCHEMY_DATABASE_URI": url,
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "SCHEDULER_ENABLED": False,
        "SERVER_NAME": None,
    }
    cfg.update(extra)
    return cfg


def _build_template(url: str) -> None:
    from flask_migrate import upgrade

    from portal.services.seed import seed_all
    from portal.services.users import hash_password
    from portal.models import User

    app = create_app(_config(url))
    with app.app_context():
        upgrade(revision="heads")
        seed_all(NOW, demo_tickets=0)
        hashed = hash_password(TEST_PASSWORD)
        for user in db.session.scalars(select(User)):
            user.password_hash = hashed
        from portal.services.totp import set_secret
        set_secret(db.session.scalar(select(User).where(User.username == "admin")), TEST_TOTP_SECRET)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    _build_template(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template():
    if not PG_URL:
        pytest.skip("PORTAL_TEST_DATABASE_URL is not set: PostgreSQL tests are skipped")
    name = f"portal_tpl_{os.getpid()}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    _build_template(pg_url(name))
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def database_url(request, backend, tmp_path):
    """A fresh, seeded database for one test."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "portal.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"portal_t_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield pg_url(name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def app_config() -> dict:
    """Override in a test module to change the app's config."""
    return {}


@pytest.fixture
def app(database_url, app_config):
    app = create_app(_config(database_url, **app_config))
    ctx = app.app_context()
    ctx.push()
    yield app
    from portal.services.queues import settle_counts
    settle_counts()                          # no thread counting tabs outlives its database
    db.session.remove()
    db.engine.dispose()
    ctx.pop()


class _FreshClient(FlaskClient):
    """The tests keep an app context pushed (for factories), and Flask reuses it for requests.

    Each request must still start like a real one: nothing cached in ``g`` (Flask-Login's
    user, Flask-Babel's locale) and nothing stale in the session's identity map.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            for key in list(vars(g)):
                g.pop(key)
            db.session.expire_all()
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = _FreshClient
    return app.test_client()


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def units(app):
    """units["110105001"] → the Unit with that code."""
    from portal.models import Unit

    class _Units(dict):
        def __missing__(self, code):
            unit = db.session.scalar(select(Unit).where(Unit.code == code))
            if unit is None:
                raise KeyError(code)
            self[code] = unit
            return unit
    return _Units()


@pytest.fixture
def users(app):
    """users["jianwai"] → the demo User; users.actor("jianwai") → its Actor."""
    from portal.models import User

    class _Users(dict):
        def __missing__(self, name):
            user = db.session.scalar(select(User).where(User.username == name))
            if user is None:
                raise KeyError(name)
            self[name] = user
            return user

        def actor(self, name) -> Actor:
            return self[name].actor()
    return _Users()


@pytest.fixture
def login_as(client, users):
    """login_as("jianwai") signs the test client in as that demo user (through the real form)."""
    def _login(username: str):
        client.post("/logout")
        resp = client.post("/login", data={"username": username, "password": TEST_PASSWORD})
        assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
        if resp.headers["Location"].endswith("/login/code"):      # two-factor sign-in (every admin)
            resp = client.post("/login/code", data={"code": totp_code(users[username])})
            assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
        return users[username]
    return _login


def totp_code(user) -> str:
    """The user's current TOTP code; a step already used in this test is made usable again
    (a code works once, and one test may sign in twice within 30 seconds)."""
    import time

    import pyotp
    from portal.services.totp import secret_of
    db.session.refresh(user)
    step = int(time.time() // 30)
    if user.totp_last_step is not None and user.totp_last_step >= step - 1:
        user.totp_last_step = step - 2
        db.session.commit()
    return pyotp.TOTP(secret_of(user)).at(step * 30)


@pytest.fixture
def make_ticket(app, units, users, now):
    """make_ticket(status=Status.HANDLING, unit="110105001") drives a new request there through perform()."""
    from tests.factories import TicketFactory
    return TicketFactory(units, users, now)


CITIZEN = Actor(Role.CITIZEN)
