"""`python -m deploy.launcher run` brings the platform to ready and leaves nothing behind on SIGTERM."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys

import psutil

from deploy.launcher.layout import REPO, Layout
from deploy.launcher.processes import answers
from deploy.launcher.stack import Stack
from tests.factories import wait_for

PROFILE = "launcher-test"


def test_run_reaches_ready_and_sigterm_stops_every_process_it_started(stack: Stack) -> None:
    # `stack` only orders this after the session stack is up: both run side by side on other ports.
    layout = Layout.of(PROFILE)
    shutil.rmtree(layout.root, ignore_errors=True)
    launcher = subprocess.Popen(
        [sys.executable, "-m", "deploy.launcher", "run", "--profile", PROFILE, "--no-demo"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(
            lambda: answers(f"http://127.0.0.1:{layout.ports.gateway}/readyz"),
            bool,
            timeout_s=120,
            interval_s=0.5,
        )
        started = psutil.Process(launcher.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in started)
        for expected in ("kafka.Kafka", "postgres", "redis-server", "services.profile worker", "gateway api"):
            assert expected in names, f"{expected} is not among the launcher's processes"
    finally:
        launcher.send_signal(signal.SIGTERM)
        output = launcher.communicate(timeout=90)[0].decode(errors="replace")

    assert launcher.returncode == 0, output[-3000:]
    survivors = [p for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert survivors == [], f"left running: {[p.cmdline() for p in survivors]}"
    assert list(layout.pids.glob("*.pid")) == []
    assert "stopped everything the launcher started" in output
    shutil.rmtree(layout.root, ignore_errors=True)
