"""Settle a serving process's heap once it is loaded (wsgi.py: every gunicorn worker, `make run`).

A worker keeps the app, SQLAlchemy's mappers and compiled-statement cache, the templates and
jieba's dictionary for its whole life: well over 100,000 objects that Python's cyclic garbage
collector would otherwise walk on every full collection. Such a collection comes every few dozen
requests and took 130–180 ms on this machine (bench/bench_queue.py on PostgreSQL, 1,000,000
requests: the queue pages' p95 jumped from about 60 ms to about 230 ms whenever one landed in a
request; docs/benchmarks/queues-and-load.md). ``gc.freeze()`` moves every object alive now into a
permanent generation that collections skip; objects made later are collected as before.

Not called by ``create_app`` itself: the tests build thousands of apps in one process, and
freezing each would keep its cycles alive.
"""
from __future__ import annotations

import gc


def settle() -> None:
    """Load jieba's dictionary now (not on the first search, about a second), collect, then
    freeze what is left."""
    from .domain.segment import load

    load()
    gc.collect()
    gc.freeze()
