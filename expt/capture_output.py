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
    (one per pipe on Windows) copies what arrives to the original destination and records it,
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
    1 ms first takes in what the pipes hold, so the output of ``subprocess.run(...)`` is
    recorded before the next ``print``; within a tight loop, descriptor-level text is placed
    by its arrival time.  Programs below Python see a pipe, not a terminal (``isatty(1)`` is
    false for them); Python code still sees the terminal's answer.

Captures nest (a run inside a run records into both) and must end in the reverse order of
their start; everything is restored on exit, also on exceptions and ``KeyboardInterrupt``
(a Ctrl-C arriving while streams are being switched is delivered right after).

:class:`CapturedOutput` is what the context gives: ``read_new()`` for heartbeats (new
completed lines), ``getvalue()`` for the whole output so far, both filtered by the run's
output filter (see :mod:`expt.output_filter`).
"""
from __future__ import annotations

import codecs
import collections
import difflib
import io
import os
import sys
import threading
import time
import weakref
from time import perf_counter as _perf_counter
from contextlib import contextmanager
from typing import Any, Iterator, TextIO

from .errors import UserInputError, did_you_mean, suggest
from .output_filter import FilterSpec, apply_backspaces_and_linefeeds, make_filter

CAPTURE_MODES = ("no", "sys", "fd")
DEFAULT_MODE = "sys" if os.name == "nt" else "fd"
# fd mode: a Python-level write after this many seconds without one first drains the pipes.
_SYNC_GAP = 0.001


class CaptureModeError(UserInputError, ValueError):
    """An output capture mode that does not exist."""

    def __init__(self, mode: object):
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


def _discard(text: str) -> None:
    """Where a closed capture's writes go."""


class _FdText(str):
    """Text that arrived through a file descriptor (whole lines), as opposed to Python writes."""

    __slots__ = ()


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
            if type(chunk) is _FdText:
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
            self.push = _discard
            self._pump()
            last = self._filter.flush()
            if self._held:
                self._emit(self._filter.feed("".join(self._held)) + self._filter.flush())
                self._held.clear()
            self._emit(last)
            self.closed = True


class _NullStream(io.TextIOBase):
    """The target when there is no stream at all (``sys.stdout is None`` under pythonw)."""

    def write(self, s: str) -> int:
        return len(s)


