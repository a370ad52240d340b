"""The ``expt`` command: list, show, compare, download, follow, tag and delete stored runs.

    expt ls LOCATION [FILTER...] [--sort FIELD] [--columns A,B] [--limit N] [--json | --csv]
    expt show RUN
    expt compare RUN RUN... [--all] [--plot FILE.png] [--metric NAME]...
    expt artifacts RUN [NAME] [-o PATH]
    expt logs RUN [--follow]
    expt rm RUN... [--yes]
    expt tag RUN TAG [--remove]
    expt sync ...            (uploads MongoDB journals; provided by the ``expt.commands`` group)

LOCATION is a run folder (``runs``) or a MongoDB URL; RUN is ``runs/3`` or
``mongodb://host/db#3`` (see :mod:`expt.runref`); FILTER uses :mod:`expt.filters`. Mistakes
(bad references, filters, names) exit with code 2 and one message; ``--debug`` shows tracebacks.
"""
from __future__ import annotations

import argparse
import csv
import importlib
import json
import shutil
import sys
import time
from datetime import datetime
from typing import Any, Sequence

from . import dotted
from .errors import ExptError, UserInputError, did_you_mean, suggest
from .observer_options import entry_points
from .store import RunRecord, open_store, records_by_ref

COMMANDS_GROUP = "expt.commands"
SPARKS = "▁▂▃▄▅▆▇█"
MAX_CELL = 28


# --------------------------------------------------------------------------------- formatting
def fmt(value: Any) -> str:
    """A table cell: short floats, times without microseconds, empty for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def sparkline(values: Sequence, width: int = 24) -> str:
    """The values' shape in block characters (non-numbers skipped, long series sampled)."""
    nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(nums) > width:
        nums = [nums[int(i * (len(nums) - 1) / (width - 1))] for i in range(width)]
    if not nums:
        return ""
    lo, hi = min(nums), max(nums)
    span = (hi - lo) or 1
    return "".join(SPARKS[round((v - lo) / span * (len(SPARKS) - 1))] for v in nums)


def table(headers: list[str], rows: list[list[str]], width: int | None = None) -> str:
    """Columns fitted to `width` (the terminal's): long cells cut, rightmost columns dropped."""
    width = width or shutil.get_terminal_size((120, 24)).columns
    cut = [[c if len(c) <= MAX_CELL else c[:MAX_CELL - 1] + "…" for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cut]) for i, h in enumerate(headers)]
    keep = len(headers)
    while keep > 1 and sum(widths[:keep]) + 2 * (keep - 1) > width:
        keep -= 1
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers[:keep], widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r[:keep], widths)).rstrip() for r in cut]
    if keep < len(headers):
        lines.append(f"({len(headers) - keep} more columns: {', '.join(headers[keep:])}; "
                     "widen the terminal or use --columns)")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------- ls
def _rows(records: list[RunRecord]) -> list[dict]:
    return [r.row() for r in records]


def default_columns(rows: list[dict]) -> list[str]:
    """id, experiment, status, start, duration, config entries that differ, metrics, result."""
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    config = [k for k in keys if k.startswith("config.") and k != "config.seed"
              and len({json.dumps(r.get(k), default=str) for r in rows}) > 1]
    metrics = sorted(k for k in keys if k.startswith("metrics."))
    return ["id", "experiment", "status", "start_time", "duration"] + config + metrics + ["result"]


def cmd_ls(args: argparse.Namespace) -> int:
    store = open_store(args.location)
    records = store.runs(" ".join(args.filter) or None, order_by=args.sort, limit=args.limit)
    rows = _rows(records)
    all_keys = list(dict.fromkeys(k for row in rows for k in row))
    columns = default_columns(rows) if not args.columns else args.columns.split(",")
    for c in columns:
        if rows and c not in all_keys:
            raise UserInputError(f"Unknown column '{c}'.{did_you_mean(suggest(c, all_keys))}")
    if args.json:
        json.dump([{c: row.get(c) for c in (all_keys if not args.columns else columns)}
                   for row in rows], sys.stdout, default=fmt, indent=1)
        print()
    elif args.csv:
        cols = all_keys if not args.columns else columns
        writer = csv.writer(sys.stdout)
        writer.writerow(cols)
        writer.writerows([fmt(row.get(c)) for c in cols] for row in rows)
    elif not rows:
        print("No runs.")
    else:
        cells = [[fmt_duration(row.get(c)) if c == "duration" else fmt(row.get(c))
                  for c in columns] for row in rows]
        print(table([c.replace("metrics.", "").replace("config.", "") for c in columns], cells))
    return 0


