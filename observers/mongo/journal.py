"""The local journal: what a run could not write to MongoDB waits here for ``expt sync``.

Default location: ``$EXPT_JOURNAL_DIR`` if set, else ``~/.expt/journal``. One folder per run::

    <root>/<run-uuid>/
        meta.json      {"uuid", "url" (credentials removed), "db_name", "prefix", "run_id",
                        "created", "pending_ops"}
        ops.jsonl      the ops not yet applied, in order (MongoDB Extended JSON, one per line)
        files/         staged copies of artifacts and resources the ops upload
        progress.json  written by ``expt sync``: {"applied": n, "run_id": id}
        lock           present while a sync works on the folder

The ops are idempotent (:mod:`observers.mongo.ops`), so replaying a folder after an upload that
stopped half-way, or twice, stores everything exactly once.
"""
from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from expt.serialize import write_text_atomic


def default_root() -> Path:
    """The documented default journal folder."""
    env = os.environ.get("EXPT_JOURNAL_DIR")
    return Path(env).expanduser() if env else Path.home() / ".expt" / "journal"


def _json_options():
    from bson.json_util import JSONOptions, JSONMode

    return JSONOptions(json_mode=JSONMode.CANONICAL, tz_aware=True)


def dump_op(op: list) -> str:
    """One op as a line of Extended JSON (ObjectIds, dates and bytes survive the round trip)."""
    from bson import json_util

    return json_util.dumps(op, json_options=_json_options())


def load_op(line: str) -> list:
    """The op of one journal line."""
    from bson import json_util

    return json_util.loads(line, json_options=_json_options())


class RunJournal:
    """The journal folder of one run."""

    def __init__(self, root: str | os.PathLike, run_uuid: str):
        self.root = Path(root)
        self.uuid = run_uuid
        self.dir = self.root / run_uuid

    @property
    def files_dir(self) -> Path:
        return self.dir / "files"

    def stage(self, src: str | os.PathLike, name: str) -> str:
        """Keep a copy of `src` until it is uploaded; return the copy's path.

        The user may delete or rewrite the original right after ``add_artifact`` returns
        (``torch.save`` to the same name every epoch), so this is a real copy taken now (the
        kernel's copy: ``shutil.copyfile`` uses ``sendfile``), never a hard link, which would
        follow an in-place rewrite.
        """
        self.files_dir.mkdir(parents=True, exist_ok=True)
        dest = self.files_dir / name
        shutil.copyfile(src, dest)
        return str(dest)

    def write(self, *, url: str, db_name: str, prefix: str, run_id: Any, ops: list[list]) -> None:
        """Write the pending `ops` and the folder's metadata (replacing earlier pending ops)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "ops.jsonl.tmp", "w", encoding="utf-8") as f:
            for op in ops:
                f.write(dump_op(op))
                f.write("\n")
        os.replace(self.dir / "ops.jsonl.tmp", self.dir / "ops.jsonl")
        meta = {"uuid": self.uuid, "url": url, "db_name": db_name, "prefix": prefix,
                "run_id": run_id, "created": datetime.now(timezone.utc).isoformat(),
                "pending_ops": len(ops)}
        write_text_atomic(self.dir / "meta.json", json.dumps(meta, indent=2))

    def append(self, *, url: str, db_name: str, prefix: str, run_id: Any,
               ops: list[list]) -> None:
        """Append `ops` to the folder (creating it and its metadata on first use)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if not (self.dir / "meta.json").exists():
            meta = {"uuid": self.uuid, "url": url, "db_name": db_name, "prefix": prefix,
                    "run_id": run_id, "created": datetime.now(timezone.utc).isoformat(),
                    "pending_ops": None}
            write_text_atomic(self.dir / "meta.json", json.dumps(meta, indent=2))
        with open(self.dir / "ops.jsonl", "a", encoding="utf-8") as f:
            f.write("".join(dump_op(op) + "\n" for op in ops))
            f.flush()

    def clear_ops(self) -> None:
        """Forget the journaled ops (all applied since); staged files stay for pending uploads."""
        for name in ("ops.jsonl", "meta.json"):
            try:
                os.unlink(self.dir / name)
            except OSError:
                pass

    def discard(self) -> None:
        """Remove the folder (everything in it was written to the database)."""
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- reading, for sync --
    def meta(self) -> dict:
        return json.loads((self.dir / "meta.json").read_text(encoding="utf-8"))

    def ops(self) -> Iterator[list]:
        with open(self.dir / "ops.jsonl", encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield load_op(line)

    def progress(self) -> dict:
        try:
            return json.loads((self.dir / "progress.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"applied": 0, "run_id": None}

    def save_progress(self, applied: int, run_id: Any) -> None:
        write_text_atomic(self.dir / "progress.json",
                          json.dumps({"applied": applied, "run_id": run_id}))

    def lock(self) -> bool:
        """Take the folder's lock; False when another sync holds it."""
        try:
            fd = os.open(self.dir / "lock", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            if _holder_alive(self.dir / "lock"):
                return False
            self.unlock()  # left by a sync that died
            return self.lock()
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return True

    def unlock(self) -> None:
        try:
            os.unlink(self.dir / "lock")
        except OSError:
            pass


def _holder_alive(lock: Path) -> bool:
    try:
        os.kill(int(lock.read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


def pending(root: str | os.PathLike | None = None) -> list[RunJournal]:
    """Journal folders with something to upload, oldest first."""
    root = Path(root) if root else default_root()
    if not root.is_dir():
        return []
    found = [RunJournal(root, d.name) for d in root.iterdir()
             if (d / "meta.json").is_file() and (d / "ops.jsonl").is_file()]
    return sorted(found, key=lambda j: j.meta().get("created", ""))
