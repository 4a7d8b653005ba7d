"""`flask portal init|seed|jobs` on a real database: first run seeds, a second run keeps the data."""
from datetime import timedelta

from sqlalchemy import func, select

from portal.domain.lifecycle import Status
from portal.extensions import db
from portal.models import Ticket, TicketEvent, Unit, User


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_init_on_empty_database_seeds_everything_then_keeps_it(tmp_path):
    from portal import create_app
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    accounts = tmp_path / "demo-accounts.txt"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "TESTING": True,
                      "DEMO_ACCOUNTS_FILE": str(accounts)})
    runner = app.test_cli_runner()
    result = runner.invoke(args=["portal", "init", "--demo-tickets", "120"])
    assert result.exit_code == 0, result.output
    assert "operator" in result.output and "dispatcher" in result.output and "jianwai" in result.output
    assert accounts.read_text(encoding="utf-8").count("\n") >= 11 and oct(accounts.stat().st_mode)[-3:] == "600"
    with app.app_context():
        assert count(Unit) == 390
        assert count(User) >= 11
        statuses = set(db.session.scalars(select(Ticket.status).distinct()))
        assert statuses == set(Status), set(Status) - statuses       # every status has demo data
        tickets, events = count(Ticket), count(TicketEvent)
        # the demo spans about three months
        oldest, newest = db.session.execute(select(func.min(Ticket.created_at), func.max(Ticket.created_at))).one()
        assert newest - oldest > timedelta(days=60)
        db.session.remove()
    again = runner.invoke(args=["portal", "init"])
    assert again.exit_code == 0, again.output
    assert "跳过" in again.output
    with app.app_context():
        assert (count(Unit), count(Ticket), count(TicketEvent)) == (390, tickets, events)
        db.session.remove()
        db.engine.dispose()


def test_jobs_run_by_hand(app, make_ticket, now):
    from portal.jobs import supervise_overdue
    t = make_ticket(Status.HANDLING, start=now - timedelta(days=20))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["portal", "jobs", "run", "supervise_overdue"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert t.supervision_level == 1
    # idempotent: a second run adds no event
    n = count(TicketEvent)
    assert supervise_overdue(now + timedelta(days=30)) == 0
    assert count(TicketEvent) == n


def test_jobs_run_unknown_name(app):
    result = app.test_cli_runner().invoke(args=["portal", "jobs", "run", "nope"])
    assert result.exit_code != 0
    assert "没有名为 nope 的任务" in result.output
