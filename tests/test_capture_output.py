"""Tests for expt.capture_output, run in real subprocesses with their real stdout and stderr."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from expt.capture_output import (
    CAPTURE_MODES, DEFAULT_MODE, CaptureModeError, capture_output, check_mode,
)
from expt.errors import UserInputError

ROOT = Path(__file__).resolve().parents[1]
POSIX = os.name == "posix"


def script_env() -> dict:
    """Environment for scripts: expt importable, the usual buffering of output to a pipe."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PYTHONUNBUFFERED", None)
    return env


def run_script(code: str, *args: str, text: bool = True) -> subprocess.CompletedProcess:
    """Run `code` with `python -c` in a fresh process; stdout and stderr are real pipes.

    With text=False the output is decoded without newline translation (\\r is kept).
    """
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args],
                          env=script_env(), capture_output=True, text=text, timeout=120)
    if not text:
        proc.stdout, proc.stderr = proc.stdout.decode(), proc.stderr.decode()
    return proc


# The acceptance script: 1,000 numbered lines, logging through a handler made before the capture
# (it holds the real sys.stderr), and below Python: os.write, a child process, C printf.
ACCEPTANCE = """
import ctypes, json, logging, os, subprocess, sys
from expt.capture_output import capture_output

mode, out_path = sys.argv[1], sys.argv[2]
handler = logging.StreamHandler()
handler.setFormatter(logging.Formatter("%(message)s"))
log = logging.getLogger("accept")
log.addHandler(handler)
log.setLevel(logging.INFO)
log.propagate = False
libc = ctypes.CDLL(None)
before = [id(sys.stdout), id(sys.stderr), os.fstat(1).st_ino, os.fstat(2).st_ino]
with capture_output(mode) as cap:
    for i in range(1000):
        print(f"out {i}")
        if i % 10 == 0:
            log.info("log %d", i)
        if i % 50 == 0:
            os.write(1, f"fdw {i}\\n".encode())
        if i % 100 == 0:
            subprocess.run(["echo", f"child {i}"], check=True)
            libc.printf(b"clib %d\\n", ctypes.c_int(i))
after = [id(sys.stdout), id(sys.stderr), os.fstat(1).st_ino, os.fstat(2).st_ino]
with open(out_path, "w") as f:
    json.dump({"captured": cap.getvalue(), "restored": before == after,
               "handler_restored": handler.stream is sys.stderr}, f)
"""

PY_LINES = [line for i in range(1000)
            for line in ([f"out {i}", f"log {i}"] if i % 10 == 0 else [f"out {i}"])]
FD_KINDS = {
    "fdw": [f"fdw {i}" for i in range(0, 1000, 50)],
    "child": [f"child {i}" for i in range(0, 1000, 100)],
    "clib": [f"clib {i}" for i in range(0, 1000, 100)],
}
FD_LINES = [line for lines in FD_KINDS.values() for line in lines]
STDOUT_LINES = [line for line in PY_LINES if line.startswith("out")] + FD_LINES
STDERR_LINES = [line for line in PY_LINES if line.startswith("log")]


def run_acceptance(mode: str, tmp_path: Path, index: int) -> tuple[dict, subprocess.CompletedProcess]:
    """One run of the acceptance script; returns its report and the finished process."""
    out = tmp_path / f"{mode}-{index}.json"
    proc = run_script(ACCEPTANCE, mode, str(out))
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text()), proc


def check_terminal(proc: subprocess.CompletedProcess) -> None:
    """The process's real stdout and stderr show every line, Python lines in order."""
    stdout = proc.stdout.splitlines()
    assert Counter(stdout) == Counter(STDOUT_LINES)
    assert [line for line in stdout if line.startswith("out")] == STDOUT_LINES[:1000]
    for lines in FD_KINDS.values():
        kind = lines[0].split()[0]
        assert [line for line in stdout if line.startswith(kind + " ")] == lines
    assert proc.stderr.splitlines() == STDERR_LINES


