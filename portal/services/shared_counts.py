"""The queues' tab counts shared by every worker process, through Redis (``QUEUE_COUNTS_STORAGE``).

``queues.counts`` keeps a scope's counts ``QUEUE_COUNTS_SECONDS`` in each process. With several
gunicorn workers each one counts the city's open requests again when its own copy is old: at
10,000,000 requests the center's nine counts take 45 ms (70–130 ms of CPU), and four workers
counting four times per period put one in every twenty of a quiet period's center pages behind
a count (docs/benchmarks/queues-and-load.md). Shared, the scope is counted once per period by
whichever worker comes first, and the others read its answer.

A change to a request bumps a generation number after its transaction commits (``perform`` and
``create_ticket`` call ``queues.forget_counts``, which marks the session; the ``after_commit``
listener below increments the number), and counts are stored under the generation they were
read at, so nobody reads counts from before a committed change, and counts made before a change
committed are never stored as current. When Redis is not configured, or does not answer within
a quarter of a second, the counts are per process as before: the page is never refused for it.
"""
from __future__ import annotations

import json
import logging
import time

import redis
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

#: the session's note that it changed a request (read after its commit)
CHANGED = "portal_queue_counts_changed"


def _client() -> redis.Redis | None:
    url = current_app.config.get("QUEUE_COUNTS_STORAGE") or ""
    if not url:
        return None
    kept = current_app.extensions.get("queue_counts_redis")
    if kept is None or kept[0] != url:
        kept = (url, redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25))
        current_app.extensions["queue_counts_redis"] = kept
    return kept[1]


def _prefix() -> str:
    return current_app.config.get("QUEUE_COUNTS_PREFIX") or "portal:queue-counts"


def _key(generation: bytes, scope: tuple) -> str:
    return f"{_prefix()}:{generation.decode()}:" + ":".join("" if part is None else str(part) for part in scope)


def _unavailable(exc: Exception) -> None:
    log.warning("queue counts: shared store unavailable, counting per process (%s)", type(exc).__name__)


def lookup(scope: tuple) -> tuple[dict[str, int] | None, float, bytes | None]:
    """(counts or None, seconds they stay current, the generation to store new counts under).
    The generation is None when there is no shared store (or it is not answering)."""
    client = _client()
    if client is None:
        return None, 0.0, None
    try:
        generation = client.get(_prefix() + ":gen") or b"0"
        raw = client.get(_key(generation, scope))
    except redis.RedisError as exc:
        _unavailable(exc)
        return None, 0.0, None
    if raw is None:
        return None, 0.0, generation
    kept = json.loads(raw)
    return kept["counts"], max(0.0, kept["until"] - time.time()), generation


def store(generation: bytes | None, scope: tuple, counts: dict[str, int], ttl: int) -> None:
    client = _client()
    if client is None or generation is None:
        return
    try:
        client.set(_key(generation, scope), json.dumps({"until": time.time() + ttl, "counts": counts}), ex=ttl)
    except redis.RedisError as exc:
        _unavailable(exc)


def note_change(session: Session) -> None:
    """This transaction changes a request: once it commits, every worker's counts are old."""
    session.info[CHANGED] = True


def _after_commit(session: Session) -> None:
    if not session.info.pop(CHANGED, False) or not has_app_context():
        return
    client = _client()
    if client is None:
        return
    try:
        client.incr(_prefix() + ":gen")
    except redis.RedisError as exc:
        _unavailable(exc)


def _after_rollback(session: Session) -> None:
    session.info.pop(CHANGED, None)


event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_rollback", _after_rollback)
