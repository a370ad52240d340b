"""Per-line cost of output capture: print N lines with and without capture (expt vs Sacred).

Run: .venv/bin/python bench/bench_capture_output.py [--sacred-python PATH]
Each worker's stdout goes to /dev/null, so the figures are the cost of capturing, not of a
terminal.  Also prints the cost of entering and leaving an (empty) capture.
"""
import argparse, os, statistics, subprocess, sys, textwrap

N = 100_000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

WORKER = """
import sys, time
n, lib, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
if lib == "expt":
    from expt.capture_output import capture_output
    def run():
        with capture_output(mode) as cap:
            for i in range(n):
                print(f"line {i} of the benchmark")
        return cap.getvalue()
else:
    from sacred.stdout_capturing import get_stdcapturer
    from sacred.utils import apply_backspaces_and_linefeeds
    def run():
        _, capturer = get_stdcapturer(mode)
        with capturer() as out:
            for i in range(n):
                print(f"line {i} of the benchmark")
            sys.stdout.flush()
        text = out.get()
        return apply_backspaces_and_linefeeds(text if isinstance(text, str) else text.decode())
t0 = time.perf_counter()
value = run()
t1 = time.perf_counter()
sys.stderr.write(f"{t1 - t0} {value.count(chr(10))}\\n")
"""


def measure(python, lib, mode, repeats=5):
    times, counts = [], set()
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("PYTHONUNBUFFERED", None)
    for _ in range(repeats):
        with open(os.devnull, "w") as null:
            proc = subprocess.run([python, "-c", textwrap.dedent(WORKER), str(N), lib, mode],
                                  stdout=null, stderr=subprocess.PIPE, text=True, env=env,
                                  check=True)
        t, count = proc.stderr.split()[-2:]
        times.append(float(t))
        counts.add(int(count))
    return statistics.median(times), counts


CYCLE = """
import sys, time
from expt.capture_output import capture_output
for mode in ("no", "sys", "fd"):
    n = 300
    t0 = time.perf_counter()
    for _ in range(n):
        with capture_output(mode) as cap:
            print("x")
        cap.getvalue()
    sys.stderr.write(f"{mode} {(time.perf_counter() - t0) / n * 1e6:.0f}\\n")
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sacred-python")
    args = parser.parse_args()
    if args.sacred_python:
        sacred_py = args.sacred_python
    else:
        from _sacred_venv import ensure_sacred_venv
        sacred_py = str(ensure_sacred_venv())
    rows = []
    base, _ = measure(sys.executable, "expt", "no")
    rows.append(("expt", "no", base, {0}))
    for mode in ("sys", "fd"):
        t, counts = measure(sys.executable, "expt", mode)
        rows.append(("expt", mode, t, counts))
    for mode in ("no", "sys", "fd"):
        t, counts = measure(sacred_py, "sacred", mode)
        rows.append(("sacred", mode, t, counts))
    print(f"{N:,} print() calls, stdout -> /dev/null, median of 5 fresh processes")
    print(f"{'lib':7} {'mode':4} {'total s':>8} {'us/line':>8} {'overhead us/line':>17} lines recorded")
    for lib, mode, t, counts in rows:
        print(f"{lib:7} {mode:4} {t:8.3f} {t / N * 1e6:8.2f} {(t - base) / N * 1e6:17.2f} {sorted(counts)}")
    env = dict(os.environ, PYTHONPATH=ROOT)
    with open(os.devnull, "w") as null:
        out = subprocess.run([sys.executable, "-c", textwrap.dedent(CYCLE)], stdout=null,
                             stderr=subprocess.PIPE, text=True, env=env, check=True).stderr
    print("expt enter+exit of one capture (us): " + ", ".join(
        f"{mode} {us}" for mode, us in (line.split() for line in out.splitlines())))


if __name__ == "__main__":
    main()
