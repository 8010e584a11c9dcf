"""A local Prometheus (Debian's `prometheus` binary) scraping every process of a stack.

`make run` starts it on the gateway's port + `PROMETHEUS_OFFSET` (8090) with the alert rules of
`deploy/prometheus/rules/`; test stacks start one only when a test asks (`start_prometheus`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from deploy.launcher.layout import REPO, Layout
from deploy.launcher.processes import Proc
from deploy.launcher.services import SERVICES

PROMETHEUS_OFFSET = 90
RULES = REPO / "deploy" / "prometheus" / "rules"
SCRAPE_INTERVAL = "15s"


def prometheus_port(layout: Layout) -> int:
    """Where the stack's Prometheus answers (its UI and HTTP API)."""
    return layout.ports.service(PROMETHEUS_OFFSET)


def scrape_config(layout: Layout, interval: str = SCRAPE_INTERVAL) -> dict[str, object]:
    """One job per process, named like docker-compose's services, on the stack's local ports."""
    jobs: list[dict[str, object]] = [
        {
            "job_name": service.name,
            "static_configs": [{"targets": [f"127.0.0.1:{layout.ports.service(service.port_offset)}"]}],
        }
        for service in SERVICES
    ]
    jobs.append(
        {"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{prometheus_port(layout)}"]}]}
    )
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(RULES / "*.yml")],
        "scrape_configs": jobs,
    }


def write_config(layout: Layout, interval: str = SCRAPE_INTERVAL) -> Path:
    """Write the stack's prometheus.yml under its state folder; its path."""
    folder = layout.root / "prometheus"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "prometheus.yml"
    path.write_text(
        "# Written by deploy/launcher/prometheus.py at each start: edits are overwritten.\n"
        + yaml.safe_dump(scrape_config(layout, interval), sort_keys=False)
    )
    return path


def binary() -> str | None:
    """Debian's prometheus binary (`make setup` installs the package), or None."""
    return shutil.which("prometheus")


def prometheus(layout: Layout, interval: str = SCRAPE_INTERVAL) -> Proc:
    """The process, ready to start: config written, data in the stack's folder, a week kept."""
    executable = binary()
    if executable is None:
        raise RuntimeError("no `prometheus` binary: `make setup` installs Debian's prometheus package")
    config = write_config(layout, interval)
    return Proc(
        "prometheus",
        [
            executable,
            f"--config.file={config}",
            f"--storage.tsdb.path={layout.root / 'prometheus' / 'data'}",
            "--storage.tsdb.retention.time=7d",
            f"--web.listen-address=127.0.0.1:{prometheus_port(layout)}",
            "--web.enable-lifecycle",
        ],
        layout.logs / "prometheus.log",
        layout.pids / "60-prometheus.pid",
    )
