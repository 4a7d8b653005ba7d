"""HTMX helpers: a full page on a normal request, the fragment on HX-Request."""
from __future__ import annotations

import json

from flask import render_template, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def render_page_or_partial(page_template: str, partial_template: str, **context) -> str:
    return render_template(partial_template if is_htmx() else page_template, **context)


def hx_trigger(response, event: str, detail: dict | None = None):
    response.headers["HX-Trigger"] = json.dumps({event: detail or {}})
    return response
