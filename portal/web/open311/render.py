"""Open311 bodies in JSON or XML. XML follows the spec: a declaration with UTF-8, a root element
named for the list (``services``, ``service_requests``, ``errors``, ``discovery``…), one child
per item, no namespace; JSON is the same tree (a list at the top)."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from flask import Response

#: list field → element name of one item
ITEM = {"services": "service", "service_requests": "request", "errors": "error", "endpoints": "endpoint",
        "formats": "format", "attributes": "attribute", "values": "value"}
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(parent: ET.Element, value) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            child = ET.SubElement(parent, key)
            if isinstance(item, list):
                for element in item:
                    _fill(ET.SubElement(child, ITEM[key]), element)
            else:
                _fill(child, item)
    else:
        parent.text = _text(value)


def to_xml(root: str, body) -> bytes:
    element = ET.Element(root)
    if isinstance(body, list):
        for item in body:
            _fill(ET.SubElement(element, ITEM[root]), item)
    else:
        _fill(element, body)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="unicode").encode("utf-8")


def respond(fmt: str, root: str, body, status: int = 200, headers: dict | None = None) -> Response:
    if fmt == "xml":
        resp = Response(to_xml(root, body), status=status, content_type=XML_TYPE)
    else:
        resp = Response(json.dumps(body, ensure_ascii=False), status=status, content_type=JSON_TYPE)
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    resp.headers["Cache-Control"] = "no-store"
    return resp
