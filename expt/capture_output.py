"""Recording everything a run prints while the terminal keeps showing exactly the same thing.

Modes (``capture_output(mode)``):

``"no"``
    Nothing is recorded.
``"sys"``
    ``sys.stdout``/``sys.stderr`` become :class:`TeeStream` objects that write to the previous
    stream and record the text.  Logging handlers that hold the previous stream (a
    ``StreamHandler`` made before the run) are pointed at the tee for the run and back
    afterwards.  Not recorded: output written below Python (C extensions, child processes,
    ``os.write(1, ...)``) and writes to stream objects kept elsewhere (``sys.__stdout__``).
``"fd"`` (POSIX default)
    Everything of ``"sys"``, and file descriptors 1 and 2 are moved onto pipes: a reader thread
    (on Linux one for the whole process, kept between runs; one per pipe on Windows) copies
    what arrives to the original destination and records it,
    so C-level
    output, child processes (``subprocess.run(["echo", "x"])``), forked ``multiprocessing``
    workers and streams held elsewhere are recorded too.  Python-level text goes through the
    tee straight to the original destination (not through the pipe), so its order is exact.
    Descriptor-level text joins the record when a reader gets it, whole lines only, and a
    line that arrives while Python-level text is mid-line (between ``print``'s text and its
    newline, or during a ``\\r`` progress bar) waits for that line to end, so lines are never
    spliced; its place among Python-level lines is its arrival time.  At exit every Python and
    C buffer is flushed, the descriptors are restored and the readers drained, so no line is
    lost.  A child still running after the run keeps its output going to the terminal (the
    interpreter's exit waits up to ``LINGER_AT_EXIT`` seconds for it); after ``drain_timeout``
    seconds it is no longer recorded.  Python-level text written after a pause of more than
    0.2 ms first takes in what the pipes hold, so the output of ``subprocess.run(...)`` is
    recorded before the next ``print``; within a tight loop, descriptor-level text is placed
    by its arrival time.  Programs below Python see a pipe, not a terminal (``isatty(1)`` is
    false for them); Python code still sees the terminal's answer.

Captures nest (a run inside a run records into both) and must end in the reverse order of
their start; everything is restored on exit, also on exceptions and ``KeyboardInterrupt``
(a Ctrl-C arriving while streams are being switched is delivered right after).

:class:`CapturedOutput` is what the context gives: ``read_new()`` for heartbeats (new
completed lines), ``getvalue()`` for the whole output so far, both filtered by the run's
output filter (see :mod:`expt.output_filter`).

This module holds the modes, the record and the context manager; the stand-ins for
``sys.stdout``/``sys.stderr`` are in :mod:`expt.tee_stream`, fd mode's pipes and reader
threads in :mod:`expt.fd_pipes`.
"""
from __future__ import annotations

import collections
import os
import sys
import threading
import weakref
from contextlib import contextmanager
from typing import Any, Iterator, TextIO

from .errors import UserInputError, did_you_mean, suggest
from .fd_pipes import (LINGER_AT_EXIT, Channel, FdCapture, FdText, flush_c_stdio,
                       open_saved_writer)
from .output_filter import FilterSpec, apply_backspaces_and_linefeeds, make_filter
from .tee_stream import TeeStream, discard, final_fd, rebase

__all__ = ["CAPTURE_MODES", "DEFAULT_MODE", "LINGER_AT_EXIT", "CaptureModeError", "CapturedOutput",
           "TeeStream", "capture_output", "check_mode", "flush_c_stdio"]

CAPTURE_MODES = ("no", "sys", "fd")
DEFAULT_MODE = "sys" if os.name == "nt" else "fd"


class CaptureModeError(UserInputError, ValueError):
    """An output capture mode that does not exist."""

    def __init__(self, mode: object):
        import difflib  # only this error needs it: keep it out of `import expt`
        self.mode = mode
        self.valid = list(CAPTURE_MODES)
        name = str(mode).lower()
        self.suggestions = suggest(name, CAPTURE_MODES) or difflib.get_close_matches(
            name, CAPTURE_MODES, n=1, cutoff=0.4)
        super().__init__(
            f"Unknown capture mode '{mode}'.{did_you_mean(self.suggestions)} "
            f"Valid modes: {', '.join(CAPTURE_MODES)}."
        )


def check_mode(mode: str) -> str:
    """Return ``mode`` if it is a valid capture mode, else raise :class:`CaptureModeError`."""
    if mode not in CAPTURE_MODES:
        raise CaptureModeError(mode)
    return mode


