"""Ingest runs as two processes on one port; /metrics, whichever answers, counts for both."""

from __future__ import annotations

import re

import httpx
import psutil

from deploy.launcher.stack import Stack
from tests.factories import unique

ACCEPTED = re.compile(rb'^cdp_ingest_events_total\{outcome="accepted"\} ([0-9.e+]+)$', re.M)


def test_two_workers_share_the_port_and_every_scrape_counts_both(
    stack: Stack, write_auth: tuple[str, str]
) -> None:
    [ingest] = [proc for proc in stack.procs if proc.name == "ingest"]
    assert ingest.popen is not None
    children = psutil.Process(ingest.popen.pid).children()
    assert sum("spawn_main" in " ".join(child.cmdline()) for child in children) == 2

    for _ in range(6):  # a connection each: the kernel hands them to either worker
        batch = [{"type": "track", "userId": unique("u"), "event": "Scraped"} for _ in range(3)]
        response = httpx.post(f"{stack.gateway_url}/v1/batch", json={"batch": batch}, auth=write_auth)
        assert response.json()["accepted"] == 3

    scrapes = set()
    for _ in range(8):
        metrics = httpx.get(f"{stack.service_url('ingest')}/metrics").content
        scrapes |= {float(value) for value in ACCEPTED.findall(metrics)}
    assert len(scrapes) == 1 and scrapes.pop() >= 18
