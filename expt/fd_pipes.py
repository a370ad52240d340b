"""File descriptors 1 and 2 moved onto pipes, with reader threads that copy and record (fd mode).

A :class:`Channel` is one descriptor moved onto a pipe: what arrives is forwarded to the
original destination and recorded as :class:`FdText` (whole lines only).  :class:`FdCapture`
serves the channels with one reader thread (one per pipe on Windows, where pipes cannot be
``select()``-ed) and lets Python-level writes :meth:`~FdCapture.drain` the pipes first.

Where ``epoll`` exists (Linux), the reader is one thread for the whole process, serving the
pipes of every capture (:mod:`expt.pipe_reader`): a capture registers its pipes, and at its
end takes what they hold itself.
"""
from __future__ import annotations

import codecs
import io
import os
import _thread
import threading
import time
from typing import Any, Callable, TextIO

from .output_filter import apply_backspaces_and_linefeeds
from .pipe_reader import READ_SIZE, SharedReader, shared_reader

LINGER_AT_EXIT = 2.0  # seconds the interpreter's exit waits for readers of straggling children
_READ_SIZE = READ_SIZE
# A child's unfinished line longer than this has its \r and \b applied (a progress bar).
_COMPRESS_AT = 65536


class FdText(str):
    """Text that arrived through a file descriptor (whole lines), as opposed to Python writes."""

    __slots__ = ()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class Channel:
    """One descriptor moved onto a pipe: what arrives is copied to the original destination
    (``saved``) and recorded."""

    def __init__(self, fd: int, push: Callable[[str], Any], encoding: str, compress: bool):
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
        self.owner: "FdCapture | None" = None  # whose lock guards reading the pipe

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
            self._push(FdText(text[:cut]))
        self._rest = text[cut:]
        if self._compress and len(self._rest) > _COMPRESS_AT and (
                "\r" in self._rest or "\b" in self._rest):
            # A child's progress bar redrawing without a newline: keep one copy
            # (exact, as the filter composes: f(f(a) + b) == f(a + b)).
            self._rest = apply_backspaces_and_linefeeds(self._rest)

    def pull(self, limit: int) -> bool:
        """Take what the (non-blocking) pipe holds, up to ``limit`` bytes; True at end of file."""
        taken = 0
        while taken < limit and not self.ended:
            try:
                data = os.read(self.read_fd, _READ_SIZE)
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
            self._push(FdText(rest))
        self.ended = True
        os.close(self.read_fd)
        self.release_saved()


def _serve_blocking(channel: Channel) -> None:
    """Reader thread for one pipe (Windows, where pipes cannot be select()ed)."""
    try:
        while data := os.read(channel.read_fd, _READ_SIZE):
            channel.take(data)
    except OSError:
        pass
    channel.end()


