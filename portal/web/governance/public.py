"""Public 每月一题 pages: published topics only, no citizen's name or phone (only counts of requests)."""
from __future__ import annotations

from flask import abort, render_template
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import Topic
from ...services import governance as gov
from . import charts, public_bp


@public_bp.route("/")
def index():
    rows = list(db.session.scalars(select(Topic).options(joinedload(Topic.lead_unit)).where(Topic.published)
                                   .order_by(Topic.year.desc(), Topic.month, Topic.id)))
    return render_template("governance/public_topics.html", topics=rows,
                           progress=gov.topics_progress([t.id for t in rows]))


@public_bp.route("/<slug>")
def topic(slug: str):
    topic = db.session.scalar(select(Topic).where(Topic.slug == slug, Topic.published))
    if topic is None:
        abort(404)
    volume = gov.topic_monthly_volume(topic)
    return render_template("governance/public_topic.html", topic=topic, progress=gov.topic_progress(topic.id),
                           volume=volume, chart=charts.columns([(k[5:], n) for k, n in volume]))