class TeeStream:
    """Stands in for ``sys.stdout``/``sys.stderr``: writes to ``target`` and records the text.

    ``orig`` is the stream it replaces; ``fileno()``, ``encoding`` and other attributes answer
    as it does, and ``isatty()`` gives its answer from before the capture started.
    """

    def __init__(self, orig: Any, target: Any, push: Any, isatty: bool, sync: Any = None):
        self._orig = orig
        self._target = target if target is not None else _NullStream()
        self._push = push
        self._isatty = isatty
        self._sync = sync  # fd mode: the _FdCapture whose pipes to drain after a pause
        self._buffer: _TeeBuffer | None = None

    def write(self, s: str) -> int:
        """Record ``s`` and write it to the target."""
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        sync = self._sync
        if sync is not None:
            # After a pause (a subprocess.run, a C call, a sleep) first record what arrived
            # through the descriptors meanwhile, so it lands before this text.
            now = _perf_counter()
            if now - sync.last_write > _SYNC_GAP:
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


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class _Channel:
    """One descriptor moved onto a pipe: what arrives is copied to the original destination
    (``saved``) and recorded."""

    def __init__(self, fd: int, push: Any, encoding: str, compress: bool):
        self.fd = fd
        self.saved = os.dup(fd)  # the original destination
        try:
            self.read_fd, self._write_fd = os.pipe()
        except OSError:
            os.close(self.saved)
            raise
        self.capturing = True
        self.ended = False
        self._push = push
        self._compress = compress
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._forward = True
        self._rest = ""
        # `saved` is used by the reader and by the Python-level writer; the last one closes it.
        self._saved_users = 2
        self._saved_lock = threading.Lock()

    def discard(self) -> None:
        """Close everything of a channel that was never served."""
        for fd in (self._write_fd, self.read_fd, self.saved):
            os.close(fd)

    def redirect(self) -> None:
        """From here on, writes to ``fd`` go into the pipe."""
        os.dup2(self._write_fd, self.fd)
        os.close(self._write_fd)

    def restore(self) -> None:
        """Point ``fd`` back at the original destination (closing our pipe's write end)."""
        os.dup2(self.saved, self.fd)

    def release_saved(self) -> None:
        """One user of the saved descriptor is done with it; the last one closes it."""
        with self._saved_lock:
            self._saved_users -= 1
            if self._saved_users == 0:
                os.close(self.saved)

    def take(self, data: bytes) -> None:
        """Forward and record bytes read from the pipe (reader thread)."""
        if self._forward:
            try:
                _write_all(self.saved, data)
            except OSError:  # destination gone (closed pipe): keep recording
                self._forward = False
        text = self._rest + self._decoder.decode(data)
        # Hand over whole lines only, so that a line arriving in several reads is not split
        # by Python-level text recorded in between.
        cut = text.rfind("\n") + 1
        if cut and self.capturing:
            self._push(_FdText(text[:cut]))
        self._rest = text[cut:]
        if self._compress and len(self._rest) > 65536 and (
                "\r" in self._rest or "\b" in self._rest):
            # A child's progress bar redrawing without a newline: keep one copy
            # (exact, as the filter composes: f(f(a) + b) == f(a + b)).
            self._rest = apply_backspaces_and_linefeeds(self._rest)

    def pull(self, limit: int) -> bool:
        """Take what the (non-blocking) pipe holds, up to ``limit`` bytes; True at end of file."""
        taken = 0
        while taken < limit and not self.ended:
            try:
                data = os.read(self.read_fd, 65536)
            except BlockingIOError:
                return False
            if not data:
                return True
            self.take(data)
            taken += len(data)
        return False

    def end(self) -> None:
        """End of file: record the rest and close our descriptors (reader thread)."""
        rest = self._rest + self._decoder.decode(b"", final=True)
        if rest and self.capturing:
            self._push(_FdText(rest))
        self.ended = True
        os.close(self.read_fd)
        self.release_saved()


def _serve_blocking(channel: _Channel) -> None:
    """Reader thread for one pipe (Windows, where pipes cannot be select()ed)."""
    try:
        while data := os.read(channel.read_fd, 65536):
            channel.take(data)
    except OSError:
        pass
    channel.end()


