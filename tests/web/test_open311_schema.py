"""Schemathesis runs the OpenAPI document against the app (issue 8): no 5xx, every response
matches its schema, status code and content type; invalid input is refused. Positive and
negative cases for every operation; POSTs carry a real key so valid bodies create requests.

(``schemathesis.pytest.from_fixture`` does not work with this pytest, so the strategies are
driven by hypothesis inside one test per operation and mode.)"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, negative_data_rejection,
                                               response_schema_conformance, status_code_conformance)

from portal.domain.intake import Channel
from portal.extensions import db
from portal.services import apikeys

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
OPERATIONS = ["discovery", "services", "serviceDefinition", "listRequests", "createRequest", "getRequest",
              "getToken"]


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": False}


#: operations that have input a negative case can break (discovery and services take none that matters)
NEGATIVE = ["serviceDefinition", "listRequests", "createRequest", "getRequest", "getToken"]
CASES = [(op, schemathesis.GenerationMode.POSITIVE) for op in OPERATIONS] + \
    [(op, schemathesis.GenerationMode.NEGATIVE) for op in NEGATIVE]


@pytest.mark.parametrize("operation_id,mode", CASES, ids=[f"{op}-{m.value}" for op, m in CASES])
def test_open311_conforms_to_its_openapi_document(app, client, now, operation_id, mode):
    secret = apikeys.create_key(now, name="schemathesis", channel=Channel.APP, rate_per_minute=10000).secret
    db.session.commit()
    # a request to read back, so getRequest/getToken also meet existing rows
    client.post("/open311/v2/requests.json", data={"api_key": secret, "service_code": "SZSS-LD",
                                                    "address_string": "建国门外大街1号",
                                                    "description": "路灯连续一周不亮，请尽快维修。"})
    schema = schemathesis.openapi.from_wsgi("/open311/v2/openapi.json", app)
    operation = next(r.ok() for r in schema.get_all_operations() if r.ok().definition.raw.get("operationId")
                     == operation_id)
    checks = CHECKS + ([negative_data_rejection] if mode is schemathesis.GenerationMode.NEGATIVE else [])
    seen: set[int] = set()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case):
        if case.method == "POST" and isinstance(case.body, dict) and "api_key" in case.body:
            case.body["api_key"] = secret
        response = case.call()
        seen.add(response.status_code)
        case.validate_response(response, checks=checks)

    run()
    assert seen and max(seen) < 500
