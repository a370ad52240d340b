"""FileStorageObserver: one folder per run, in Sacred's on-disk layout.

Layout (the same files and JSON keys Sacred 0.8.7 writes, so tools that read Sacred's file
store read ours)::

    basedir/
      _sources/<stem>_<md5><ext>      source files, stored once and shared by all runs
      _resources/<stem>_<md5><ext>    files the runs read, the same way
      <id>/run.json                   experiment, command, host, start_time, meta, status,
                                      resources, artifacts, heartbeat, stop_time, result,
                                      fail_trace
      <id>/config.json  info.json  metrics.json  cout.txt  <artifacts>

What differs from Sacred, on purpose:
- every JSON file is replaced atomically (a crash leaves the old file or the new one, never
  half of one); cout.txt is only ever appended to;
- metrics.json grows by inserting the new points into a kernel copy of the old file, never
  re-parsing or re-encoding history (see :mod:`.metrics`);
- run ids and artifact names cannot leave their folders, and the caller's ``ex_info`` is not
  modified (Sacred rewrites its sources in place);
- a numbered id is returned as an int (Sacred returns the folder name, a str);
- QUEUED runs also record ``queue_time``;
- a heartbeat within RUN_JSON_MIN_INTERVAL of the last run.json write does not rewrite it: its
  beat time and result go into the next write (the next heartbeat, an artifact or resource,
  or the final event, which always writes). A run's last heartbeat and its final event, back
  to back, thus replace run.json once.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from datetime import datetime
from typing import Any

from expt.events import COMPLETED, FAILED, QUEUED, RUNNING, RunObserver
from expt.observer_options import ObserverOption
from expt.serialize import to_json_safe

from .metrics import MetricsFile
from .paths import (RESERVED_NAMES, RunDirExistsError, UnsafePathError, check_inside,
                    claim_named_dir, claim_numeric_dir, copy_atomic, safe_relative_name,
                    store_by_content, write_text_stamped)

__all__ = ["FileStorageObserver", "FileStorageOption", "RunDirExistsError", "UnsafePathError",
           "RESERVED_NAMES"]

log = logging.getLogger("observers.file_storage")
DEFAULT_FILE_STORAGE_PRIORITY = 20
RUN_JSON_MIN_INTERVAL = 1.0  # seconds: a heartbeat's time in run.json is at most this stale


_CLOEXEC_BINARY = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _CLOEXEC_BINARY
_APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND | _CLOEXEC_BINARY


def _iso(t: Any) -> Any:
    return t.isoformat() if isinstance(t, datetime) else t


# sort_keys and indent=2, as Sacred writes them, so the files diff cleanly against Sacred's.
# One encoder for all: json.dumps(..., indent=2) builds a new one at each call.
_INDENTED = json.JSONEncoder(sort_keys=True, indent=2)
_SCALARS = (str, int, float, bool, type(None))


_COMPACT = json.JSONEncoder(sort_keys=True)  # json.dumps(..., sort_keys=True) builds one per call
_encode_str = json.encoder.encode_basestring_ascii


def _json_text(value: Any) -> str:
    return _INDENTED.encode(to_json_safe(value))


def _scalar_text(value: Any) -> str:
    """``json.dumps(value)`` for a str, int, float, bool or None, without building an encoder
    for the common ones (json writes these the same in every indent mode)."""
    if type(value) is str:
        return _encode_str(value)
    if value is None:
        return "null"
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is int:
        return int.__repr__(value)
    return json.dumps(value)  # floats: NaN and Infinity spelled as json spells them


# Entries of run.json that never change during a run. The observer keeps its own JSON-safe
# copy of each (nobody else holds it, so it cannot change behind our back) and encodes it once
# per run: json's indent mode is pure Python, and these are most of run.json.
_FIXED_KEYS = ("experiment", "host", "meta")
# Across runs, the same experiment and host come back: their indented text is looked up by
# their compact text (C-accelerated, ~10x cheaper, and as exact: same structure, same order).
_indented: dict[str, str] = {}
_INDENTED_SIZE = 64


def _fixed_text(value: Any) -> str:
    """``_json_text(value)`` for a JSON-safe value that recurs from run to run."""
    compact = _COMPACT.encode(value)
    text = _indented.get(compact)
    if text is None:
        text = _INDENTED.encode(value)
        if len(_indented) >= _INDENTED_SIZE:
            _indented.clear()
        _indented[compact] = text
    return text


def _run_json_text(entry: dict, encoded: dict[str, tuple[Any, str]]) -> str:
    """``_json_text(entry)`` (top-level keys are str), reusing the text of the values in
    `encoded` (key -> (value, its text indented one level)) that are still the same objects.
    Values under _FIXED_KEYS must be JSON-safe already (the observer stores safe copies)."""
    parts = []
    for key in sorted(entry):
        value = entry[key]
        cached = encoded.get(key)
        if cached is not None and cached[0] is value:
            text = cached[1]
        elif key in _FIXED_KEYS:
            # A value nested one level down is its own indent=2 text, shifted by 2 spaces
            # (strings in JSON never hold a raw newline).
            text = _fixed_text(value).replace("\n", "\n  ")
            encoded[key] = (value, text)
        elif type(value) in _SCALARS:  # written exactly as indent=2 does
            text = _scalar_text(value)
        elif not value and type(value) in (list, dict):  # artifacts, resources: mostly empty
            text = "[]" if type(value) is list else "{}"
        else:
            text = _INDENTED.encode(to_json_safe(value)).replace("\n", "\n  ")
        key_text = _KEY_TEXT.get(key)
        if key_text is None:
            key_text = _KEY_TEXT[key] = _encode_str(key) + ": "
        parts.append(key_text + text)
    return "{\n  " + ",\n  ".join(parts) + "\n}" if parts else "{}"


# run.json's own keys, as JSON strings (a handful; readers may add one, "omniboard").
_KEY_TEXT: dict[str, str] = {}


class FileStorageObserver(RunObserver):
    """Store each run in ``basedir/<id>/`` (see the module docstring for the layout).

    ``copy_sources=False`` records the sources' own paths instead of copying them;
    ``copy_artifacts=False`` lists artifacts in run.json without copying the files, and (as in
    Sacred) refers to resources already inside `basedir` instead of copying them.
    """

    def __init__(self, basedir: str | os.PathLike, *,
                 resource_dir: str | os.PathLike | None = None,
                 source_dir: str | os.PathLike | None = None,
                 priority: int = DEFAULT_FILE_STORAGE_PRIORITY, copy_artifacts: bool = True,
                 copy_sources: bool = True):
        self.basedir = os.fspath(basedir)
        base = os.fspath(basedir)
        self.resource_dir = os.fspath(resource_dir) if resource_dir else os.path.join(base, "_resources")
        self.source_dir = os.fspath(source_dir) if source_dir else os.path.join(base, "_sources")
        # Files are written through absolute paths fixed now, so a run that changes its
        # working directory still writes into this store.
        self._base_abs = os.path.abspath(self.basedir)
        self._resources_abs = os.path.abspath(self.resource_dir)
        self._sources_abs = os.path.abspath(self.source_dir)
        self.priority = priority
        self.copy_artifacts = copy_artifacts
        self.copy_sources = copy_sources
        self._lock = threading.RLock()  # heartbeats may come from another thread
        self._next_id: int | None = None  # after our last number: no rescan for the next run
        self._relative: dict[str, str] = {}  # stored source path -> its path from basedir
        self._reset()

    def __repr__(self) -> str:
        return f"FileStorageObserver({self.basedir!r})"

    def _reset(self) -> None:
        self.dir: str | None = None        # this run's folder as spelled from basedir (Sacred's)
        self._dir: str | None = None       # the same, absolute: where files are written
        self.run_id: Any = None
        self.run_entry: dict | None = None
        self.config: dict | None = None
        self.info: dict | None = None
        self._run_saved_at = 0.0
        self._run_dirty = False             # run_entry holds changes run.json does not
        self._encoded: dict[str, tuple[Any, str]] = {}  # see _run_json_text
        self._cout_len = 0                  # length of captured_out already in cout.txt
        self._info_text: str | None = None
        self._metrics: MetricsFile | None = None

    # ----------------------------------------------------------------- run folder and files
    def _make_run_dir(self, _id: Any) -> Any:
        if _id is None:
            run_id, self._dir = claim_numeric_dir(self._base_abs, self._next_id)
            self._next_id = run_id + 1
        else:
            run_id, self._dir = _id, claim_named_dir(self._base_abs, _id)
        self.run_id = run_id
        self.dir = os.path.join(self.basedir, os.path.basename(self._dir))
        self._metrics = MetricsFile(os.path.join(self._dir, "metrics.json"))
        return run_id

    def _save_json(self, value: Any, filename: str) -> str:
        text = _json_text(value)
        write_text_stamped(os.path.join(self._dir, filename), text)
        return text

    def _save_run(self) -> None:
        path = os.path.join(self._dir, "run.json")
        self._keep_readers_notes(path)
        text = _run_json_text(self.run_entry, self._encoded)
        self._run_json_stamp = write_text_stamped(path, text)
        self._run_saved_at = time.monotonic()
        self._run_dirty = False

    def _keep_readers_notes(self, path: str) -> None:
        """Tags and notes added by readers (``expt tag``) while the run goes on survive our
        next rewrite: when run.json changed since our last write, take its ``omniboard`` key."""
        stamp = _stamp(path)
        if stamp is None or stamp == getattr(self, "_run_json_stamp", stamp):
            return
        try:
            with open(path, encoding="utf-8") as f:
                notes = json.load(f).get("omniboard")
        except (OSError, ValueError):
            return
        if notes is not None:
            self.run_entry["omniboard"] = notes

    def _save_sources(self, ex_info: dict) -> list[list[str]]:
        """Sacred's ``[name, path relative to basedir]`` pairs, copying into _sources."""
        base_dir = ex_info.get("base_dir") or os.getcwd()
        stored = []
        for entry in ex_info.get("sources", ()):
            name = entry[0]
            abspath = os.path.join(base_dir, name)
            store_path = abspath
            if self.copy_sources:
                try:
                    store_path = store_by_content(abspath, self._sources_abs)
                except OSError as e:
                    log.warning("Source file %s could not be stored: %s", abspath, e)
            relative = self._relative.get(store_path)
            if relative is None:
                relative = os.path.relpath(store_path, self._base_abs)
                if os.path.isabs(store_path):  # then a pure function of the two paths
                    if len(self._relative) >= 1024:
                        self._relative.clear()
                    self._relative[store_path] = relative
            stored.append([name, relative])
        return stored

    def _new_entry(self, ex_info: dict, command: str, host_info: dict, meta_info: dict,
                   status: str) -> dict:
        experiment = dict(ex_info)  # a copy: later observers must see the original sources
        experiment["sources"] = self._save_sources(ex_info)
        # JSON-safe copies (new containers, ours alone): encoded once, see _FIXED_KEYS.
        return {"experiment": to_json_safe(experiment), "command": command,
                "host": to_json_safe(host_info), "meta": to_json_safe(meta_info),
                "status": status}

    # ----------------------------------------------------------------------------- events
    def queued_event(self, ex_info: dict, command: str, host_info: dict, queue_time: datetime,
                     config: dict, meta_info: dict, _id: Any) -> Any:
        """Create the run folder with status QUEUED; returns the run id."""
        with self._lock:
            self._reset()
            run_id = self._make_run_dir(_id)
            self.run_entry = self._new_entry(ex_info, command, host_info, meta_info, QUEUED)
            self.run_entry["queue_time"] = _iso(queue_time)
            self.config, self.info = config, {}
            self._save_run()
            self._save_json(config, "config.json")
            return run_id

    def started_event(self, ex_info: dict, command: str, host_info: dict, start_time: datetime,
                      config: dict, meta_info: dict, _id: Any) -> Any:
        """Claim the run folder, store sources, write run.json and config.json; returns the id."""
        with self._lock:
            self._reset()
            run_id = self._make_run_dir(_id)
            entry = self._new_entry(ex_info, command, host_info, meta_info, RUNNING)
            entry.update(start_time=_iso(start_time), resources=[], artifacts=[], heartbeat=None)
            self.run_entry, self.config, self.info = entry, config, {}
            self._save_run()
            self._save_json(config, "config.json")
            os.close(os.open(os.path.join(self._dir, "cout.txt"), _NEW_FILE, 0o666))
            return run_id

    def heartbeat_event(self, info: dict, captured_out: str, beat_time: datetime, result: Any,
                        output_delta: str | None = None) -> None:
        """Append the new output to cout.txt; update run.json and info.json if it changed.

        run.json is rewritten when it was last written RUN_JSON_MIN_INTERVAL ago or more;
        otherwise the new beat time and result wait for the next write (at the latest the
        final event's), so frequent heartbeats, and a run's last heartbeat followed at once by
        its final event, do not each replace the file.
        """
        with self._lock:
            if self.run_entry is None:
                return
            if output_delta is None:  # a dispatcher that only sends the whole output
                output_delta = (captured_out or "")[self._cout_len:]
            if captured_out is not None:
                self._cout_len = len(captured_out)
            if output_delta:
                fd = os.open(os.path.join(self._dir, "cout.txt"), _APPEND, 0o666)
                try:
                    data = memoryview(output_delta.encode("utf-8", errors="replace"))
                    while data:
                        data = data[os.write(fd, data):]
                finally:
                    os.close(fd)
            entry = self.run_entry
            entry["heartbeat"], entry["result"] = _iso(beat_time), result
            # Replacing a file costs 0.1-0.5 ms here (a new inode each time); while run.json
            # is fresh, leave the beat to the next write (the final event writes anyway).
            if time.monotonic() - self._run_saved_at >= RUN_JSON_MIN_INTERVAL:
                self._save_run()
            else:
                self._run_dirty = True
            self.info = info
            if info:
                text = _json_text(info)
                if text != self._info_text:
                    write_text_stamped(os.path.join(self._dir, "info.json"), text)
                    self._info_text = text

    def _finish(self, **fields: Any) -> None:
        with self._lock:
            if self.run_entry is None:
                return
            self.run_entry.update(fields)
            self._save_run()

    def completed_event(self, stop_time: datetime, result: Any) -> None:
        """Record stop_time, result and status COMPLETED."""
        self._finish(stop_time=_iso(stop_time), result=result, status=COMPLETED)

    def interrupted_event(self, interrupt_time: datetime, status: str) -> None:
        """Record stop_time and the interruption status (INTERRUPTED, TIMEOUT, ...)."""
        self._finish(stop_time=_iso(interrupt_time), status=status)

    def failed_event(self, fail_time: datetime, fail_trace: list[str]) -> None:
        """Record stop_time, status FAILED and the formatted traceback."""
        self._finish(stop_time=_iso(fail_time), status=FAILED, fail_trace=list(fail_trace))

    def resource_event(self, filename: str) -> None:
        """Store the file the run read in _resources (once per content) and list it."""
        with self._lock:
            if self.run_entry is None:
                return
            filename = os.fspath(filename)
            if _is_inside(filename, self._base_abs) and not self.copy_artifacts:
                store_path = filename
            else:
                stored = store_by_content(filename, self._resources_abs)
                # Sacred's spelling: the resource folder as given, then the stored name.
                store_path = os.path.join(os.fspath(self.resource_dir), os.path.basename(stored))
            pair = [filename, store_path]
            if pair not in self.run_entry["resources"]:
                self.run_entry["resources"].append(pair)
                self._save_run()

    def artifact_event(self, name: str, filename: str, metadata: dict | None = None,
                       content_type: str | None = None) -> None:
        """Copy the file into the run folder as `name` (which must stay inside it)."""
        with self._lock:
            if self.run_entry is None:
                return
            relative = safe_relative_name(name)
            if self.copy_artifacts:
                dest = os.path.join(self._dir, relative)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                check_inside(dest, self._dir, "artifact name", name)
                if not _same_file(filename, dest):
                    copy_atomic(os.fspath(filename), dest)
            stored_name = relative.replace(os.sep, "/")
            if stored_name not in self.run_entry["artifacts"]:
                self.run_entry["artifacts"].append(stored_name)
            self._save_run()

    def log_metrics(self, metrics_by_name: dict, info: dict) -> None:
        """Add the new points to metrics.json (rewritten atomically, history not re-encoded)."""
        with self._lock:
            if self._metrics is None:
                return
            if self._metrics.add(metrics_by_name):
                self._metrics.write()

    def join(self) -> None:
        """Write a heartbeat still waiting for run.json (the final event has written it
        already, unless it never came); everything else is written when it happens."""
        with self._lock:
            if self._run_dirty and self.run_entry is not None:
                self._save_run()


def _is_inside(path: str, folder: str) -> bool:
    real_folder = os.path.realpath(folder)
    return os.path.commonpath([real_folder, os.path.realpath(path)]) == real_folder


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


FileStorageOption = ObserverOption(
    short="-F", long="--file_storage", metavar="DIR",
    help="Store each run in a numbered folder inside DIR (Sacred's file-storage layout).",
    factory=FileStorageObserver)


def _stamp(path: str) -> tuple[int, int] | None:
    """(inode, mtime) of `path`: an atomic replace by anyone else changes it."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns
