"""metrics.json grown by splicing: new points are inserted, history is copied by the kernel.

Sacred's layout is ``{name: {"steps": [...], "timestamps": [...], "values": [...]}}``: three
arrays per metric, so new points belong in the middle of the file and cannot simply be appended.
Sacred re-reads, re-parses and re-encodes the whole file at every heartbeat (seconds per
heartbeat once a run holds a million points).

Here the file is still replaced atomically at each write (readers see the old file or the new
one), but the new file is built from the old one: the bytes between insertion points are copied
with ``os.copy_file_range`` (inside the kernel, never parsed or held in Python), and only the
new points are encoded, once. The observer remembers where each array ends in the current file,
so the cost per heartbeat is encoding the new points plus a kernel copy of the file, and memory
stays constant however long the run. New metrics are added after the existing ones (JSON readers
do not care about key order; Sacred sorts them).
"""
from __future__ import annotations

import json
import os
from typing import Any, Iterable

from expt.errors import ObserverError
from expt.serialize import to_json_safe

from .paths import remove_quietly, tmp_name

FIELDS = ("steps", "timestamps", "values")  # Sacred's order (sorted)
_COPY_CHUNK = 1 << 20


def _iso(t: Any) -> Any:
    return t.isoformat() if hasattr(t, "isoformat") else t


def _encode_items(items: Iterable[Any]) -> bytes:
    """The JSON of the items without the brackets: ``1, 2, 3``."""
    items = list(items)
    try:  # plain numbers and strings, the usual case, need no conversion pass
        text = json.dumps(items)
    except TypeError:
        text = json.dumps(to_json_safe(items))
    return text[1:-1].encode("utf-8")


def _copy_range(src: int, dst: int, start: int, length: int) -> None:
    """Copy `length` bytes at `start` of `src` to the current end of `dst`."""
    offset = start
    end = start + length
    if hasattr(os, "copy_file_range"):
        try:
            while offset < end:
                copied = os.copy_file_range(src, dst, end - offset, offset)
                if copied == 0:
                    break
                offset += copied
        except OSError:  # file systems or kernels without it: fall back to read/write
            pass
    while offset < end:
        chunk = os.pread(src, min(_COPY_CHUNK, end - offset), offset)
        if not chunk:
            raise OSError(f"metrics.json shrank while being copied (at byte {offset})")
        os.write(dst, chunk)
        offset += len(chunk)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class MetricsFile:
    """The metrics of one run in `path`, grown in place of being rewritten from memory.

    ``add`` encodes new points and keeps them pending; ``write`` makes the file hold them.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self.points = 0
        # Per metric and field: offset of the array's closing ']' in the file on disk, and
        # whether the array already holds items (then new items need a ', ' first).
        self._ends: dict[str, dict[str, int]] = {}
        self._filled: dict[str, dict[str, bool]] = {}
        self._close = 0  # offset of the final "\n}" (where new metrics go)
        self._pending: dict[str, dict[str, list[bytes]]] = {}

    def add(self, metrics_by_name: dict) -> int:
        """Encode and keep the new points of each metric; returns how many were added."""
        added = 0
        for name, series in metrics_by_name.items():
            values = list(series.get("values", ()))
            if not values:
                continue
            new = {"steps": series.get("steps", ()), "values": values,
                   "timestamps": (_iso(t) for t in series.get("timestamps", ()))}
            pending = self._pending.setdefault(str(name), {f: [] for f in FIELDS})
            for field in FIELDS:
                encoded = _encode_items(new[field])
                if encoded:
                    pending[field].append(encoded)
            added += len(values)
        self.points += added
        return added

    def write(self) -> None:
        """Replace the file atomically with one that also holds the pending points."""
        if not self._pending and os.path.exists(self.path):
            return
        tmp = tmp_name(self.path)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                if self._ends:
                    ends, filled, close = self._splice(fd)
                else:
                    ends, filled, close = self._write_fresh(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except BaseException:
            remove_quietly(tmp)
            raise
        self._ends, self._filled, self._close = ends, filled, close
        self._pending = {}

    # ------------------------------------------------------------------------------ writing
    def _block(self, name: str, first: bool, start: int, ends: dict, filled: dict) -> bytes:
        """The text of a new metric's object, recording where its arrays end."""
        out = bytearray(b"\n  " if first else b",\n  ")
        out += json.dumps(name).encode("utf-8") + b": {"
        ends[name], filled[name] = {}, {}
        for j, field in enumerate(FIELDS):
            out += (b',\n    "' if j else b'\n    "') + field.encode("ascii") + b'": ['
            out += b", ".join(self._pending[name][field])
            ends[name][field] = start + len(out)
            filled[name][field] = bool(self._pending[name][field])
            out += b"]"
        out += b"\n  }"
        return bytes(out)

    def _write_fresh(self, fd: int) -> tuple[dict, dict, int]:
        ends: dict = {}
        filled: dict = {}
        out = bytearray(b"{")
        for i, name in enumerate(sorted(self._pending)):
            out += self._block(name, i == 0, len(out), ends, filled)
        close = len(out)
        out += b"\n}" if ends else b"}"
        _write_all(fd, bytes(out))
        return ends, filled, close

    def _splice(self, fd: int) -> tuple[dict, dict, int]:
        """Copy the old file with the pending items inserted before each array's ']'."""
        # Every array end moves by what is inserted before it, so walk all of them in order.
        points = sorted((offset, name, field) for name, fields in self._ends.items()
                        for field, offset in fields.items())
        ends: dict = {name: {} for name in self._ends}
        filled = {name: dict(fields) for name, fields in self._filled.items()}
        src = os.open(self.path, os.O_RDONLY)
        try:
            self._check_unchanged(src, points)
            cursor = shift = 0  # shift: bytes inserted so far
            for offset, name, field in points:
                fragments = self._pending.get(name, {}).get(field)
                if fragments:
                    _copy_range(src, fd, cursor, offset - cursor)
                    data = b", ".join(fragments)
                    if filled[name][field]:
                        data = b", " + data
                    _write_all(fd, data)
                    shift += len(data)
                    filled[name][field] = True
                    cursor = offset
                ends[name][field] = offset + shift
            _copy_range(src, fd, cursor, self._close - cursor)
            written = self._close + shift
            blocks = bytearray()
            for name in sorted(n for n in self._pending if n not in self._ends):
                blocks += self._block(name, False, written + len(blocks), ends, filled)
            _write_all(fd, bytes(blocks) + b"\n}")
        finally:
            os.close(src)
        return ends, filled, written + len(blocks)

    def _check_unchanged(self, src: int, points: list) -> None:
        """Refuse to splice a file that something else has changed since our last write."""
        size = os.fstat(src).st_size
        if size != self._close + 2 or any(os.pread(src, 1, offset) != b"]"
                                          for offset, _, _ in points):
            raise ObserverError(
                f"{self.path} was changed by another program while the run was writing it; "
                "new metric points cannot be added safely. Keep other programs from writing "
                "into the run folder.")

    def encode(self) -> bytes:
        """The current file's bytes (for tests and tools)."""
        with open(self.path, "rb") as f:
            return f.read()
