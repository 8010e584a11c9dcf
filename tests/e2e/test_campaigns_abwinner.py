"""The automatic A/B winner end to end, through the gateway: a manual flow splits customers between
two emails; once each variant has 10 deliveries and B's links are clicked (through the `/t/click`
links of the mails in the SMTP sink) until B is significantly better, the worker's judge names B,
the metrics and the flow show it, and every new enrollment takes B. Saving a changed split starts
a new test: the winner is gone and enrollments are split by weight again.
"""

from __future__ import annotations

import re
from datetime import datetime
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.e2e.test_campaigns_flow import Json, emails, enrollments
from tests.factories import unique, wait_for

MIN = 10


def ab_flow(subject_b: str = "Offer B") -> Json:
    def email(step_id: str, subject: str) -> Json:
        html = f'<p><a href="https://shop.example/{step_id}">Shop</a></p>'
        return {
            "id": step_id,
            "type": "send_email",
            "template": {"subject": subject, "html": html, "text": "Shop"},
            "next": "end",
        }

    return {
        "name": "Subject test",
        "trigger": {"type": "manual"},
        "entry_step": "ab",
        "steps": [
            {
                "id": "ab",
                "type": "split",
                "variants": [
                    {"name": "A", "weight": 1, "next": "a"},
                    {"name": "B", "weight": 1, "next": "b"},
                ],
                "auto_winner": {"metric": "clicked", "min_per_variant": MIN, "confidence": 0.95},
            },
            email("a", "Offer A"),
            email("b", subject_b),
            {"id": "end", "type": "exit"},
        ],
    }


def customers(gateway: httpx.Client, admin: dict[str, str], write: tuple[str, str], n: int) -> list[str]:
    """`n` customers known to campaigns' contacts (identified at once, then awaited); their user ids."""
    users = [unique("ab") for _ in range(n)]
    for user in users:
        call = {"userId": user, "traits": {"email": f"{user}@example.com"}}
        assert gateway.post("/v1/identify", json=call, auth=write).status_code == 200
    for user in users:
        preview = {"subject": "{{ customer.email }}", "customer_id": user}
        wait_for(
            lambda p=preview: gateway.post("/api/templates/preview", json=p, headers=admin),
            lambda r: r.status_code == 200 and r.json()["subject"].startswith("ab"),
            30,
        )
    return users


def enroll(gateway: httpx.Client, admin: dict[str, str], flow_id: str, users: list[str]) -> None:
    answer = gateway.post(f"/api/flows/{flow_id}/enrollments", json={"customer_ids": users}, headers=admin)
    assert answer.status_code == 200 and answer.json()["enrolled"] == users, answer.text


def metrics(gateway: httpx.Client, admin: dict[str, str], flow_id: str) -> Json:
    answer = gateway.get(f"/api/flows/{flow_id}/metrics", headers=admin)
    assert answer.status_code == 200, answer.text
    result: Json = answer.json()
    return result


def delivered(gateway: httpx.Client, admin: dict[str, str], flow_id: str) -> dict[str, int]:
    ab_test = metrics(gateway, admin, flow_id)["ab_test"] or {"variants": []}
    return {v["variant"]: v["delivered"] for v in ab_test["variants"]}


def all_delivered(gateway: httpx.Client, admin: dict[str, str], flow_id: str, n: int) -> None:
    """Wait until the flow's `n` emails are delivered."""
    wait_for(lambda: delivered(gateway, admin, flow_id), lambda d: sum(d.values()) == n, 30)


def mail_of(gateway: httpx.Client, admin: dict[str, str], user: str) -> Json:
    [mail] = wait_for(lambda: emails(gateway, admin, f"{user}@example.com"), bool, 20)
    return mail


def click(gateway: httpx.Client, mail: Json) -> None:
    [link] = [unescape(h) for h in re.findall(r'href="([^"]+)"', mail["html"]) if "/t/click/" in h]
    parts = urlsplit(link)
    followed = gateway.get(f"{parts.path}?{parts.query}")
    assert followed.status_code == 302, followed.text


def variants_of(gateway: httpx.Client, admin: dict[str, str], flow_id: str, users: list[str]) -> list[Any]:
    """Per user: (variant, how it was chosen: weight or winner) of their newest enrollment, or None yet."""
    split: dict[str, Any] = {}
    for enrollment in sorted(enrollments(gateway, admin, flow_id), key=lambda e: e["seq"]):
        for entry in enrollment["history"]:
            if entry["outcome"] == "variant":
                split[enrollment["customer_id"]] = (entry["variant"], entry["by"])
    return [split.get(u) for u in users]


