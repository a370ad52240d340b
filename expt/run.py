"""The Run: one execution of a command, from QUEUED/RUNNING to COMPLETED, FAILED or INTERRUPTED."""
from __future__ import annotations

import contextlib
import heapq
import logging
import os
import queue
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from .capture_output import capture_output
from .dispatch import Dispatcher, Lazy
from .errors import ExptError
from .events import COMPLETED, FAILED, INTERRUPTED, QUEUED, RUNNING
from .metrics import MetricsBuffer
from .redact import redact_tree
from .serialize import to_safe

log = logging.getLogger("expt")
_EXPT_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_active_runs: list["Run"] = []  # a stack: a run started inside a run is current until it ends


def current_run() -> "Run | None":
    """The run whose main function is executing now (in any thread), or None."""
    return _active_runs[-1] if _active_runs else None


def utcnow() -> datetime:
    """Naive UTC time, as Sacred stores it."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Run:
    """A single run of an experiment's command; created by ``Experiment.run``."""

    def __init__(self, *, config: dict, config_modifications: Any, main_function: Callable,
                 observers: Sequence[object], experiment_info: dict, host_info: dict,
                 meta_info: dict, command: str, logger: logging.Logger,
                 run_id: Any = None, beat_interval: float = 10.0, capture_mode: str = "no",
                 captured_out_filter: Callable[[str], str] | None = None,
                 pre_run_hooks: Sequence[Callable] = (), post_run_hooks: Sequence[Callable] = (),
                 queue_only: bool = False):
        self._id = run_id
        self.config = config
        self.config_modifications = config_modifications
        self.main_function = main_function
        self.observers = list(observers)
        self.experiment_info = experiment_info
        self.host_info = host_info
        self.meta_info = meta_info
        self.command = command
        self.run_logger = logger
        self.beat_interval = beat_interval
        self.capture_mode = capture_mode
        self.captured_out_filter = captured_out_filter
        self.pre_run_hooks = list(pre_run_hooks)
        self.post_run_hooks = list(post_run_hooks)
        self.queue_only = queue_only
        self.info: dict = {}
        self.result: Any = None
        self.status: str | None = None
        self.start_time: datetime | None = None
        self.stop_time: datetime | None = None
        self.fail_trace: list[str] | None = None
        self._metrics = MetricsBuffer()
        self.log_scalar = self._metrics.log_scalar  # bound directly: the hot path
        self._output = None
        self._resources: set[str] = set()
        self._background: queue.SimpleQueue | None = None  # (name, work), None to stop
        self._background_thread: threading.Thread | None = None  # started by the first work
        self._dispatch = Dispatcher(self.observers)
        self._emit_lock = threading.Lock()
        self._heartbeat: _Heartbeat | None = None

    # -- the user's API ---------------------------------------------------------------------

    def log_scalar(self, name: str, value: Any, step: int | None = None) -> None:
        """Record a metric point; cheap (an append to memory), sent at the next heartbeat."""
        self._metrics.log_scalar(name, value, step)

    def add_artifact(self, filename: str | os.PathLike, name: str | None = None,
                     metadata: dict | None = None, content_type: str | None = None) -> None:
        """Store the file `filename` with the run, as `name` (default: its base name)."""
        filename = os.fspath(filename)
        if not os.path.isfile(filename):
            raise ExptError(f"Cannot add artifact '{filename}': no such file.")
        self._emit("artifact_event", name=name or os.path.basename(filename),
                   filename=os.path.abspath(filename), metadata=to_safe(metadata),
                   content_type=content_type)

    def add_resource(self, filename: str | os.PathLike) -> None:
        """Record that the run used the file `filename` (once per file)."""
        filename = os.path.abspath(os.fspath(filename))
        if not os.path.isfile(filename):
            raise ExptError(f"Cannot add resource '{filename}': no such file.")
        if filename not in self._resources:
            self._resources.add(filename)
            self._emit("resource_event", filename=filename)

    def open_resource(self, filename: str | os.PathLike, mode: str = "r"):
        """Open `filename` for reading and record it as a resource."""
        self.add_resource(filename)
        return open(filename, mode)

    @property
    def captured_out(self) -> str:
        """Everything the run printed so far (filtered)."""
        return "" if self._output is None else self._output.getvalue()

    # -- the lifecycle ----------------------------------------------------------------------

    def __call__(self, *args: Any) -> Any:
        """Run the main function and report every step to the observers; returns its result."""
        if self.queue_only:
            self.status = QUEUED
            self._id = self._dispatch.start(
                "queued_event", ex_info=self.experiment_info, command=self.command,
                host_info=self.host_info, queue_time=utcnow(), config=self._stored_config(),
                meta_info=self.meta_info, _id=self._id)
            self._dispatch.join()
            return None
        self.start_time = utcnow()
        try:
            self._id = self._dispatch.start(
                "started_event", ex_info=self.experiment_info, command=self.command,
                host_info=self.host_info, start_time=self.start_time,
                config=self._stored_config(),
                meta_info=self.meta_info, _id=self._id)
        except BaseException:
            self._dispatch.join()
            raise
        self.status = RUNNING
        self.run_logger.info("Started run %s%s", self._label(), self._locations())
        try:
            with contextlib.ExitStack() as stack:
                self._output = stack.enter_context(
                    capture_output(self.capture_mode, out_filter=self.captured_out_filter))
                self._heartbeat = _Heartbeat(self.beat_interval, self._beat)
                stack.callback(self._heartbeat.stop)
                _active_runs.append(self)
                stack.callback(_active_runs.remove, self)
                stack.callback(self._join_background)  # before the heartbeat stops
                for hook in self.pre_run_hooks:
                    hook()
                self.result = self.main_function(*args)
                for hook in self.post_run_hooks:
                    hook()
        except BaseException as exc:
            self._finish_abnormally(exc)
            raise
        else:
            self._finish(COMPLETED, "completed_event", stop_time=self.stop_time,
                         result=to_safe(self.result))
        finally:
            self._dispatch.join()
        return self.result

    def run_in_background(self, work: Callable[[], None], name: str = "background") -> None:
        """Run `work` in the run's background thread, beside the main function and after the
        work given before it (so a later write of the same artifact wins); the run ends only
        after all of it.

        For recording work that need not delay training (rendering a plot, writing a model).
        An error in `work` is logged; it does not fail the run.
        """
        if self._background is None:
            self._background = queue.SimpleQueue()
            self._background_thread = threading.Thread(
                target=self._work_in_background, args=(self._background,),
                name="expt-background", daemon=True)
            self._background_thread.start()
        self._background.put((name, work))

    def _work_in_background(self, works: queue.SimpleQueue) -> None:
        while (item := works.get()) is not None:
            self._do_background(*item)

    def _do_background(self, name: str, work: Callable[[], None]) -> None:
        try:
            work()
        except Exception:
            log.exception("Background work '%s' of run %s failed.", name, self._label())

    def _join_background(self) -> None:
        if self._background is None or self._background_thread is None:
            return
        self._background.put(None)
        self._background_thread.join()
        while not self._background.empty():  # given by background work after the stop
            item = self._background.get()
            if item is not None:
                self._do_background(*item)

    def _label(self) -> str:
        return "(unobserved)" if self._id is None else str(self._id)

    def _locations(self) -> str:
        """' -> runs/3' for observers that store the run in a folder (Sacred's ``dir``)."""
        folders = [str(o.dir) for o in self.observers if isinstance(getattr(o, "dir", None), str)]
        return " -> " + ", ".join(folders) if folders else ""

    def _stored_config(self) -> dict:
        """The config as observers store it: JSON-safe, credentials in URLs masked."""
        return redact_tree(to_safe(self.config))

    def _finish_abnormally(self, exc: BaseException) -> None:
        status = getattr(exc, "STATUS", None)
        if isinstance(exc, KeyboardInterrupt) or status:
            self._finish(status or INTERRUPTED, "interrupted_event", status=status or INTERRUPTED)
        else:
            self.fail_trace = format_user_traceback(exc)
            self._finish(FAILED, "failed_event", fail_trace=self.fail_trace)

    def _finish(self, final_status: str, event: str, **kwargs: Any) -> None:
        self.stop_time = utcnow()
        self.status = final_status
        try:
            self._beat()  # the last metric points and output before the final event
        finally:
            time_arg = {"completed_event": "stop_time", "failed_event": "fail_time",
                        "interrupted_event": "interrupt_time"}[event]
            kwargs[time_arg] = self.stop_time
            self._emit(event, **kwargs)
            elapsed = (self.stop_time - self.start_time).total_seconds()
            level = logging.INFO if final_status == COMPLETED else logging.WARNING
            self.run_logger.log(level, "Run %s %s after %.1f s", self._label(),
                                final_status.lower(), elapsed)

    def _beat(self) -> None:
        """Send new metric points, new output, info and result to the observers."""
        metrics = self._metrics.drain()
        delta = self._output.read_new() if self._output is not None else ""
        with self._emit_lock:
            if metrics:
                self._dispatch.emit("log_metrics", metrics_by_name=metrics, info=self.info)
            self._dispatch.emit("heartbeat_event", info=self._safe_info(),
                                captured_out=Lazy(lambda: self.captured_out),
                                output_delta=delta, beat_time=utcnow(),
                                result=to_safe(self.result))

    def _safe_info(self) -> dict:
        """A JSON-safe copy of ``info``, taken while the main thread may be changing it."""
        for _ in range(3):
            try:
                return to_safe(dict(self.info))
            except RuntimeError:  # "dictionary changed size during iteration" in a nested dict
                continue
        return to_safe(dict(self.info))

    def _emit(self, event: str, **kwargs: Any) -> None:
        with self._emit_lock:
            self._dispatch.emit(event, **kwargs)