class CapturedOutput:
    """The recorded output of one capture; safe to read from another thread while it grows."""

    def __init__(self, mode: str, out_filter: FilterSpec = apply_backspaces_and_linefeeds):
        self.mode = mode
        self.closed = False
        self._chunks: collections.deque[str] = collections.deque()
        # Writers call this: deque.append is atomic, so writing never waits for a reader.
        self.push = self._chunks.append
        self._filter = make_filter(out_filter)
        self._lock = threading.Lock()
        self._done: list[str] = []     # filtered text that is final
        self._unread: list[str] = []   # the part of it read_new() has not returned yet
        self._mid_line = False         # Python-level text has an unfinished line
        self._held: list[str] = []     # descriptor lines waiting for that line to end
        self.fd_pushed = 0             # descriptor-level chunks pushed (counted before each)
        self._fd_seen = 0

    def read_new(self) -> str:
        """The completed, filtered lines since the previous call (all that is left once closed)."""
        with self._lock:
            self._pump()
            new = "".join(self._unread)
            self._unread.clear()
            return new

    def getvalue(self) -> str:
        """The whole filtered output so far, including how the unfinished line looks now."""
        with self._lock:
            self._pump()
            if len(self._done) > 1:
                self._done[:] = ["".join(self._done)]
            return (self._done[0] if self._done else "") + self._filter.pending

    def _pump(self) -> None:
        """Move the raw chunks written so far through the filter (lock held).

        A descriptor-level line that arrives while Python-level text is in the middle of a
        line (between ``print``'s text and its ``"\\n"``) waits for that line to end, so the
        reader thread's timing never splices two lines into one.
        """
        chunks = self._chunks
        count = len(chunks)
        if not count:
            return
        items = [chunks.popleft() for _ in range(count)]
        fd_pushed = self.fd_pushed  # read after popping: counted before each is pushed
        if fd_pushed == self._fd_seen and not self._held:
            # Fast path, Python-level text only.
            for chunk in reversed(items):
                if chunk:
                    self._mid_line = chunk[-1] != "\n"
                    break
            self._emit(self._filter.feed("".join(items)))
            return
        self._fd_seen = fd_pushed
        parts, held, mid = [], self._held, self._mid_line
        for chunk in items:
            if type(chunk) is FdText:
                (held if mid else parts).append(chunk)
            elif chunk:
                mid = chunk[-1] != "\n"
                cut = chunk.rfind("\n") + 1 if held else 0
                if cut:  # the held lines go right after the line end
                    parts += [chunk[:cut], *held, chunk[cut:]]
                    held.clear()
                else:
                    parts.append(chunk)
        self._mid_line = mid
        self._emit(self._filter.feed("".join(parts)))

    def _emit(self, out: str) -> None:
        if out:
            self._done.append(out)
            self._unread.append(out)

    def _close(self) -> None:
        """Stop recording and end the unfinished line (held descriptor lines go before it)."""
        with self._lock:
            self.push = discard
            self._pump()
            last = self._filter.flush()
            if self._held:
                self._emit(self._filter.feed("".join(self._held)) + self._filter.flush())
                self._held.clear()
            self._emit(last)
            self.closed = True


def _flush(*streams: Any) -> None:
    """Flush each stream that is still usable."""
    for stream in streams:
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError, AttributeError):
            pass  # closed or broken streams have nothing we could save


def _stream_handlers() -> list[Any]:
    """Every logging StreamHandler attached to a logger (only if logging is in use)."""
    logging = sys.modules.get("logging")
    if logging is None:
        return []
    loggers = [logging.getLogger()] + [
        lg for lg in list(logging.Logger.manager.loggerDict.values())
        if isinstance(lg, logging.Logger)]
    seen: dict[int, Any] = {}
    for lg in loggers:
        for handler in list(lg.handlers):
            if isinstance(handler, logging.StreamHandler):
                seen[id(handler)] = handler
    return list(seen.values())


def _retarget_handlers(mapping: dict[int, Any]) -> None:
    """Point StreamHandlers whose stream is a key (by id) of ``mapping`` at its value."""
    for handler in _stream_handlers():
        new = mapping.get(id(handler.stream))
        if new is not None:
            handler.setStream(new)


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold back Ctrl-C while streams are switched; deliver it right after."""
    # The C module: `signal.signal` converts numbers and handlers to enums and back, ~3 µs a
    # call, four calls per run. Handlers get the plain number, as when the kernel calls them.
    import _signal
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    try:
        previous = _signal.signal(_signal.SIGINT, lambda signum, frame: received.append(signum))
    except (ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        _signal.signal(_signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(_signal.SIGINT, None)
            elif previous == _signal.SIG_DFL:
                raise KeyboardInterrupt


_ACTIVE: "weakref.WeakSet[_Capture]" = weakref.WeakSet()
_FORK_HOOK_SET = False


def _after_fork_in_child() -> None:
    """A forked child (multiprocessing) writes through its inherited descriptors instead, which
    an fd-mode capture of the parent records; its copy of the parent's record is unused."""
    for capture in list(_ACTIVE):
        for tee in capture._tees:
            tee.detach()  # the reader thread (and maybe its lock) did not come along


