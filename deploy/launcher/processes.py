"""Child processes with pid files, so a stack left running can always be found and stopped."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from deploy.launcher.layout import REPO


@dataclass
class Proc:
    """One supervised process: started in its own session, logged to a file, stopped as a group."""

    name: str
    argv: list[str]
    log: Path
    pidfile: Path
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    stop_signal: int = signal.SIGTERM
    stop_timeout_s: float = 15.0
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
                cwd=REPO,
                start_new_session=True,
                user=self.user,
            )
        created = psutil.Process(self.popen.pid).create_time()
        self.pidfile.write_text(json.dumps({"pid": self.popen.pid, "created": created, "name": self.name}))

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self) -> None:
        if self.popen is not None:
            terminate(self.popen.pid, self.stop_signal, self.stop_timeout_s)
        self.pidfile.unlink(missing_ok=True)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def terminate(pid: int, sig: int, timeout_s: float) -> None:
    """Signal a process group, wait, then kill what is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop_leftovers(pids: Path) -> list[str]:
    """Stop every process a previous launcher of this stack left running; their names."""
    stopped = []
    for pidfile in sorted(pids.glob("*.pid"), reverse=True):
        with contextlib.suppress(ValueError, OSError):
            info = json.loads(pidfile.read_text())
            # The creation time guards against a recycled pid belonging to someone else.
            if (
                psutil.pid_exists(info["pid"])
                and abs(psutil.Process(info["pid"]).create_time() - info["created"]) < 1
            ):
                sig = signal.SIGINT if info["name"] == "postgres" else signal.SIGTERM
                terminate(info["pid"], sig, 15.0)
                stopped.append(info["name"])
        pidfile.unlink(missing_ok=True)
    return stopped


def answers(url: str) -> bool:
    """Whether a GET of `url` answers 200 right now (a probe: refused or failing is just False)."""
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def wait_until(what: str, ready: Callable[[], bool], timeout_s: float, proc: Proc | None = None) -> None:
    """Poll `ready` until it is true; fail with the process's log if it dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{what} exited during start-up; last log lines:\n{proc.log_tail()}")
        with contextlib.suppress(Exception):
            if ready():
                return
        time.sleep(0.2)
    tail = f"; last log lines:\n{proc.log_tail()}" if proc else ""
    raise TimeoutError(f"{what} not ready after {timeout_s:.0f}s{tail}")
