"""The one thread that serves the captured-output pipes of every capture (Linux, epoll).

A capture (:class:`expt.fd_pipes.FdCapture`) registers its channels here while it runs and takes
their end of file itself: starting and joining a reader thread per capture cost ~0.2 ms, a fifth
of a tiny run. A channel is anything with ``read_fd``, ``owner`` (whose ``lock`` guards reading
and whose ``_ended`` condition hears of a channel's end), ``ended``, ``pull(limit)`` and
``end()``.
"""
from __future__ import annotations

import os
import select
import threading
from typing import Any

READ_SIZE = 65536  # bytes taken from a pipe per wake-up


class SharedReader:
    """One daemon thread copying from the pipes of every capture of the process (epoll).

    A channel's pipe is read only under its capture's lock, and only while it is registered
    here: an event that arrives for a descriptor number after its channel was removed (and
    the number maybe reused) is checked against the current registration, and reads never
    block, so a stale event costs nothing.
    """

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._channels: dict[int, Any] = {}
        self._thread = threading.Thread(target=self._loop, name="expt-output-reader",
                                        daemon=True)
        self._thread.start()

    def add(self, channel: Any) -> None:
        """Serve `channel` (caller holds its capture's lock)."""
        self._channels[channel.read_fd] = channel
        self._epoll.register(channel.read_fd, select.EPOLLIN)

    def remove(self, channel: Any) -> None:
        """Stop serving `channel` (caller holds its capture's lock)."""
        if self._channels.get(channel.read_fd) is channel:
            del self._channels[channel.read_fd]
            try:
                self._epoll.unregister(channel.read_fd)
            except (OSError, ValueError):
                pass

    def _loop(self) -> None:
        while True:
            for fd, _ in self._epoll.poll():
                channel = self._channels.get(fd)
                if channel is not None:
                    try:
                        self._serve(fd, channel)
                    except Exception:  # never let one channel stop the others' reader
                        import logging
                        logging.getLogger("expt").exception("Output capture reader failed.")

    def _serve(self, fd: int, channel: Any) -> None:
        owner = channel.owner
        with owner.lock:
            if self._channels.get(fd) is not channel or channel.ended:
                return  # finished by its capture meanwhile
            try:
                eof = channel.pull(READ_SIZE)
            except OSError:
                eof = True
            if eof:
                self.remove(channel)
                try:
                    channel.end()
                finally:
                    owner._ended.notify_all()


_SHARED: SharedReader | None = None
_SHARED_LOCK = threading.Lock()


def shared_reader() -> SharedReader | None:
    """The process's shared reader (started on first use); None without epoll."""
    global _SHARED
    if (_SHARED is None or not _SHARED._thread.is_alive()) and hasattr(select, "epoll"):
        with _SHARED_LOCK:
            if _SHARED is not None and not _SHARED._thread.is_alive():  # cannot happen, but
                _SHARED = None  # a capture without a reader would block a chatty child
            if _SHARED is None:
                try:
                    _SHARED = SharedReader()
                except (OSError, RuntimeError):  # out of descriptors or threads
                    return None
    return _SHARED


def _forget_shared_reader() -> None:
    """A forked child has no reader thread, and its copy of the epoll descriptor is the
    parent's instance: the child starts its own."""
    global _SHARED, _SHARED_LOCK
    _SHARED_LOCK = threading.Lock()
    if _SHARED is not None:
        try:
            _SHARED._epoll.close()  # the child's descriptor only
        except OSError:
            pass
        _SHARED = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_shared_reader)
