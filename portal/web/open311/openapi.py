"""The OpenAPI 3.0 document of the JSON endpoints (served at /open311/v2/openapi.json and run
by schemathesis in the test suite)."""
from __future__ import annotations

from ...domain.intake import RequestKind

JSON = "application/json"


def _nullable(kind: str, **extra) -> dict:
    return {"type": kind, "nullable": True, **extra}


SCHEMAS = {
    "Error": {"type": "object", "required": ["code", "description"], "additionalProperties": False,
              "properties": {"code": {"type": "integer"}, "description": {"type": "string"}}},
    "Errors": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Error"}},
    "Discovery": {
        "type": "object", "required": ["changeset", "contact", "key_service", "endpoints"],
        "properties": {
            "changeset": {"type": "string"}, "contact": {"type": "string"}, "key_service": {"type": "string"},
            "endpoints": {"type": "array", "items": {
                "type": "object", "required": ["specification", "url", "changeset", "type", "formats"],
                "properties": {"specification": {"type": "string"}, "url": {"type": "string"},
                               "changeset": {"type": "string"}, "type": {"type": "string"},
                               "formats": {"type": "array", "items": {"type": "string"}}}}},
        },
    },
    "Service": {
        "type": "object", "additionalProperties": False,
        "required": ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"],
        "properties": {"service_code": {"type": "string"}, "service_name": {"type": "string"},
                       "description": {"type": "string"}, "metadata": {"type": "boolean"},
                       "type": {"type": "string", "enum": ["realtime", "batch", "blackbox"]},
                       "keywords": {"type": "string"}, "group": {"type": "string"}},
    },
    "ServiceDefinition": {
        "type": "object", "required": ["service_code", "attributes"],
        "properties": {
            "service_code": {"type": "string"},
            "attributes": {"type": "array", "items": {
                "type": "object",
                "required": ["variable", "code", "datatype", "required", "datatype_description", "order",
                             "description"],
                "properties": {
                    "variable": {"type": "boolean"}, "code": {"type": "string"},
                    "datatype": {"type": "string", "enum": ["string", "number", "datetime", "text",
                                                            "singlevaluelist", "multivaluelist"]},
                    "required": {"type": "boolean"}, "datatype_description": _nullable("string"),
                    "order": {"type": "integer", "minimum": 1}, "description": {"type": "string"},
                    "values": {"type": "array", "items": {
                        "type": "object", "required": ["key", "name"],
                        "properties": {"key": {"type": "string"}, "name": {"type": "string"}}}},
                }}},
        },
    },
    "ServiceRequest": {
        "type": "object", "additionalProperties": False,
        "required": ["service_request_id", "status", "service_name", "service_code", "requested_datetime",
                     "updated_datetime"],
        "properties": {
            "service_request_id": {"type": "string"},
            "status": {"type": "string", "enum": ["open", "closed"]},
            "status_notes": _nullable("string"), "service_name": {"type": "string"},
            "service_code": {"type": "string"}, "description": _nullable("string"),
            "agency_responsible": _nullable("string"), "service_notice": _nullable("string"),
            "requested_datetime": {"type": "string", "format": "date-time"},
            "updated_datetime": {"type": "string", "format": "date-time"},
            "expected_datetime": _nullable("string", format="date-time"),
            "address": _nullable("string"), "address_id": _nullable("string"), "zipcode": _nullable("string"),
            "lat": _nullable("number"), "long": _nullable("number"), "media_url": _nullable("string"),
        },
    },
    "Created": {
        "type": "object", "required": ["service_request_id"],
        "properties": {"service_request_id": {"type": "string"}, "service_notice": _nullable("string"),
                       "account_id": _nullable("string")},
    },
    "Token": {
        "type": "object", "required": ["service_request_id", "token"],
        "properties": {"service_request_id": {"type": "string"}, "token": {"type": "string"}},
    },
}


def _or_empty(schema: dict) -> dict:
    """The spec: an optional argument passed empty is the same as one not passed."""
    return {"anyOf": [schema, {"type": "string", "maxLength": 0}]}