class _Capture:
    """The context manager returned by :func:`capture_output`."""

    def __init__(self, mode: str, out_filter: FilterSpec, drain_timeout: float):
        self.mode = check_mode(mode)
        self.out_filter = out_filter
        self.drain_timeout = drain_timeout
        self._tees: list[TeeStream] = []
        self._fds: FdCapture | None = None
        self._saved_writers: list[TextIO] = []
        self._captured: CapturedOutput | None = None

    def __enter__(self) -> CapturedOutput:
        captured = self._captured = CapturedOutput(self.mode, self.out_filter)
        if self.mode == "no":
            return captured
        prev_out, prev_err = sys.stdout, sys.stderr
        _flush(prev_out, prev_err, sys.__stdout__, sys.__stderr__)
        ttys = [_isatty(prev_out), _isatty(prev_err)]
        with _sigint_deferred():
            try:
                targets = [prev_out, prev_err]
                if self.mode == "fd":
                    targets = self._start_fd(prev_out, prev_err)
                # Tees append straight to the record (the hot path); _stop() cuts them off.
                fds = self._fds
                sync = fds if fds is not None and fds.can_drain else None
                out = TeeStream(prev_out, targets[0], captured.push, ttys[0], sync)
                err = TeeStream(prev_err, targets[1], captured.push, ttys[1], sync)
                self._tees = [out, err]
                sys.stdout, sys.stderr = out, err
                _retarget_handlers({id(prev_out): out, id(prev_err): err})
                _ACTIVE.add(self)
            except BaseException:
                self._stop()
                raise
        return captured

    def _push_from_fd(self, text: str) -> None:
        """Record descriptor-level text (a no-op once the capture is closed)."""
        captured = self._captured
        captured.fd_pushed += 1  # before the push, so _pump() never misses it
        captured.push(text)

    def _start_fd(self, prev_out: Any, prev_err: Any) -> list[Any]:
        """Move descriptors 1 and 2 onto pipes; return the streams the tees write to."""
        global _FORK_HOOK_SET
        flush_c_stdio()
        compress = self.out_filter is apply_backspaces_and_linefeeds
        targets: list[Any] = []
        channels: list[Channel] = []
        try:
            for fd, prev in ((1, prev_out), (2, prev_err)):
                encoding = getattr(prev, "encoding", None) or "utf-8"
                try:
                    channel = Channel(fd, self._push_from_fd, encoding, compress)
                except OSError as exc:  # descriptor not open (e.g. pythonw): sys-level only
                    import warnings
                    warnings.warn(f"expt: cannot capture file descriptor {fd} ({exc}); "
                                  "recording Python-level output only", RuntimeWarning)
                    targets.append(prev)
                    continue
                channels.append(channel)
                if final_fd(prev) == fd:  # Python-level text bypasses the pipe: exact order
                    writer = open_saved_writer(channel.saved, prev)
                    self._saved_writers.append(writer)
                    targets.append(rebase(prev, writer))
                else:  # writing to prev does not reach fd: keep it as it is
                    targets.append(prev)
            if channels:
                self._fds = FdCapture(channels)
        except BaseException:
            if self._fds is None:
                for channel in channels:
                    channel.discard()
            raise
        if not _FORK_HOOK_SET and hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork_in_child)
            _FORK_HOOK_SET = True
        return targets

    def __exit__(self, *exc_info: Any) -> None:
        if self.mode != "no":
            # Buffers that write into the descriptors go first (fd mode: into the pipes).
            # The tees' own targets are flushed after the pipes are drained, in _stop().
            _flush(*(tee._orig for tee in self._tees), sys.__stdout__, sys.__stderr__)
            if self._fds is not None:
                flush_c_stdio()
            with _sigint_deferred():
                self._stop()
        self._captured._close()

    def _stop(self) -> None:
        """Restore streams, handlers and descriptors; wait for the readers."""
        _ACTIVE.discard(self)
        for tee in self._tees:
            tee._sync = None  # no more draining: the pipes are about to close
        if self._tees:
            out, err = self._tees
            _retarget_handlers({id(out): out._orig, id(err): err._orig})
            if sys.stdout is out:
                sys.stdout = out._orig
            if sys.stderr is err:
                sys.stderr = err._orig
        # Descriptor-level output first: it is already on its way, while Python-level text
        # may still sit in a buffer, to be written after it (as without capture).
        if self._fds is not None:
            self._fds.restore()
            self._fds.finish(self.drain_timeout)
        for tee in self._tees:  # stale references now write straight through
            _flush(tee._target)
            tee.detach()
        for writer in self._saved_writers:
            _flush(writer)
        if self._fds is not None:
            self._fds.release_saved()
            self._fds = None
        self._saved_writers.clear()


def _isatty(stream: Any) -> bool:
    """``stream.isatty()``, False where it cannot answer."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def capture_output(mode: str = DEFAULT_MODE, *, out_filter: FilterSpec = apply_backspaces_and_linefeeds,
                   drain_timeout: float = 1.0) -> _Capture:
    """Record what is printed inside the ``with`` block; the block gets a :class:`CapturedOutput`.

    ``mode`` is one of :data:`CAPTURE_MODES` (see the module docstring); ``out_filter`` as in
    :func:`expt.output_filter.make_filter`; ``drain_timeout`` is how long the exit waits for
    child processes that still hold the captured descriptors (fd mode).
    """
    return _Capture(mode, out_filter, drain_timeout)
