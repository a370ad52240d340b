"""The git state of the code a run executes: remote URL, commit, branch, dirty flag and diff.

Uses the ``git`` command (no GitPython) with as few processes as possible, measured:
- no repository (no ``.git`` above the path): found by a few ``stat`` calls, no process;
- clean: ``git status --porcelain=v2 --branch -z`` (commit, branch, changes, untracked); the
  origin URL is read from ``.git/config`` (``git config`` runs beside status only for
  worktrees, submodules and configs with includes, about 3 ms saved);
- dirty: one more, ``git diff HEAD`` (staged and unstaged changes against the commit).

Every call has a timeout and nothing here raises for git problems: what could be read is
returned, and ``None`` when the path is not in a repository or git cannot be run.
Dirty means tracked files differ from the commit; untracked files are listed separately and
do not make a repository dirty (as in Sacred/GitPython). Credentials are stripped from the
URL and from URLs in the diff text.
"""
from __future__ import annotations

import logging
import os
import subprocess
from typing import Any

from .redact import redact_url

log = logging.getLogger("expt.gitinfo")

GIT_TIMEOUT = 10.0  # seconds per git process; a huge or network-mounted repository is slow
MAX_DIFF_BYTES = 1_000_000  # MongoDB documents stop at 16 MB; a diff beyond this is cut
MAX_UNTRACKED = 1000
_ENV_OVERRIDES = {
    "GIT_OPTIONAL_LOCKS": "0",  # status must not take index.lock under the user's own git
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(_ENV_OVERRIDES)
    return env


def _start(args: list[str], cwd: str, env: dict[str, str]) -> subprocess.Popen | None:
    try:
        # Own process group, so a timeout also stops children git started (submodules, hooks).
        return subprocess.Popen(["git", *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=os.name == "posix")
    except OSError as e:  # git not installed, cwd vanished
        log.debug("Could not run git: %s", e)
        return None


def _finish(proc: subprocess.Popen | None, timeout: float) -> tuple[int, bytes, bytes] | None:
    if proc is None:
        return None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        log.warning("git %s timed out after %.0f s; git information is incomplete.",
                    " ".join(proc.args[1:3]), timeout)
        return None
    return proc.returncode, out, err


def _kill(proc: subprocess.Popen) -> None:
    try:
        if os.name == "posix":
            import signal
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:
        pass
    try:
        proc.communicate(timeout=2)
    except subprocess.TimeoutExpired:  # a child escaped the group and holds the pipes
        for pipe in (proc.stdout, proc.stderr):
            if pipe:
                pipe.close()


def _git(args: list[str], cwd: str, timeout: float) -> tuple[int, bytes, bytes] | None:
    return _finish(_start(args, cwd, _env()), timeout)


def find_repo_root(path: str) -> str | None:
    """The folder holding ``.git`` at or above `path`, found without starting git."""
    folder = os.path.abspath(path)
    if not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _start_folder(path: str) -> str | None:
    """Where to run git: the repository root, or `path`'s folder when git is steered by env."""
    if "GIT_DIR" in os.environ or "GIT_WORK_TREE" in os.environ:
        folder = os.path.abspath(path)
        return folder if os.path.isdir(folder) else os.path.dirname(folder)
    return find_repo_root(path)


def _origin_from_config_file(root: str) -> tuple[bool, str | None]:
    """(answered, url) from ``<root>/.git/config`` without starting git.

    Answers only for a plain ``.git`` folder whose config has no include directives; worktrees,
    submodules (``.git`` files) and includes are left to ``git config``.
    """
    path = os.path.join(root, ".git", "config")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return False, None
    url = None
    in_origin = False
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            header = line[1:line.find("]")].strip() if "]" in line else ""
            if header.lower().startswith("include"):
                return False, None
            kind, _, sub = header.partition(" ")
            in_origin = kind.lower() == "remote" and sub.strip() == '"origin"'
            continue
        if in_origin and "=" in line:
            key, _, value = line.partition("=")
            if key.strip().lower() == "url":
                url = _config_value(value)
    return True, url


def _config_value(value: str) -> str:
    """A git config value: quotes removed, a trailing # or ; comment outside quotes dropped."""
    out, quoted = [], False
    for char in value.strip():
        if char == '"':
            quoted = not quoted
        elif char in "#;" and not quoted:
            break
        else:
            out.append(char)
    return "".join(out).strip()


def parse_status(raw: bytes) -> dict[str, Any]:
    """commit, branch, dirty and untracked from ``git status --porcelain=v2 --branch -z``."""
    commit = branch = None
    dirty = False
    untracked: list[str] = []
    fields = raw.decode("utf-8", errors="replace").split("\0")
    skip_next = False
    for field in fields:
        if skip_next:  # a rename's original path follows as its own field
            skip_next = False
            continue
        if field.startswith("# branch.oid "):
            oid = field[13:].strip()
            commit = None if oid == "(initial)" else oid
        elif field.startswith("# branch.head "):
            head = field[14:].strip()
            branch = None if head == "(detached)" else head
        elif field[:2] in ("1 ", "u "):
            dirty = True
        elif field.startswith("2 "):
            dirty = True
            skip_next = True
        elif field.startswith("? "):
            untracked.append(field[2:])
    return {"commit": commit, "branch": branch, "dirty": dirty, "untracked": untracked}


def _decode_diff(raw: bytes, max_bytes: int) -> str:
    truncated = len(raw) > max_bytes
    text = raw[:max_bytes].decode("utf-8", errors="replace")
    if truncated:
        text += f"\n[expt: diff truncated at {max_bytes} of {len(raw)} bytes]\n"
    return redact_url(text)


class GitInfoJob:
    """``git status`` started now and read later, so a run can gather its other provenance
    (host, sources, dependencies) while git works on the other core.

    ``start_git_info(path)`` then ``job.result()`` gives what :func:`get_git_info` gives.
    """

    def __init__(self, path: str | os.PathLike, *, with_diff: bool = True,
                 timeout: float = GIT_TIMEOUT, max_diff_bytes: int = MAX_DIFF_BYTES):
        self.with_diff = with_diff
        self.timeout = timeout
        self.max_diff_bytes = max_diff_bytes
        self.folder = _start_folder(os.fspath(path))
        self._done = False
        self._result: dict[str, Any] | None = None
        self._status_proc = self._url_proc = None
        self._origin: str | None = None
        if self.folder is None:
            return
        env = _env()
        self._status_proc = _start(["status", "--porcelain=v2", "--branch", "-z"],
                                   self.folder, env)
        answered, self._origin = (False, None) if "GIT_DIR" in os.environ else \
            _origin_from_config_file(self.folder)
        if not answered:
            self._url_proc = _start(["config", "--get", "remote.origin.url"], self.folder, env)

    def result(self) -> dict[str, Any] | None:
        """The repository record, or None (waits for git; later calls return the same)."""
        if not self._done:
            self._result = self._collect()
            self._done = True
        return self._result

    def cancel(self) -> None:
        """Stop git if the result is not wanted after all."""
        for proc in (self._status_proc, self._url_proc):
            if proc is not None and proc.poll() is None:
                _kill(proc)
        self._done = True

    def _collect(self) -> dict[str, Any] | None:
        folder = self.folder
        if folder is None:
            return None
        status = _finish(self._status_proc, self.timeout)
        url_result = _finish(self._url_proc, self.timeout)
        origin = self._origin
        if url_result is not None and url_result[0] == 0:
            origin = url_result[1].decode("utf-8", errors="replace").strip()
        if status is None:
            return None
        code, out, err = status
        if code != 0:
            # Not a repository after all, or git refuses it (e.g. 'dubious ownership').
            message = err.decode("utf-8", errors="replace").strip()
            if "not a git repository" not in message.lower():
                log.warning("git status failed in %s: %s", folder, message[:300])
            return None
        info = parse_status(out)
        url = redact_url(origin) if origin else "git:/" + folder
        untracked = info["untracked"]
        if len(untracked) > MAX_UNTRACKED:
            log.warning("%d untracked paths in %s; recording the first %d.",
                        len(untracked), folder, MAX_UNTRACKED)
            untracked = untracked[:MAX_UNTRACKED]
        diff = ""
        if self.with_diff and info["dirty"]:
            diff = _read_diff(folder, info["commit"], self.timeout, self.max_diff_bytes)
        return {"url": url, "root": folder, "commit": info["commit"],
                "branch": info["branch"], "dirty": info["dirty"], "diff": diff,
                "untracked": untracked}


def start_git_info(path: str | os.PathLike, **options: Any) -> GitInfoJob:
    """Start reading the repository of `path`; ``.result()`` collects (see GitInfoJob)."""
    return GitInfoJob(path, **options)


def get_git_info(path: str | os.PathLike, *, with_diff: bool = True,
                 timeout: float = GIT_TIMEOUT,
                 max_diff_bytes: int = MAX_DIFF_BYTES) -> dict[str, Any] | None:
    """The repository containing `path` (a file or folder), or None outside git.

    Keys: ``url`` (remote ``origin`` without credentials; ``git:/<root>`` without a remote, as
    Sacred writes it), ``root`` (the work-tree root), ``commit`` (None before the first
    commit), ``branch`` (None when detached), ``dirty``, ``diff`` (``git diff HEAD``, "" when
    clean or `with_diff` is false) and ``untracked`` (paths relative to the root).
    """
    return GitInfoJob(path, with_diff=with_diff, timeout=timeout,
                      max_diff_bytes=max_diff_bytes).result()


def _read_diff(folder: str, commit: str | None, timeout: float, max_bytes: int) -> str:
    base = ["diff", "--no-color", "--no-ext-diff", "--no-textconv"]
    # Before the first commit there is no HEAD: staged changes are diffed against nothing.
    calls = [base + ["HEAD"]] if commit else [base + ["--cached"], base]
    chunks = []
    for args in calls:
        result = _git(args, folder, timeout)
        if result is None or result[0] != 0:
            continue
        chunks.append(result[1])
    return _decode_diff(b"".join(chunks), max_bytes)


def is_dirty(path: str | os.PathLike, *, timeout: float = GIT_TIMEOUT) -> bool | None:
    """True when tracked files differ from the commit (for ``--enforce_clean``).

    None when `path` is not in a repository or git could not tell.
    """
    folder = _start_folder(os.fspath(path))
    if folder is None:
        return None
    result = _git(["status", "--porcelain=v2", "-z", "--untracked-files=no"], folder, timeout)
    if result is None or result[0] != 0:
        return None
    return parse_status(result[1])["dirty"]


__all__ = ["get_git_info", "start_git_info", "GitInfoJob", "is_dirty", "find_repo_root", "parse_status", "GIT_TIMEOUT"]
