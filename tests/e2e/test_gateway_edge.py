"""The gateway as the edge: one OpenAPI, security headers, size and media-type limits, request ids."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx

from deploy.launcher.processes import Proc
from deploy.launcher.stack import Stack
from schemas.topics import CUSTOMER_EVENTS
from tests.factories import unique
from tests.kafka_tools import read_all


def test_one_openapi_describes_every_service_behind_the_gateway(gateway: httpx.Client) -> None:
    document = gateway.get("/openapi.json").json()
    paths = document["paths"]
    for expected in (
        "/v1/track",
        "/v1/batch",
        "/api/customers",
        "/api/customers/{customer_ref}",
        "/api/customers/{customer_ref}/events",
        "/api/workspaces",
        "/api/auth/keys",
    ):
        assert expected in paths, expected
    assert not any(p.startswith(("/healthz", "/metrics", "/readyz")) for p in paths)
    assert set(document["components"]["securitySchemes"]) == {"writeKey", "apiKey"}
    assert paths["/v1/track"]["post"]["security"] == [{"writeKey": []}]
    assert paths["/api/customers"]["get"]["security"] == [{"apiKey": []}]
    listed = paths["/api/customers"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    page = document["components"]["schemas"][listed["$ref"].rsplit("/", 1)[1]]
    assert set(page["properties"]) == {"items", "next_cursor"}
    assert "x-unavailable-services" not in document["info"]
    assert "swagger-ui" in gateway.get("/docs").text


def test_security_headers_are_on_every_response(gateway: httpx.Client) -> None:
    for response in (gateway.get("/healthz"), gateway.get("/api/customers"), gateway.get("/nowhere")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"


def test_errors_are_json_for_404_405_413_and_415(
    gateway: httpx.Client, admin_headers: dict[str, str], write_auth: tuple[str, str]
) -> None:
    not_found = gateway.get("/nowhere")
    assert (not_found.status_code, not_found.json()["error"]["code"]) == (404, "not_found")
    wrong_method = gateway.put("/v1/track", json={}, auth=write_auth)
    assert (wrong_method.status_code, wrong_method.json()["error"]["code"]) == (405, "method_not_allowed")
    too_big = gateway.post("/v1/batch", content=b"x" * (1024 * 1024 + 1), auth=write_auth)
    assert (too_big.status_code, too_big.json()["error"]["code"]) == (413, "payload_too_large")
    plain = gateway.post(
        "/api/customers", content=b"hello", headers={**admin_headers, "content-type": "text/plain"}
    )
    assert (plain.status_code, plain.json()["error"]["code"]) == (415, "unsupported_media_type")


def test_a_streamed_body_over_the_limit_is_refused_too(
    gateway: httpx.Client, write_auth: tuple[str, str]
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"y" * 32 * 1024  # 1.25 MiB, sent chunked: no Content-Length to check up front

    response = gateway.post("/v1/batch", content=chunks(), auth=write_auth)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_the_request_id_travels_to_kafka_with_the_event(
    stack: Stack, gateway: httpx.Client, write_auth: tuple[str, str]
) -> None:
    request_id, message_id = unique("req"), unique("msg")
    response = gateway.post(
        "/v1/track",
        json={"userId": "u", "event": "E", "messageId": message_id},
        auth=write_auth,
        headers={"X-Request-ID": request_id},
    )
    assert response.headers["x-request-id"] == request_id
    records = asyncio.run(read_all(stack.env["KAFKA_BOOTSTRAP_SERVERS"], CUSTOMER_EVENTS.name, expect=1))
    [mine] = [r for r in records if dict(r.headers).get("event-id") == message_id.encode()]
    assert dict(mine.headers)["x-request-id"] == request_id.encode()


def test_the_circuit_opens_after_repeated_failures_and_answers_at_once(
    ai_down: Proc, gateway: httpx.Client, admin_headers: dict[str, str]
) -> None:
    answers = [gateway.post("/api/ai/segment", json={"prompt": "x"}, headers=admin_headers) for _ in range(6)]
    started = time.perf_counter()
    fast = gateway.post("/api/ai/segment", json={"prompt": "x"}, headers=admin_headers)
    took = time.perf_counter() - started
    assert all(a.status_code == 503 and a.headers["retry-after"] for a in answers)
    assert fast.json()["error"]["details"] == {"circuit": "open"}
    assert took < 0.5
