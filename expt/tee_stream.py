"""TeeStream: a stand-in for ``sys.stdout``/``sys.stderr`` that writes on and records the text.

A tee writes every string to its target (the previous stream, or in fd mode a writer on the
original descriptor) and pushes it to the capture's record.  Captures nest, so a tee's target
may itself be a tee; :func:`final_fd` and :func:`rebase` look through such chains.
"""
from __future__ import annotations

import codecs
import io
from time import perf_counter  # bound locally: TeeStream.write is the hot path
from typing import Any, Callable

# fd mode: a Python-level write after this many seconds without one first drains the pipes
# (a drain with nothing to read costs ~5-10 us: at most a few percent of writes this sparse).
SYNC_GAP = 0.0002  # far longer than a print, shorter than subprocess.run (0.9 ms here)


def discard(text: str) -> None:
    """Where the writes of a closed capture go."""


class NullStream(io.TextIOBase):
    """The target when there is no stream at all (``sys.stdout is None`` under pythonw)."""

    def write(self, s: str) -> int:
        return len(s)


class TeeStream:
    """Stands in for ``sys.stdout``/``sys.stderr``: writes to ``target`` and records the text.

    ``orig`` is the stream it replaces; ``fileno()``, ``encoding`` and other attributes answer
    as it does, and ``isatty()`` gives its answer from before the capture started.  ``sync``
    (fd mode) has ``last_write`` and ``drain()``: the pipes to drain after a pause.
    """

    def __init__(self, orig: Any, target: Any, push: Callable[[str], Any], isatty: bool,
                 sync: Any = None):
        self._orig = orig
        self._target = target if target is not None else NullStream()
        self._push = push
        self._isatty = isatty
        self._sync = sync
        self._buffer: _TeeBuffer | None = None

    def write(self, s: str) -> int:
        """Record ``s`` and write it to the target."""
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        sync = self._sync
        if sync is not None:
            # After a pause (a subprocess.run, a C call, a sleep) first record what arrived
            # through the descriptors meanwhile, so it lands before this text.
            now = perf_counter()
            if now - sync.last_write > SYNC_GAP:
                sync.last_write = now  # first, so a print from a signal handler won't drain
                sync.drain()
            sync.last_write = now
        self._push(s)  # before writing, so text is recorded even if the terminal is gone
        return self._target.write(s)

    def writelines(self, lines: Any) -> None:
        """Write each string of ``lines``."""
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Flush the target."""
        self._target.flush()

    def isatty(self) -> bool:
        """Whether the replaced stream was a terminal (so progress bars and colours stay)."""
        return self._isatty

    def fileno(self) -> int:
        """The replaced stream's descriptor (in fd mode: the capturing pipe)."""
        if self._orig is None:
            raise io.UnsupportedOperation("fileno")
        return self._orig.fileno()

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return bool(getattr(self._target, "closed", False))

    @property
    def encoding(self) -> str:
        return getattr(self._orig, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str:
        return getattr(self._orig, "errors", None) or "strict"

    @property
    def buffer(self) -> "_TeeBuffer":
        """A binary view whose writes are recorded too (decoded with ``encoding``)."""
        if self._buffer is None:
            getattr(self._target, "buffer")  # AttributeError if the target has none
            self._buffer = _TeeBuffer(self)
        return self._buffer

    def detach(self) -> None:
        """Stop recording: from now on writes go straight to the replaced stream.

        For references to the tee kept after the capture ended (or in a forked child).
        """
        self._sync = None
        self._push = discard
        self._target = self._orig if self._orig is not None else NullStream()
        self._buffer = None

    def _record(self, s: str) -> None:
        """Record without writing (used by streams that stand in front of this one)."""
        self._push(s)

    def __getattr__(self, name: str) -> Any:
        orig = self.__dict__.get("_orig")
        if orig is None:
            raise AttributeError(name)
        return getattr(orig, name)


class _TeeBuffer:
    """``TeeStream.buffer``: binary writes go to the target's buffer and are recorded."""

    def __init__(self, tee: TeeStream):
        self._tee = tee
        self._decoder = codecs.getincrementaldecoder(tee.encoding)(errors="replace")

    def write(self, data: Any) -> int:
        n = self._tee._target.buffer.write(data)
        text = self._decoder.decode(bytes(data))
        if text:
            self._tee._push(text)
        return n

    def flush(self) -> None:
        self._tee._target.buffer.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tee._target.buffer, name)


def final_fd(stream: Any) -> int | None:
    """The descriptor that writing to ``stream`` finally reaches (through tees), if known."""
    while isinstance(stream, TeeStream):
        stream = stream._target
    try:
        return stream.fileno()
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return None


def rebase(stream: Any, writer: Any) -> Any:
    """A stream doing what ``stream`` does, except that its final writes go to ``writer``.

    Outer tees are copied with their ``_record`` (not their push function), so the copies
    stop recording when the outer capture ends.
    """
    if isinstance(stream, TeeStream):
        return TeeStream(stream._orig, rebase(stream._target, writer), stream._record,
                         stream._isatty)
    return writer
