"""Tests for expt.fd_pipes on real descriptors: a file's descriptor moved onto a real pipe."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from expt.fd_pipes import Channel, FdCapture, FdText, flush_c_stdio, open_saved_writer
from expt.pipe_reader import shared_reader
from expt.output_filter import apply_backspaces_and_linefeeds

ROOT = Path(__file__).resolve().parents[1]
POSIX = os.name == "posix"


@pytest.fixture
def file_fd(tmp_path):
    """A real descriptor on a file (standing in for fd 1) and the file's path."""
    path = tmp_path / "dest"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    yield fd, path
    os.close(fd)


def open_fds() -> set[int]:
    """The descriptors this process has open."""
    return {int(n) for n in os.listdir("/proc/self/fd")}


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="reads /proc/self/fd")
def test_capture_forwards_records_whole_lines_and_restores(file_fd):
    """Writes to the descriptor reach the file and the record (whole lines); all is closed after."""
    fd, path = file_fd
    shared_reader()  # the process's one reader (thread and epoll descriptor), if any, stays
    before_fds, before_ino = open_fds(), os.fstat(fd).st_ino
    record: list[str] = []
    fds = FdCapture([Channel(fd, record.append, "utf-8", compress=True)])
    assert os.fstat(fd).st_ino != before_ino  # now a pipe
    os.write(fd, "one\ntw".encode())
    os.write(fd, "o\nunfinished é".encode())
    fds.restore()
    fds.finish(timeout=10)
    fds.release_saved()  # the Python-level writer's share of the saved descriptor
    assert os.fstat(fd).st_ino == before_ino
    assert path.read_text() == "one\ntwo\nunfinished é"
    assert "".join(record) == "one\ntwo\nunfinished é"
    assert all(type(piece) is FdText for piece in record)
    assert all(piece.endswith("\n") for piece in record[:-1])  # never a split line
    assert open_fds() == before_fds


@pytest.mark.skipif(not POSIX, reason="drain needs non-blocking pipes")
def test_drain_records_what_the_pipe_holds_now(file_fd):
    """After drain() returns, everything written before it is recorded, without waiting."""
    fd, _ = file_fd
    record: list[str] = []
    fds = FdCapture([Channel(fd, record.append, "utf-8", compress=True)])
    try:
        for i in range(200):
            os.write(fd, f"line {i}\n".encode())
            fds.drain()
            assert "".join(record).endswith(f"line {i}\n")
    finally:
        fds.restore()
        fds.finish(timeout=10)
        fds.release_saved()


PROGRESS = "".join(f"\r{i:6d}/20000" for i in range(20001))  # 260 kB, no newline


@pytest.mark.parametrize("compress, max_kept", [(True, 2 * 65536), (False, len(PROGRESS))])
def test_unfinished_child_line_compressed_only_with_default_filter(file_fd, compress, max_kept):
    """A long \\r progress line stays bounded when compress is on, raw otherwise; same final state."""
    fd, path = file_fd
    channel = Channel(fd, [].append, "utf-8", compress)
    try:
        data = PROGRESS.encode()
        for start in range(0, len(data), 65536):
            channel.take(data[start:start + 65536])
        assert path.read_bytes() == data  # the terminal still gets every redraw
        rest = channel._rest
        assert apply_backspaces_and_linefeeds(rest) == " 20000/20000"
        assert len(rest) <= max_kept and (rest == PROGRESS) == (not compress)
    finally:
        channel.discard()


@pytest.mark.parametrize("like, line_buffering, write_through, raw", [
    (io.TextIOWrapper(io.BytesIO(), encoding="latin-1", line_buffering=True), True, False, False),
    (io.TextIOWrapper(io.BytesIO(), write_through=True), False, True, False),
    (io.TextIOWrapper(io.FileIO(os.devnull, "w"), write_through=True), False, True, True),
    (None, False, False, False),
])
def test_saved_writer_buffers_like_the_replaced_stream(file_fd, like, line_buffering,
                                                        write_through, raw):
    """The writer on the saved descriptor copies encoding and buffering (python -u: raw)."""
    fd, path = file_fd
    writer = open_saved_writer(fd, like)
    assert (writer.line_buffering, writer.write_through) == (line_buffering, write_through)
    assert writer.encoding == (getattr(like, "encoding", None) or "utf-8")
    assert isinstance(writer.buffer, io.RawIOBase) == raw
    writer.write("text\n")
    writer.flush()
    assert path.read_text(encoding=writer.encoding) == "text\n"
    assert os.fstat(fd)  # closefd=False: the descriptor stays open after the writer goes
    del writer


FLUSH_C = """
import ctypes, os
from expt.fd_pipes import flush_c_stdio
ctypes.CDLL(None).printf(b"from printf\\n")
flush_c_stdio()
os.write(1, b"after flush\\n")
"""


@pytest.mark.skipif(not POSIX, reason="C printf")
def test_flush_c_stdio_writes_out_printf_buffer():
    """printf's buffered text (stdout is a pipe) is written when flush_c_stdio() runs."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(FLUSH_C)], capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["from printf", "after flush"]
    flush_c_stdio()  # and in this process it simply works


def test_discard_closes_an_unserved_channel(file_fd):
    """A channel that was never served closes its pipe and its copy of the descriptor."""
    fd, _ = file_fd
    channel = Channel(fd, [].append, "utf-8", compress=True)
    mine = [channel.read_fd, channel._write_fd, channel.saved]
    channel.discard()
    for n in mine:
        with pytest.raises(OSError):
            os.fstat(n)
    assert os.fstat(fd)  # the original descriptor is untouched
