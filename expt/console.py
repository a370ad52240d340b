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
import math
import os
import shutil
import sys
import time
from datetime import datetime
from typing import Any, Sequence

from . import dotted
from .errors import ExptError, UserInputError, did_you_mean, suggest
from .filters import MISSING
from .observer_options import entry_points
from .redact import driver_error_text
from .store import (BrokenRunError, RunRecord, check_fields, open_store, records_by_ref,
                    warn_skipped)

COMMANDS_GROUP = "expt.commands"
SPARKS = "▁▂▃▄▅▆▇█"
MAX_CELL = 28
PROGRESS_BYTES = 16 << 20  # downloads this big show a progress bar on a terminal
DRIVER_MODULES = ("pymongo.", "gridfs.", "bson.")  # errors shown in one line, not a traceback


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


def plain(value: Any) -> str:
    """A CSV cell: numbers in full, ISO times, JSON for lists and dicts, empty for None."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return fmt(value)


def json_value(value: Any) -> Any:
    """NaN and infinities as null: strict JSON readers (jq, JavaScript) refuse them."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


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


def terminal_width() -> int | None:
    """Columns of the terminal (or $COLUMNS); None when output goes to a file or a pipe, which
    get whole tables."""
    if os.environ.get("COLUMNS", "").isdigit() or sys.stdout.isatty():
        return shutil.get_terminal_size((120, 24)).columns
    return None


def table(headers: list[str], rows: list[list[str]], width: int | None = None,
          fit: bool = True) -> str:
    """Columns fitted to `width` (default: :func:`terminal_width`) when `fit`: long cells cut,
    rightmost columns dropped."""
    width = width or terminal_width()
    fit = fit and width is not None
    cut = [[c if len(c) <= MAX_CELL or not fit else c[:MAX_CELL - 1] + "…" for c in row]
           for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cut]) for i, h in enumerate(headers)]
    keep = len(headers)
    while fit and keep > 1 and sum(widths[:keep]) + 2 * (keep - 1) > width:
        keep -= 1
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers[:keep], widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r[:keep], widths)).rstrip() for r in cut]
    if keep < len(headers):
        hidden = len(headers) - keep
        lines.append(f"({hidden} more column{'s' if hidden > 1 else ''}: "
                     f"{', '.join(headers[keep:])}; widen the terminal or use --columns)")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------- ls
def default_columns(rows: list[dict]) -> list[str]:
    """id, experiment, status, start, duration, tags (when any run has some), config entries
    that differ, metrics, result."""
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    config = [k for k in keys if k.startswith("config.") and k != "config.seed"
              and len({json.dumps(r.get(k), default=str) for r in rows}) > 1]
    metrics = sorted(k for k in keys if k.startswith("metrics."))
    tags = ["tags"] if any(r.get("tags") for r in rows) else []
    return (["id", "experiment", "status", "start_time", "duration"] + tags + config + metrics
            + ["result"])


def cmd_ls(args: argparse.Namespace) -> int:
    store = open_store(args.location)
    listed = store.runs(" ".join(args.filter) or None, order_by=args.sort, limit=args.limit)
    records, rows = [], []
    for record in listed:
        try:
            rows.append(record.row())
        except BrokenRunError as e:  # its config.json or metrics.json, say
            warn_skipped(e)
        else:
            records.append(record)
    if args.columns:
        columns = [c.strip() for c in args.columns.split(",") if c.strip()]
        rows = [{c: column_value(record, row, c) for c in columns}
                for record, row in zip(records, rows)]
        check_fields(columns, records, "column")
    else:
        columns = list(dict.fromkeys(k for row in rows for k in row))
    if args.json:
        json.dump([{c: json_value(row.get(c)) for c in columns} for row in rows], sys.stdout,
                  default=plain, indent=1)
        print()
    elif args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows([plain(row.get(c)) for c in columns] for row in rows)
    elif not rows:
        print("No runs.")
    else:
        shown = columns if args.columns else default_columns(rows)
        cells = [[cell(c, row.get(c)) for c in shown] for row in rows]
        heads = [c.replace("metrics.", "").replace("config.", "") for c in shown]
        print(table(heads, cells, fit=not args.columns))  # asked-for columns are never dropped
    return 0


