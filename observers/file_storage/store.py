"""FolderStore: reading back the runs a FileStorageObserver (or Sacred's) wrote to a folder.

Registered as the ``folder`` backend of the ``expt.stores`` entry-point group. Every path read
is checked to stay inside its folder: run ids are single folder names, artifact names are
relative and must be listed in run.json, and stored source paths must stay inside the root.
Tags and notes are written to ``omniboard.tags`` / ``omniboard.notes`` in run.json, the keys
Omniboard uses in MongoDB, replacing run.json atomically.
"""
from __future__ import annotations

import json
import os
import shutil
from typing import IO, Any, Sequence

from expt.errors import suggest
from expt.runref import FOLDER, Location, RunId, run_id_from_text
from expt.serialize import to_json_safe, write_text_atomic
from expt.store import (BrokenRunError, NotInRunError, RunNotFoundError, Store,
                        StoreNotFoundError, summarize)

from .paths import UnsafePathError, check_inside, run_dir_name, safe_relative_name


def _read_json(path: str, default: Any = None) -> Any:
    """The JSON value in file `path`, `default` when there is no such file; BrokenRunError
    naming the file when it is not valid JSON."""
    try:
        with open(path, "rb") as f:
            return json.loads(f.read())
    except FileNotFoundError:
        return default
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
        raise BrokenRunError(f"{path} is not valid JSON ({e}).") from None


class FolderStore(Store):
    """Runs stored as ``root/<id>/run.json`` and friends (see :mod:`observers.file_storage`)."""

    def __init__(self, location: Location | str):
        if isinstance(location, str):
            location = Location(FOLDER, location)
        self.location = location
        self.root = os.path.abspath(location.target)
        if not os.path.isdir(self.root):
            parent = os.path.dirname(self.root)
            try:
                near = [e for e in os.listdir(parent) if os.path.isdir(os.path.join(parent, e))]
            except OSError:
                near = []
            close = suggest(os.path.basename(self.root), near)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise StoreNotFoundError(f"No run folder {location.target!r}: it does not exist or "
                                     f"is not a folder.{hint}")
        if os.path.isfile(os.path.join(self.root, "run.json")):
            ref = location.target.rstrip("/\\")
            raise StoreNotFoundError(f"{location.target!r} is the folder of one run (run "
                                     f"{ref}); its store, which lists the runs, is "
                                     f"{os.path.dirname(ref) or '.'!r}.")
        self._metrics_cache: tuple[RunId, dict] | None = None

    def __repr__(self) -> str:
        return f"FolderStore({self.location.target!r})"

    # ----------------------------------------------------------------------------- paths
    def _dir(self, run_id: RunId) -> str:
        try:
            name = run_dir_name(run_id)
        except UnsafePathError:
            raise RunNotFoundError(self.location.target, run_id) from None
        return os.path.join(self.root, name)

    def _file(self, run_id: RunId, name: str) -> str:
        return os.path.join(self._dir(run_id), name)

    # ---------------------------------------------------------------------- backend API
    def run_ids(self) -> list[RunId]:
        """Folder names holding a run.json, numbers first in numeric order."""
        ids: list[RunId] = []
        with os.scandir(self.root) as entries:
            for e in entries:
                if not e.name.startswith(("_", ".")) and e.is_dir():
                    ids.append(run_id_from_text(e.name))
        ids.sort(key=lambda i: (0, i, "") if isinstance(i, int) else (1, 0, i))
        return ids

    def load_run(self, run_id: RunId) -> dict:
        doc = _read_json(self._file(run_id, "run.json"))
        if not isinstance(doc, dict):
            others = [str(i) for i in self.run_ids() if i != run_id]  # e.g. a folder, no run.json
            raise RunNotFoundError(self.location.target, run_id, suggest(str(run_id), others))
        return doc

    def load_config(self, run_id: RunId) -> dict:
        return _read_json(self._file(run_id, "config.json"), {}) or {}

    def load_info(self, run_id: RunId) -> dict:
        return _read_json(self._file(run_id, "info.json"), {}) or {}

    def _all_metrics(self, run_id: RunId) -> dict:
        # One parse of metrics.json serves names, summaries and series of the same run.
        if self._metrics_cache is None or self._metrics_cache[0] != run_id:
            self._metrics_cache = (run_id, _read_json(self._file(run_id, "metrics.json"), {}) or {})
        return self._metrics_cache[1]

    def metric_names(self, run_id: RunId) -> list[str]:
        return list(self._all_metrics(run_id))

    def load_metric(self, run_id: RunId, name: str) -> dict[str, Sequence]:
        metrics = self._all_metrics(run_id)
        self._metrics_cache = None  # a series can be large: don't keep it alive here
        if name not in metrics:
            raise NotInRunError("metric", name, f"{self.location.target}/{run_id}", list(metrics))
        return metrics[name]

    def metric_summary(self, run_id: RunId) -> dict[str, dict]:
        summary = {n: summarize(s) for n, s in self._all_metrics(run_id).items()}
        self._metrics_cache = None
        return summary

    def load_output(self, run_id: RunId, offset: int = 0) -> str:
        try:
            with open(self._file(run_id, "cout.txt"), "rb") as f:
                text = f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            self.load_run(run_id)  # RunNotFoundError for a missing run
            return ""
        return text[offset:]

    def artifact_names(self, run_id: RunId) -> list[str]:
        return list(self.load_run(run_id).get("artifacts") or [])

    def open_artifact(self, run_id: RunId, name: str) -> IO[bytes]:
        relative = safe_relative_name(name)  # refuses absolute paths and '..'
        names = self.artifact_names(run_id)
        if name not in names and relative.replace(os.sep, "/") not in names:
            raise NotInRunError("artifact", name, f"{self.location.target}/{run_id}", names)
        path = os.path.join(self._dir(run_id), relative)
        check_inside(path, self._dir(run_id), "artifact name", name)  # symbolic links too
        return open(path, "rb")

    def read_source(self, run_id: RunId, name: str) -> str:
        sources = dict((e[0], e[1]) for e in self.load_run(run_id)["experiment"]["sources"])
        path = os.path.join(self.root, sources[name])
        check_inside(path, self.root, "source path", sources[name])
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def set_omniboard(self, run_id: RunId, key: str, value: Any) -> None:
        doc = self.load_run(run_id)
        doc.setdefault("omniboard", {})[key] = value
        write_text_atomic(self._file(run_id, "run.json"),
                          json.dumps(to_json_safe(doc), sort_keys=True, indent=2))

    def delete_run(self, run_id: RunId) -> None:
        self.load_run(run_id)  # RunNotFoundError for a missing run
        shutil.rmtree(self._dir(run_id))
        self._metrics_cache = None
