"""The real SecantusDB MongoDB server of the tests and benchmarks (DESIGN.md section 6),
started and stopped through ``scripts/mongo-server``. The session fixtures are in
tests/conftest.py."""
from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "mongo-server"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_logs: dict[int, Path] = {}  # server PID -> its log file, removed when it stops cleanly


def start_server(port: int, storage: str = ":memory:", auth: bool = False) -> int:
    """Start a SecantusDB server through scripts/mongo-server; return its PID."""
    log = Path(tempfile.gettempdir()) / f"expt-test-mongo-{port}-{uuid.uuid4().hex[:8]}.log"
    out = subprocess.run([sys.executable, str(SCRIPT), "start", "--port", str(port),
                          "--storage-path", storage, "--log", str(log)]
                         + (["--auth"] if auth else []),
                         check=True, capture_output=True, text=True)
    pid = int(out.stdout.strip().splitlines()[-1])
    _logs[pid] = log
    return pid


def stop_server(pid: int) -> None:
    """Stop the server with this PID and wait until it has exited."""
    subprocess.run([sys.executable, str(SCRIPT), "stop", str(pid)], check=True)
    log = _logs.pop(pid, None)
    if log is not None:
        log.unlink(missing_ok=True)


@dataclass
class MongoServer:
    """A running test server."""

    port: int
    pid: int

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"