def test_clicks_make_b_the_winner_and_new_enrollments_take_it(
    gateway: httpx.Client, admin_headers: dict[str, str], write_auth: tuple[str, str]
) -> None:
    admin = admin_headers
    bad = ab_flow()
    bad["steps"][0]["auto_winner"]["min_per_variant"] = 5
    refused = gateway.post("/api/flows", json=bad, headers=admin)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["details"][0]["step"] == "ab"

    created = gateway.post("/api/flows", json=ab_flow(), headers=admin)
    assert created.status_code == 201, created.text
    flow_id = created.json()["id"]
    [test] = created.json()["auto_winners"]
    assert (test["step"], test["winner"]) == ("ab", None)
    assert gateway.post(f"/api/flows/{flow_id}/activate", headers=admin).status_code == 200

    pool = customers(gateway, admin, write_auth, 3 * MIN + 18)
    first, pool = pool[: 3 * MIN], pool[3 * MIN :]
    enroll(gateway, admin, flow_id, first)
    all_delivered(gateway, admin, flow_id, len(first))
    # The split is random by enrollment id: top up until each variant has its deliveries.
    while min(delivered(gateway, admin, flow_id).get(v, 0) for v in "AB") < MIN:
        more, pool = pool[:2], pool[2:]
        assert len(pool) >= 6, "the split was too lopsided for the pool"
        enroll(gateway, admin, flow_id, more)
        first += more
        all_delivered(gateway, admin, flow_id, len(first))

    # Enough deliveries but no difference yet (no clicks): no winner, however long the judge looks.
    assert metrics(gateway, admin, flow_id)["ab_test"]["winner"] is None
    mails = {user: mail_of(gateway, admin, user) for user in first}
    b_users = [u for u, m in mails.items() if m["subject"] == "Offer B"]
    assert len(b_users) >= MIN and len(first) - len(b_users) >= MIN
    for user in b_users:
        click(gateway, mails[user])

    decided = wait_for(
        lambda: metrics(gateway, admin, flow_id)["ab_test"], lambda t: t["winner"] is not None, 20
    )
    assert decided["winner"] == "B" and decided["decided_at"] is not None
    [state] = decided["auto_winners"]
    assert state["metric"] == "clicked" and state["figures"]["p_value"] < 0.05
    figures = {v["variant"]: (v["delivered"], v["successes"]) for v in state["figures"]["variants"]}
    # The judge may decide while the clicks are still arriving: the figures are those it decided on.
    assert figures["A"] == (len(first) - len(b_users), 0)
    assert figures["B"][0] == len(b_users) and 0 < figures["B"][1] <= len(b_users)
    shown = gateway.get(f"/api/flows/{flow_id}", headers=admin).json()["auto_winners"]
    assert shown[0]["winner"] == "B" and shown[0]["decided_at"] == decided["decided_at"]

    later, pool = pool[:5], pool[5:]
    enroll(gateway, admin, flow_id, later)
    assert wait_for(lambda: variants_of(gateway, admin, flow_id, later), lambda v: None not in v, 20) == [
        ("B", "winner")
    ] * len(later)
    assert all(mail_of(gateway, admin, u)["subject"] == "Offer B" for u in later)
    # Those who passed the split before keep their variant.
    before = variants_of(gateway, admin, flow_id, first)
    assert sorted({v for v, _ in before}) == ["A", "B"] and {b for _, b in before} == {"weight"}

    # A changed variant B is a new test: the old winner must not route anyone into it.
    assert gateway.post(f"/api/flows/{flow_id}/pause", headers=admin).status_code == 200
    changed = gateway.put(f"/api/flows/{flow_id}", json=ab_flow("Offer B, shorter"), headers=admin)
    assert changed.status_code == 200, changed.text
    [restarted] = changed.json()["auto_winners"]
    assert restarted["winner"] is None
    assert datetime.fromisoformat(restarted["started_at"]) > datetime.fromisoformat(state["started_at"])
    assert metrics(gateway, admin, flow_id)["ab_test"]["winner"] is None
    assert gateway.post(f"/api/flows/{flow_id}/activate", headers=admin).status_code == 200
    last = pool[:1]
    enroll(gateway, admin, flow_id, last)
    [(_, by)] = wait_for(lambda: variants_of(gateway, admin, flow_id, last), lambda v: None not in v, 20)
    assert by == "weight"
