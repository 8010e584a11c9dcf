"""Crash tests' scaffolding: a service's worker run beside the stack, SIGKILLed between its database
commit and its offset commit, and a fresh one that takes over what it left uncommitted."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from cdpkit.settings import ServiceSettings
from deploy.launcher.processes import answers
from deploy.launcher.stack import Stack
from tests.factories import wait_for
from tests.kafka_tools import committed_and_end

# An hour between offset commits: the effect is durable long before its offset is.
NO_OFFSET_COMMITS = {"CONSUMER_COMMIT_INTERVAL_MS": str(3_600_000)}


def free_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_worker(stack: Stack, service: str, **env: str) -> subprocess.Popen[bytes]:
    """`python -m services.<service> worker` in the stack's environment, ready; killed if it never is."""
    port = free_port()
    proc = stack.spawn_worker(service, port, stack.layout.logs / f"{service}-crash-test-{port}.log", **env)
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/readyz"), bool, timeout_s=30, interval_s=0.3)
    except BaseException:
        kill(proc)  # no caller holds it yet: a worker that never became ready must not outlive the test
        raise
    return proc


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a worker's whole process group: nothing of it gets to commit anything more."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a worker the way the launcher does (SIGTERM) and wait for it."""
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)


@contextmanager
def running_worker(stack: Stack, service: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """A worker for the block's length, stopped at its end."""
    proc = start_worker(stack, service, **env)
    try:
        yield proc
    finally:
        stop(proc)


def offsets(settings: ServiceSettings, group: str, topic: str) -> tuple[int, int]:
    """(committed offset, end offset) of `group` on `topic`, from synchronous code."""
    return asyncio.run(committed_and_end(settings.kafka_bootstrap_servers, group, topic))


@contextmanager
def killed_before_its_offset_commit(
    stack: Stack, settings: ServiceSettings, service: str, topic: str, group: str | None = None
) -> Iterator[None]:
    """A worker that commits no offset while the block makes it apply something durably; then checks
    its group's offsets on `topic` are still pending and SIGKILLs it."""
    doomed = start_worker(stack, service, **NO_OFFSET_COMMITS)
    try:
        yield
        committed, end = offsets(settings, group or service, topic)
        assert committed < end, "the offsets must still be uncommitted when the worker dies"
    finally:
        kill(doomed)


def redeliver(
    stack: Stack,
    settings: ServiceSettings,
    service: str,
    topic: str,
    group: str | None = None,
    then: Callable[[], object] = lambda: None,
) -> None:
    """A fresh worker takes what a killed one left uncommitted; stopped when all is committed and `then()`."""
    with running_worker(stack, service):
        wait_for(lambda: offsets(settings, group or service, topic), lambda o: o[0] == o[1], timeout_s=30)
        then()


@contextmanager
def stack_worker_stopped(stack: Stack, name: str) -> Iterator[None]:
    """The stack's own worker `name` stopped for the block (a test runs its own in the same group)."""
    [worker] = [proc for proc in stack.procs if proc.name == name]
    worker.stop()
    try:
        yield
    finally:
        worker.start()
        wait_for(lambda: answers(stack.service_url(name) + "/readyz"), bool, timeout_s=30, interval_s=0.3)
