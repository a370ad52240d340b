"""Core speed of expt against Sacred 0.8.7, measured side by side in one invocation.

Runs each workload in ``bench/workloads/`` as a subprocess twice per repeat:
with Sacred (python of a throwaway venv, see ``_sacred_venv.py``) and with expt
(this interpreter, the repository root on PYTHONPATH), alternating the two so
machine drift hits both. Prints median and best per figure, the ratio
expt/Sacred, and PASS/MISS against the targets of issue 2.

    python bench/bench_core.py                  # everything, full repeats (~2-3 min)
    python bench/bench_core.py --quick          # fewer repeats
    python bench/bench_core.py --only hello,runs --json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
WORKLOADS = BENCH_DIR / "workloads"
sys.path.insert(0, str(BENCH_DIR))

from _sacred_venv import SACRED_VERSION, ensure_sacred_venv  # noqa: E402
from _expt_venv import ensure_expt_venv  # noqa: E402

FRAMEWORKS = ("sacred", "expt")
TIMEOUT_S = 300  # one workload process; a hang is reported as that side's failure


class WorkloadError(RuntimeError):
    """A workload subprocess failed; carries the tail of its output."""


@dataclass
class Figure:
    """One measured quantity for both frameworks, with its target."""

    name: str
    unit: str
    higher_is_better: bool = False
    target: str = ""  # human-readable target
    check: Callable[[float, float], bool] | None = None  # (expt median, sacred median) -> met?
    samples: dict[str, list[float]] = field(default_factory=lambda: {f: [] for f in FRAMEWORKS})
    errors: dict[str, str] = field(default_factory=dict)

    def stats(self, fw: str) -> dict | None:
        """Median, best and count of one framework's samples (None if it has none)."""
        xs = self.samples[fw]
        if not xs:
            return None
        best = max(xs) if self.higher_is_better else min(xs)
        return {"median": statistics.median(xs), "best": best, "n": len(xs)}

    def ratio(self) -> float | None:
        """expt median / Sacred median."""
        s, e = self.stats("sacred"), self.stats("expt")
        if not s or not e or not s["median"]:
            return None
        return e["median"] / s["median"]

    def verdict(self) -> str:
        """PASS or MISS against the target, '-' without one, '?' without data."""
        if self.check is None:
            return "-"
        s, e = self.stats("sacred"), self.stats("expt")
        if not e or not s:
            return "?"
        return "PASS" if self.check(e["median"], s["median"]) else "MISS"

    def as_json(self) -> dict:
        return {
            "name": self.name, "unit": self.unit, "higher_is_better": self.higher_is_better,
            "target": self.target, "ratio_expt_over_sacred": self.ratio(), "verdict": self.verdict(),
            **{fw: self.stats(fw) for fw in FRAMEWORKS},
            "samples": self.samples, "errors": self.errors,
        }


class Runner:
    """Starts workload subprocesses under either framework's interpreter."""

    def __init__(self, sacred_python: Path, expt_python: Path, workdir: Path) -> None:
        self.python = {"sacred": sacred_python, "expt": expt_python}
        self.workdir = workdir
        self._counter = 0

    def env(self, fw: str) -> dict[str, str]:
        """The caller's environment plus BENCH_FRAMEWORK (and the repo root for expt)."""
        env = dict(os.environ)
        env["BENCH_FRAMEWORK"] = fw
        if fw == "expt":  # expt is used from the working tree, installed or not
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
        return env

    def fresh_dir(self, label: str) -> Path:
        self._counter += 1
        path = self.workdir / f"{label}-{self._counter}"
        path.mkdir()
        return path

    def run(self, fw: str, argv: list[str], *, cwd: Path | None = None, want_json: bool = True) -> tuple[float, dict | None]:
        """Run ``python argv`` under ``fw``; return (wall seconds, JSON the workload reported)."""
        cwd = cwd or self.fresh_dir("cwd")
        out_file = cwd / "bench-result.json"
        log = cwd / "bench-output.txt"
        env = self.env(fw)
        env["BENCH_OUT"] = str(out_file)
        with open(log, "wb") as log_fh:
            start = time.perf_counter()
            proc = subprocess.Popen([str(self.python[fw]), *argv], cwd=cwd, env=env,
                                    stdin=subprocess.DEVNULL, stdout=log_fh, stderr=subprocess.STDOUT)
            # A blocking wait, with a watchdog for the time limit: wait(timeout=...) polls with
            # sleeps growing to 50 ms, which would add up to 50 ms to a process's measured time.
            watchdog = threading.Timer(TIMEOUT_S, proc.kill)
            watchdog.start()
            try:
                proc.wait()
            finally:
                watchdog.cancel()
            wall = time.perf_counter() - start
            if proc.returncode == -9:
                raise WorkloadError(f"{fw}: {' '.join(argv)} still running after {TIMEOUT_S} s, killed")
        if proc.returncode != 0:
            tail = log.read_text(errors="replace")[-1500:]
            raise WorkloadError(f"{fw}: {' '.join(argv)} exited {proc.returncode}:\n{tail}")
        result = json.loads(out_file.read_text()) if want_json else None
        return wall, result