@pytest.mark.skipif(not POSIX, reason="the script uses echo and C printf")
@pytest.mark.parametrize("mode", ["sys", "fd"])
def test_acceptance_twenty_runs_lose_no_line(mode, tmp_path):
    """20 fresh processes: every line captured, Python lines in order, terminal unchanged."""
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda i: run_acceptance(mode, tmp_path, i), range(20)))
    for report, proc in results:
        assert report["restored"] and report["handler_restored"]
        captured = report["captured"].splitlines()
        check_terminal(proc)
        assert [line for line in captured if line.split()[0] in ("out", "log")] == PY_LINES
        if mode == "fd":
            assert Counter(captured) == Counter(PY_LINES + FD_LINES)
            for lines in FD_KINDS.values():
                kind = lines[0].split()[0]
                assert [line for line in captured if line.startswith(kind + " ")] == lines
            # A child's output is recorded before the print that follows subprocess.run().
            for i in range(0, 1000, 100):
                assert captured.index(f"child {i}") < captured.index(f"out {i + 1}")
        else:  # sys mode records Python-level output only (documented)
            assert captured == PY_LINES


@pytest.mark.skipif(not POSIX, reason="the script uses echo and C printf")
def test_no_mode_records_nothing_and_terminal_matches(tmp_path):
    """Mode 'no' records nothing; the terminal shows the same lines as under capture."""
    report, proc = run_acceptance("no", tmp_path, 0)
    assert report["captured"] == "" and report["restored"]
    check_terminal(proc)


BAD_MODES = [("fs", ["fd"]), ("SYS", ["sys"]), ("none", ["no"]), ("tee", []), ("", [])]


@pytest.mark.parametrize("mode, suggestions", BAD_MODES)
def test_bad_mode_names_valid_modes_and_nearest(mode, suggestions):
    """An unknown mode is a UserInputError naming the valid modes and the nearest one."""
    with pytest.raises(CaptureModeError) as info:
        capture_output(mode)
    err = info.value
    assert isinstance(err, UserInputError) and isinstance(err, ValueError)
    assert err.mode == mode and err.valid == list(CAPTURE_MODES)
    assert err.suggestions == suggestions
    assert f"Unknown capture mode '{mode}'." in str(err)
    assert "Valid modes: no, sys, fd." in str(err)
    if suggestions:
        assert f"Did you mean '{suggestions[0]}'?" in str(err)


def test_default_mode_per_platform():
    """fd on POSIX, sys on Windows; valid modes pass check_mode."""
    assert DEFAULT_MODE == ("fd" if POSIX else "sys")
    assert [check_mode(m) for m in CAPTURE_MODES] == list(CAPTURE_MODES)


RESTORE_ON_ERROR = """
import json, logging, os, sys, threading, time
from expt.capture_output import capture_output
mode, how = sys.argv[1], sys.argv[2]
logging.basicConfig(format="%(message)s")
handler = logging.getLogger().handlers[0]
def state():
    return [id(sys.stdout), id(sys.stderr), os.fstat(1).st_ino, os.fstat(2).st_ino,
            id(handler.stream), sorted(os.listdir("/proc/self/fd"))]
with capture_output(mode):  # the first capture starts the process's one reader (fd mode)
    pass
base_threads = len(os.listdir("/proc/self/task"))
before = state()
try:
    with capture_output(mode) as cap:
        print("inside")
        logging.warning("warned")
        os.write(1, b"low\\n")
        print("half", end="")
        raise {"exc": RuntimeError, "kbi": KeyboardInterrupt}[how]("boom")
except (RuntimeError, KeyboardInterrupt) as exc:
    caught = type(exc).__name__
def os_threads():  # a reader may be a plain OS thread: count those, after it had time to exit
    for _ in range(200):
        if len(os.listdir("/proc/self/task")) == base_threads:
            break
        time.sleep(0.005)
    return len(os.listdir("/proc/self/task")) - base_threads + 1
print(json.dumps({"same": state() == before, "caught": caught, "value": cap.getvalue(),
                  "threads": threading.active_count() - base_threads + 1,
                  "os_threads": os_threads()}), file=sys.stderr)
"""


