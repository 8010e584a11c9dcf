"""Where a stack keeps its state and which ports it uses. `run` and `test` stacks never collide."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STATE = REPO / ".cdp"


@dataclass(frozen=True)
class Ports:
    kafka: int
    kafka_controller: int
    postgres: int
    redis: int
    gateway: int

    def service(self, offset: int) -> int:
        return self.gateway + offset


PROFILES = {
    "run": Ports(kafka=9092, kafka_controller=9093, postgres=5433, redis=6380, gateway=8000),
    "test": Ports(kafka=19092, kafka_controller=19093, postgres=15433, redis=16380, gateway=18000),
    # The launcher's own test runs a whole `run` beside the test stack.
    "launcher-test": Ports(kafka=29092, kafka_controller=29093, postgres=25433, redis=26380, gateway=28000),
    # Benchmarks (bench/) run on their own stacks. Every port stays below 32768, where Linux's
    # ephemeral range (outgoing connections) starts, so a stack never finds its port briefly taken.
    "bench": Ports(kafka=30092, kafka_controller=30093, postgres=30433, redis=30380, gateway=31000),
    "bench-b": Ports(kafka=12092, kafka_controller=12093, postgres=12433, redis=12380, gateway=13000),
    "bench-c": Ports(kafka=14092, kafka_controller=14093, postgres=14433, redis=14380, gateway=11000),
    # Extra test stacks, so that several checkouts or people can run `make test` on one machine at
    # once (CDP_TEST_PROFILE=test-b make test).
    "test-b": Ports(kafka=20092, kafka_controller=20093, postgres=20433, redis=20380, gateway=21000),
    "test-c": Ports(kafka=22092, kafka_controller=22093, postgres=22433, redis=22380, gateway=23000),
    "test-d": Ports(kafka=24092, kafka_controller=24093, postgres=24433, redis=24380, gateway=25000),
    "test-e": Ports(kafka=26092, kafka_controller=26093, postgres=26433, redis=26390, gateway=27000),
    "test-f": Ports(kafka=10092, kafka_controller=10093, postgres=10433, redis=10380, gateway=17000),
    "test-g": Ports(kafka=6092, kafka_controller=6093, postgres=6433, redis=6390, gateway=7000),
    "test-h": Ports(kafka=4092, kafka_controller=4093, postgres=4433, redis=4380, gateway=5000),
}
TEST_PROFILES = ("test", "test-b", "test-c", "test-d", "test-e", "test-f", "test-g", "test-h")
# The fake Google that test stacks verify console sign-ins against listens on gateway port + this.
GOOGLE_CERTS_OFFSET = 99


@dataclass(frozen=True)
class Layout:
    """The folders and ports of one stack profile."""

    profile: str
    ports: Ports

    @classmethod
    def of(cls, profile: str) -> Layout:
        return cls(profile, PROFILES[profile])

    @property
    def root(self) -> Path:
        return STATE / self.profile

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def credentials_file(self) -> Path:
        return self.root / "credentials.json"

    def prepare(self) -> None:
        for folder in (self.root, self.logs, self.pids):
            folder.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class Credentials:
    """Secrets of a local stack, generated once and kept in .cdp/ (never in the repository)."""

    admin_key: str
    write_key: str
    internal_token: str
    postgres_password: str
    redis_password: str
    jwt_secret: str  # signs the console's session JWTs (CDP_JWT_SECRET)

    @classmethod
    def load_or_create(
        cls, layout: Layout, admin_key: str | None, write_key: str | None
    ) -> tuple[Credentials, bool]:
        """The stack's credentials, and whether they were generated just now."""
        path = layout.credentials_file
        if path.exists():
            data = json.loads(path.read_text())
            # Credential files written before a secret existed get it now, kept from then on.
            if "jwt_secret" not in data:
                data["jwt_secret"] = secrets.token_urlsafe(32)
                _write_private(path, data)
            stored = cls(**data)
            # Keys given in the environment win (they are what the first workspace was created with).
            merged = cls(
                **{
                    **stored.__dict__,
                    "admin_key": admin_key or stored.admin_key,
                    "write_key": write_key or stored.write_key,
                }
            )
            return merged, False
        created = cls(
            admin_key=admin_key or "cdp_admin_" + secrets.token_urlsafe(24),
            write_key=write_key or "cdp_write_" + secrets.token_urlsafe(18),
            internal_token=secrets.token_urlsafe(32),
            postgres_password=secrets.token_urlsafe(18),
            redis_password=secrets.token_urlsafe(18),
            jwt_secret=secrets.token_urlsafe(32),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_private(path, created.__dict__)
        return created, True


def _write_private(path: Path, data: dict[str, str]) -> None:
    path.write_text(json.dumps(data, indent=2))
    path.chmod(0o600)
