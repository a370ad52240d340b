"""metrics.json written incrementally: each point is serialized once, when it arrives.

Sacred's layout is ``{name: {"steps": [...], "timestamps": [...], "values": [...]}}``, three
arrays per metric, so new points belong in the middle of the file and cannot simply be appended.
Sacred re-reads, re-parses and re-serializes the whole file at every heartbeat. Here each series
is kept as already-encoded JSON fragments (bytes), new points are encoded once, and the file is
rewritten atomically by concatenating the fragments: a heartbeat costs the encoding of the new
points plus a plain write of the file's bytes, with no parsing and no re-encoding of history.
The price is memory: the encoded text of every point stays in memory for the run (about 60
bytes per point, less than the Python objects would take).
"""
from __future__ import annotations

import json
import os
from typing import Any, Iterable, Iterator

from expt.serialize import to_json_safe

from .paths import write_bytes_atomic

FIELDS = ("steps", "timestamps", "values")  # sorted, as Sacred writes them
_MAX_FRAGMENTS = 64  # merge fragments beyond this, so a long run keeps few large pieces


def _iso(t: Any) -> Any:
    return t.isoformat() if hasattr(t, "isoformat") else t


def _encode_items(items: Iterable[Any]) -> bytes:
    """The JSON of the items, without the brackets: ``1, 2, 3``."""
    text = json.dumps(to_json_safe(list(items)))
    return text[1:-1].encode("utf-8")


class MetricsFile:
    """The metrics of one run, kept as encoded JSON fragments and written to `path` on demand."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self._series: dict[str, dict[str, list[bytes]]] = {}
        self.points = 0

    def add(self, metrics_by_name: dict) -> int:
        """Add the new points of each metric; returns how many points were added."""
        added = 0
        for name, series in metrics_by_name.items():
            values = list(series.get("values", ()))
            if not values:
                continue
            fields = self._series.setdefault(str(name), {f: [] for f in FIELDS})
            new = {
                "steps": series.get("steps", ()),
                "timestamps": (_iso(t) for t in series.get("timestamps", ())),
                "values": values,
            }
            for field in FIELDS:
                encoded = _encode_items(new[field])
                if encoded:
                    fragments = fields[field]
                    fragments.append(encoded)
                    if len(fragments) > _MAX_FRAGMENTS:
                        fields[field] = [b", ".join(fragments)]
            added += len(values)
        self.points += added
        return added

    def encode(self) -> bytes:
        """The whole file's JSON text."""
        return b"".join(self._pieces())

    def _pieces(self) -> Iterator[bytes]:
        """The file's text in pieces, so writing it copies no history in memory."""
        yield b"{"
        for i, name in enumerate(sorted(self._series)):
            fields = self._series[name]
            yield b",\n  " if i else b"\n  "
            yield json.dumps(name).encode("utf-8") + b": {"
            for j, field in enumerate(FIELDS):
                yield (b',\n    "' if j else b'\n    "') + field.encode("ascii") + b'": ['
                for k, fragment in enumerate(fields[field]):
                    if k:
                        yield b", "
                    yield fragment
                yield b"]"
            yield b"\n  }"
        yield b"\n}" if self._series else b"}"

    def write(self) -> None:
        """Replace the file atomically with the current series."""
        write_bytes_atomic(self.path, self._pieces())