@pytest.mark.skipif(not POSIX, reason="reads /proc/self/fd")
@pytest.mark.parametrize("mode", ["sys", "fd"])
@pytest.mark.parametrize("how", ["exc", "kbi"])
def test_restores_everything_on_exception_and_keyboard_interrupt(mode, how):
    """Streams, descriptors, handlers, open fds and threads are back; output is kept."""
    proc = run_script(RESTORE_ON_ERROR, mode, how)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stderr.splitlines()[-1])
    assert report["same"] and report["threads"] == 1 and report["os_threads"] == 1
    assert report["caught"] == {"exc": "RuntimeError", "kbi": "KeyboardInterrupt"}[how]
    lines = report["value"].split("\n")
    assert lines[-1] == "half"  # the unfinished last line is kept, descriptor lines before it
    assert [line for line in lines if line != "low"] == ["inside", "warned", "half"]
    assert lines.count("low") == (1 if mode == "fd" else 0)
    assert sorted(proc.stdout.splitlines()) == ["half", "inside", "low"]


SIGINT_SCRIPT = """
import json, os, sys, time
from expt.capture_output import capture_output
before = [id(sys.stdout), os.fstat(1).st_ino, os.fstat(2).st_ino]
try:
    with capture_output(sys.argv[1]) as cap:
        print("ready", flush=True)
        open(sys.argv[2], "w").close()
        for i in range(100000):
            print(f"tick {i}")
            time.sleep(0.001)
except KeyboardInterrupt:
    pass
after = [id(sys.stdout), os.fstat(1).st_ino, os.fstat(2).st_ino]
lines = cap.getvalue().splitlines()
ticks = [int(l.split()[1]) for l in lines[1:]]
print(json.dumps({"same": before == after, "first": lines[0],
                  "ticks_in_order": ticks == list(range(len(ticks))), "n": len(ticks)}),
      file=sys.stderr)
"""


@pytest.mark.skipif(not POSIX, reason="sends SIGINT")
@pytest.mark.parametrize("mode", ["sys", "fd"])
def test_real_ctrl_c_restores_and_keeps_output(mode, tmp_path):
    """A real SIGINT in the middle of printing leaves streams and descriptors restored."""
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(SIGINT_SCRIPT), mode,
                             str(ready)], env=script_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    report = json.loads(stderr.splitlines()[-1])
    assert report["same"] and report["first"] == "ready"
    assert report["ticks_in_order"] and report["n"] > 0
    printed = stdout.splitlines()
    assert printed[0] == "ready"
    assert printed[1:] == [f"tick {i}" for i in range(report["n"])]


NESTED = """
import json, os, subprocess, sys
from expt.capture_output import capture_output
outer_mode, inner_mode = sys.argv[1], sys.argv[2]
with capture_output(outer_mode) as outer:
    print("outer 1")
    with capture_output(inner_mode) as inner:
        print("inner py")
        print("inner err", file=sys.stderr)
        os.write(1, b"inner fd\\n")
    print("outer 2")
    os.write(1, b"outer fd\\n")
print(json.dumps({"outer": outer.getvalue(), "inner": inner.getvalue()}), file=sys.stderr)
"""

NESTED_CASES = [
    # outer, inner, lines in outer, lines in inner
    ("fd", "fd", ["outer 1", "inner py", "inner err", "inner fd", "outer 2", "outer fd"],
     ["inner py", "inner err", "inner fd"]),
    ("fd", "sys", ["outer 1", "inner py", "inner err", "inner fd", "outer 2", "outer fd"],
     ["inner py", "inner err"]),
    ("sys", "fd", ["outer 1", "inner py", "inner err", "outer 2"],
     ["inner py", "inner err", "inner fd"]),
    ("sys", "sys", ["outer 1", "inner py", "inner err", "outer 2"], ["inner py", "inner err"]),
    ("no", "fd", [], ["inner py", "inner err", "inner fd"]),
]