class _FdCapture:
    """Descriptors moved onto pipes, served by one reader thread (one per pipe on Windows).

    The reader and :meth:`drain` take data out of the pipes under one lock, so what
    :meth:`drain` leaves behind was recorded in the order it was written.
    """

    def __init__(self, channels: list[_Channel]):
        self.channels = channels
        # Reentrant: a signal handler that prints may interrupt drain() in the main thread.
        self.lock = threading.RLock()
        self._draining = False
        self.last_write = time.perf_counter()
        if os.name == "nt":
            self._threads = [threading.Thread(target=_serve_blocking, args=(c,), daemon=True,
                                              name="expt-capture-fd") for c in channels]
            self.drain = None
        else:
            for channel in channels:
                os.set_blocking(channel.read_fd, False)
            self._threads = [threading.Thread(target=self._serve, daemon=True,
                                              name="expt-capture-fd")]
        for thread in self._threads:  # if this fails, the caller discards the channels
            thread.start()
        for channel in channels:
            channel.redirect()

    def _serve(self) -> None:
        """Reader thread: copy from the pipes until each reaches end of file."""
        import selectors
        with selectors.DefaultSelector() as selector:
            for channel in self.channels:
                selector.register(channel.read_fd, selectors.EVENT_READ, channel)
            while selector.get_map():
                for key, _ in selector.select():
                    with self.lock:
                        try:
                            eof = key.data.pull(65536)
                        except OSError:  # the descriptor broke: nothing more to read
                            eof = True
                        if eof:
                            selector.unregister(key.fd)
                            key.data.end()

    def drain(self) -> None:
        """Record what the pipes hold now, before Python-level text that comes after it.

        Called by a tee write after a pause in Python-level output (a child process may
        have run meanwhile); bounded so a child writing non-stop cannot hold it up.
        """
        with self.lock:
            if self._draining:  # re-entered from a signal handler: the outer call drains
                return
            self._draining = True
            try:
                for channel in self.channels:
                    try:
                        channel.pull(1 << 20)
                    except OSError:
                        pass
            finally:
                self._draining = False

    def restore(self) -> None:
        """Point every descriptor back at its original destination."""
        for channel in self.channels:
            channel.restore()

    def finish(self, timeout: float) -> None:
        """Wait until everything written before :meth:`restore` is recorded."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in self._threads):
            # A child process still holds a pipe.  The reader has consumed what we wrote
            # (it reads in order and has had `timeout` seconds); it keeps forwarding to the
            # terminal but records no more, and the interpreter's exit waits a little for it.
            for channel in self.channels:
                channel.capturing = False
            _linger(self._threads)

    def release_saved(self) -> None:
        for channel in self.channels:
            channel.release_saved()


_LINGERING: list[threading.Thread] = []
LINGER_AT_EXIT = 2.0  # seconds the interpreter's exit waits for readers of straggling children


def _linger(threads: list[threading.Thread]) -> None:
    """Let readers still forwarding a child's output finish before the interpreter exits."""
    if not _LINGERING:
        import atexit
        atexit.register(_join_lingering)
    _LINGERING.extend(threads)


def _join_lingering() -> None:
    deadline = time.monotonic() + LINGER_AT_EXIT
    for thread in _LINGERING:
        thread.join(max(0.0, deadline - time.monotonic()))


_LIBC: Any = None


def flush_c_stdio() -> None:
    """Flush the C library's stdio buffers (``printf`` from extensions), where possible."""
    global _LIBC
    if os.name == "nt":
        return
    try:
        if _LIBC is None:
            import ctypes
            _LIBC = ctypes.CDLL(None)
        _LIBC.fflush(None)
    except (OSError, AttributeError, ImportError):
        pass


def _flush(*streams: Any) -> None:
    for stream in streams:
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError, AttributeError):
            pass  # closed or broken streams have nothing we could save


def _final_fd(stream: Any) -> int | None:
    """The descriptor that writing to ``stream`` finally reaches, if known."""
    while isinstance(stream, TeeStream):
        stream = stream._target
    try:
        return stream.fileno()
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return None


def _rebase(stream: Any, writer: Any) -> Any:
    """A stream doing what ``stream`` does, except that its final writes go to ``writer``."""
    if isinstance(stream, TeeStream):
        return TeeStream(stream._orig, _rebase(stream._target, writer), stream._record,
                         stream._isatty)
    return writer


