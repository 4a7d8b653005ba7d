"""Configuration: defaults, then ``instance/config.py``, then ``PORTAL_*`` environment
variables, then ``DATABASE_URL``; a dict passed to ``create_app`` wins over all."""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


class Defaults:
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE / 'portal.db'}"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SECRET_KEY: str | None = None
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "translations")
    LANGUAGES = ("zh", "en")
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    PERMANENT_SESSION_LIFETIME = 30 * 60   # idle timeout for staff, seconds
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    SCHEDULER_ENABLED = False              # `make run` turns it on for the one process
    #: the queues' tab counts are kept this long per scope in each process (0: counted every time);
    #: services.queues.counts
    QUEUE_COUNTS_SECONDS = 10
    #: how long each worker keeps a rendered page of the public cases (unsearched) while no newer
    #: case is published; 0: render every view
    PUBLIC_CASES_SECONDS = 10
    LOG_LEVEL = "INFO"


def _coerce(value: str):
    try:
        return json.loads(value)
    except ValueError:
        return value


def load(app, overrides: dict | None = None) -> None:
    app.config.from_object(Defaults)
    app.config.from_pyfile(str(INSTANCE / "config.py"), silent=True)
    for key, value in os.environ.items():
        if key.startswith("PORTAL_") and key not in ("PORTAL_TEST_DATABASE_URL",):
            app.config[key[len("PORTAL_"):]] = _coerce(value)
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if overrides:
        app.config.update(overrides)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret()


def _instance_secret() -> str:
    """A random key kept in ``instance/secret_key`` so sessions survive a restart."""
    path = INSTANCE / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        INSTANCE.mkdir(exist_ok=True)
        key = secrets.token_hex(32)
        path.write_text(key)
        path.chmod(0o600)
        return key
