"""Stack profiles can run side by side: no port shared, none where outgoing connections take theirs."""

from __future__ import annotations

from deploy.launcher.layout import GOOGLE_CERTS_OFFSET, PROFILES
from deploy.launcher.services import SERVICES

EPHEMERAL_START = 32768  # Linux's net.ipv4.ip_local_port_range starts here by default


def test_no_two_profiles_share_a_port_and_none_is_in_the_ephemeral_range() -> None:
    owners: dict[int, str] = {}
    offsets = {0, GOOGLE_CERTS_OFFSET, *(service.port_offset for service in SERVICES)}
    for name, ports in PROFILES.items():
        used = [ports.kafka, ports.kafka_controller, ports.postgres, ports.redis]
        used += [ports.service(offset) for offset in offsets]
        for port in used:
            assert port not in owners, f"{name} and {owners.get(port)} both use port {port}"
            assert port < EPHEMERAL_START, f"{name} uses {port}, inside the ephemeral range"
            owners[port] = name
