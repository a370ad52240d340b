"""Git state reused across runs in one process while the working tree is unchanged.

``git status`` and ``git diff`` cost several milliseconds per run; a process that starts many
runs (a sweep, a notebook) would pay them every time. Like git's own index check, this compares
the ``stat`` of every tracked file and of their folders (a new untracked file changes its
folder's mtime) plus ``.git/HEAD`` and ``.git/index``: when none changed, the git state cannot
have changed either. Repositories with more tracked files than MAX_TRACKED_FILES are not cached.

The first run of a process does not wait for git either: :func:`prefetch`, called when the
experiment is defined, starts ``git status`` in the background while the script goes on
(imports, config, command line), and the run takes that answer if it starts within
PREFETCH_MAX_AGE seconds and HEAD and the index are unchanged.
"""
from __future__ import annotations

import os
import subprocess
import time
from typing import Any

from .gitinfo import GitInfoJob, find_repo_root, get_git_info, start_git_info

MAX_TRACKED_FILES = 5000
PREFETCH_MAX_AGE = 2.0

# repository root -> (time started, HEAD/index stamp then, git status job, git ls-files process)
_prefetched: dict[str, tuple[float, tuple, GitInfoJob, subprocess.Popen | None]] = {}

# repository root -> (index stamp, tracked paths and their folders, tree stamp, git info)
_cache: dict[str, tuple[tuple, list[str], tuple, dict | None]] = {}


def prefetch(path: str) -> None:
    """Start reading the repository of `path` in the background, for the next run."""
    root = find_repo_root(path)
    if root is not None and root not in _cache and root not in _prefetched:
        _prefetched[root] = (time.monotonic(), _index_stamp(root), start_git_info(path),
                             _start_ls_files(root))


def cached_git_info(path: str) -> dict | None:
    """:func:`expt.gitinfo.get_git_info` for `path`, reused while nothing git sees changed."""
    root = find_repo_root(path)
    if root is None:
        return None
    index_stamp = _index_stamp(root)
    pending = _prefetched.pop(root, None)
    if pending is not None:
        started, stamp, job, ls_files = pending
        if stamp == index_stamp and time.monotonic() - started < PREFETCH_MAX_AGE:
            info = job.result()
            watched = _read_ls_files(root, ls_files)
            if watched is not None:  # later runs in this process check stats instead of git
                _cache[root] = (index_stamp, watched, _stamps(watched), info)
            return info
        job.cancel()
        if ls_files is not None:
            ls_files.kill()
            ls_files.communicate()
    cached = _cache.get(root)
    if cached is not None and cached[0] == index_stamp and _stamps(cached[1]) == cached[2]:
        return cached[3]
    watched = _tracked_paths(root) if cached is None or cached[0] != index_stamp else cached[1]
    tree_stamp = _stamps(watched) if watched is not None else None  # before git looks
    info = get_git_info(path)
    if watched is not None:
        _cache[root] = (index_stamp, watched, tree_stamp, info)
    return info


def _index_stamp(root: str) -> tuple:
    git_dir = os.path.join(root, ".git")
    return _stamps([os.path.join(git_dir, "HEAD"), os.path.join(git_dir, "index")])


def _start_ls_files(root: str) -> subprocess.Popen | None:
    try:
        return subprocess.Popen(["git", "ls-files", "-z"], cwd=root, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                env=dict(os.environ, GIT_OPTIONAL_LOCKS="0"))
    except OSError:
        return None


def _tracked_paths(root: str) -> list[str] | None:
    """Tracked files and their folders, or None when too many to check cheaply."""
    return _read_ls_files(root, _start_ls_files(root))


def _read_ls_files(root: str, proc: subprocess.Popen | None) -> list[str] | None:
    if proc is None:
        return None
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None
    if proc.returncode != 0:
        return None
    files = [os.path.join(root, f) for f in out.decode("utf-8", "replace").split("\0") if f]
    if len(files) > MAX_TRACKED_FILES:
        return None
    folders = {os.path.dirname(f) for f in files} | {root}
    return files + sorted(folders)


def _stamps(paths: list[str]) -> tuple[Any, ...]:
    stamps = []
    for path in paths:
        try:
            st = os.stat(path)
            stamps.append((st.st_mtime_ns, st.st_size))
        except OSError:
            stamps.append(None)
    return tuple(stamps)
