"""Git state reused across runs in one process while the working tree is unchanged.

``git status`` and ``git diff`` cost several milliseconds per run; a process that starts many
runs (a sweep, a notebook) would pay them every time. Like git's own index check, this compares
the ``stat`` of every tracked file and of their folders (a new untracked file changes its
folder's mtime) plus HEAD, the index and the branch's ref: when none changed, the git state
cannot have changed either. Repositories with more tracked files than MAX_TRACKED_FILES are not
cached.

Where the kernel offers it (Linux inotify), from a process's second run on, those folders and
the git folder are also watched from before the stamps are taken: while no event arrived,
nothing could have changed, and a run costs one non-blocking ``read`` instead of ~200 ``stat``
calls (0.3 ms). An event only sends the next run back to the stat comparison (and, if a stamp
differs, to git), which watches anew.

Racy stamps, as git calls them: a file changed within the same clock tick as it was stamped,
with the same size, keeps its stamp. A stamp whose ctime is within RACY_MARGIN of the moment
the stamps were taken (or git started) is therefore never trusted to prove "unchanged": git
runs again instead.

The first run of a process does not wait for git either: :func:`prefetch`, called when the
experiment is defined, starts ``git status`` in the background while the script goes on
(imports, config, command line), and the run takes that answer if it starts within
PREFETCH_MAX_AGE seconds, HEAD and the index are unchanged, and no tracked file or folder
changed (by its ctime) since git started.
"""
from __future__ import annotations

import os
import subprocess
import threading
import time
from typing import Any, NamedTuple

from .gitinfo import GitInfoJob, find_repo_root, get_git_info, start_git_info

MAX_TRACKED_FILES = 5000
PREFETCH_MAX_AGE = 2.0
RACY_MARGIN = 0.05  # seconds; file times come from a clock that may lag by a tick (1-10 ms)


class _Entry(NamedTuple):
    ref_stamp: tuple          # HEAD, index, packed-refs and the branch's ref file
    watched: list[str]        # tracked files, then their folders
    folders: list[str]
    tree_stamp: tuple
    trusted: bool             # no stamp was racy: equal stamps prove "unchanged"
    info: dict | None
    watch: "_TreeWatch | None"


# repository root -> (time started, wall time started, ref stamp then, git status job,
#                     git ls-files process)
_prefetched: dict[str, tuple[float, float, tuple, GitInfoJob, subprocess.Popen | None]] = {}

# repository root -> the last answer and what proves it still holds
_cache: dict[str, _Entry] = {}


def prefetch(path: str) -> None:
    """Start reading the repository of `path` in the background, for the next run."""
    root = find_repo_root(path)
    if root is not None and root not in _cache and root not in _prefetched:
        _prefetched[root] = (time.monotonic(), time.time(), _stamps(_ref_paths(root)),
                             start_git_info(path), _start_ls_files(root))


def cached_git_info(path: str) -> dict | None:
    """:func:`expt.gitinfo.get_git_info` for `path`, reused while nothing git sees changed."""
    root = find_repo_root(path)
    if root is None:
        return None
    cached = _cache.get(root)
    if cached is not None and cached.watch is not None and not cached.watch.changed():
        return cached.info  # watched since before git looked: nothing changed since
    ref_paths = _ref_paths(root)
    ref_stamp = _stamps(ref_paths)
    listed = None
    pending = _prefetched.pop(root, None)
    if pending is not None:
        info, listed = _take_prefetched(root, pending, ref_paths, ref_stamp)
        if info is not _UNUSABLE:
            return info
    if listed is not None:  # the prefetch's listing, current as the ref stamp is unchanged
        watched, folders = listed
    elif cached is not None and cached.ref_stamp == ref_stamp:
        watched, folders = cached.watched, cached.folders
    else:
        watched, folders = _tracked_paths(root)
    # The watch starts before the stamps are taken, and these before git looks. Only from a
    # process's second run on: a single run would pay for it (~1 ms) and never use it.
    watch = (_TreeWatch.start(root, folders, ref_paths)
             if watched is not None and cached is not None else None)
    stamped_at = time.time()
    tree_stamp = _stamps(watched) if watched is not None else None  # before git looks
    if (cached is not None and cached.trusted and cached.ref_stamp == ref_stamp
            and tree_stamp is not None and tree_stamp == cached.tree_stamp):
        info = cached.info
    else:
        info = get_git_info(path)
    if cached is not None and cached.watch is not None:
        cached.watch.close()
    if watched is not None:
        trusted = not _racy(tree_stamp + ref_stamp, stamped_at)
        _cache[root] = _Entry(ref_stamp, watched, folders, tree_stamp, trusted, info, watch)
    elif watch is not None:
        watch.close()
    return info


_UNUSABLE = object()


def _take_prefetched(root: str, pending: tuple, ref_paths: list[str],
                     ref_stamp: tuple) -> tuple[Any, tuple[list[str], list[str]] | None]:
    """(the prefetched answer if it still holds, else _UNUSABLE; the prefetched listing of
    tracked files and folders, if still current)."""
    started, started_wall, stamp, job, ls_files = pending
    if stamp == ref_stamp and time.monotonic() - started < PREFETCH_MAX_AGE:
        info = job.result()
        watched, folders = _read_ls_files(root, ls_files)
        if watched is None:  # too many files to check: the prefetched answer as it is
            return info, None
        tree_stamp = _stamps(watched)  # the next run compares them, and starts a watch
        # Anything changed since git started has a newer ctime: then git is asked again.
        if not _racy(tree_stamp + ref_stamp, started_wall):
            _cache[root] = _Entry(ref_stamp, watched, folders, tree_stamp, True, info, None)
            return info, None
        return _UNUSABLE, (watched, folders)
    job.cancel()
    if ls_files is not None:
        ls_files.kill()
        ls_files.communicate()
    return _UNUSABLE, None


