"""Cost of the provenance gathered at every run start, per function, beside Sacred 0.8.7's.

Builds a throw-away git repository holding a hello-world script and a local helper module,
then, in fresh processes (first calls are what a run pays), times:

- ``get_host_info``, ``find_local_sources``, ``find_package_dependencies``, ``get_git_info``
  (clean and dirty repository) and ``redact_argv``: first call and the median of later calls;
- all of them once, as a run start does, with git read after the rest or started first with
  ``start_git_info`` and collected last (git then works on the other core);
- the same with an ML-style import list (numpy, yaml, pandas, sklearn, matplotlib) for
  dependencies, where package metadata lookups dominate;
- the import cost (self time) of the five provenance modules, from ``-X importtime``;
- Sacred's ``get_host_info`` and ``gather_sources_and_dependencies`` (sources, dependencies
  and GitPython repository info in one call) in the same repository, when a Sacred venv is
  available (``--sacred-python PATH``, default: ``bench/_sacred_venv.py``'s venv).

    python bench/bench_provenance.py [--processes 7] [--sacred-python PATH] [--no-sacred]

Figures are medians over processes, in milliseconds. Budget: provenance should cost at most
~10-15 ms of a hello-world run's ~100 ms.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
MODULES = ("expt.hostinfo", "expt.sources", "expt.dependencies", "expt.gitinfo", "expt.redact")

EXPT_CHILD = r'''
import json, os, statistics, sys, time
IMPORTS = sys.argv[1].split(",") if len(sys.argv) > 1 and sys.argv[1] else []
for name in IMPORTS:
    __import__(name)
import expt
from expt.hostinfo import get_host_info
from expt.sources import find_local_sources
from expt.dependencies import find_package_dependencies
from expt.gitinfo import get_git_info, start_git_info
from expt.redact import redact_argv
import helper
base = os.path.dirname(os.path.abspath(__file__))
argv = ["hello.py", "-m", "mongodb://user:pw@db:27017/x", "--password=hunter2", "with", "a=1"]
out = {}
MODE = sys.argv[2] if len(sys.argv) > 2 else "each"
if MODE != "each":  # everything a run start gathers, once, as the core does it
    t = time.perf_counter()
    job = start_git_info(base) if MODE == "overlap" else None
    get_host_info(["HOME"]); find_local_sources(base, __file__)
    find_package_dependencies(base_dir=base); redact_argv(argv)
    git = job.result() if job else get_git_info(base)
    print(json.dumps({"total": [(time.perf_counter() - t) * 1e3]}))
    sys.exit(0)
def timed(name, fn, repeat=10):
    t = time.perf_counter(); fn(); first = time.perf_counter() - t
    again = []
    for _ in range(repeat):
        t = time.perf_counter(); fn(); again.append(time.perf_counter() - t)
    out[name] = [first * 1e3, statistics.median(again) * 1e3]
timed("get_host_info", lambda: get_host_info(["HOME", "CUDA_VISIBLE_DEVICES"]))
timed("find_local_sources", lambda: find_local_sources(base, __file__))
timed("find_package_dependencies", lambda: find_package_dependencies(base_dir=base))
timed("get_git_info", lambda: get_git_info(base), repeat=5)
timed("redact_argv", lambda: redact_argv(argv))
out["_deps"] = find_package_dependencies(base_dir=base)
out["_sources"] = [s.name for s in find_local_sources(base, __file__)]
out["_dirty"] = get_git_info(base)["dirty"]
print(json.dumps(out))
'''

SACRED_CHILD = r'''
import json, os, sys, time
IMPORTS = sys.argv[1].split(",") if len(sys.argv) > 1 and sys.argv[1] else []
for name in IMPORTS:
    __import__(name)
from sacred.host_info import get_host_info
from sacred.dependencies import gather_sources_and_dependencies
import helper
out = {}
t = time.perf_counter(); get_host_info(); out["get_host_info"] = [(time.perf_counter() - t) * 1e3]
base = os.path.dirname(os.path.abspath(__file__))
t = time.perf_counter()
main, sources, deps = gather_sources_and_dependencies(globals(), True, base)
out["gather_sources_and_dependencies"] = [(time.perf_counter() - t) * 1e3]
print(json.dumps(out))
'''

HELLO = '''\
"""A hello-world experiment script (the repository the benchmark gathers provenance of)."""
import helper
print(helper.greet("world"))
'''


def git(cwd: Path, *args: str) -> None:
    env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@example.com",
               GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@example.com")
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def make_repo(root: Path) -> None:
    root.mkdir(parents=True)
    (root / "hello.py").write_text(HELLO)
    (root / "helper.py").write_text("def greet(name):\n    return f'Hello, {name}!'\n")
    (root / "expt_child.py").write_text(EXPT_CHILD)
    (root / "sacred_child.py").write_text(SACRED_CHILD)
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", "https://token@example.com/bench.git")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "bench")


def run_child(python: str, script: Path, imports: str, pythonpath: str | None,
              mode: str = "each") -> dict:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    proc = subprocess.run([python, str(script), imports, mode], cwd=script.parent, env=env,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"{script.name} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def import_self_times(python: str, processes: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {m: [] for m in MODULES}
    for _ in range(processes):
        proc = subprocess.run([python, "-X", "importtime", "-c", "import expt"],
                              capture_output=True, text=True, cwd=REPO_ROOT,
                              env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
        for line in proc.stderr.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] in samples:
                samples[parts[2]].append(int(parts[0].split()[-1]) / 1e3)
    return {m: statistics.median(v) for m, v in samples.items() if v}


def sacred_python(arg: str | None) -> str | None:
    if arg:
        return arg
    try:
        sys.path.insert(0, str(BENCH_DIR))
        from _sacred_venv import ensure_sacred_venv
        return str(ensure_sacred_venv())
    except Exception as e:  # no network for the first build, etc.
        print(f"(Sacred side skipped: {e})")
        return None


def median_of(results: list[dict], key: str, index: int) -> float:
    return statistics.median(r[key][index] for r in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--processes", type=int, default=7)
    parser.add_argument("--sacred-python")
    parser.add_argument("--no-sacred", action="store_true")
    args = parser.parse_args()
    sacred = None if args.no_sacred else sacred_python(args.sacred_python)
    ml = "numpy,yaml,pandas,sklearn,matplotlib"

    with tempfile.TemporaryDirectory(prefix="expt-bench-prov-") as tmp:
        repo = Path(tmp) / "proj"
        make_repo(repo)
        scenarios = {}
        for label, imports, dirty in (("hello, clean repo", "", False),
                                      ("hello, dirty repo", "", True),
                                      ("ML imports, dirty repo", ml, True)):
            if dirty:
                (repo / "helper.py").write_text(
                    "def greet(name):\n    return f'Hi, {name}!'  # edited\n")
            rows = []
            sacred_rows = []
            together: dict[str, list[float]] = {"sequential": [], "overlap": []}
            for _ in range(args.processes):  # alternate the two sides against drift
                rows.append(run_child(sys.executable, repo / "expt_child.py", imports,
                                      str(REPO_ROOT)))
                for mode, samples in together.items():
                    samples.append(run_child(sys.executable, repo / "expt_child.py", imports,
                                             str(REPO_ROOT), mode)["total"][0])
                if sacred and not imports:  # Sacred's venv lacks the ML packages
                    sacred_rows.append(run_child(sacred, repo / "sacred_child.py", imports, None))
            scenarios[label] = (rows, sacred_rows, together)
        imports = import_self_times(sys.executable, args.processes)

    functions = ("get_host_info", "find_local_sources", "find_package_dependencies",
                 "get_git_info", "redact_argv")
    print(f"Provenance cost per run start (ms, median of {args.processes} fresh processes)")
    for label, (rows, sacred_rows, together) in scenarios.items():
        print(f"\n## {label}")
        print(f"{'function':30} {'first call':>11} {'later calls':>12}")
        total = 0.0
        for name in functions:
            first, again = median_of(rows, name, 0), median_of(rows, name, 1)
            total += first
            print(f"{name:30} {first:11.2f} {again:12.2f}")
        print(f"{'sum of first calls':30} {total:11.2f}")
        print(f"{'all at once, git after':30} {statistics.median(together['sequential']):11.2f}")
        print(f"{'all at once, git overlapped':30} {statistics.median(together['overlap']):11.2f}"
              "   (start_git_info first, result() last)")
        print(f"  dependencies: {', '.join(rows[0]['_deps'])}")
        print(f"  sources: {', '.join(rows[0]['_sources'])}; dirty: {rows[0]['_dirty']}")
        if sacred_rows:
            host = median_of(sacred_rows, "get_host_info", 0)
            gather = median_of(sacred_rows, "gather_sources_and_dependencies", 0)
            ours = (median_of(rows, "find_local_sources", 0)
                    + median_of(rows, "find_package_dependencies", 0)
                    + median_of(rows, "get_git_info", 0))
            ours_host = median_of(rows, "get_host_info", 0)
            print(f"  Sacred 0.8.7: get_host_info {host:.2f} ms (expt/Sacred "
                  f"{ours_host / host:.2f}); gather_sources_and_dependencies with git "
                  f"{gather:.2f} ms vs expt sources+deps+git {ours:.2f} ms "
                  f"(expt/Sacred {ours / gather:.2f})")
    print("\n## import cost (self time of each module inside `import expt`, ms)")
    for module, ms in imports.items():
        print(f"{module:30} {ms:8.2f}")
    print(f"{'total':30} {sum(imports.values()):8.2f}")
    print(f"\nload average: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
