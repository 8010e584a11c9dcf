"""Schemathesis against the gateway's /openapi.json with valid keys: no 5xx, no response off its schema."""

from __future__ import annotations

import base64

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.schemas import BaseSchema

from deploy.launcher.stack import Stack

api = schemathesis.pytest.from_fixture("public_api")


@pytest.fixture
def public_api(stack: Stack) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{stack.gateway_url}/openapi.json")


@api.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_api_fail_or_contradict_its_schema(case: schemathesis.Case, stack: Stack) -> None:
    credentials = stack.credentials
    if case.path.startswith("/v1/"):
        auth = "Basic " + base64.b64encode(f"{credentials.write_key}:".encode()).decode()
    else:
        auth = f"Bearer {credentials.admin_key}"
    case.call_and_validate(
        base_url=stack.gateway_url,
        headers={"Authorization": auth},
        checks=[not_a_server_error, response_schema_conformance],
    )
