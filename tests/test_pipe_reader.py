"""The one reader thread that serves every fd-mode capture's pipes (Linux, epoll)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from expt.fd_pipes import Channel, FdCapture
from expt.pipe_reader import shared_reader

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not hasattr(__import__("select"), "epoll"),
                                reason="the shared reader needs epoll")


def readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "expt-output-reader"]


def test_many_captures_share_one_reader_that_serves_large_writes(tmp_path):
    """Ten captures in turn, each written 200 kB (more than a pipe holds, so the reader must
    serve it during the capture): all arrives, and there is one reader thread throughout."""
    path = tmp_path / "dest"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        for i in range(10):
            record: list[str] = []
            fds = FdCapture([Channel(fd, record.append, "utf-8", compress=True)])
            writer = threading.Thread(target=os.write, args=(fd, f"{i}".encode() * 200_000))
            writer.start()
            writer.join(timeout=10)
            assert not writer.is_alive(), "the write blocked: nobody read the pipe"
            os.write(fd, b"\n")
            fds.restore()
            fds.finish(timeout=10)
            fds.release_saved()
            assert "".join(record) == f"{i}" * 200_000 + "\n"
            assert len(readers()) == 1 and readers()[0] is shared_reader()._thread
    finally:
        os.close(fd)
    assert path.stat().st_size == 10 * 200_001


FORKED = """
import json, os, sys
from expt.capture_output import capture_output
from expt.pipe_reader import shared_reader
with capture_output("fd"):
    print("parent")
parent_reader = shared_reader()
pid = os.fork()
if pid == 0:
    with capture_output("fd") as cap:
        os.system("head -c 300000 /dev/zero | tr '\\\\0' x; echo")
    child_reader = shared_reader()
    ok = child_reader is not parent_reader and child_reader._thread.is_alive()
    os.write(2, (json.dumps({"ok": ok, "len": len(cap.getvalue())}) + "\\n").encode())
    os._exit(0)
os.waitpid(pid, 0)
with capture_output("fd") as cap:
    print("parent again")
print(json.dumps({"parent": cap.getvalue()}), file=sys.stderr)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_forked_child_starts_its_own_reader():
    """A forked child gets a reader of its own (the parent's thread did not come along) and
    records a child process's 300 kB; the parent's reader keeps working."""
    proc = subprocess.run([sys.executable, "-c", FORKED], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stderr
    child, parent = [json.loads(line) for line in proc.stderr.splitlines()[-2:]]
    assert child == {"ok": True, "len": 300_001}
    assert parent == {"parent": "parent again\n"}
