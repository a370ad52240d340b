"""The background writer: the only thread that talks to MongoDB once a run has started.

Event methods append ops to an in-memory queue and return at once, so the training (and the
heartbeat) thread never waits on the database. The writer applies the ops in order; when the
server is away it keeps the op at the head of the queue and retries with a growing pause (up to
``retry_max`` seconds), so nothing is lost while the server restarts. At the end, :meth:`close`
waits a bounded time for the queue to drain and returns whatever is left for the journal.

While the server stays unreachable for more than ``spill_after`` seconds, the writer also
appends the queued ops to the journal (``spill``) as they arrive, so even a process killed
while offline leaves its records on disk (ops are idempotent: journaling an op that is applied
later does no harm).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any, Callable

from . import ops as ops_mod

log = logging.getLogger("observers.mongo")
COALESCE_WINDOW = 256  # how far ahead ops are merged (the scan holds the queue lock)


def _fold(earlier: dict, later: dict) -> dict | None:
    """One ``$set`` equivalent to `earlier` then `later`, or None if they cannot be merged."""
    kept = {}
    for k1, v1 in earlier.items():
        if any(k2.startswith(k1 + ".") for k2 in later):
            return None  # `later` changes part of what `earlier` sets
        if not any(k1.startswith(k2 + ".") for k2 in later):
            kept[k1] = v1  # (else `later` replaces the whole parent of k1)
    kept.update(later)
    return kept


# Server answers that no retry can change: bad documents or updates, missing rights.
_PERMANENT_CODES = {2, 9, 13, 14, 18, 40, 52, 55, 56, 66, 10334, 17419, 16755}


def is_retryable(exc: BaseException) -> bool:
    """Errors after which the same op may succeed later: network trouble, failover, restart,
    and server-side failures other than a rejected document or missing rights."""
    from pymongo.errors import (ConfigurationError, DocumentTooLarge, InvalidOperation,
                                OperationFailure, PyMongoError)
    from bson.errors import InvalidDocument

    if not isinstance(exc, PyMongoError) or isinstance(
            exc, (DocumentTooLarge, InvalidDocument, ConfigurationError, InvalidOperation)):
        return False
    if isinstance(exc, OperationFailure):
        return exc.code not in _PERMANENT_CODES
    return True


class Writer:
    """Applies queued ops to `db` in order, retrying while the server is unreachable."""

    def __init__(self, db, names: ops_mod.Names, *, run_uuid: str, run_id: Any,
                 retry_max: float = 5.0, on_state: Callable[[str, BaseException | None], None]
                 = lambda state, exc: None,
                 spill: Callable[[list[list], Any], None] | None = None,
                 spill_after: float = 2.0, offline_since: float | None = None):
        self.db, self.names, self.run_uuid = db, names, run_uuid
        self.run_id = run_id                  # None until a queued "run" op allocates it
        self.bind_ids = run_id is None        # ops hold ops.RUN_ID placeholders
        self.retry_max = retry_max
        self.on_state = on_state  # ("offline"|"online"|"dropped"|"caught_up", error)
        # offline_since: the time.monotonic() the server was found unreachable before the
        # writer started (its first write timed out in the observer's started_event)
        self.offline = offline_since is not None
        self.spill, self.spill_after = spill, spill_after
        self._offline_since = offline_since or 0.0
        self._journaled = 0                   # ops (by sequence number) already spilled
        self.applied = 0
        self.dropped: list[tuple[list, BaseException]] = []
        self._queue: deque[list] = deque()
        self._cv = threading.Condition()
        self._closing = False
        self._abort = False
        self._busy = False
        self._thread = threading.Thread(target=self._loop, name="expt-mongo-writer", daemon=True)
        self._thread.start()

    def submit(self, new_ops: list[list]) -> None:
        """Queue ops; never blocks on the database."""
        if not new_ops:
            return
        with self._cv:
            self._queue.extend(new_ops)
            self._cv.notify()

    def pending(self) -> int:
        with self._cv:
            return len(self._queue) + self._busy

    def _loop(self) -> None:
        pause = 0.1
        while True:
            with self._cv:
                while not self._queue and not self._closing:
                    self._cv.wait()
                if self._abort or not self._queue:
                    return
                if self._journaled <= self.applied and len(self._queue) > 1:
                    self._coalesce()
                op = self._queue[0]
                self._busy = True
            try:
                self._apply(op)
            except Exception as exc:  # noqa: BLE001 - every failure is handled here
                if is_retryable(exc):
                    with self._cv:
                        self._busy = False
                    if not self.offline:
                        self.offline = True
                        self._offline_since = time.monotonic()
                        self.on_state("offline", exc)
                    if self.spill and time.monotonic() - self._offline_since >= self.spill_after:
                        self._spill()
                    with self._cv:
                        if not self._abort:
                            self._cv.wait(pause)
                    pause = min(pause * 2, self.retry_max)
                    continue
                log.error("MongoObserver: dropping a write that cannot succeed: %s", exc)
                self.dropped.append((op, exc))
                self.on_state("dropped", exc)
            with self._cv:
                self._busy = False
                if self._queue and self._queue[0] is op:
                    self._queue.popleft()
                self.applied += 1
                caught_up = 0 < self._journaled <= self.applied
                if caught_up:
                    self._journaled = 0
            if caught_up:  # everything journaled is in the database now
                self.on_state("caught_up", None)
            pause = 0.1
            if self.offline:
                self.offline = False
                self.on_state("online", None)

    def _coalesce(self) -> None:
        """Merge queued ops while the writer is behind (after an outage, or a slow server):
        chained pushes to one metric document become one push, and a run-document ``$set``
        is folded into the next ``$set`` of that document (applied later, never earlier).
        Called with the lock held, only when no queued op has been journaled."""
        q = self._queue
        while len(q) > 1:
            head = q[0]
            if head[0] == "push":
                _, coll, _id, size, arrays = head
                merged = {k: list(v) for k, v in arrays.items()}
                expected, gone = size + len(arrays["steps"]), []
                for i in range(1, min(len(q), COALESCE_WINDOW)):
                    op = q[i]
                    if op[0] == "push" and op[2] == _id:
                        if op[3] != expected:
                            break
                        for k, v in op[4].items():
                            merged[k].extend(v)
                        expected += len(op[4]["steps"])
                        gone.append(i)
                if gone:
                    for i in reversed(gone):
                        del q[i]
                    q[0] = ["push", coll, _id, size, merged]
                    self.applied += len(gone)
                return
            if head[0] != "set" or head[1] != self.names.runs:
                return
            later = self._next_set(head)
            if later is None:
                return
            fields = _fold(head[3], q[later][3])
            if fields is None:
                return
            q[later] = ["set", head[1], head[2], fields]
            q.popleft()
            self.applied += 1

    def _next_set(self, head: list) -> int | None:
        q = self._queue
        for i in range(1, min(len(q), COALESCE_WINDOW)):
            op = q[i]
            if op[0] == "set" and op[1] == head[1] and op[2] == head[2]:
                return i
            if op[0] == "run" or (op[0] == "dedup" and op[4] and op[4][0] == head[1]):
                return None  # another write to the run document: keep the order
        return None

    def _spill(self) -> None:
        with self._cv:
            skip = max(self._journaled - self.applied, 0)
            items = list(self._queue)[skip:]
            self._journaled = self.applied + len(self._queue)
        if items:
            try:
                self.spill(items, self.run_id)
            except OSError as exc:  # a full disk must not stop the retries
                log.error("MongoObserver: could not write the journal: %s", exc)

    def _apply(self, op: list) -> None:
        from pymongo.errors import InvalidDocument

        run_id = self.run_id if self.bind_ids else None
        try:
            new_id = ops_mod.apply(self.db, self.names, op, run_id, self.run_uuid)
        except InvalidDocument:
            from .documents import bson_safe  # an odd value in info/result: store its repr

            new_id = ops_mod.apply(self.db, self.names, bson_safe(op), run_id, self.run_uuid)
        if new_id is not None:
            self.run_id = new_id

    def close(self, timeout: float, offline_grace: float) -> list[list]:
        """Wait until the queue is empty (at most `timeout` s; while the server is unreachable,
        only until it has been so for `offline_grace` s: a server away all run long is not
        waited for again); stop the thread and return the ops not applied, in order."""
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        deadline = time.monotonic() + timeout
        while self._thread.is_alive() and time.monotonic() < deadline:
            if self.offline and time.monotonic() - self._offline_since > offline_grace:
                break
            self._thread.join(0.05)
        with self._cv:
            self._abort = True
            self._cv.notify_all()
        # Online: wait for the op being written (bounded by the client's timeouts). Offline,
        # that attempt can only time out: its op goes to the journal with the rest (ops are
        # idempotent) and the process does not wait for it.
        self._thread.join(0.2 if self.offline else None)
        with self._cv:
            left = list(self._queue)
            self._queue.clear()
        return left
