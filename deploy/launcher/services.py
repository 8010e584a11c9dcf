"""The platform's processes: each service's API (and worker), and the gateway in front of them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceProcess:
    name: str
    module: str
    command: str
    port_offset: int

    @property
    def argv_tail(self) -> list[str]:
        return ["-m", self.module, self.command]


# Port offsets from the gateway's port (8000 for `make run`, 18000 for `make test`).
SERVICES: tuple[ServiceProcess, ...] = (
    ServiceProcess("ingest", "services.ingest", "api", 1),
    ServiceProcess("profile", "services.profile", "api", 2),
    ServiceProcess("profile-worker", "services.profile", "worker", 12),
    ServiceProcess("segmentation", "services.segmentation", "api", 3),
    ServiceProcess("segmentation-worker", "services.segmentation", "worker", 13),
    ServiceProcess("campaigns", "services.campaigns", "api", 4),
    ServiceProcess("campaigns-worker", "services.campaigns", "worker", 14),
    # The local SMTP sink campaigns delivers to: HTTP (probes, received mails) here, SMTP at SMTP_SINK_OFFSET.
    ServiceProcess("smtp-sink", "deploy.launcher.smtp_sink", "api", 16),
    ServiceProcess("ai", "services.ai", "api", 5),
    ServiceProcess("ai-worker", "services.ai", "worker", 17),
    ServiceProcess("catalog", "services.catalog", "api", 6),
    ServiceProcess("catalog-worker", "services.catalog", "worker", 15),
    ServiceProcess("gateway", "gateway", "api", 0),
)

SMTP_SINK_OFFSET = 25

# Services that own tables, in migration order; each has `<module>/migrations`.
MIGRATED = (
    "gateway",
    "services.profile",
    "services.ingest",
    "services.segmentation",
    "services.catalog",
    "services.campaigns",
    "services.ai",
)

# The gateway's routes point at these (`<NAME>_URL`); workers sit behind no route.
UPSTREAMS = ("ingest", "profile", "segmentation", "campaigns", "ai", "catalog")
