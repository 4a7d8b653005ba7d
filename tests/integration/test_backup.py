"""Issue 9 · `flask portal backup` and `flask portal restore`: a backup restored into a fresh
database has every table with the same rows (counts and the requests themselves), on SQLite
(online backup API) and PostgreSQL (pg_dump / pg_restore); restore refuses a non-empty target."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, func, inspect, select, table, text
from sqlalchemy.engine import make_url

from portal.domain.lifecycle import Status
from portal.extensions import db
from tests.conftest import _pg_admin, pg_url


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        names = inspect(conn).get_table_names()
        return {n: conn.scalar(select(func.count()).select_from(table(n))) for n in sorted(names)}


def requests(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(text("SELECT tracking_no, status, citizen_phone, content FROM tickets ORDER BY id")).all()


@pytest.fixture
def fresh_url(backend, tmp_path):
    """An empty database of the same engine."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"portal_restore_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield pg_url(name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_backup_then_restore_into_a_fresh_database(app, make_ticket, fresh_url, tmp_path, backend):
    for status in (Status.SUBMITTED, Status.HANDLING, Status.CLOSED):
        make_ticket(status)
    runner = app.test_cli_runner()
    out = tmp_path / ("backup.db" if backend == "sqlite" else "backup.dump")
    result = runner.invoke(args=["portal", "backup", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 0

    make_ticket(Status.SUBMITTED)             # written after the backup: not in it
    result = runner.invoke(args=["portal", "restore", str(out), "--into", fresh_url])
    assert result.exit_code == 0, result.output

    restored = create_engine(fresh_url)
    try:
        live = counts(db.engine)
        got = counts(restored)
        assert set(got) == set(live) and "tickets" in got
        assert got["tickets"] == live["tickets"] - 1 == 3
        # every table but those that grow with each request (tickets, ticket_*, their search
        # index, outbox, callbacks) is the same
        def per_request(name):
            return name.startswith("ticket") or name in ("outbox", "callbacks")
        assert {k: v for k, v in got.items() if not per_request(k)} == \
               {k: v for k, v in live.items() if not per_request(k)}
        assert requests(restored) == requests(db.engine)[:3]
        version = text("SELECT version_num FROM alembic_version ORDER BY 1")
        with restored.connect() as conn, db.engine.connect() as live_conn:    # the schema version came along
            assert conn.scalars(version).all() == live_conn.scalars(version).all() != []
    finally:
        restored.dispose()


def test_restore_refuses_a_database_that_has_tables(app, tmp_path, database_url):
    runner = app.test_cli_runner()
    out = tmp_path / "b.bin"
    assert runner.invoke(args=["portal", "backup", "--output", str(out)]).exit_code == 0
    result = runner.invoke(args=["portal", "restore", str(out), "--into", database_url])
    assert result.exit_code != 0 and "不是空的" in result.output


def test_restore_into_a_database_that_does_not_exist_says_so(app, tmp_path, database_url, backend):
    """The target must be made first (createdb); without it the command says so, no traceback."""
    runner = app.test_cli_runner()
    out = tmp_path / "b.bin"
    assert runner.invoke(args=["portal", "backup", "--output", str(out)]).exit_code == 0
    if backend == "sqlite":
        missing = f"sqlite:///{tmp_path / 'no-such-dir' / 'restored.db'}"
    else:
        missing = make_url(database_url).set(database=f"missing_{uuid.uuid4().hex[:12]}").render_as_string(
            hide_password=False)
    result = runner.invoke(args=["portal", "restore", str(out), "--into", missing])
    assert result.exit_code == 1 and "无法打开目标数据库" in result.output, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_backup_default_path_is_under_instance(app, tmp_path, backend):
    app.instance_path = str(tmp_path)
    result = app.test_cli_runner().invoke(args=["portal", "backup"])
    assert result.exit_code == 0, result.output
    files = list((tmp_path / "backups").iterdir())
    assert len(files) == 1 and files[0].suffix == (".db" if backend == "sqlite" else ".dump")
