"""API keys per channel (issue 8). A key is 32 random bytes (URL-safe); only its SHA-256 is
stored: a hash of a high-entropy secret needs no slow password hash, and a lookup by hash is
one indexed query per API call. Created by admins (web or ``flask portal apikey``), shown once."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ..domain.intake import Channel
from ..domain.lifecycle import N_
from ..extensions import db
from ..models import ApiKey, AuditEntry, Ticket
from .tickets import InvalidInput

PREFIX_LEN = 8
MAX_RATE = 10_000


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    secret: str      # shown once, never stored


def create_key(now: datetime, *, name: str, channel: Channel | str, rate_per_minute: int = 60,
               created_by_id: int | None = None) -> NewKey:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput(N_("请填写接入方名称（不超过100字）"))
    try:
        channel = Channel(channel)
    except ValueError:
        raise InvalidInput(N_("渠道无效")) from None
    if channel in (Channel.WEB, Channel.PHONE):
        raise InvalidInput(N_("网站和电话渠道不通过接口接入"))
    if not isinstance(rate_per_minute, int) or not 1 <= rate_per_minute <= MAX_RATE:
        raise InvalidInput(N_("频率限制应为每分钟 1 至 10000 次"))
    secret = "k12345_" + secrets.token_urlsafe(32)
    key = ApiKey(name=name, channel=channel, prefix=secret[:PREFIX_LEN + 7][-PREFIX_LEN:], key_hash=hash_key(secret),
                 rate_per_minute=rate_per_minute, created_at=now, created_by_id=created_by_id)
    db.session.add(key)
    db.session.flush()
    db.session.add(AuditEntry(at=now, user_id=created_by_id, action="apikey.create", target_type="api_key",
                              target_id=key.id, detail={"name": name, "channel": channel.value,
                                                        "rate_per_minute": rate_per_minute, "prefix": key.prefix}))
    db.session.flush()
    return NewKey(key, secret)


def revoke_key(now: datetime, key: ApiKey, by_id: int | None = None) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = now
        db.session.add(AuditEntry(at=now, user_id=by_id, action="apikey.revoke", target_type="api_key",
                                  target_id=key.id, detail={"prefix": key.prefix}))
        db.session.flush()
    return key


def find_key(secret: str | None) -> ApiKey | None:
    """The key with this secret, revoked or not (the caller decides), else None."""
    if not secret or len(secret) > 200:
        return None
    digest = hash_key(secret)
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    if key is not None and hmac.compare_digest(key.key_hash, digest):
        return key
    return None


def active_key(secret: str | None) -> ApiKey | None:
    key = find_key(secret)
    return key if key is not None and key.revoked_at is None else None


def list_keys() -> list[ApiKey]:
    return list(db.session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.id)))


def counts_by_channel(since: datetime | None = None) -> dict[Channel, int]:
    """Requests per intake channel (one GROUP BY)."""
    stmt = select(Ticket.channel, func.count()).group_by(Ticket.channel)
    if since is not None:
        stmt = stmt.where(Ticket.created_at >= since)
    return {channel: n for channel, n in db.session.execute(stmt)}