@pytest.mark.skipif(not POSIX, reason="fd mode")
@pytest.mark.parametrize("outer_mode, inner_mode, outer_lines, inner_lines", NESTED_CASES)
def test_nested_captures_record_into_both(outer_mode, inner_mode, outer_lines, inner_lines):
    """A capture inside a capture records into both; the terminal shows each line once."""
    proc = run_script(NESTED, outer_mode, inner_mode)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stderr.splitlines()[-1])
    assert Counter(report["outer"].splitlines()) == Counter(outer_lines)
    assert Counter(report["inner"].splitlines()) == Counter(inner_lines)
    py = ("outer 1", "inner py", "inner err", "outer 2")
    assert [l for l in report["outer"].splitlines() if l in py] == [l for l in outer_lines
                                                                    if l in py]
    assert sorted(proc.stdout.splitlines()) == sorted(["outer 1", "inner py", "inner fd",
                                                       "outer 2", "outer fd"])
    assert proc.stderr.splitlines()[:-1] == ["inner err"]


HEARTBEAT = """
import json, sys, threading, time
from expt.capture_output import capture_output
pieces, stop = [], threading.Event()
with capture_output(sys.argv[1]) as cap:
    def beat():
        while not stop.is_set():
            pieces.append(cap.read_new())
            cap.getvalue()
            time.sleep(0.0005)
    t = threading.Thread(target=beat)
    t.start()
    for i in range(20000):
        print(f"line {i}")
        if i % 7 == 0:
            print(f"err {i}", file=sys.stderr)
    stop.set()
    t.join()
pieces.append(cap.read_new())
print(json.dumps({"joined": "".join(pieces), "value": cap.getvalue(),
                  "reads": sum(1 for p in pieces if p), "after": cap.read_new()}),
      file=sys.stderr)
"""


@pytest.mark.skipif(not POSIX, reason="fd mode")
@pytest.mark.parametrize("mode", ["sys", "fd"])
def test_read_new_from_heartbeat_thread_loses_nothing(mode):
    """read_new() called by another thread while the main thread prints: all lines, once."""
    proc = run_script(HEARTBEAT, mode)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stderr.splitlines()[-1])
    expected = "".join(f"line {i}\n" + (f"err {i}\n" if i % 7 == 0 else "")
                       for i in range(20000))
    assert report["joined"] == report["value"] == expected
    assert report["reads"] > 1 and report["after"] == ""


TQDM = """
import json, sys
from tqdm import tqdm
from expt.capture_output import capture_output
with capture_output(sys.argv[1]) as cap:
    print("before")
    for _ in tqdm(range(10000), mininterval=0, miniters=1, ascii=True):
        pass
    print("after")
print(json.dumps(cap.getvalue()), file=sys.__stdout__)
"""


@pytest.mark.parametrize("mode", ["sys", "fd"] if POSIX else ["sys"])
def test_tqdm_bar_recorded_as_final_state_terminal_gets_all_redraws(mode):
    """A real tqdm bar of 10,000 steps is recorded once; the terminal still gets every redraw."""
    pytest.importorskip("tqdm")
    proc = run_script(TQDM, mode, text=False)
    assert proc.returncode == 0, proc.stderr
    value = json.loads(proc.stdout.splitlines()[-1])
    lines = value.splitlines()
    assert lines[0] == "before" and lines[2] == "after" and len(lines) == 3
    assert lines[1].startswith("100%|##########| 10000/10000 [")
    assert proc.stderr.count("\r") > 10_000


