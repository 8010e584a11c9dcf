"""Every metric a dashboard or an alert reads is exported by the running services, and Prometheus runs them.

Traffic goes through the gateway first (a profile, a rejected call, a CSV import, a poison message on
the customer events topic), so the families that only show samples after work has been done have some. Then a
local Prometheus (Debian's binary, as `make run` starts it) scrapes the stack: every process is up,
the alert rules are loaded, and every dashboard query is accepted by its PromQL engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from deploy.launcher.processes import Proc
from deploy.launcher.services import SERVICES
from deploy.launcher.stack import Stack
from schemas.topics import CUSTOMER_EVENTS
from tests.factories import get_customer, unique, wait_for
from tests.promql_names import dashboard_expressions, family_of, metric_names, rule_expressions

# Series Prometheus makes itself, not the services.
PROMETHEUS_OWN = {"up", "ALERTS", "ALERTS_FOR_STATE"}
# Families that are exported (declared) everywhere but have samples only after a rare event; each
# with what makes it appear. Anything else a dashboard or alert reads must have samples.
RARE = {
    "cdp_consumer_retries": "a handler failing and being retried",
    "cdp_gateway_rate_limited": "a key over its rate limit",
    "cdp_scheduler_lateness_seconds": "the campaigns scheduler firing a due item",
    "cdp_ai_provider_request_seconds": "a call to a configured model provider (the test stack has no key)",
    "cdp_ai_tokens": "a model provider reporting tokens",
}


def scrape(stack: Stack) -> dict[str, tuple[set[str], set[str]]]:
    """Per process: (families declared, families with at least one sample)."""
    exported = {}
    for service in SERVICES:
        answer = httpx.get(f"{stack.service_url(service.name)}/metrics", timeout=10)
        assert answer.status_code == 200, service.name
        declared, sampled = set(), set()
        for family in text_string_to_metric_families(answer.text):
            # The parser names counters without `_total`; keep both spellings resolvable.
            declared.add(family.name)
            if family.samples:
                sampled.add(family.name)
        exported[service.name] = (declared, sampled)
    return exported


@pytest.fixture(scope="module")
def traffic(
    stack: Stack, gateway: httpx.Client, write_auth: tuple[str, str], admin_headers: dict[str, str]
) -> None:
    """A profile built through the pipeline, a rejected call, a CSV import, a dead-lettered message, a
    segment and an AI draft."""
    user_id = unique("metrics-user")
    call = {"userId": user_id, "event": "Product Viewed", "properties": {"sku": "sku-1"}}
    assert gateway.post("/v1/track", json=call, auth=write_auth).json()["accepted"] == 1
    rejected = gateway.post("/v1/batch", json={"batch": [{"type": "track"}]}, auth=write_auth)
    assert rejected.status_code in (200, 400), rejected.text
    imported = gateway.post(
        "/api/imports/customers",
        content=f"user_id,email\n{user_id}-csv,{user_id}@example.com\n",
        headers={**admin_headers, "Content-Type": "text/csv"},
    )
    assert imported.status_code == 201, imported.text
    asyncio.run(_publish_poison(stack))
    # A segment (a full recompute) and a generation by the planner.
    rule = {"event": "Product Viewed", "op": "performed"}
    segment = gateway.post(
        "/api/segments", json={"name": unique("viewers"), "rule": rule}, headers=admin_headers
    )
    assert segment.status_code == 201, segment.text
    drafted = gateway.post("/api/ai/segment", json={"prompt": "customers in Texas"}, headers=admin_headers)
    assert drafted.status_code == 200, drafted.text
    wait_for(lambda: get_customer(gateway, admin_headers, user_id), lambda r: r.status_code == 200)
    # The profile worker dead-letters the poison message; wait until its counter says so.
    wait_for(
        lambda: httpx.get(f"{stack.service_url('profile-worker')}/metrics").text,
        lambda text: "cdp_dlq_messages_total{" in text,
        timeout_s=60,
    )


async def _publish_poison(stack: Stack) -> None:
    from cdpkit.kafka import Publisher, start_producer
    from cdpkit.settings import ServiceSettings

    settings = ServiceSettings(kafka_bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"])
    producer = await start_producer(settings)
    try:
        await Publisher(producer, "tests").publish(CUSTOMER_EVENTS.name, b"ws:poison", b"not json")
    finally:
        await producer.stop()


def test_every_dashboard_and_alert_metric_is_exported_by_a_running_service(
    stack: Stack, traffic: None
) -> None:
    exported = scrape(stack)
    declared = set().union(*(d for d, _ in exported.values()))
    sampled = set().union(*(s for _, s in exported.values()))
    used = [
        (where, title, name)
        for where, title, expr in [*dashboard_expressions(), *rule_expressions()]
        for name in metric_names(expr)
        if name not in PROMETHEUS_OWN
    ]
    assert len(used) > 100

    unknown = sorted({(w, t, n) for w, t, n in used if family_of(n, declared) is None})
    assert not unknown, f"read by a dashboard or alert but exported by no service: {unknown}"
    silent = sorted(
        {
            (w, t, n)
            for w, t, n in used
            if family_of(n, sampled) is None and family_of(n, declared) not in RARE
        }
    )
    assert not silent, f"exported but without a single sample after traffic: {silent}"


WORKERS = ("profile-worker", "segmentation-worker", "catalog-worker", "campaigns-worker")
WORKER_FAMILIES = {
    "cdp_consumer_messages",
    "cdp_consumer_lag_messages",
    "cdp_consumer_event_age_seconds",
    "cdp_outbox_backlog",
    "cdp_db_pool_connections",
}


def test_the_kit_metrics_reach_every_process_that_does_the_work(stack: Stack, traffic: None) -> None:
    # Segmentation and campaigns handle the profile's snapshot a little after the profile exists.
    exported = wait_for(
        lambda: scrape(stack),
        lambda found: all(found[worker][1] >= WORKER_FAMILIES for worker in WORKERS),
        timeout_s=60,
        interval_s=1,
    )
    for name, (_, sampled) in exported.items():
        assert "cdp_http_requests" in sampled, name
        # Readiness checks become gauges; the SMTP sink has no dependency to check.
        assert name == "smtp-sink" or "cdp_dependency_up" in sampled, name
    for worker in WORKERS:
        assert exported[worker][1] >= WORKER_FAMILIES, worker
    assert "cdp_dlq_messages" in exported["profile-worker"][1]
    assert {"cdp_ingest_events", "cdp_kafka_produce_seconds"} <= exported["ingest"][1]


@pytest.fixture(scope="module")
def prometheus(stack: Stack, traffic: None) -> Iterator[str]:
    """A local Prometheus on the test stack, scraping every second; stopped after the module."""
    proc: Proc | None = stack.start_prometheus(scrape_interval="1s")
    assert proc is not None
    yield stack.prometheus_url
    proc.stop()
    stack.procs.remove(proc)


def query(prometheus: str, expr: str, where: str = "") -> list[dict[str, object]]:
    """An instant query's result; fails on a PromQL error, saying `where` the query comes from."""
    answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert answer["status"] == "success", (where, expr, answer)
    result: list[dict[str, object]] = answer["data"]["result"]
    return result


