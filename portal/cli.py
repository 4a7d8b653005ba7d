"""``flask portal ...`` commands."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_migrate import upgrade

from .domain.deadlines import utcnow
from .domain.hierarchy import HierarchyError
from .extensions import db

cli = AppGroup("portal", help="12345 portal commands.")
from .cli_apikeys import apikey_group  # noqa: E402  (issue 8)
cli.add_command(apikey_group)


@cli.command("import-units")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def import_units_cmd(file: Path):
    """Import a unit hierarchy CSV (code,name,tier,kind,parent_code); idempotent by code."""
    from .services.units import import_units
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"无法读取文件 {file}: {exc.strerror}") from None
    try:
        result = import_units(data, utcnow())
    except HierarchyError as exc:
        db.session.rollback()
        for problem in exc.problems:
            click.echo(f"{file}: {problem}", err=True)
        raise click.ClickException(f"导入被拒绝：发现 {len(exc.problems)} 个问题，数据库未做任何修改。") from None
    db.session.commit()
    click.echo(f"新增 {len(result.added)} 个单位，更名 {len(result.renamed)} 个，调整上级 {len(result.moved)} 个，"
               f"未变 {result.unchanged} 个。")


@cli.command("seed")
@click.option("--demo-tickets", default=300, show_default=True, type=click.IntRange(0, 100_000))
def seed_cmd(demo_tickets: int):
    """Seed an empty database (hierarchy, categories, demo staff, demo requests)."""
    from .services.seed import DEMO_ACCOUNTS, is_seeded, seed_all
    if is_seeded():
        click.echo("数据库已有数据，跳过初始化（不会覆盖现有数据）。")
        return
    passwords = seed_all(utcnow(), demo_tickets=demo_tickets)
    db.session.commit()
    lines = ["", "演示账号（密码只显示这一次，也保存在 instance/demo-accounts.txt）：",
             "Demo accounts (passwords shown once; also saved in instance/demo-accounts.txt):"]
    for acc in DEMO_ACCOUNTS:
        if acc.username in passwords:
            lines.append(f"  {acc.username:<16} {passwords[acc.username]:<20} {acc.role.value:<10} {acc.display_name}")
    text = "\n".join(lines) + "\n"
    click.echo(text)
    path = Path(current_app.config.get("DEMO_ACCOUNTS_FILE") or Path(current_app.instance_path) / "demo-accounts.txt")
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)


@cli.command("init")
@click.option("--demo-tickets", default=300, show_default=True, type=click.IntRange(0, 100_000))
@click.pass_context
def init_cmd(ctx, demo_tickets: int):
    """Upgrade the database to the newest migration, then seed it if it is empty."""
    upgrade(revision="heads")   # every branch; parallel work merges its heads later
    ctx.invoke(seed_cmd, demo_tickets=demo_tickets)


@cli.group("jobs")
def jobs_group():
    """Scheduled jobs, run by hand."""


@jobs_group.command("list")
def jobs_list():
    from .jobs import JOBS
    for name, (fn, trigger) in JOBS.items():
        click.echo(f"{name:<20} {trigger}  {(fn.__doc__ or '').strip().splitlines()[0]}")


@jobs_group.command("run")
@click.argument("name")
@click.option("--month", default=None, metavar="YYYY-MM", help="the month, for jobs that take one (rank_freeze, rank_refresh)")
def jobs_run(name: str, month: str | None):
    from .domain import months
    from .jobs import JOBS, run_job
    from .services.scheduler import NoMonth
    from .services.tickets import InvalidInput
    if name not in JOBS:
        raise click.ClickException(f"没有名为 {name} 的任务；可用：{', '.join(JOBS)}")
    if month is not None:
        try:
            y, m = months.parse(month)
        except months.BadMonth as exc:
            raise click.ClickException(str(exc)) from None
        month = f"{y:04d}-{m:02d}"
    try:
        result = run_job(current_app._get_current_object(), name, month=month)
    except NoMonth:
        raise click.ClickException(f"任务 {name} 不按月份运行，请去掉 --month") from None
    except InvalidInput as exc:
        raise click.ClickException(f"{name}: {exc}") from None
    click.echo(f"{name}: {result}")


@cli.command("scheduler")
def scheduler_cmd():
    """Run the job scheduler in the foreground (production: its own process). Waits while
    another scheduler holds the database lock."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    from .services.scheduler import Runner
    runner = Runner(current_app._get_current_object(), BlockingScheduler)
    click.echo("scheduler starting; Ctrl-C to stop")
    try:
        runner.run_forever(echo=click.echo)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        runner.stop()
    sys.exit(0)


@cli.command("reset-two-factor")
@click.argument("username")
def reset_two_factor_cmd(username: str):
    """Switch off a user's two-factor sign-in (the last admin lost the phone); audited."""
    from sqlalchemy import select
    from .models import User
    from .services.admin_users import reset_totp
    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise click.ClickException(f"没有用户 {username}")
    reset_totp(None, utcnow(), user)
    db.session.commit()
    click.echo(f"已重置 {user.username} 的两步验证；下次登录时重新设置。")
@cli.command("backup")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: instance/backups/portal-<UTC time>.db|.dump).")
def backup_cmd(output: Path | None):
    """Back up the database (SQLite online backup API; pg_dump for PostgreSQL). Issue 9."""
    from .services.backup import BackupError, backup, suffix_for
    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    if output is None:
        stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
        output = Path(current_app.instance_path) / "backups" / f"portal-{stamp}{suffix_for(url)}"
    try:
        path = backup(url, output)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"备份已写入 {path}（{path.stat().st_size} 字节）")


@cli.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--into", "into", required=True, help="URL of an EMPTY database to restore into.")
def restore_cmd(file: Path, into: str):
    """Restore a backup into an empty database (never over a live one). Issue 9."""
    from .services.backup import BackupError, restore
    try:
        restore(file, into)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"已恢复到 {into.rsplit('@', 1)[-1]}")