def _open_saved(saved_fd: int, like: Any) -> TextIO:
    """A text stream on the saved original descriptor, buffered like the stream it replaces."""
    unbuffered = isinstance(getattr(like, "buffer", None), io.RawIOBase)  # python -u
    return io.TextIOWrapper(open(saved_fd, "wb", buffering=0 if unbuffered else -1, closefd=False),
                            encoding=getattr(like, "encoding", None) or "utf-8",
                            errors=getattr(like, "errors", None) or "strict",
                            line_buffering=bool(getattr(like, "line_buffering", False)),
                            write_through=bool(getattr(like, "write_through", False)))


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
    import signal
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    except (ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(signal.SIGINT, None)
            elif previous == signal.SIG_DFL:
                raise KeyboardInterrupt


_ACTIVE: "weakref.WeakSet[_Capture]" = weakref.WeakSet()
_FORK_HOOK_SET = False


def _after_fork_in_child() -> None:
    """A forked child (multiprocessing) writes through its inherited descriptors instead, which
    an fd-mode capture of the parent records; its copy of the parent's record is unused."""
    for capture in list(_ACTIVE):
        for tee, prev in capture._tees:
            tee._sync = None  # the reader thread (and maybe its lock) did not come along
            tee._push = _discard
            tee._target = prev if prev is not None else _NullStream()


class _Capture:
    """The context manager returned by :func:`capture_output`."""

    def __init__(self, mode: str, out_filter: FilterSpec, drain_timeout: float):
        self.mode = check_mode(mode)
        self.out_filter = out_filter
        self.drain_timeout = drain_timeout
        self._tees: list[tuple[TeeStream, Any]] = []
        self._fds: _FdCapture | None = None
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
                sync = self._fds if self._fds is not None and self._fds.drain else None
                out = TeeStream(prev_out, targets[0], captured.push, ttys[0], sync)
                err = TeeStream(prev_err, targets[1], captured.push, ttys[1], sync)
                self._tees = [(out, prev_out), (err, prev_err)]
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
        global _FORK_HOOK_SET
        flush_c_stdio()
        targets, channels = [], []
        try:
            self._open_channels(prev_out, prev_err, targets, channels)
            if channels:
                self._fds = _FdCapture(channels)
        except BaseException:
            if self._fds is None:
                for channel in channels:
                    channel.discard()
            raise
        if not _FORK_HOOK_SET and hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork_in_child)
            _FORK_HOOK_SET = True
        return targets

    def _open_channels(self, prev_out: Any, prev_err: Any, targets: list, channels: list) -> None:
        compress = self.out_filter is apply_backspaces_and_linefeeds
        for fd, prev in ((1, prev_out), (2, prev_err)):
            encoding = getattr(prev, "encoding", None) or "utf-8"
            try:
                channel = _Channel(fd, self._push_from_fd, encoding, compress)
            except OSError as exc:  # descriptor not open (e.g. pythonw): sys-level only
                import warnings
                warnings.warn(f"expt: cannot capture file descriptor {fd} ({exc}); "
                              "recording Python-level output only", RuntimeWarning)
                targets.append(prev)
                continue
            channels.append(channel)
            if _final_fd(prev) == fd:
                writer = _open_saved(channel.saved, prev)
                self._saved_writers.append(writer)
                targets.append(_rebase(prev, writer))
            else:  # writing to prev does not reach fd: keep it as it is
                targets.append(prev)

    def __exit__(self, *exc_info: Any) -> None:
        if self.mode != "no":
            # Buffers that write into the descriptors go first (fd mode: into the pipes).
            # The tees' own targets are flushed after the pipes are drained, in _stop().
            _flush(*(prev for _, prev in self._tees), sys.__stdout__, sys.__stderr__)
            if self._fds is not None:
                flush_c_stdio()
            with _sigint_deferred():
                self._stop()
        self._captured._close()

    def _stop(self) -> None:
        """Restore streams, handlers and descriptors; wait for the readers."""
        _ACTIVE.discard(self)
        for tee, _ in self._tees:
            tee._sync = None  # no more draining: the pipes are about to close
        if self._tees:
            (out, prev_out), (err, prev_err) = self._tees
            _retarget_handlers({id(out): prev_out, id(err): prev_err})
            if sys.stdout is out:
                sys.stdout = prev_out
            if sys.stderr is err:
                sys.stderr = prev_err
        # Descriptor-level output first: it is already on its way, while Python-level text
        # may still sit in a buffer, to be written after it (as without capture).
        if self._fds is not None:
            self._fds.restore()
            self._fds.finish(self.drain_timeout)
        for tee, prev in self._tees:  # stale references now write straight through
            _flush(tee._target)
            tee._push = _discard
            tee._target = prev if prev is not None else _NullStream()
            tee._buffer = None
        for writer in self._saved_writers:
            _flush(writer)
        if self._fds is not None:
            self._fds.release_saved()
            self._fds = None
        self._saved_writers.clear()


def _isatty(stream: Any) -> bool:
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