class FdCapture:
    """Descriptors moved onto pipes, served by one reader thread (one per pipe on Windows).

    The reader and :meth:`drain` take data out of the pipes under one lock, so what
    :meth:`drain` leaves behind was recorded in the order it was written.  ``can_drain`` is
    false on Windows (blocking pipes): there, descriptor text is placed by arrival time only.
    """

    def __init__(self, channels: list[Channel]):
        self.channels = channels
        # Reentrant: a signal handler that prints may interrupt drain() in the main thread.
        self.lock = threading.RLock()
        self._ended = threading.Condition(self.lock)  # notified when a channel ends
        self._draining = False
        self.last_write = time.perf_counter()
        self.can_drain = os.name != "nt"
        self._shared: SharedReader | None = None
        self._threads: list[_Reader] = []
        if self.can_drain:
            for channel in channels:
                os.set_blocking(channel.read_fd, False)
                channel.owner = self
            self._shared = shared_reader()
            if self._shared is not None:
                for channel in channels:
                    self._shared.add(channel)
            else:
                self._threads = [_Reader(self._serve)]
        else:
            self._threads = [_Reader(_serve_blocking, c) for c in channels]
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
                            eof = key.data.pull(_READ_SIZE)
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
        if self._shared is not None:
            # The end of file that follows is taken by finish(), not the shared reader: it
            # need not wake up for it.
            with self.lock:
                for channel in self.channels:
                    self._shared.remove(channel)
        for channel in self.channels:
            channel.restore()

    def finish(self, timeout: float) -> None:
        """Wait until everything written before :meth:`restore` is recorded."""
        if self._shared is not None:
            self._finish_shared(timeout)
            return
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

    def _finish_shared(self, timeout: float) -> None:
        """Take what the pipes hold up to their end of file; if a child process still holds
        one, the shared reader serves it again and this waits up to `timeout` for it."""
        with self.lock:
            pending = []
            for channel in self.channels:
                if channel.ended:
                    continue
                try:
                    eof = channel.pull(1 << 24)
                except OSError:  # the descriptor broke: nothing more to read
                    eof = True
                if eof:
                    channel.end()
                else:
                    pending.append(channel)
            if not pending:
                return
            for channel in pending:
                self._shared.add(channel)
            if not self._ended.wait_for(lambda: all(c.ended for c in pending), timeout):
                for channel in self.channels:  # as with a reader thread, see finish()
                    channel.capturing = False
                _linger([self])

    def join(self, timeout: float) -> None:
        """Wait up to `timeout` seconds until every channel reached its end of file."""
        with self.lock:
            self._ended.wait_for(lambda: all(c.ended for c in self.channels), timeout)

    def release_saved(self) -> None:
        """The Python-level writers on the saved descriptors are done with them."""
        for channel in self.channels:
            channel.release_saved()


class _Reader:
    """A daemon thread running ``target(*args)``, started without waiting for it to run.

    ``threading.Thread.start()`` waits until the new thread has been scheduled, 0.1-0.2 ms
    per capture here, a tenth of a tiny run; nothing here needs the reader running before
    the descriptors are redirected (the pipe holds what is written meanwhile). Its lock is
    held while the thread runs: ``join`` waits for it.
    """

    __slots__ = ("_running",)

    def __init__(self, target: Callable[..., Any], *args: Any):
        self._running = _thread.allocate_lock()
        self._running.acquire()
        try:
            _thread.start_new_thread(self._run, (target, args))
        except BaseException:  # the caller discards the channels
            self._running.release()
            raise

    def _run(self, target: Callable[..., Any], args: tuple) -> None:
        try:
            target(*args)
        finally:
            self._running.release()

    def join(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for the thread to end."""
        if self._running.acquire(timeout=timeout) if timeout > 0 else self._running.acquire(False):
            self._running.release()

    def is_alive(self) -> bool:
        return self._running.locked()


_LINGERING: list[Any] = []


def _linger(threads: list[Any]) -> None:
    """Let readers still forwarding a child's output finish before the interpreter exits."""
    if not _LINGERING:
        import atexit
        atexit.register(_join_lingering)
    _LINGERING.extend(threads)


def _join_lingering() -> None:
    deadline = time.monotonic() + LINGER_AT_EXIT
    for thread in _LINGERING:
        thread.join(max(0.0, deadline - time.monotonic()))


def open_saved_writer(saved_fd: int, like: Any) -> TextIO:
    """A text stream on the saved original descriptor, buffered like the stream ``like``."""
    unbuffered = isinstance(getattr(like, "buffer", None), io.RawIOBase)  # python -u
    return io.TextIOWrapper(open(saved_fd, "wb", buffering=0 if unbuffered else -1, closefd=False),
                            encoding=getattr(like, "encoding", None) or "utf-8",
                            errors=getattr(like, "errors", None) or "strict",
                            line_buffering=bool(getattr(like, "line_buffering", False)),
                            write_through=bool(getattr(like, "write_through", False)))


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