def cell(column: str, value: Any) -> str:
    """A table cell of `column`: durations as 1m05s, tags comma-separated, else :func:`fmt`."""
    if column == "duration":
        return fmt_duration(value)
    if column == "tags" and isinstance(value, list):
        return ", ".join(map(str, value))
    return fmt(value)


def column_value(record: RunRecord, row: dict, column: str) -> Any:
    """A table column: a :meth:`RunRecord.row` entry, or any filter field (``tags``,
    ``metrics.loss.min``, ``info.x``, ...)."""
    if column in row:
        return row[column]
    value = record.lookup(column)
    return None if value is MISSING else value


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
    figure = None
    if args.plot:  # every mistake is reported before any output
        figure = metric_figure(runs, heads, names)
        check_plot_path(args.plot)
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
    print("Outcome:")
    print(_indent(table(["", *heads], [["status"] + [str(r.status) for r in runs],
                                       ["result"] + [fmt(r.result) for r in runs]])))
    if args.plot:
        figure.savefig(args.plot)
        print(f"Plot written to {args.plot}")
    return 0


def check_plot_path(path: str) -> None:
    """UserInputError, before anything is printed, for a plot that could not be saved."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UserInputError(f"Cannot write the plot to {path}: folder {folder} does not exist.")
    if not os.access(folder, os.W_OK):
        raise UserInputError(f"Cannot write the plot to {path}: folder {folder} is not writable.")
    from matplotlib.backend_bases import FigureCanvasBase
    kinds = FigureCanvasBase.get_supported_filetypes()
    suffix = os.path.splitext(path)[1].lstrip(".").lower()
    if suffix not in kinds:
        raise UserInputError(f"Cannot write the plot to {path}: unknown image type "
                             f"'.{suffix}'.{did_you_mean(suggest(suffix, kinds))} Known: "
                             f"{', '.join(sorted(kinds))}.")


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
    if args.name is None and args.output is None:
        for name in run.artifacts.names():
            print(name)
        return 0
    if args.name is None:  # -o FOLDER alone: every artifact, keeping sub-folders
        wanted = {name: os.path.join(args.output, name) for name in run.artifacts.names()}
        if not wanted:
            print(f"{run.ref} has no artifacts.")
    else:
        run.artifacts.open(args.name).close()  # an unknown name fails before anything else
        wanted = {args.name: run.artifacts.destination(args.name, args.output or ".")}
    existing = [path for path in wanted.values() if os.path.exists(path)]
    if existing and not args.force:  # every check before the first download
        raise UserInputError(f"Not overwriting {', '.join(existing)}: pass --force, or -o to "
                             "save elsewhere.")
    for name, path in wanted.items():
        with ProgressBar(name) as bar:
            dest = run.artifacts.download(name, path, progress=bar.update)
        print(f"Saved {name} to {dest}")
    return 0


class ProgressBar:
    """A tqdm bar on stderr for a download of `PROGRESS_BYTES` or more, when stderr is a
    terminal and tqdm is installed; else nothing."""

    def __init__(self, name: str):
        self.name, self.bar = name, None

    def update(self, copied: int, size: int) -> None:
        if self.bar is None and size >= PROGRESS_BYTES and sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=size, desc=self.name, unit="B", unit_scale=True,
                            unit_divisor=1024, file=sys.stderr, leave=False)
        if self.bar is not None:
            self.bar.update(copied - self.bar.n)

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


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
    live = [f"{r.ref} ({r.status})" for r in runs if r.status in ("RUNNING", "QUEUED")]
    if live and not args.force:  # a live run would go on writing into what we delete
        raise UserInputError(f"Not deleting {', '.join(live)}: its process is alive (recent "
                             "heartbeat). Stop it first, or pass --force.")
    for run in runs:
        print(f"  {run.ref}  {run.experiment.get('name', '')}  {run.status}  "
              f"{fmt(run.start_time)}")
    if not args.yes:
        what = "this run with its" if len(runs) == 1 else f"these {len(runs)} runs with their"
        sys.stdout.write(f"Delete {what} metrics, output and artifacts? [y/N] ")
        sys.stdout.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            print("Nothing deleted.")
            return 1
    for run in runs:
        run.delete()
    print(f"Deleted {len(runs)} run{'s' if len(runs) != 1 else ''}.")
    return 0


def cmd_tag(args: argparse.Namespace) -> int:
    (run,) = records_by_ref([args.run])
    if args.remove and args.tag not in run.tags:
        raise UserInputError(f"{run.ref} has no tag '{args.tag}' (its tags: "
                             f"{', '.join(run.tags) or 'none'}).")
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
    p = sub.add_parser("ls", help="list runs", description=(
        "List the runs at LOCATION (a run folder or MongoDB URL) that match FILTER, e.g. "
        "expt ls runs status=COMPLETED and config.lr<0.1 --sort=-metrics.valid.l2.last"))
    p.add_argument("location", help="run folder or MongoDB URL")
    p.add_argument("filter", nargs="*", help="e.g. status=COMPLETED and config.lr<0.1")
    p.add_argument("--sort", action="append", 
                   help="field to sort by, repeatable; --sort=-field sorts descending")
    p.add_argument("--columns", help="comma-separated columns, e.g. id,status,config.lr")
    p.add_argument("--limit", type=int, metavar="N", help="at most N runs (after sorting)")
    fmt_group = p.add_mutually_exclusive_group()
    fmt_group.add_argument("--json", action="store_true", help="JSON, every column")
    fmt_group.add_argument("--csv", action="store_true", help="CSV, every column")
    p.set_defaults(func=cmd_ls)
    p = sub.add_parser("show", help="one run in detail", description=(
        "Show one run: status, times, host, git commit, config (* = set on the command line), "
        "metrics with a trend, artifacts, and the traceback of a failed run."))
    p.add_argument("run", help="runs/3 or mongodb://host/db#3")
    p.set_defaults(func=cmd_show)
    p = sub.add_parser("compare", help="config differences and final metrics of runs",
                       description="Compare runs: the config entries that differ, final "
                                   "metrics side by side, and optionally a chart of the curves.")
    p.add_argument("runs", nargs="+", metavar="RUN")
    p.add_argument("--all", action="store_true", help="show config entries equal in all runs")
    p.add_argument("--plot", metavar="FILE.png", help="draw metric curves of all runs")
    p.add_argument("--metric", action="append",
                   help="metric to show and plot, repeatable (default: all)")
    p.set_defaults(func=cmd_compare)
    p = sub.add_parser("artifacts", help="list or download a run's artifacts",
                       description="List a run's artifacts, or download NAME (or all of them "
                                   "with -o FOLDER); existing files are kept unless --force. "
                                   "Big downloads show a progress bar on a terminal.")
    p.add_argument("run")
    p.add_argument("name", nargs="?")
    p.add_argument("-o", "--output", metavar="PATH",
                   help="file or folder to save NAME to; without NAME, the folder that receives "
                        "every artifact")
    p.add_argument("--force", action="store_true", help="overwrite files that exist")
    p.set_defaults(func=cmd_artifacts)
    p = sub.add_parser("logs", help="a run's captured output",
                       description="Print a run's captured output; --follow keeps printing "
                                   "until the run ends.")
    p.add_argument("run")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing while it runs")
    p.add_argument("--interval", type=float, default=0.5, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_logs)
    p = sub.add_parser("rm", help="delete runs (asks first)",
                       description="Delete runs with their metrics, output and artifacts, "
                                   "after asking. Running runs are kept unless --force.")
    p.add_argument("runs", nargs="+", metavar="RUN")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")
    p.add_argument("--force", action="store_true",
                   help="also delete runs that are still running or queued")
    p.set_defaults(func=cmd_rm)
    p = sub.add_parser("tag", help="add a tag (Omniboard's tags)",
                       description="Add TAG to a run, or remove it with --remove; stored "
                                   "where Omniboard keeps tags.")
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
    except BrokenPipeError:  # `expt ls runs | head`
        return 0
    except (UserInputError, ImportError, ExptError, OSError) as e:
        if args.debug:
            raise
        print(f"expt {args.command}: {error_text(e)}", file=sys.stderr)
        return 2 if isinstance(e, (UserInputError, ImportError, FileNotFoundError)) else 1
    except Exception as e:  # the database driver's, e.g. a server that went away meanwhile
        if args.debug or not type(e).__module__.startswith(DRIVER_MODULES):
            raise
        print(f"expt {args.command}: the database failed: {driver_error_text(e)}",
              file=sys.stderr)
        return 1


def error_text(error: Exception) -> str:
    """One line for the user: OSErrors as 'Permission denied: path', not '[Errno 13] ...'."""
    if isinstance(error, OSError) and not isinstance(error, ExptError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    return str(error)
