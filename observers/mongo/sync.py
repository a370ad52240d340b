"""``expt sync``: upload the runs the MongoObserver kept in its local journal.

Usage:
    expt sync [--journal DIR] [-m URL] [--db NAME] [--quiet]

Each journal folder (see :mod:`.journal`) is replayed in order against the database it was
meant for (``-m URL`` overrides it, and is needed when the stored URL had credentials, which
are never stored). Runs recorded offline get their integer id now. Every op is idempotent and
progress is saved as it goes, so a sync that stopped half-way (or a second sync) stores each
record exactly once; a folder is removed when all of it is in the database.

Exit codes: 0 all uploaded (or nothing to do), 1 some folders could not be uploaded, 2 usage.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from typing import Any, Sequence

from .journal import RunJournal, default_root, pending
from .ops import Names, apply
from .url import MongoUrlError, parse_url, redact

SAVE_EVERY = 1.0  # seconds between progress saves


class _Bar:
    """tqdm when installed, else a plain counter on stderr."""

    def __init__(self, total: int, desc: str, quiet: bool):
        self._bar = None
        self._quiet = quiet
        if quiet:
            return
        try:
            from tqdm import tqdm
            self._bar = tqdm(total=total, desc=desc, unit="op", file=sys.stderr, leave=True)
        except ImportError:
            print(f"{desc}: {total} writes", file=sys.stderr)

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def sync_one(journal: RunJournal, *, url: str | None = None, db_name: str | None = None,
             quiet: bool = False, timeout: float = 5.0) -> Any:
    """Upload one journal folder; return the run's id. Raises on connection errors."""
    import pymongo

    meta = journal.meta()
    stored = meta.get("url", "")
    if url is None and ("***" in stored or stored in ("", "<client>")):
        raise MongoUrlError(stored or "<none>", "the journal does not hold a usable URL "
                            "(credentials are never stored); pass it with -m URL")
    target = parse_url(url or stored, db_name)
    if not target.db_given:  # -m host:port without a database: the journal's database
        target = parse_url(url or stored, meta.get("db_name"))
    names = Names(meta.get("prefix", ""))
    progress = journal.progress()
    run_id = progress.get("run_id") if progress.get("run_id") is not None else meta.get("run_id")
    ops = list(journal.ops())
    start = min(int(progress.get("applied", 0)), len(ops))
    ms = int(timeout * 1000)
    client = pymongo.MongoClient(target.uri, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms)
    bar = _Bar(len(ops) - start, f"run {run_id if run_id is not None else '(new)'}", quiet)
    try:
        db = client[target.db_name]
        last_save = time.monotonic()
        for i in range(start, len(ops)):
            new_id = apply(db, names, ops[i], run_id, journal.uuid)
            if new_id is not None:
                run_id = new_id
                journal.save_progress(i + 1, run_id)
            bar.update(1)
            if time.monotonic() - last_save > SAVE_EVERY:
                journal.save_progress(i + 1, run_id)
                last_save = time.monotonic()
        journal.save_progress(len(ops), run_id)
    finally:
        bar.close()
        client.close()
    return run_id


def _help_text() -> str:
    """The module docstring's summary and description, without reST markup or references
    to modules."""
    summary, _usage, details, *_ = __doc__.split("\n\n")
    text = f"{summary}\n\n{details}".replace("``", "")
    return re.sub(r" \(see :mod:`[^`]+`\)", "", text)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``expt sync``; returns the exit code."""
    parser = argparse.ArgumentParser(prog="expt sync", description=_help_text())
    parser.add_argument("--journal", default=None,
                        help=f"journal folder (default: $EXPT_JOURNAL_DIR or {default_root()})")
    parser.add_argument("-m", "--mongo_db", dest="url", default=None,
                        help="MongoDB URL, instead of the one each journal was made for")
    parser.add_argument("--db", default=None, help="database name, instead of the journal's")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.url is not None:
        try:
            parse_url(args.url)
        except MongoUrlError as exc:
            print(f"expt sync: {exc}", file=sys.stderr)
            return 2
    if args.journal is not None and not os.path.isdir(args.journal):
        print(f"expt sync: no journal folder {args.journal!r} (it does not exist).",
              file=sys.stderr)
        return 2
    journals = pending(args.journal)
    if not journals:
        print(f"expt sync: nothing to upload in {args.journal or default_root()}.",
              file=sys.stderr)
        return 0
    failed = 0
    for journal in journals:
        if not journal.lock():
            print(f"expt sync: {journal.dir} is being uploaded by another sync; skipped.",
                  file=sys.stderr)
            continue
        try:
            run_id = sync_one(journal, url=args.url, db_name=args.db, quiet=args.quiet)
        except MongoUrlError as exc:
            failed += 1
            print(f"expt sync: {journal.dir}: {exc}", file=sys.stderr)
            journal.unlock()
        except Exception as exc:  # noqa: BLE001 - report, keep the folder for the next sync
            failed += 1
            print(f"expt sync: {journal.dir} not fully uploaded ({type(exc).__name__}: "
                  f"{redact(str(exc))}); progress is kept, run `expt sync` again.",
                  file=sys.stderr)
            journal.unlock()
        else:
            journal.discard()
            if not args.quiet:
                print(f"expt sync: uploaded run {run_id} from {journal.dir}.", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