def _attempt(fig: Figure, fw: str, action: Callable[[], list[float]]) -> None:
    """Add the samples ``action`` returns, or record its error (a failing side is skipped later)."""
    if fw in fig.errors:
        return
    try:
        fig.samples[fw].extend(action())
    except (WorkloadError, OSError, ValueError, KeyError) as exc:
        fig.errors[fw] = str(exc)


def bench_log_scalar(r: Runner, reps: dict) -> list[Figure]:
    """Figure 1: log_scalar per call over 100,000 calls inside a run."""
    fig = Figure("log_scalar per call (100,000 calls)", "us", target="expt <= 0.5 us",
                 check=lambda e, s: e <= 0.5)
    floor = Figure("  floor: list.append, same loop", "us")
    for _ in range(reps["log_scalar_procs"]):
        for fw in FRAMEWORKS:
            def action(fw=fw):
                _, res = r.run(fw, [str(WORKLOADS / "log_scalar.py"), "--calls", "100000",
                                    "--repeats", str(reps["log_scalar_runs"])])
                floor.samples[fw].extend(res["floor_us_per_call"])
                return res["us_per_call"]
            _attempt(fig, fw, action)
    return [fig, floor]


def _hello_once(r: Runner, fw: str, mode: str) -> list[float]:
    cwd = r.fresh_dir(f"hello-{fw}")
    flag = "-F" if mode == "cli" else "--api"
    wall, _ = r.run(fw, [str(WORKLOADS / "hello.py"), flag, str(cwd / "runs")], cwd=cwd, want_json=False)
    run_json = cwd / "runs" / "1" / "run.json"
    status = json.loads(run_json.read_text()).get("status") if run_json.exists() else "missing run.json"
    if status != "COMPLETED":
        raise WorkloadError(f"{fw} hello ({mode}) left status {status!r} in {run_json}")
    return [wall]  # the folder is deleted with all others at the end (see bench_runs)


def bench_hello(r: Runner, reps: dict) -> list[Figure]:
    """Figure 2: hello world with a file observer, whole process wall time."""
    figs = []
    for mode, label in (("cli", "hello world, `python hello.py -F DIR`"),
                        ("api", "hello world, observers.append + ex.run()")):
        fig = Figure(f"{label}, whole process", "s", target="expt <= 1/4 of Sacred",
                     check=lambda e, s: e <= s / 4)
        for _ in range(reps["hello"]):
            for fw in FRAMEWORKS:
                _attempt(fig, fw, lambda fw=fw: _hello_once(r, fw, mode))
        figs.append(fig)
    startup = Figure("  floor: `python -c pass`", "s")
    for _ in range(reps["hello"]):
        for fw in FRAMEWORKS:
            _attempt(startup, fw, lambda fw=fw: [r.run(fw, ["-c", "pass"], want_json=False)[0]])
    return figs + [startup]


def bench_config(r: Runner, reps: dict) -> list[Figure]:
    """Figure 3: define and run a 200-entry config scope (and a 1-entry baseline run)."""
    define = Figure("config scope, 200 entries: define", "ms")
    run = Figure("config scope, 200 entries: run", "ms")
    total = Figure("config scope, 200 entries: define + run", "ms", target="expt <= 1/4 of Sacred",
                   check=lambda e, s: e <= s / 4)
    base_run = Figure("  baseline: run with a 1-entry scope", "ms")
    for _ in range(reps["config_procs"]):
        for fw in FRAMEWORKS:
            def action(fw=fw):
                _, res = r.run(fw, [str(WORKLOADS / "config_scope.py"), "--entries", "200",
                                    "--reps", str(reps["config_reps"])])
                define.samples[fw].extend(res["define_ms"])
                run.samples[fw].extend(res["run_ms"])
                return [d + x for d, x in zip(res["define_ms"], res["run_ms"])]
            _attempt(total, fw, action)

            def baseline(fw=fw):
                _, res = r.run(fw, [str(WORKLOADS / "config_scope.py"), "--entries", "1",
                                    "--reps", str(reps["config_reps"])])
                return res["run_ms"]
            _attempt(base_run, fw, baseline)
    for fig in (define, run):
        fig.errors.update(total.errors)
    return [define, run, total, base_run]