def _git_dir(root: str) -> str:
    """The git folder of the work tree at `root` (``.git``, or where a ``.git`` file points)."""
    dot_git = os.path.join(root, ".git")
    if os.path.isfile(dot_git):  # a worktree or submodule: "gitdir: <path>"
        try:
            with open(dot_git, encoding="utf-8", errors="replace") as f:
                line = f.readline().strip()
        except OSError:
            return dot_git
        if line.startswith("gitdir:"):
            return os.path.normpath(os.path.join(root, line[7:].strip()))
    return dot_git


def _ref_paths(root: str) -> list[str]:
    """HEAD, the index, packed-refs and the file of the branch HEAD names (a commit, reset
    or checkout changes one of them)."""
    git_dir = _git_dir(root)
    common = git_dir
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as f:
            common = os.path.normpath(os.path.join(git_dir, f.read().strip()))
    except OSError:
        pass
    paths = [os.path.join(git_dir, "HEAD"), os.path.join(git_dir, "index"),
             os.path.join(common, "packed-refs")]
    try:
        with open(paths[0], encoding="utf-8", errors="replace") as f:
            head = f.read(4096).strip()
    except OSError:
        return paths
    if head.startswith("ref:"):
        ref = head[4:].strip()
        paths.append(os.path.join(common, *ref.split("/")))
    return paths


def _start_ls_files(root: str) -> subprocess.Popen | None:
    try:
        return subprocess.Popen(["git", "ls-files", "-z"], cwd=root, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                env=dict(os.environ, GIT_OPTIONAL_LOCKS="0"))
    except OSError:
        return None


def _tracked_paths(root: str) -> tuple[list[str] | None, list[str]]:
    """(tracked files and their folders, the folders), or (None, []) when too many."""
    return _read_ls_files(root, _start_ls_files(root))


def _read_ls_files(root: str, proc: subprocess.Popen | None) -> tuple[list[str] | None, list[str]]:
    if proc is None:
        return None, []
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None, []
    if proc.returncode != 0:
        return None, []
    files = [os.path.join(root, f) for f in out.decode("utf-8", "replace").split("\0") if f]
    if len(files) > MAX_TRACKED_FILES:
        return None, []
    folders = sorted({os.path.dirname(f) for f in files} | {root})
    return files + folders, folders


def _stamps(paths: list[str]) -> tuple[Any, ...]:
    stamps = []
    for path in paths:
        try:
            st = os.stat(path)
            stamps.append((st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns))
        except OSError:
            stamps.append(None)
    return tuple(stamps)


def _racy(stamps: tuple, since: float) -> bool:
    """Whether a path may have changed at or after wall time `since` (by its ctime)."""
    limit = int((since - RACY_MARGIN) * 1e9)
    return any(s is not None and s[3] >= limit for s in stamps)


# -- inotify (Linux) -----------------------------------------------------------------------

_IN_NONBLOCK = 0o4000
_IN_CLOEXEC = 0o2000000
# Anything that changes a file's stat or a folder's entries; IN_CLOSE_WRITE also covers a
# file written through mmap (which sends no IN_MODIFY).
# MODIFY | ATTRIB | CLOSE_WRITE | MOVED_FROM | MOVED_TO | CREATE | DELETE | DELETE_SELF | MOVE_SELF
_IN_MASK = 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800
_IN_ONLYDIR = 0x01000000
_libc: Any = None


class _TreeWatch:
    """Folders watched with inotify; :meth:`changed` is true once any event arrived.

    The kernel queues an event before the system call that caused it returns, so a change
    finished before :meth:`changed` is called is always seen. In a forked child the watch is
    the parent's (reading it would take the parent's events): there it always says changed.
    """

    __slots__ = ("_fd", "_pid", "_lock", "_changed")

    def __init__(self, fd: int):
        self._fd = fd
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._changed = False

    @classmethod
    def start(cls, root: str, folders: list[str], ref_paths: list[str]) -> "_TreeWatch | None":
        """Watch `folders` and the folders of `ref_paths` (for a ref not created yet, its
        nearest existing folder); None where inotify is unusable."""
        global _libc
        if _libc is False or not os.path.isdir(os.path.join(root, ".git")):
            return None  # no inotify, or a worktree/submodule: stamps only
        try:
            if _libc is None:
                import ctypes
                libc = ctypes.CDLL(None, use_errno=True)
                libc.inotify_init1, libc.inotify_add_watch  # AttributeError: not Linux
                _libc = libc
            fd = _libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        except (OSError, AttributeError, ImportError):
            _libc = False
            return None
        if fd < 0:
            return None  # out of inotify instances: stamps only
        watched = set(folders)
        for path in ref_paths:
            folder = os.path.dirname(path)
            while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
                folder = os.path.dirname(folder)
            watched.add(folder)
        for folder in watched:
            if _libc.inotify_add_watch(fd, os.fsencode(folder), _IN_MASK | _IN_ONLYDIR) < 0:
                os.close(fd)  # a folder vanished, or out of watches: stamps only
                return None
        return cls(fd)

    def changed(self) -> bool:
        with self._lock:
            if self._changed or self._fd < 0 or self._pid != os.getpid():
                return True
            try:
                self._changed = bool(os.read(self._fd, 4096))
            except BlockingIOError:
                return False
            except OSError:
                self._changed = True
            return self._changed

    def close(self) -> None:
        with self._lock:
            self._changed = True
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
