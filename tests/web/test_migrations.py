"""Every schema change is a migration, and an existing database upgrades without losing data."""
from pathlib import Path

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from portal import create_app
from portal.extensions import db

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def _app(tmp_path):
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.db'}", "SECRET_KEY": "x",
                       "TESTING": True})


def test_upgrade_from_0001_keeps_data(tmp_path):
    app = _app(tmp_path)
    with app.app_context():
        upgrade(revision="0001")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO units (id, code, name, tier, kind, parent_id, path, active, "
                              "requires_leader_approval, reviews_child_feedback, created_at, updated_at) VALUES "
                              "(1, 'C', '中心', 1, 'center', NULL, '/1/', 1, 0, 0, '2026-01-01', '2026-01-01')"))
            conn.execute(text("INSERT INTO categories (id, code, name, name_en, parent_id, position, active) "
                              "VALUES (1, 'A', '甲', '', NULL, 0, 1), (2, 'A-1', '乙', '', 1, 0, 1)"))
            conn.execute(text(
                "INSERT INTO tickets (id, tracking_no, query_code, channel, kind, urgency, category_id, address, "
                "title, content, requester_type, citizen_name, citizen_phone, citizen_email, enterprise_name, "
                "credit_code, consent_publish, status, reply, report, answer, close_reason, supervision_level, "
                "return_count, redispatch_count, rehandle_count, extension_count, rating_comment, created_at, "
                "updated_at, version) VALUES (1, '261101-1234567-0', 'ABCDEF', 'web', 'complaint', 'normal', 2, "
                "'', 't', '路灯不亮已经一周了请尽快维修', 'citizen', '', '', '', '', '', 0, 'fed_back', '已修复', "
                "'', '', '', 0, 0, 0, 0, 0, '', '2026-11-01', '2026-11-01', 3)"))
            conn.execute(text("INSERT INTO callbacks (id, ticket_id, contacted, resolved, satisfied, note, at) "
                              "VALUES (1, 1, 1, 1, 1, '满意', '2026-11-02')"))
        upgrade(revision="heads")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT source FROM callbacks WHERE id = 1")).scalar() == "center"
            assert conn.execute(text("SELECT locale, reply FROM tickets WHERE id = 1")).one() == ("zh", "已修复")
            # 0007 segmented its words, 0018 copied them to the open requests' (it awaits the callback)
            words = conn.execute(text("SELECT tokens FROM ticket_texts WHERE ticket_id = 1")).scalar()
            assert "维修" in words.split()
            assert conn.execute(text("SELECT tokens FROM ticket_open_texts WHERE ticket_id = 1")).scalar() == words
        tables = set(inspect(db.engine).get_table_names())
        assert {"outbox", "attachments", "audit_log", "kb_articles"} <= tables
        downgrade(revision="0001")
        assert "outbox" not in set(inspect(db.engine).get_table_names())
        upgrade(revision="heads")
        db.engine.dispose()


def test_models_match_migrations(tmp_path):
    """Autogenerate finds nothing to do at head: no model change without a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    app = _app(tmp_path)
    with app.app_context():
        upgrade(revision="heads")
        with db.engine.connect() as conn:
            from portal.models.search import include_name     # SQLite's FTS5 index tables are not models
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True,
                                                         "include_name": include_name})
            diff = compare_metadata(ctx, db.metadata)
        db.engine.dispose()
    assert diff == [], diff


def test_one_head_and_every_revision_reachable():
    """Parallel branches are fine while developing, but what ships has a single head."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    cfg = Config()
    cfg.set_main_option("script_location", str(VERSIONS.parent))
    script = ScriptDirectory.from_config(cfg)
    assert len(script.get_heads()) == 1, script.get_heads()
    assert len(list(script.walk_revisions())) == len(list(VERSIONS.glob("*.py")))


def test_0003_records_the_reviewer_of_waiting_feedback(tmp_path):
    app = _app(tmp_path)
    with app.app_context():
        upgrade(revision="0002")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO units (id, code, name, tier, kind, parent_id, path, active, requires_leader_approval, "
                "reviews_child_feedback, created_at, updated_at) VALUES "
                "(1, 'C', '中心', 1, 'center', NULL, '/1/', 1, 0, 0, '2026-01-01', '2026-01-01'),"
                "(2, 'D', '区', 2, 'district', 1, '/1/2/', 1, 0, 1, '2026-01-01', '2026-01-01'),"
                "(3, 'S1', '街道一', 3, 'street', 2, '/1/2/3/', 1, 1, 0, '2026-01-01', '2026-01-01'),"
                "(4, 'S2', '街道二', 3, 'street', 2, '/1/2/4/', 1, 0, 0, '2026-01-01', '2026-01-01')"))
            conn.execute(text("INSERT INTO categories (id, code, name, name_en, parent_id, position, active) "
                              "VALUES (1, 'A', '甲', '', NULL, 0, 1), (2, 'A-1', '乙', '', 1, 0, 1)"))
            for tid, unit in ((1, 3), (2, 4)):
                conn.execute(text(
                    "INSERT INTO tickets (id, tracking_no, query_code, channel, kind, urgency, category_id, address, "
                    "title, content, requester_type, citizen_name, citizen_phone, citizen_email, enterprise_name, "
                    "credit_code, consent_publish, locale, status, handling_unit_id, sign_due_at, feedback_due_at, "
                    "reply, report, answer, close_reason, supervision_level, return_count, redispatch_count, "
                    "rehandle_count, extension_count, rating_comment, created_at, updated_at, version) VALUES "
                    f"({tid}, '26110{tid}-1234567-0', 'ABCDEF', 'web', 'complaint', 'normal', 2, '', 't', "
                    "'路灯不亮已经一周了请尽快维修', 'citizen', '', '', '', '', '', 0, 'zh', 'feedback_review', "
                    f"{unit}, '2026-11-01', '2026-11-08', '已修复', '', '', '', 0, 0, 0, 0, 0, '', "
                    "'2026-11-01', '2026-11-01', 5)"))
        upgrade(revision="heads")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, review_unit_id, review_by_leader FROM tickets ORDER BY id")).all()
        # street one needs its leader; street two's district reviews its streets
        assert [tuple(r) for r in rows] == [(1, 3, 1), (2, 2, 0)]
        db.engine.dispose()