PARTS = """
import io, json, logging, os, sys
from expt.capture_output import capture_output
with capture_output(sys.argv[1], out_filter=str.upper) as cap:
    logging.basicConfig(format="%(message)s")      # a handler made during the run
    logging.warning("from logging")
    sys.stdout.buffer.write(b"binary \\xc3\\xa9\\n")
    sys.stdout.flush()
    print("pending bar\\r50%", end="")
    mid, first = cap.getvalue(), cap.read_new()
    sys.stdout.writelines(["a\\n", "b\\n"])
    print("no newline at end", end="")
handler = logging.getLogger().handlers[0]
print(json.dumps({"mid": mid, "value": cap.getvalue(), "first": first, "last": cap.read_new(),
                  "handler_back": handler.stream is sys.stderr,
                  "tty": sys.stdout.isatty()}), file=sys.stderr)
"""


@pytest.mark.parametrize("mode", ["sys", "fd"] if POSIX else ["sys"])
def test_user_filter_binary_writes_writelines_and_unfinished_line(mode):
    """A Sacred-style user filter, .buffer writes, writelines and the last unfinished line."""
    proc = run_script(PARTS, mode, text=False)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stderr.splitlines()[-1])
    assert report["mid"] == "FROM LOGGING\nBINARY É\nPENDING BAR\r50%"
    assert report["value"] == "FROM LOGGING\nBINARY É\nPENDING BAR\r50%A\nB\nNO NEWLINE AT END"
    assert report["first"] == "FROM LOGGING\nBINARY É\n"
    assert report["last"] == "PENDING BAR\r50%A\nB\nNO NEWLINE AT END"
    assert report["handler_back"]
    assert proc.stdout == "binary é\npending bar\r50%a\nb\nno newline at end"


TTY = """
import json, os, sys
from expt.capture_output import capture_output
with capture_output(sys.argv[1]) as cap:
    inside = [sys.stdout.isatty(), sys.stderr.isatty(), sys.stdout.fileno(), sys.stdout.encoding]
    print("shown")
os.write(int(sys.argv[2]), json.dumps({"inside": inside, "value": cap.getvalue()}).encode())
"""


@pytest.mark.skipif(not POSIX, reason="uses a pseudo-terminal")
@pytest.mark.parametrize("mode", ["sys", "fd"])
def test_terminal_stays_a_terminal_for_python_code(mode):
    """On a real terminal (pty), isatty() stays true inside the capture; fileno() is 1."""
    import pty
    master, slave = pty.openpty()
    report_r, report_w = os.pipe()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(TTY), mode, str(report_w)],
                            env=env, stdout=slave, stderr=slave, pass_fds=(report_w,))
    os.close(slave)
    os.close(report_w)
    assert proc.wait(timeout=30) == 0
    shown = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    with os.fdopen(report_r) as f:
        report = json.load(f)
    assert report["inside"][:3] == [True, True, 1]
    assert report["value"] == "shown\n"
    assert b"shown" in shown


FORK = """
import json, multiprocessing, sys
from expt.capture_output import capture_output
def work(i):
    print(f"worker {i}", flush=True)
with capture_output("fd") as cap:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=work, args=(i,)) for i in range(4)]
    for p in procs: p.start()
    for p in procs: p.join()
    print("parent")
print(json.dumps(cap.getvalue()), file=sys.stderr)
"""


@pytest.mark.skipif(not POSIX, reason="fork")
def test_fd_mode_records_forked_multiprocessing_workers():
    """Python prints of forked workers reach the parent's record once, and the terminal once."""
    proc = run_script(FORK)
    assert proc.returncode == 0, proc.stderr
    value = json.loads(proc.stderr.splitlines()[-1])
    expected = [f"worker {i}" for i in range(4)] + ["parent"]
    assert sorted(value.splitlines()) == sorted(expected)
    assert sorted(proc.stdout.splitlines()) == sorted(expected)


