from __future__ import annotations

import enum

from sqlalchemy import Enum as SAEnum


def enum_column(enum_cls: type[enum.Enum], length: int = 24, name: str | None = None) -> SAEnum:
    """Stored as its value in a VARCHAR with a CHECK, the same on SQLite and PostgreSQL."""
    return SAEnum(enum_cls, native_enum=False, length=length, create_constraint=True,
                  values_callable=lambda e: [m.value for m in e], validate_strings=True,
                  name=name or enum_cls.__name__.lower())
