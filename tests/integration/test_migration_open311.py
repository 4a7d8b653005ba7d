"""Migration 0006_open311 on SQLite and PostgreSQL: a database at 0003 with requests keeps them,
the channel CHECK is widened (new channels accepted, nonsense still refused), and a downgrade
keeps the rows (new channels become 'api') and narrows the CHECK again."""
from __future__ import annotations

import os
import uuid
from datetime import datetime

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from portal import create_app
from portal.extensions import db
from tests.conftest import _pg_admin, pg_url


@pytest.fixture
def empty_url(backend, tmp_path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    if not os.environ.get("PORTAL_TEST_DATABASE_URL"):
        pytest.skip("PostgreSQL not configured")
    name = f"portal_m_{uuid.uuid4().hex[:8]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield pg_url(name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


TICKET = ("INSERT INTO tickets (id, tracking_no, query_code, channel, kind, urgency, category_id, address, title, "
          "content, requester_type, citizen_name, citizen_phone, citizen_email, enterprise_name, credit_code, "
          "consent_publish, locale, status, reply, report, answer, close_reason, supervision_level, return_count, "
          "redispatch_count, rehandle_count, extension_count, rating_comment, review_by_leader, created_at, "
          "updated_at, version) VALUES (:id, :no, 'ABCDEF', :channel, 'complaint', 'normal', 2, '', 't', "
          "'路灯不亮已经一周了请尽快维修', 'citizen', '', '', '', '', '', :f, 'zh', 'submitted', '', '', '', '', 0, 0, 0, "
          "0, 0, '', :f, :at, :at, 1)")


def insert(conn, tid: int, channel: str):
    conn.execute(text(TICKET), {"id": tid, "no": f"26110{tid}-1234567-0", "channel": channel, "f": False,
                                "at": datetime(2026, 11, 1)})


def test_upgrade_keeps_requests_and_widens_the_channel_check(empty_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_url, "SECRET_KEY": "x", "TESTING": True})
    with app.app_context():
        upgrade(revision="0003")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO categories (id, code, name, name_en, parent_id, position, active) "
                              "VALUES (1, 'A', '甲', '', NULL, 0, :t), (2, 'A-1', '乙', '', 1, 0, :t)"), {"t": True})
            insert(conn, 1, "wechat")
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            insert(conn, 2, "weibo")                       # not a channel before 0004
        upgrade(revision="0006_open311")
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT channel, content FROM tickets WHERE id = 1")).one() == \
                ("wechat", "路灯不亮已经一周了请尽快维修")
            insert(conn, 2, "weibo")
            insert(conn, 3, "msgboard")
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            insert(conn, 4, "pigeon")
        downgrade(revision="0003")
        with db.engine.begin() as conn:
            rows = conn.execute(text("SELECT id, channel FROM tickets ORDER BY id")).all()
            assert [tuple(r) for r in rows] == [(1, "wechat"), (2, "api"), (3, "api")]
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            insert(conn, 5, "weibo")
        upgrade(revision="heads")
        db.session.remove()
        db.engine.dispose()
