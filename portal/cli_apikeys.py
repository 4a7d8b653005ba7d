"""``flask portal apikey create|revoke|list`` (issue 8)."""
from __future__ import annotations

import click
from sqlalchemy import select

from .domain.deadlines import utcnow
from .domain.intake import Channel
from .extensions import db

apikey_group = click.Group("apikey", help="Open311 API keys per channel.")
_CHANNELS = [c.value for c in Channel if c not in (Channel.WEB, Channel.PHONE)]


@apikey_group.command("create")
@click.option("--name", required=True, help="Who the key is for (接入方).")
@click.option("--channel", required=True, type=click.Choice(_CHANNELS))
@click.option("--rate", "rate_per_minute", default=60, show_default=True, type=click.IntRange(1, 10000),
              help="Requests per minute.")
def create_cmd(name: str, channel: str, rate_per_minute: int):
    """Create a key; it is printed once and never stored."""
    from .services.apikeys import create_key
    from .services.tickets import InvalidInput
    try:
        new = create_key(utcnow(), name=name, channel=channel, rate_per_minute=rate_per_minute)
    except InvalidInput as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"id {new.key.id}  {new.key.name}  {new.key.channel.value}  {new.key.rate_limit}")
    click.echo("密钥只显示这一次 / shown once:")
    click.echo(new.secret)


@apikey_group.command("revoke")
@click.argument("key")
def revoke_cmd(key: str):
    """Revoke a key by id or prefix."""
    from .models import ApiKey
    from .services.apikeys import revoke_key
    row = db.session.get(ApiKey, int(key)) if key.isdigit() else None
    if row is None:
        rows = db.session.scalars(select(ApiKey).where(ApiKey.prefix == key)).all()
        if len(rows) != 1:
            raise click.ClickException(f"没有唯一匹配 {key} 的密钥")
        row = rows[0]
    revoke_key(utcnow(), row)
    db.session.commit()
    click.echo(f"revoked {row.id} {row.prefix}…")


@apikey_group.command("list")
def list_cmd():
    """Every key: id, prefix, channel, rate, state (never the key itself)."""
    from .services.apikeys import list_keys
    for k in list_keys():
        state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        click.echo(f"{k.id:>4}  {k.prefix}…  {k.channel.value:<9} {k.rate_limit:<12} {state:<24} {k.name}")
