"""Helpers for the production mode (``make serve``; see docs/production.md).

``python -m portal.production ensure-database`` creates the PostgreSQL database named in
``DATABASE_URL`` when it does not exist yet (connecting to the server's ``postgres`` database).
"""
from __future__ import annotations

import os
import sys

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/portal"


def ensure_database(url: str) -> bool:
    """True when the database was created, False when it was there (or is SQLite)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return False
    name = parsed.database
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if exists:
                return False
            quoted = conn.dialect.identifier_preparer.quote(name)
            # a quoted identifier
            conn.execute(text(f"CREATE DATABASE {quoted}"))   # nosec B608
            return True
    finally:
        admin.dispose()


def main(argv: list[str]) -> int:
    if argv[1:2] != ["ensure-database"]:
        print("usage: python -m portal.production ensure-database", file=sys.stderr)
        return 2
    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    created = ensure_database(url)
    print(f"database {make_url(url).database}: {'created' if created else 'present'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
