"""The categories and places the public forms list, kept in each process until they change.

The citizens' submit form lists every active category, the 16 districts and their 349 streets.
Loaded as ORM objects on every view that was about 5 ms of a 15 ms page (bench/bench_submit.py),
for lists an admin changes a few times a year. They are kept here as plain values per app,
stamped with a version that any change to a unit or a category writes in the same transaction
(``settings.reference_version``, by the ``after_flush`` listener below, whatever page or command
made the change). A view reads the stamp (one primary-key lookup) and loads the lists again only
when it differs, so every process sees an admin's change on its next view.

Kept values only fill the lists; a submitted choice is checked against the database
(``public.submit``), so a choice that became invalid a moment ago is still refused.
"""
from __future__ import annotations

import secrets
from importlib import import_module
from itertools import chain
from typing import NamedTuple

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..domain.access import Tier
from ..domain.deadlines import utcnow
from ..extensions import db
from ..models import Category, Setting, Unit

VERSION_KEY = "reference_version"


class CategoryRow(NamedTuple):
    id: int
    parent_id: int | None
    name: str
    name_en: str

    def display(self, locale: str = "zh") -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


class PlaceRow(NamedTuple):
    id: int
    parent_id: int | None
    name: str


class Reference(NamedTuple):
    #: the active categories, by position (top level and subcategories together)
    categories: tuple[CategoryRow, ...]
    #: the active districts, by code
    districts: tuple[PlaceRow, ...]
    #: the active streets and townships of those districts, by code
    streets: tuple[PlaceRow, ...]


def _load() -> Reference:
    categories = tuple(CategoryRow(*r) for r in db.session.execute(
        select(Category.id, Category.parent_id, Category.name, Category.name_en)
        .where(Category.active).order_by(Category.position, Category.id)))
    districts = tuple(PlaceRow(*r) for r in db.session.execute(
        select(Unit.id, Unit.parent_id, Unit.name)
        .where(Unit.kind == "district", Unit.tier == Tier.UNIT, Unit.active).order_by(Unit.code)))
    ids = [d.id for d in districts]
    streets = tuple(PlaceRow(*r) for r in db.session.execute(
        select(Unit.id, Unit.parent_id, Unit.name)
        .where(Unit.tier == Tier.STREET, Unit.active, Unit.parent_id.in_(ids)).order_by(Unit.code))) if ids else ()
    return Reference(categories, districts, streets)


def current() -> Reference:
    """The lists as the database has them now (kept while the stamp is the same)."""
    version = db.session.scalar(select(Setting.value).where(Setting.key == VERSION_KEY))
    kept = current_app.extensions.setdefault("portal_reference", {})
    entry = kept.get("entry")
    if entry is not None and entry[0] == version:
        return entry[1]
    found = _load()
    kept["entry"] = (version, found, {})
    return found


def derived(key, build):
    """``build()``, kept beside the lists ``current()`` returned until they change: what a form
    makes of them (its choices in one language), made once. Call ``current()`` first."""
    made = current_app.extensions["portal_reference"]["entry"][2]
    if key not in made:
        made[key] = build()
    return made[key]


def _stamp(session: Session, flush_context) -> None:
    """After a flush that wrote a unit or a category: a new version, in the same transaction."""
    if not any(isinstance(obj, (Unit, Category)) for obj in chain(session.new, session.dirty, session.deleted)):
        return
    conn = session.connection()
    table = Setting.__table__
    values = {"value": secrets.token_hex(8), "updated_at": utcnow()}
    # an upsert: the first change a database records inserts the row, at the same moment as another or not
    dialect = import_module(f"sqlalchemy.dialects.{conn.dialect.name}")
    conn.execute(dialect.insert(table).values(key=VERSION_KEY, **values)
                 .on_conflict_do_update(index_elements=[table.c.key], set_=values))


event.listen(Session, "after_flush", _stamp)