def _ok(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _err(description: str) -> dict:
    return {"description": description, "content": {JSON: {"schema": {"$ref": "#/components/schemas/Errors"}}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(name: str) -> dict:
    return {"type": "array", "items": _ref(name)}


SAFE = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$"}
API_KEY_QUERY = {"name": "api_key", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 200},
                 "description": "Optional on GET: a channel's key shows its own requests' text, place and media."}
JURISDICTION = {"name": "jurisdiction_id", "in": "query", "required": False, "schema": {"type": "string"},
                "description": "Ignored: this endpoint serves one jurisdiction."}


def document(server_url: str) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "12345 Open311 GeoReport v2", "version": "2",
                 "description": "Categories as services; requests from every channel in one queue. XML is "
                                "served at the same paths with .xml."},
        "servers": [{"url": server_url}],
        "paths": {
            "/discovery.json": {"get": {"operationId": "discovery", "parameters": [],
                                        "responses": {"200": _ok(_ref("Discovery"))}}},
            "/services.json": {"get": {"operationId": "services", "parameters": [JURISDICTION],
                                       "responses": {"200": _ok(_list("Service"))}}},
            "/services/{service_code}.json": {"get": {
                "operationId": "serviceDefinition",
                "parameters": [{"name": "service_code", "in": "path", "required": True, "schema": SAFE},
                               JURISDICTION],
                "responses": {"200": _ok(_ref("ServiceDefinition")), "404": _err("service_code not found")}}},
            "/requests.json": {
                "get": {
                    "operationId": "listRequests",
                    "parameters": [
                        {"name": "service_request_id", "in": "query", "schema": {"type": "string"},
                         "description": "Comma-separated; overrides every other filter."},
                        {"name": "service_code", "in": "query", "schema": {"type": "string"},
                         "description": "Comma-separated."},
                        {"name": "start_date", "in": "query", "schema": _or_empty({"type": "string", "format": "date-time"}),
                         "description": "w3 datetime with its zone; empty is the same as absent."},
                        {"name": "end_date", "in": "query", "schema": _or_empty({"type": "string", "format": "date-time"}),
                         "description": "w3 datetime with its zone; empty is the same as absent."},
                        {"name": "status", "in": "query", "schema": {"type": "string"},
                         "description": "open, closed or both, comma-separated."},
                        {"name": "page", "in": "query", "schema": _or_empty({"type": "integer", "minimum": 1}),
                         "description": "Paging extension: 1-based page; a Link header names the next page."},
                        {"name": "page_size", "in": "query",
                         "schema": _or_empty({"type": "integer", "minimum": 1, "maximum": 1000}),
                         "description": "Paging extension: records per page, at most (and by default) 1000."},
                        API_KEY_QUERY, JURISDICTION,
                    ],
                    "responses": {"200": _ok(_list("ServiceRequest")),
                                  "400": _err("bad filter, or a window over 90 days"),
                                  "403": _err("api_key given but invalid or revoked")}},
                "post": {
                    "operationId": "createRequest",
                    "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                        "type": "object", "required": ["api_key", "service_code"],
                        "properties": {
                            "api_key": {"type": "string"}, "jurisdiction_id": {"type": "string"},
                            "service_code": {"type": "string"},
                            "lat": {"type": "number"}, "long": {"type": "number"},
                            "address_string": {"type": "string"}, "address_id": {"type": "string"},
                            "email": {"type": "string"}, "device_id": {"type": "string"},
                            "account_id": {"type": "string"}, "first_name": {"type": "string"},
                            "last_name": {"type": "string"}, "phone": {"type": "string"},
                            "description": {"type": "string", "maxLength": 4000}, "media_url": {"type": "string"},
                            "attribute[kind]": {"type": "string", "enum": [k.value for k in RequestKind]},
                            "attribute[district]": {"type": "string"},
                        }}}}},
                    "responses": {"200": _ok(_list("Created")), "400": _err("missing or bad field"),
                                  "403": _err("api_key missing, invalid or revoked"),
                                  "404": _err("service_code not found"),
                                  "429": _err("the key's rate limit is reached")}},
            },
            "/requests/{service_request_id}.json": {"get": {
                "operationId": "getRequest",
                "parameters": [{"name": "service_request_id", "in": "path", "required": True, "schema": SAFE},
                               API_KEY_QUERY, JURISDICTION],
                "responses": {"200": _ok(_list("ServiceRequest")), "403": _err("api_key invalid"),
                              "404": _err("not found")}}},
            "/tokens/{token}.json": {"get": {
                "operationId": "getToken",
                "parameters": [{"name": "token", "in": "path", "required": True, "schema": SAFE}, JURISDICTION],
                "responses": {"200": _ok(_list("Token")), "404": _err("token not found")}}},
        },
        "components": {"schemas": SCHEMAS},
    }
