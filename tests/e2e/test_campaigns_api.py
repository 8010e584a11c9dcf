"""The campaigns API through the gateway: validation that names the step, templates and preview,
flow and campaign states, errors in the one format; and CAMPAIGN_PROBES, this file's part of
tests/e2e/test_tenancy.py's probe of every route.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import httpx

from deploy.launcher.services import SMTP_SINK_OFFSET
from services.campaigns.tests.flows import welcome, with_step
from tests.e2e.test_campaigns_tracking import TRACKING_PROBES
from tests.factories import get_customer, unique

Json = dict[str, Any]


def flow_json(**changes: Any) -> Json:
    flow = with_step(welcome(), "offer", template_id=None, template={"subject": "Offer {{ offer.code }}"})
    return {**flow, "trigger": {"type": "segment_entered", "segment_id": unique("seg")}, **changes}


def create(gateway: httpx.Client, headers: dict[str, str], path: str, body: Json) -> Json:
    answer = gateway.post(path, json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    created: Json = answer.json()
    return created


def template_json() -> Json:
    return {
        "name": unique("t"),
        "subject": "Hi {{ customer.first_name }}",
        "html": "<p>{{ customer.plan }}</p>",
    }


def test_a_flow_with_a_broken_graph_is_refused_naming_the_step(
    gateway: httpx.Client, admin_headers: dict[str, str]
) -> None:
    broken = with_step(flow_json(), "wait", next="nowhere")
    answer = gateway.post("/api/flows", json=broken, headers=admin_headers)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["details"] == [
        {"step": "wait", "code": "unknown_next", "message": "step 'wait' leads to unknown 'nowhere'"}
    ]


def test_a_branch_rule_is_checked_by_the_rule_language(
    gateway: httpx.Client, admin_headers: dict[str, str]
) -> None:
    bad = with_step(flow_json(), "check", rule={"field": "shoe_size", "op": "gte", "value": 1})
    answer = gateway.post("/api/flows", json=bad, headers=admin_headers)
    assert answer.status_code == 400
    [problem] = answer.json()["error"]["details"]
    assert (problem["step"], problem["code"]) == ("check", "invalid_rule")
    assert "shoe_size" in problem["message"]


def test_a_missing_template_and_a_malformed_step_are_client_errors(
    gateway: httpx.Client, admin_headers: dict[str, str]
) -> None:
    missing = with_step(flow_json(), "offer", template=None, template_id="nope")
    answer = gateway.post("/api/flows", json=missing, headers=admin_headers)
    assert answer.status_code == 400
    assert answer.json()["error"]["details"][0] == {
        "step": "offer",
        "code": "unknown_template",
        "message": "no template 'nope'",
    }
    malformed = with_step(flow_json(), "wait", type="teleport")
    answer = gateway.post("/api/flows", json=malformed, headers=admin_headers)
    assert answer.status_code in (400, 422) and "error" in answer.json()


def test_flow_states_and_edits(gateway: httpx.Client, admin_headers: dict[str, str]) -> None:
    flow = create(gateway, admin_headers, "/api/flows", flow_json())
    assert flow["status"] == "draft" and flow["version"] == 1 and flow["steps"][0]["id"] == "hello"
    path = f"/api/flows/{flow['id']}"
    assert gateway.post(f"{path}/activate", headers=admin_headers).json()["status"] == "active"
    answer = gateway.put(path, json=flow_json(name="Changed"), headers=admin_headers)
    assert answer.status_code == 409
    assert gateway.post(f"{path}/pause", headers=admin_headers).json()["status"] == "paused"
    changed = gateway.put(path, json=flow_json(name="Changed"), headers=admin_headers).json()
    assert (changed["name"], changed["version"]) == ("Changed", 2)
    manual = gateway.post(f"{path}/enrollments", json={"customer_ids": ["c1"]}, headers=admin_headers)
    assert manual.status_code == 409  # a paused flow enrolls no one
    assert gateway.delete(path, headers=admin_headers).status_code == 204
    assert gateway.get(path, headers=admin_headers).status_code == 404


def test_templates_crud_and_preview(gateway: httpx.Client, admin_headers: dict[str, str]) -> None:
    template = create(gateway, admin_headers, "/api/templates", template_json())
    path = f"/api/templates/{template['id']}"
    assert gateway.get(path, headers=admin_headers).json()["subject"] == "Hi {{ customer.first_name }}"
    preview = gateway.post(
        "/api/templates/preview",
        json={"template_id": template["id"], "customer": {"first_name": "Zoe", "traits": {"plan": "gold"}}},
        headers=admin_headers,
    ).json()
    assert preview["subject"] == "Hi Zoe"
    assert preview["html"].startswith("<p>gold</p>") and "Unsubscribe" in preview["html"]
    sample = gateway.post(
        "/api/templates/preview", json={"subject": "{{ customer.first_name }}"}, headers=admin_headers
    )
    assert sample.json()["subject"] == "Ann"
    broken = gateway.post(
        "/api/templates", json={**template_json(), "html": "{% if %}"}, headers=admin_headers
    )
    assert broken.status_code == 400 and "html" in broken.json()["error"]["details"]
    unsafe = gateway.post(
        "/api/templates/preview",
        json={"subject": "{{ customer.__class__.__mro__[1].__subclasses__() }}"},
        headers=admin_headers,
    )
    assert unsafe.status_code == 400
    updated = gateway.put(path, json={**template_json(), "subject": "New"}, headers=admin_headers)
    assert updated.json()["subject"] == "New"
    assert gateway.delete(path, headers=admin_headers).status_code == 204
    assert gateway.get(path, headers=admin_headers).status_code == 404


def test_campaign_states(gateway: httpx.Client, admin_headers: dict[str, str]) -> None:
    flow = create(gateway, admin_headers, "/api/flows", flow_json())
    campaign = create(
        gateway, admin_headers, "/api/campaigns", {"name": "Welcome", "kind": "flow", "flow_id": flow["id"]}
    )
    assert campaign["status"] == "draft"
    path = f"/api/campaigns/{campaign['id']}"
    assert gateway.post(f"{path}/activate", headers=admin_headers).json()["status"] == "active"
    assert gateway.get(f"/api/flows/{flow['id']}", headers=admin_headers).json()["status"] == "active"
    assert gateway.post(f"{path}/pause", headers=admin_headers).json()["status"] == "paused"
    assert gateway.get(f"/api/flows/{flow['id']}", headers=admin_headers).json()["status"] == "paused"
    incomplete = gateway.post(
        "/api/campaigns", json={"name": "x", "kind": "broadcast"}, headers=admin_headers
    )
    assert incomplete.status_code in (400, 422) and "error" in incomplete.json()


# Tenancy probes: workspace B can never see, change or use workspace A's campaigns data.


def _b_cannot_reach(kind: str, action: Callable[[Any, str], httpx.Response]) -> Callable[[Any], None]:
    def probe(w: Any) -> None:
        made = _made_by_a(w, kind)
        answer = action(w, made["id"])
        assert answer.status_code == 404, answer.text
        assert w.gateway.get(f"/api/{kind}/{made['id']}", headers=w.a_admin).status_code == 200

    return probe


def _made_by_a(w: Any, kind: str) -> Json:
    body = {"templates": template_json(), "flows": flow_json(), "campaigns": None}[kind]
    if kind == "campaigns":
        flow = create(w.gateway, w.a_admin, "/api/flows", flow_json())
        body = {"name": "A's", "kind": "flow", "flow_id": flow["id"]}
    return create(w.gateway, w.a_admin, f"/api/{kind}", body or {})


def _b_lists_only_its_own(kind: str) -> Callable[[Any], None]:
    def probe(w: Any) -> None:
        made = _made_by_a(w, kind)
        ids = [item["id"] for item in w.gateway.get(f"/api/{kind}", headers=w.b_admin).json()["items"]]
        assert made["id"] not in ids

    return probe


def _b_creates_in_b(kind: str) -> Callable[[Any], None]:
    def probe(w: Any) -> None:
        body = template_json() if kind == "templates" else flow_json()
        made = create(w.gateway, w.b_admin, f"/api/{kind}", body)
        assert w.gateway.get(f"/api/{kind}/{made['id']}", headers=w.a_admin).status_code == 404

    return probe


def _b_campaign_cannot_use_a_flow(w: Any) -> None:
    flow = create(w.gateway, w.a_admin, "/api/flows", flow_json())
    body = {"name": "B's", "kind": "flow", "flow_id": flow["id"]}
    assert w.gateway.post("/api/campaigns", json=body, headers=w.b_admin).status_code == 400


def _b_preview_cannot_read_a(w: Any) -> None:
    template = _made_by_a(w, "templates")
    answer = w.gateway.post("/api/templates/preview", json={"template_id": template["id"]}, headers=w.b_admin)
    assert answer.status_code == 404
    # A's own customer id: B may have a customer with A's user id (another probe makes one), never this.
    a_id = get_customer(w.gateway, w.a_admin, w.a_user).json()["customer_id"]
    customer = {"subject": "x", "customer_id": a_id}
    assert w.gateway.post("/api/templates/preview", json=customer, headers=w.b_admin).status_code == 404


def _b_sees_none_of_as_emails(w: Any) -> None:
    address = f"{unique('to')}@example.com"
    a_id = w.gateway.get("/api/workspaces/current", headers=w.a_admin).json()["id"]
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "t@cdp.local", address, "for A"
    message["X-CDP-Workspace"] = a_id
    message["Message-ID"] = f"<{unique('m')}@cdp.local>"
    message.set_content("A's")
    port = httpx.URL(str(w.gateway.base_url)).port
    assert port is not None
    with smtplib.SMTP("127.0.0.1", port + SMTP_SINK_OFFSET, timeout=10) as smtp:
        smtp.send_message(message)
    mine = w.gateway.get("/api/outbox/emails", params={"to": address}, headers=w.a_admin).json()["items"]
    assert [m["subject"] for m in mine] == ["for A"]
    assert (
        w.gateway.get("/api/outbox/emails", params={"to": address}, headers=w.b_admin).json()["items"] == []
    )


def _flow_action(verb: str, suffix: str, body: Json | None = None) -> Callable[[Any, str], httpx.Response]:
    def act(w: Any, flow_id: str) -> httpx.Response:
        return w.gateway.request(verb, f"/api/flows/{flow_id}{suffix}", json=body, headers=w.b_admin)

    return act


def _other(
    kind: str, verb: str, suffix: str = "", body: Json | None = None
) -> Callable[[Any, str], httpx.Response]:
    def act(w: Any, item_id: str) -> httpx.Response:
        return w.gateway.request(verb, f"/api/{kind}/{item_id}{suffix}", json=body, headers=w.b_admin)

    return act


CAMPAIGN_PROBES: dict[tuple[str, str], Callable[[Any], None]] = {
    ("get", "/api/templates"): _b_lists_only_its_own("templates"),
    ("post", "/api/templates"): _b_creates_in_b("templates"),
    ("get", "/api/templates/{template_id}"): _b_cannot_reach("templates", _other("templates", "GET")),
    ("put", "/api/templates/{template_id}"): _b_cannot_reach(
        "templates", _other("templates", "PUT", body=template_json())
    ),
    ("delete", "/api/templates/{template_id}"): _b_cannot_reach("templates", _other("templates", "DELETE")),
    ("post", "/api/templates/preview"): _b_preview_cannot_read_a,
    ("get", "/api/flows"): _b_lists_only_its_own("flows"),
    ("post", "/api/flows"): _b_creates_in_b("flows"),
    ("get", "/api/flows/{flow_id}"): _b_cannot_reach("flows", _flow_action("GET", "")),
    ("put", "/api/flows/{flow_id}"): _b_cannot_reach("flows", _flow_action("PUT", "", flow_json())),
    ("delete", "/api/flows/{flow_id}"): _b_cannot_reach("flows", _flow_action("DELETE", "")),
    ("post", "/api/flows/{flow_id}/activate"): _b_cannot_reach("flows", _flow_action("POST", "/activate")),
    ("post", "/api/flows/{flow_id}/pause"): _b_cannot_reach("flows", _flow_action("POST", "/pause")),
    ("get", "/api/flows/{flow_id}/enrollments"): _b_cannot_reach(
        "flows", _flow_action("GET", "/enrollments")
    ),
    ("post", "/api/flows/{flow_id}/enrollments"): _b_cannot_reach(
        "flows", _flow_action("POST", "/enrollments", {"customer_ids": ["x"]})
    ),
    ("get", "/api/campaigns"): _b_lists_only_its_own("campaigns"),
    ("post", "/api/campaigns"): _b_campaign_cannot_use_a_flow,
    ("get", "/api/campaigns/{campaign_id}"): _b_cannot_reach("campaigns", _other("campaigns", "GET")),
    ("post", "/api/campaigns/{campaign_id}/activate"): _b_cannot_reach(
        "campaigns", _other("campaigns", "POST", "/activate")
    ),
    ("post", "/api/campaigns/{campaign_id}/pause"): _b_cannot_reach(
        "campaigns", _other("campaigns", "POST", "/pause")
    ),
    ("get", "/api/outbox/emails"): _b_sees_none_of_as_emails,
    ("get", "/api/flows/{flow_id}/metrics"): _b_cannot_reach("flows", _flow_action("GET", "/metrics")),
    ("get", "/api/campaigns/{campaign_id}/metrics"): _b_cannot_reach(
        "campaigns", _other("campaigns", "GET", "/metrics")
    ),
    **TRACKING_PROBES,
}