# ----------------------------------------------------------------------------------- show
def cmd_show(args: argparse.Namespace) -> int:
    (run,) = records_by_ref([args.run])
    ex = run.experiment
    print(f"Run {run.ref}  {ex.get('name', '')}  {run.status}")
    fields = [("command", run.command), ("started", fmt(run.start_time)),
              ("stopped", fmt(run.stop_time)), ("duration", fmt_duration(run.duration)),
              ("host", run.host.get("hostname")), ("comment", run.comment),
              ("tags", ", ".join(run.tags)), ("note", run.note), ("result", fmt(run.result))]
    for repo in ex.get("repositories") or []:
        dirty = " (dirty)" if repo.get("dirty") else ""
        fields.append(("git", f"{repo.get('commit', '')[:12]}{dirty} {repo.get('url', '')}"))
    for name, value in fields:
        if value not in (None, ""):
            print(f"  {name + ':':10} {value}")
    updates = dict(dotted.leaves(run.meta.get("config_updates") or {}))
    print("Config (* = set on the command line):")
    for key, value in dotted.leaves(run.config):
        print(f"  {'*' if key in updates else ' '} {key} = {fmt(value)}")
    if run.metrics:
        print("Metrics:")
        rows = []
        for name in run.metrics:
            raw = run.store.load_metric(run.id, name)
            s = run.metric_summary[name]
            rows.append([name, str(s["count"]), fmt(s["last"]), fmt(s["min"]), fmt(s["max"]),
                         sparkline(raw.get("values") or [])])
        print(_indent(table(["name", "points", "last", "min", "max", "trend"], rows)))
    names = run.artifacts.names()
    if names:
        print("Artifacts:")
        print("\n".join(f"  {n}" for n in names))
    if run.fail_trace:
        print("Failure:")
        print(_indent("".join(run.fail_trace).rstrip()))
    return 0


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


# -------------------------------------------------------------------------------- compare
def cmd_compare(args: argparse.Namespace) -> int:
    runs = records_by_ref(args.runs)
    heads = [str(r.id) if len({r.store.location for r in runs}) == 1 else r.ref for r in runs]
    names = list(dict.fromkeys(n for r in runs for n in r.metric_summary))
    for name in args.metric or ():
        if name not in names:
            raise UserInputError(f"No run here has the metric '{name}'."
                                 f"{did_you_mean(suggest(name, names))}")
    names = args.metric or names
    configs = [dict(dotted.leaves(r.config)) for r in runs]
    keys = list(dict.fromkeys(k for c in configs for k in c))
    missing = object()
    rows = []
    for key in keys:
        values = [c.get(key, missing) for c in configs]
        if args.all or len({json.dumps(v, default=str) if v is not missing else "\0"
                            for v in values}) > 1:
            rows.append([key] + ["—" if v is missing else fmt(v) for v in values])
    print("Config" + (" (all entries)" if args.all else " (entries that differ)") + ":")
    print(_indent(table(["key"] + heads, rows)) if rows else "  (identical)")
    if names:
        print("Final metrics:")
        print(_indent(table(["metric"] + heads, [
            [n] + [fmt((r.metric_summary.get(n) or {}).get("last")) for r in runs]
            for n in names])))
    print(_indent(table(["", *heads], [["status"] + [str(r.status) for r in runs],
                                       ["result"] + [fmt(r.result) for r in runs]])))
    if args.plot:
        metric_figure(runs, heads, names).savefig(args.plot)
        print(f"Plot written to {args.plot}")
    return 0


# a series this short is drawn with a marker per point: a line alone would hide a single point
MARKED_POINTS = 20


def metric_figure(runs: list[RunRecord], heads: list[str], metrics: list[str]):
    """A matplotlib figure with one chart per metric, one curve per run labelled by `heads`."""
    try:
        from matplotlib.figure import Figure  # no pyplot: no global state, no display needed
    except ImportError:
        raise ImportError('--plot needs matplotlib: pip install matplotlib') from None
    if not metrics:
        raise UserInputError("The runs have no metrics to plot.")
    fig = Figure(figsize=(8, 3 * len(metrics)))
    axes = fig.subplots(len(metrics), 1, squeeze=False)
    for ax, name in zip(axes[:, 0], metrics):
        for run, head in zip(runs, heads):
            if name in run.metrics:
                series = run.metrics[name]
                marker = "o" if len(series.values) <= MARKED_POINTS else None
                ax.plot(series.steps, series.values, label=f"run {head}", marker=marker,
                        markersize=4)
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.legend()
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------- artifacts, logs, rm, tag
def cmd_artifacts(args: argparse.Namespace) -> int:
    (run,) = records_by_ref([args.run])
    if args.name is None:
        for name in run.artifacts.names():
            print(name)
        return 0
    dest = run.artifacts.download(args.name, args.output or ".")
    print(f"Saved {args.name} to {dest}")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    (run,) = records_by_ref([args.run])
    store = run.store
    offset = 0
    while True:
        text = store.load_output(run.id, offset)
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()
            offset += len(text)
        if not args.follow:
            return 0
        run = store.get(run.id)
        if run.status != "RUNNING":  # finished, or its process died: print the rest and stop
            sys.stdout.write(store.load_output(run.id, offset))
            return 0
        time.sleep(args.interval)


