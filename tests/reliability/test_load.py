"""Load: 32 clients submit the public form for 30 s against gunicorn on loopback (PostgreSQL,
Redis rate-limit storage). Every receipt's tracking number is in the database, every stored
request is whole, no answer is a 5xx and no connection is dropped."""
from __future__ import annotations

from tests.reliability.conftest import assert_nothing_lost_or_half_written, run_load


def test_32_clients_for_30_seconds(stack):
    out = run_load(stack, clients=32, seconds=30)
    assert out.receipts, (out.statuses, out.dropped[:5])
    assert not [s for s in out.statuses if s >= 500], (out.statuses, out.bodies_5xx[:1])
    assert out.dropped == []
    assert set(out.statuses) <= {200}, out.statuses       # form, then receipt after the 303
    assert_nothing_lost_or_half_written(stack, out)
    assert "Traceback" not in stack.log_text()
    # the rate limits really were kept in Redis, under this run's prefix
    import redis

    from tests.reliability.conftest import REDIS_URL
    client = redis.Redis.from_url(REDIS_URL)
    assert list(client.scan_iter(f"*{stack.redis_prefix}*", count=1000))
    client.close()
    print(f"load: {len(out.receipts)} receipts in 30 s from 32 clients; statuses {out.statuses}")