def bench_runs(r: Runner, reps: dict) -> list[Figure]:
    """Figure 4: 200 sequential tiny runs in one process with a file observer."""
    fig = Figure("200 sequential tiny runs, file observer", "runs/s", higher_is_better=True,
                 target="expt >= 4x Sacred", check=lambda e, s: e >= 4 * s)

    def once(fw: str) -> list[float]:
        # The runs stay until the whole bench ends (its temporary folder is deleted then):
        # deleting 1,200 files right after one side's process would make the kernel free
        # inodes and discard blocks while the other side's process creates its files.
        cwd = r.fresh_dir(f"runs-{fw}")
        _, res = r.run(fw, [str(WORKLOADS / "many_runs.py"), "--runs", "200",
                            "--dir", str(cwd / "runs")], cwd=cwd)
        return [res["runs_per_s"]]

    for _ in range(reps["runs_procs"]):
        for fw in FRAMEWORKS:
            _attempt(fig, fw, lambda fw=fw: once(fw))
    return [fig]


_IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|\s*(\S+)\s*$")


def _import_ms(r: Runner, fw: str) -> list[float]:
    """Cumulative import time of the top-level package, from ``python -X importtime``."""
    cwd = r.fresh_dir("import")
    env = r.env(fw)
    proc = subprocess.run([str(r.python[fw]), "-X", "importtime", "-c", f"import {fw}"], cwd=cwd, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if proc.returncode != 0:
        raise WorkloadError(f"{fw}: import failed:\n{proc.stderr[-1500:]}")
    for line in proc.stderr.splitlines():
        m = _IMPORTTIME.match(line)
        if m and m.group(3) == fw:
            return [int(m.group(2)) / 1000]
    raise WorkloadError(f"{fw}: no importtime line for the package")


def bench_import(r: Runner, reps: dict) -> list[Figure]:
    """Bonus: `import expt` vs `import sacred` (python -X importtime, cumulative)."""
    fig = Figure("import time of the package (-X importtime)", "ms")
    for _ in range(reps["import"]):
        for fw in FRAMEWORKS:
            _attempt(fig, fw, lambda fw=fw: _import_ms(r, fw))
    return [fig]


BENCHES = {"log_scalar": bench_log_scalar, "hello": bench_hello, "config": bench_config,
           "runs": bench_runs, "import": bench_import}
REPEATS = {
    "full": {"log_scalar_procs": 5, "log_scalar_runs": 3, "hello": 25, "config_procs": 5, "config_reps": 10,
             "runs_procs": 7, "import": 15},
    "quick": {"log_scalar_procs": 2, "log_scalar_runs": 2, "hello": 6, "config_procs": 2, "config_reps": 5,
              "runs_procs": 2, "import": 5},
}


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def render(figures: list[Figure]) -> str:
    """The figures as an aligned text table, followed by any errors."""
    rows = [("figure", "unit", "Sacred median (best)", "expt median (best)", "expt/Sacred", "target", "verdict")]
    for f in figures:
        cells = []
        for fw in FRAMEWORKS:
            st = f.stats(fw)
            cells.append(f"{_fmt(st['median'])} ({_fmt(st['best'])}) n={st['n']}" if st else
                         ("error" if fw in f.errors else "-"))
        rows.append((f.name, f.unit, *cells, _fmt(f.ratio()), f.target, f.verdict()))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines.append("")
    seen = set()
    for f in figures:  # one line per distinct failure; --json has the output's tail
        for fw, msg in f.errors.items():
            last = [ln for ln in msg.splitlines() if ln.strip()][-1].strip()
            if (fw, last) not in seen:
                seen.add((fw, last))
                lines.append(f"[{fw} failed] {f.name.strip()}: {msg.splitlines()[0]} ... {last}")
    return "\n".join(lines)


def _git_state() -> str:
    """Commit of the tree measured, and whether expt/ or observers/ differ from it."""
    def git(*args: str) -> str:
        proc = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else ""
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "expt", "observers")
    return f"{head}{' + uncommitted changes in expt/ or observers/' if dirty else ''}"


