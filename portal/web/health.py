"""``/healthz``: is this web process able to serve? JSON for a load balancer or a monitor.

200 when the database answers, 503 (with the same JSON) when it does not. The scheduler's
heartbeat age is reported when the scheduler module (issue 5) provides
``portal.services.scheduler.heartbeat_at()``; a stale heartbeat does not fail the web check
(the web still serves), the monitor alerts on ``scheduler.age_seconds`` instead.
"""
from __future__ import annotations

import time

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..domain.deadlines import utcnow
from ..extensions import db, limiter

bp = Blueprint("health", __name__)


def scheduler_status() -> dict | None:
    try:
        from ..services.scheduler import heartbeat_at   # issue 5
    except ImportError:
        return None
    try:
        beat = heartbeat_at()
    except SQLAlchemyError:
        db.session.rollback()
        return {"heartbeat_at": None, "age_seconds": None}
    if beat is None:
        return {"heartbeat_at": None, "age_seconds": None}
    return {"heartbeat_at": beat.isoformat() + "Z", "age_seconds": round((utcnow() - beat).total_seconds(), 1)}


@bp.route("/healthz")
@limiter.exempt
def healthz():
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
        database = {"ok": True, "engine": db.engine.dialect.name,
                    "latency_ms": round((time.perf_counter() - started) * 1000, 1)}
    except SQLAlchemyError as exc:
        db.session.rollback()
        database = {"ok": False, "engine": db.engine.dialect.name, "error": type(exc).__name__}
    body = {"status": "ok" if database["ok"] else "unavailable", "database": database,
            "scheduler": scheduler_status() if database["ok"] else None}
    response = jsonify(body)
    response.status_code = 200 if database["ok"] else 503
    response.headers["Cache-Control"] = "no-store"
    return response