BACKGROUND = """
import json, subprocess, sys
from expt.capture_output import capture_output
import os, time
flag = sys.argv[1]
with capture_output("fd", drain_timeout=0.3) as cap:
    print("main")
    child = subprocess.Popen(["sh", "-c", f"echo early; touch {flag}; sleep 1.5; echo late"])
    while not os.path.exists(flag):
        time.sleep(0.01)
print(json.dumps(cap.getvalue()), file=sys.stderr)
child.wait()
"""


@pytest.mark.skipif(not POSIX, reason="sh")
def test_fd_mode_child_outliving_the_run_still_reaches_terminal(tmp_path):
    """A child still running at exit does not block it; its later output still reaches the terminal."""
    proc = run_script(BACKGROUND, str(tmp_path / "flag"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stderr.splitlines()[-1]).splitlines() == ["main", "early"]
    # "main" waits in Python's buffer (stdout is a pipe) until the exit, as without capture.
    assert proc.stdout.splitlines() == ["early", "main", "late"]


SEQUENTIAL = """
import json, os, subprocess, sys, threading, time
from expt.capture_output import capture_output
flag = sys.argv[1]
with capture_output("fd", drain_timeout=0.2) as first:
    child = subprocess.Popen(["sh", "-c", f"echo early; touch {flag}; sleep 0.8; echo late"])
    while not os.path.exists(flag):
        time.sleep(0.01)
threads = []
records = []
for i in range(30):  # while the first child still holds its pipe
    with capture_output("fd") as cap:
        print(f"py {i}")
        subprocess.run(["echo", f"child {i}"], check=True)
    records.append(cap.getvalue())
    threads.append(len(os.listdir("/proc/self/task")))
child.wait()
print(json.dumps({"first": first.getvalue(), "records": records, "threads": threads}),
      file=sys.stderr)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/task")
def test_fd_mode_captures_in_sequence_share_one_reader(tmp_path):
    """30 captures after one whose child outlives it: each records only its own lines, no
    capture starts a thread, and the first child's late line still reaches the terminal."""
    proc = run_script(SEQUENTIAL, str(tmp_path / "flag"))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stderr.splitlines()[-1])
    assert report["first"] == "early\n"
    assert report["records"] == [f"py {i}\nchild {i}\n" for i in range(30)]
    assert len(set(report["threads"])) == 1
    assert "late" in proc.stdout.splitlines()


def test_no_mode_in_process_changes_nothing():
    """Mode 'no' leaves sys.stdout alone and records nothing."""
    before = sys.stdout
    with capture_output("no") as cap:
        assert sys.stdout is before
        print("x")
    assert cap.getvalue() == "" and cap.read_new() == "" and cap.closed


@pytest.mark.parametrize("mode", ["sys", "fd"] if POSIX else ["sys"])
def test_in_process_under_pytests_own_capture(mode, capfd):
    """Inside pytest's fd capture (as the core's tests run): recorded, and pytest still sees it."""
    with capture_output(mode) as cap:
        print("py line")
        print("err line", file=sys.stderr)
        os.write(1, b"fd line\n")
        subprocess.run([sys.executable, "-c", "print('child line')"], check=True)
    recorded = ["py line", "err line"] + (["fd line", "child line"] if mode == "fd" else [])
    assert Counter(cap.getvalue().splitlines()) == Counter(recorded)
    out, err = capfd.readouterr()
    assert sorted(out.splitlines()) == ["child line", "fd line", "py line"]
    assert err == "err line\n"


CHILD_BAR = """
import json, subprocess, sys
from expt.capture_output import capture_output
bar = "import sys\\nfor i in range(20001): sys.stdout.write(f'\\\\r{i:6d}/20000')\\nprint()"
with capture_output("fd") as cap:
    print("before")
    subprocess.run([sys.executable, "-c", bar], check=True)
    print("after")
print(json.dumps(cap.getvalue()), file=sys.stderr)
"""


@pytest.mark.skipif(not POSIX, reason="fd mode")
def test_fd_mode_child_progress_bar_recorded_as_final_state():
    """A child's 260 kB progress bar (no newline until the end) is recorded as one final line."""
    proc = run_script(CHILD_BAR, text=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stderr.splitlines()[-1]) == "before\n 20000/20000\nafter\n"
    assert proc.stdout.count("\r") == 20001