def _precompile(python: Path) -> None:
    """Write expt's bytecode, as pip does at install time for Sacred's venv.

    Without it, PYTHONDONTWRITEBYTECODE (set in some shells) makes every expt
    process recompile the working tree's sources, a cost no installed package has.
    """
    dirs = [str(REPO_ROOT / d) for d in ("expt", "observers") if (REPO_ROOT / d).is_dir()] + [str(WORKLOADS)]
    subprocess.run([str(python), "-m", "compileall", "-q", *dirs], check=True, stdout=subprocess.DEVNULL)


def _expt_install_warning(python: Path) -> str | None:
    """Why `-F DIR` may fail for expt: its flag plug-ins are entry points of the installed dist."""
    code = ("from importlib.metadata import distribution as d, entry_points as e\n"
            "try: d('expt')\nexcept Exception: print('not installed')\n"
            "else: print(len(list(e(group='expt.observer_options'))))")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True).stdout.strip()
    if out == "not installed":
        return (f"expt is not installed in {python}'s environment, so its `-F DIR` flag (an entry point) "
                f"is missing; run `{python} -m pip install -e {REPO_ROOT}` for the command-line figures")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (for a smoke run)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(BENCHES)}")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of a table")
    parser.add_argument("--sacred-python", type=Path, help="python of an existing Sacred 0.8.7 env "
                        "(default: create/reuse bench/.cache/sacred-venv)")
    parser.add_argument("--no-compile", action="store_true",
                        help="do not write expt's .pyc files first (by default they are, as pip does for Sacred)")
    parser.add_argument("--expt-python", type=Path,
                        help="python whose environment runs expt (default: create/refresh "
                             "bench/.cache/expt-venv with `pip install .` of this tree, as users "
                             "install it; pass .venv/bin/python to measure the editable install)")
    args = parser.parse_args(argv)
    only = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHES)
    unknown = [n for n in only if n not in BENCHES]
    if unknown:
        import difflib
        hints = {n: difflib.get_close_matches(n, BENCHES, n=1) for n in unknown}
        parser.error("unknown benchmark " + ", ".join(
            f"{n!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for n, h in hints.items())
            + f"; choose from {', '.join(BENCHES)}")
    sacred_python = args.sacred_python or ensure_sacred_venv()
    args.expt_python = args.expt_python or ensure_expt_venv()
    if not args.no_compile:
        _precompile(args.expt_python)
    warn = _expt_install_warning(args.expt_python)
    if warn:
        print(f"[bench] warning: {warn}", file=sys.stderr)
    reps = REPEATS["quick" if args.quick else "full"]
    started = time.perf_counter()
    load_before = os.getloadavg()
    if load_before[0] > 0.7 * (os.cpu_count() or 1) / 2:
        print(f"[bench] warning: 1-minute load average is {load_before[0]:.2f} before starting; "
              "other work competes for the CPUs and will skew the figures", file=sys.stderr)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="bench-core-") as tmp:
        runner = Runner(sacred_python, args.expt_python, Path(tmp))
        for name in only:
            if not args.json:
                print(f"[bench] {name} ...", file=sys.stderr, flush=True)
            figures.extend(BENCHES[name](runner, reps))
    meta = {
        "sacred": f"sacred=={SACRED_VERSION} via {sacred_python}", "expt_tree": _git_state(), "expt_python": str(args.expt_python),
        "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
        "load_avg_before": load_before, "load_avg_after": os.getloadavg(), "precompiled_expt": not args.no_compile, "mode": "quick" if args.quick else "full",
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        print(json.dumps({"meta": meta, "figures": [f.as_json() for f in figures]}, indent=2))
    else:
        print(render(figures))
        print(f"\n{meta['mode']} mode, {meta['seconds']} s; Python {meta['python']} on {meta['cpus']} CPUs; "
              f"load average (1/5/15 min) before: {', '.join(f'{x:.2f}' for x in meta['load_avg_before'])}, "
              f"after: {', '.join(f'{x:.2f}' for x in meta['load_avg_after'])}")
        print("Figures are medians over repeats (best = fastest repeat). Sacred: " + meta["sacred"]
              + f"; expt: working tree at {meta['expt_tree']}")
    verdicts = [f.verdict() for f in figures if f.check]
    return 0 if verdicts and all(v == "PASS" for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
