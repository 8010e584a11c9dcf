"""Bring a whole stack up and down: components, topics, migrations, services, readiness."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from importlib import import_module
from pathlib import Path

from cdpkit.kafka import ensure_topics
from cdpkit.migrations import upgrade
from cdpkit.settings import ServiceSettings
from deploy.launcher import components
from deploy.launcher import prometheus as local_prometheus
from deploy.launcher.layout import GOOGLE_CERTS_OFFSET, REPO, TEST_PROFILES, Credentials, Layout
from deploy.launcher.processes import Proc, answers, port_open, stop_leftovers, wait_until
from deploy.launcher.services import MIGRATED, SERVICES, SMTP_SINK_OFFSET, UPSTREAMS
from schemas.topics import TOPICS

# A process that dies is reported at once; this only bounds a slow start. Every process imports at
# once on two cores shared with other stacks, and the first one waited for (ingest, two processes
# importing in turn) took over 60 s on a busy machine.
START_TIMEOUT_S = 120


@dataclass
class Stack:
    """One stack profile (`run` or `test`) and the processes it started."""

    layout: Layout
    credentials: Credentials
    generated_credentials: bool = False
    procs: list[Proc] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def for_profile(cls, profile: str) -> Stack:
        layout = Layout.of(profile)
        layout.prepare()
        credentials, generated = Credentials.load_or_create(
            layout, os.environ.get("CDP_BOOTSTRAP_ADMIN_KEY"), os.environ.get("CDP_BOOTSTRAP_WRITE_KEY")
        )
        return cls(layout, credentials, generated)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.layout.ports.gateway}"

    @property
    def google_certs_port(self) -> int:
        """Where a test stack expects the fake Google's signing keys."""
        return self.layout.ports.gateway + GOOGLE_CERTS_OFFSET

    def service_url(self, name: str) -> str:
        offset = next(s.port_offset for s in SERVICES if s.name == name)
        return f"http://127.0.0.1:{self.layout.ports.service(offset)}"

    def up(self, *, services: bool = True, prometheus: bool | None = None) -> None:
        """Start everything not given by URL, then topics, migrations and the services; wait for ready.

        `prometheus` (default: only for `make run`) also starts a local Prometheus scraping them all.
        """
        started = time.monotonic()
        stop_leftovers(self.layout.pids)
        if self.layout.profile != "run":
            # Test and benchmark stacks start empty: a backlog left by an earlier run would skew them.
            for data in ("kafka", "postgres", "redis"):
                shutil.rmtree(self.layout.root / data, ignore_errors=True)
        try:
            self._start_components()
            self._mark("components", started)
            asyncio.run(ensure_topics(self.env["KAFKA_BOOTSTRAP_SERVERS"], TOPICS))
            self._mark("topics", started)
            self.migrate()
            self._mark("migrations", started)
            if services:
                self._start_services()
                self._mark("services", started)
            wanted = self.layout.profile == "run" if prometheus is None else prometheus
            if wanted:
                self.start_prometheus(required=prometheus is True)
        except BaseException:
            self.down()
            raise

    def down(self) -> None:
        """Stop what this stack started, services first, and anything an earlier run left behind."""
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()
        stop_leftovers(self.layout.pids)

    def migrate(self) -> None:
        settings = ServiceSettings(
            kafka_bootstrap_servers=self.env["KAFKA_BOOTSTRAP_SERVERS"],
            database_url=self.env["DATABASE_URL"],
            redis_url=self.env["REDIS_URL"],
        )
        for module in MIGRATED:
            package = import_module(module)
            upgrade(Path(package.__file__ or "").parent / "migrations", settings)

    def dead(self) -> list[Proc]:
        return [proc for proc in self.procs if not proc.alive()]

    def _start_components(self) -> None:
        ports, creds = self.layout.ports, self.credentials
        waits = []
        if bootstrap := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            self.env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
        else:
            kafka = self._spawn(components.kafka(self.layout))
            waits.append(lambda: components.wait_for_kafka(kafka, ports.kafka))
            self.env["KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{ports.kafka}"
        if url := os.environ.get("DATABASE_URL"):
            self.env["DATABASE_URL"] = url
        else:
            durable = self.layout.profile == "run"
            postgres = self._spawn(components.postgres(self.layout, creds.postgres_password, durable))
            waits.append(
                lambda: components.wait_for_postgres(postgres, ports.postgres, creds.postgres_password)
            )
            self.env["DATABASE_URL"] = (
                f"postgresql+asyncpg://cdp:{creds.postgres_password}@127.0.0.1:{ports.postgres}/cdp"
            )
        if url := os.environ.get("REDIS_URL"):
            self.env["REDIS_URL"] = url
        else:
            redis = self._spawn(components.redis(self.layout, creds.redis_password))
            waits.append(lambda: components.wait_for_redis(redis, ports.redis))
            self.env["REDIS_URL"] = f"redis://:{creds.redis_password}@127.0.0.1:{ports.redis}/0"
        for wait in waits:
            wait()

    def service_env(self) -> dict[str, str]:
        """The environment every service process gets."""
        env = {
            "CDP_ENV": "development" if self.layout.profile == "run" else "test",
            "CDP_INTERNAL_TOKEN": self.credentials.internal_token,
            "CDP_BOOTSTRAP_ADMIN_KEY": self.credentials.admin_key,
            "CDP_BOOTSTRAP_WRITE_KEY": self.credentials.write_key,
            "CDP_JWT_SECRET": self.credentials.jwt_secret,
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
            **{key: self.env[key] for key in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "REDIS_URL")},
        }
        if self.layout.profile in TEST_PROFILES:
            # Console sign-in against a fake Google: the tests serve its signing keys on this port.
            env["GOOGLE_CLIENT_ID"] = "cdp-test-client"
            env["GOOGLE_ALLOWED_DOMAINS"] = "example.com"
            env["GOOGLE_CERTS_URL"] = f"http://127.0.0.1:{self.google_certs_port}/certs"
            # Every test shares the bootstrap admin key, and polling tests on a slow machine can spend
            # its default 1,200 requests a minute; limits are tested on keys that carry their own.
            env["RATE_LIMIT_ADMIN_PER_MINUTE"] = "1000000"
        for name in UPSTREAMS:
            env[f"{name.upper()}_URL"] = self.service_url(name)
        env["SMTP_HOST"] = "127.0.0.1"
        env["SMTP_PORT"] = str(self.layout.ports.service(SMTP_SINK_OFFSET))
        env["SMTP_SINK_URL"] = self.service_url("smtp-sink")
        workers = [s.name for s in SERVICES if s.command == "worker"]
        env["EXTRA_HEALTH_URLS"] = ",".join(f"{name}={self.service_url(name)}" for name in workers)
        return env

    def spawn_worker(self, service: str, port: int, log: Path, **env: str) -> subprocess.Popen[bytes]:
        """One more `python -m services.<service> worker` in this stack's environment, on `port`, in its
        own process group; not tracked by the stack (tests and benchmarks start and stop their own)."""
        with log.open("ab") as output:
            return subprocess.Popen(
                [sys.executable, "-m", f"services.{service}", "worker"],
                cwd=REPO,
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.service_env(), "HTTP_PORT": str(port), **env},
                start_new_session=True,
            )

    def _start_services(self) -> None:
        env = self.service_env()
        started = []
        for service in SERVICES:
            port = self.layout.ports.service(service.port_offset)
            if port_open(port):
                raise RuntimeError(f"port {port} for {service.name} is taken: is another stack running?")
            proc = Proc(
                service.name,
                [sys.executable, *service.argv_tail],
                self.layout.logs / f"{service.name}.log",
                self.layout.pids / f"50-{service.name}.pid",
                env={**env, "HTTP_PORT": str(port)},
            )
            started.append((self._spawn(proc), port))
        for proc, port in started:
            wait_until(proc.name, partial(answers, f"http://127.0.0.1:{port}/healthz"), START_TIMEOUT_S, proc)
        wait_until("gateway readiness", partial(answers, f"{self.gateway_url}/readyz"), START_TIMEOUT_S)

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{local_prometheus.prometheus_port(self.layout)}"

    def start_prometheus(self, *, required: bool = True, scrape_interval: str = "15s") -> Proc | None:
        """Start the local Prometheus and wait until it answers; without its binary, fail or warn."""
        if local_prometheus.binary() is None and not required:
            print("no local Prometheus: `make setup` installs Debian's prometheus package", flush=True)
            return None
        proc = self._spawn(local_prometheus.prometheus(self.layout, scrape_interval))
        wait_until("prometheus", partial(answers, f"{self.prometheus_url}/-/ready"), 60, proc)
        return proc

    def _spawn(self, proc: Proc) -> Proc:
        proc.start()
        self.procs.append(proc)
        return proc

    def _mark(self, step: str, since: float) -> None:
        self.timings[step] = round(time.monotonic() - since, 2)