def test_the_local_prometheus_scrapes_every_process_and_loads_the_alerts(prometheus: str) -> None:
    wanted = {service.name for service in SERVICES} | {"prometheus"}
    up = wait_for(
        lambda: {r["metric"]["job"]: r["value"][1] for r in query(prometheus, "up")},  # type: ignore[index]
        lambda jobs: set(jobs) == wanted and all(value == "1" for value in jobs.values()),
        timeout_s=90,
    )
    assert set(up) == wanted
    rules = httpx.get(f"{prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]
    alerts = {rule["name"] for group in rules for rule in group["rules"]}
    assert {"CdpServiceDown", "CdpConsumerLagGrowing", "CdpDeadLetters", "CdpOutboxBacklog"} <= alerts


def test_prometheus_accepts_every_dashboard_query_and_the_pipeline_shows_data(prometheus: str) -> None:
    for where, title, expr in dashboard_expressions():
        # Grafana's variable; a fixed window keeps the query what Grafana would send.
        query(prometheus, expr.replace("$__rate_interval", "1m"), f"{where}: {title}")
    # The poison message above was dead-lettered by every group reading customer events.
    dead = wait_for(
        lambda: query(prometheus, "sum by (service) (cdp_dlq_messages_total)"),
        lambda result: any(r["metric"].get("service") == "profile" for r in result),
        timeout_s=30,
    )
    assert dead
    lag = query(prometheus, 'cdp_consumer_lag_messages{group="profile"}')
    assert lag and {r["metric"]["topic"] for r in lag} == {CUSTOMER_EVENTS.name}  # type: ignore[index]