def cmd_rm(args: argparse.Namespace) -> int:
    runs = records_by_ref(args.runs)
    for run in runs:
        print(f"  {run.ref}  {run.experiment.get('name', '')}  {run.status}  "
              f"{fmt(run.start_time)}")
    if not args.yes:
        sys.stdout.write(f"Delete these {len(runs)} run(s) with their metrics, output and "
                         "artifacts? [y/N] ")
        sys.stdout.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            print("Nothing deleted.")
            return 1
    for run in runs:
        run.delete()
    print(f"Deleted {len(runs)} run(s).")
    return 0


def cmd_tag(args: argparse.Namespace) -> int:
    (run,) = records_by_ref([args.run])
    (run.remove_tag if args.remove else run.add_tag)(args.tag)
    print(f"{run.ref} tags: {', '.join(run.tags) or '(none)'}")
    return 0


def cmd_sync(argv: Sequence[str]) -> int:
    """Hand ``expt sync`` to the command installed under ``sync`` in ``expt.commands``."""
    target = dict(reversed(list(entry_points(COMMANDS_GROUP)))).get("sync")
    if target is None:
        print("expt sync: not installed (entry point 'sync' in group 'expt.commands'); "
              'pip install "expt[mongo]"', file=sys.stderr)
        return 2
    module, _, attribute = target.partition(":")
    try:
        func = getattr(importlib.import_module(module), attribute)
    except ImportError as e:
        print(f"expt sync: cannot load {target}: {e}", file=sys.stderr)
        return 2
    return int(func(list(argv)) or 0)


# ---------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="expt", description="Read back stored experiment runs.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub.add_parser("ls", help="list runs", description="List the runs at LOCATION.")
    p.add_argument("location", help="run folder or MongoDB URL")
    p.add_argument("filter", nargs="*", help="e.g. status=COMPLETED and config.lr<0.1")
    p.add_argument("--sort", action="append", 
                   help="field to sort by, repeatable; --sort=-field sorts descending")
    p.add_argument("--columns", help="comma-separated columns, e.g. id,status,config.lr")
    p.add_argument("--limit", type=int)
    fmt_group = p.add_mutually_exclusive_group()
    fmt_group.add_argument("--json", action="store_true", help="JSON, every column")
    fmt_group.add_argument("--csv", action="store_true", help="CSV, every column")
    p.set_defaults(func=cmd_ls)
    p = sub.add_parser("show", help="one run in detail", description="Show one run.")
    p.add_argument("run", help="runs/3 or mongodb://host/db#3")
    p.set_defaults(func=cmd_show)
    p = sub.add_parser("compare", help="config differences and final metrics of runs")
    p.add_argument("runs", nargs="+", metavar="RUN")
    p.add_argument("--all", action="store_true", help="show config entries equal in all runs")
    p.add_argument("--plot", metavar="FILE.png", help="draw metric curves of all runs")
    p.add_argument("--metric", action="append",
                   help="metric to show and plot, repeatable (default: all)")
    p.set_defaults(func=cmd_compare)
    p = sub.add_parser("artifacts", help="list or download a run's artifacts")
    p.add_argument("run")
    p.add_argument("name", nargs="?")
    p.add_argument("-o", "--output", metavar="PATH", help="file or folder to save to")
    p.set_defaults(func=cmd_artifacts)
    p = sub.add_parser("logs", help="a run's captured output")
    p.add_argument("run")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing while it runs")
    p.add_argument("--interval", type=float, default=0.5, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_logs)
    p = sub.add_parser("rm", help="delete runs (asks first)")
    p.add_argument("runs", nargs="+", metavar="RUN")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")
    p.set_defaults(func=cmd_rm)
    p = sub.add_parser("tag", help="add a tag (Omniboard's tags)")
    p.add_argument("run")
    p.add_argument("tag")
    p.add_argument("--remove", action="store_true", help="remove the tag instead")
    p.set_defaults(func=cmd_tag)
    sub.add_parser("sync", help="upload MongoDB journals written while the database was away",
                   add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``expt`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "sync":
        return cmd_sync(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (UserInputError, ImportError, FileNotFoundError) as e:
        if args.debug:
            raise
        print(f"expt {args.command}: {e}", file=sys.stderr)
        return 2
    except ExptError as e:
        if args.debug:
            raise
        print(f"expt {args.command}: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `expt ls runs | head`
        return 0