SIGNAL_PRINTS = """
import json, os, signal, subprocess, sys, time
from expt.capture_output import capture_output
ticks = []
def on_alarm(signum, frame):
    n = len(ticks)
    ticks.append(n)
    print(f"alarm {n}")
signal.signal(signal.SIGALRM, on_alarm)
with capture_output("fd") as cap:
    signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
    for i in range(40):
        subprocess.run(["echo", f"child {i}"], check=True)
        os.write(1, (f"raw {i}\\n" * 200).encode())
        print(f"main {i}")
        time.sleep(0.002)
    signal.setitimer(signal.ITIMER_REAL, 0, 0)
print(json.dumps({"value": cap.getvalue(), "alarms": len(ticks)}), file=sys.stderr)
"""


@pytest.mark.skipif(not POSIX, reason="SIGALRM")
def test_fd_mode_prints_from_signal_handlers_do_not_deadlock():
    """A signal handler printing every 0.5 ms, between child output and prints: nothing lost."""
    proc = run_script(SIGNAL_PRINTS)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stderr.splitlines()[-1])
    # A handler can interrupt another one (or print() between its text and newline), so
    # alarm texts may share a line, exactly as on a terminal; each is recorded once.
    alarms = re.findall(r"alarm (\d+)", report["value"])
    assert report["alarms"] > 10
    assert sorted(map(int, alarms)) == list(range(report["alarms"]))
    lines = re.sub(r"alarm \d+", "", report["value"]).split("\n")
    assert [l for l in lines if l.startswith("main")] == [f"main {i}" for i in range(40)]
    assert [l for l in lines if l.startswith("child")] == [f"child {i}" for i in range(40)]
    assert Counter(l for l in lines if l.startswith("raw")) == Counter(
        {f"raw {i}": 200 for i in range(40)})


try:
    from hypothesis import given, settings, strategies as st
except ImportError:  # the property test needs the dev extra (hypothesis)
    st = None


def _interleavings():
    """Hypothesis strategy: a list of (kind, text) events, kind in py / fd / read."""
    py = st.tuples(st.just("py"), st.text(alphabet="ab\n", max_size=6))
    fd = st.tuples(st.just("fd"), st.text(alphabet="xy", min_size=1, max_size=4))
    read = st.tuples(st.just("read"), st.just(""))
    return st.lists(st.one_of(py, fd, read), max_size=40)


if st is not None:
    @settings(max_examples=300, deadline=None)
    @given(events=_interleavings())
    def test_descriptor_lines_never_split_python_lines(events):
        """Any interleaving: Python text intact and in order, descriptor lines whole and in order."""
        from expt.capture_output import CapturedOutput
        from expt.fd_pipes import FdText
        cap = CapturedOutput("fd", out_filter=None)
        read, fd_lines = [], []
        for kind, text in events:
            if kind == "py":
                cap.push(text)
            elif kind == "fd":
                fd_lines.append(f"<{text}>")
                cap.fd_pushed += 1
                cap.push(FdText(f"<{text}>\n"))
            else:
                read.append(cap.read_new())
        cap._close()
        read.append(cap.read_new())
        value = cap.getvalue()
        assert "".join(read) == value
        whole = [line for line in value.split("\n") if line.startswith("<") and line.endswith(">")]
        assert whole == fd_lines
        python_text = "".join(text for kind, text in events if kind == "py")
        without_fd = "".join(part for part in value.splitlines(keepends=True)
                             if not (part.startswith("<") and part.rstrip("\n").endswith(">")))
        assert without_fd == python_text
else:
    @pytest.mark.skip(reason="hypothesis is not installed")
    def test_descriptor_lines_never_split_python_lines():
        """Any interleaving: Python text intact and in order, descriptor lines whole and in order."""