class _Heartbeat:
    """Calls `beat` every `interval` seconds (the first one `interval` after the start) until
    stopped; once :meth:`stop` returns, no beat is running and none will start.

    All heartbeats of a process share one daemon thread (started with the first run): starting
    a thread per run, and joining it at the end, cost ~0.15 ms, a tenth of a tiny run.
    """

    __slots__ = ("_interval", "_beat", "_stopped", "_running", "_owner")

    def __init__(self, interval: float, beat: Callable[[], None]):
        self._interval = interval
        self._beat = beat
        self._stopped = False
        self._running = False  # the shared thread is calling beat() now
        self._owner = _beats  # after a fork, the child's scheduler is another one
        self._owner.add(self)

    def stop(self) -> None:
        self._owner.remove(self)


class _BeatScheduler:
    """The thread behind every :class:`_Heartbeat`: beats due soonest first, one at a time."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._due: list[tuple[float, int, _Heartbeat]] = []  # a heap
        self._count = 0  # ties in due time go in order of scheduling
        self._thread: threading.Thread | None = None
        # When the thread will look at the heap next (inf: only when notified). A beat due
        # later needs no wake-up: in a sweep of short runs, each run's first beat is due after
        # the previous one's, so starting a run wakes no thread (a wake-up costs ~0.1 ms).
        self._wake_at = float("inf")

    def add(self, hb: _Heartbeat) -> None:
        with self._cond:
            self._push(hb, time.monotonic() + hb._interval)
            if self._thread is None or not self._thread.is_alive():  # first, or killed
                self._thread = threading.Thread(target=self._loop, name="expt-heartbeat",
                                                daemon=True)
                self._thread.start()

    def _push(self, hb: _Heartbeat, due: float) -> None:
        self._count += 1
        heapq.heappush(self._due, (due, self._count, hb))
        if due < self._wake_at:  # sooner than the thread will look
            self._wake_at = due
            self._cond.notify_all()

    def remove(self, hb: _Heartbeat) -> None:
        with self._cond:
            hb._stopped = True
            self._due = [entry for entry in self._due if entry[2] is not hb]
            heapq.heapify(self._due)  # a few runs at most: rebuilding is cheap
            thread = self._thread
            if thread is not threading.current_thread():  # not from inside beat() itself
                while hb._running and thread.is_alive():
                    self._cond.wait(0.1)

    def _loop(self) -> None:
        cond = self._cond
        while True:
            with cond:
                while True:
                    if not self._due:
                        self._wake_at = float("inf")
                        cond.wait()
                        continue
                    due = self._due[0][0]
                    wait = due - time.monotonic()
                    if wait > 0:
                        self._wake_at = due
                        cond.wait(wait)
                        continue
                    hb = heapq.heappop(self._due)[2]
                    hb._running = True
                    self._wake_at = float("-inf")  # busy: it looks at the heap after the beat
                    break
            try:
                hb._beat()
            except Exception:  # a heartbeat must never kill the run
                log.exception("Heartbeat failed.")
            finally:
                with cond:
                    hb._running = False
                    if not hb._stopped:  # the next beat `interval` after this one ended
                        self._push(hb, time.monotonic() + hb._interval)
                    cond.notify_all()  # a stop() may be waiting for this beat to end


_beats = _BeatScheduler()


def _reset_after_fork() -> None:
    """A forked child has no heartbeat thread: its runs get a new scheduler, and a heartbeat
    of the parent's stops at once (the child's copy of its scheduler has no thread)."""
    global _beats
    _beats = _BeatScheduler()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def format_user_traceback(exc: BaseException) -> list[str]:
    """The traceback of `exc` without the frames inside expt itself."""
    import traceback  # only failing runs need it

    tb = exc.__traceback__
    frames = [f for f in traceback.extract_tb(tb) if not f.filename.startswith(_EXPT_DIR)]
    lines = ["Traceback (most recent call last):\n"]
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    return lines
