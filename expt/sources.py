"""The run's source files: the main file and every imported module that lives under base_dir.

A module is *local* when its file is under `base_dir` and not inside a Python installation
there (a virtualenv such as ``base_dir/.venv``, anything under ``site-packages`` or
``dist-packages``). Each source carries its MD5, computed once per (path, size, mtime) so
repeated runs in one process cost a ``stat`` per file.

Names are relative to `base_dir` with ``/`` separators; a file added by hand from outside
`base_dir` gets a name starting with ``../`` (as in Sacred), which observers must not use as
a storage path without cleaning it.
"""
from __future__ import annotations

try:  # CPython's own MD5: the same digest without loading OpenSSL (~3-15 ms of start-up)
    from _md5 import md5 as _md5
except ImportError:  # other interpreters
    from hashlib import md5 as _md5
import os
import stat
import sys
import time
from typing import Iterable, Mapping, NamedTuple

from .errors import UserInputError, did_you_mean, suggest

_CHUNK = 1 << 20
# MD5s of files modified less than this many seconds ago are not cached: a rewrite within the
# file system's timestamp granularity could keep the same size and mtime.
_RACY_SECONDS = 2.0
_INSTALL_DIRS = frozenset({"site-packages", "dist-packages"})

_md5_cache: dict[str, tuple[int, int, str]] = {}


class SourceNotFoundError(UserInputError, FileNotFoundError):
    """A source file to record does not exist."""

    def __init__(self, path: str, suggestions: Iterable[str] = ()):
        self.path = path
        self.suggestions = list(suggestions)
        super().__init__(
            f"Source file '{path}' does not exist.{did_you_mean(self.suggestions)}")

    def __str__(self) -> str:
        return self.args[0]


class Source(NamedTuple):
    """One recorded source file."""

    path: str  # absolute, symlinks resolved
    name: str  # relative to base_dir, '/'-separated
    md5: str


def new_md5():
    """An MD5 hash object (for content addressing, not for security)."""
    return _md5(usedforsecurity=False)


def file_md5(path: str) -> str:
    """The hex MD5 of the file at `path`, cached while its size and mtime stay the same."""
    return _md5_for_stat(path, os.stat(path))


def _md5_for_stat(path: str, st: os.stat_result) -> str:
    cached = _md5_cache.get(path)
    if cached is not None and cached[0] == st.st_size and cached[1] == st.st_mtime_ns:
        return cached[2]
    digest = new_md5()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    md5 = digest.hexdigest()
    if time.time() - st.st_mtime > _RACY_SECONDS:
        _md5_cache[path] = (st.st_size, st.st_mtime_ns, md5)
    return md5


def _source_file(path: str) -> str:
    """The .py file for a sourceless .pyc path when it exists, else `path`."""
    if path.endswith(".pyc"):
        py = path[:-1]
        if os.path.isfile(py):
            return py
    return path


def _posix_relpath(path: str, base: str) -> str:
    try:
        rel = os.path.relpath(path, base)
    except ValueError:  # another drive on Windows: no relative path exists
        return path.replace(os.sep, "/")
    return rel.replace(os.sep, "/")


def _missing(path: str) -> SourceNotFoundError:
    folder, name = os.path.split(os.path.abspath(path))
    try:
        nearby = [n for n in os.listdir(folder) if os.path.isfile(os.path.join(folder, n))]
    except OSError:
        nearby = []
    close = [os.path.join(os.path.dirname(path), n) for n in suggest(name, nearby)]
    return SourceNotFoundError(path, close)


def source_for(path: str | os.PathLike, base_dir: str | os.PathLike) -> Source:
    """The :class:`Source` for one file (the main file, or one added with add_source_file).

    Raises :class:`SourceNotFoundError` (with the nearest file names) when it does not exist.
    """
    return _source_in(path, os.path.realpath(base_dir))


def _source_in(path: str | os.PathLike, real_base: str) -> Source:
    """:func:`source_for` with the base folder already resolved."""
    path = _source_file(os.fspath(path))
    if not os.path.isfile(path):
        raise _missing(path)
    real = os.path.realpath(path)
    return Source(path=real, name=_posix_relpath(real, real_base), md5=file_md5(real))


def _install_prefixes() -> list[str]:
    """Python installations (the running venv and its base) whose files are never sources."""
    prefixes = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}
    return [os.path.join(os.path.realpath(p), "") for p in prefixes if p]


def _is_install_path(real: str, real_base: str, prefixes: list[str]) -> bool:
    """True when `real` (under `real_base`) is part of a Python installation."""
    parts = os.path.relpath(real, real_base).split(os.sep)
    if _INSTALL_DIRS.intersection(parts[:-1]):
        return True
    # The running interpreter's prefix under base_dir (base_dir/.venv) holds no sources, but a
    # base_dir inside a prefix (scripts kept in the venv folder) still has its own files.
    base_slash = os.path.join(real_base, "")
    return any(real.startswith(p) and not base_slash.startswith(p) for p in prefixes)


def is_local_file(path: str, base_dir: str | os.PathLike) -> bool:
    """True when the file at `path` would be recorded as a source of a run in `base_dir`."""
    real = os.path.realpath(_source_file(path))
    real_base = os.path.realpath(base_dir)
    return (real.startswith(os.path.join(real_base, ""))
            and not _is_install_path(real, real_base, _install_prefixes()))


def _module_file(module: object) -> str | None:
    """``module.__file__`` read from its __dict__: a lazy module's __getattr__ must not run
    (it could import things, or be slow) just because we look."""
    namespace = getattr(module, "__dict__", None)
    file = namespace.get("__file__") if isinstance(namespace, dict) else None
    return file if isinstance(file, str) else None


def _local_candidates(modules: list[object], base: str,
                      real_base: str) -> list[tuple[str, str, str]]:
    """(file as the module names it, resolved path, name) of each module file that is a
    source of `real_base`: the walk over all modules that :func:`find_local_sources` caches."""
    # Cheap string tests first: only files under base_dir (as given or resolved) are examined.
    heads = tuple({os.path.join(base, ""), os.path.join(real_base, "")})
    candidates = set()
    for module in modules:  # ~1 µs per module: an ML script imports ~1500
        file = _module_file(module)
        if file is None:
            continue
        if file.startswith(heads):
            candidates.add(file)
        elif not os.path.isabs(file):
            file = os.path.abspath(file)
            if file.startswith(heads):
                candidates.add(file)
    prefixes = _install_prefixes()
    inside = os.path.join(real_base, "")
    local = []
    for file in sorted(candidates):
        real = os.path.realpath(_source_file(file))
        if real.startswith(inside) and not _is_install_path(real, real_base, prefixes):
            local.append((file, real, _posix_relpath(real, real_base)))
    return local


def same_objects(old: list[object], new: list[object]) -> bool:
    """True when both lists hold the same objects in the same order. ``==`` checks identity
    first, so for modules it never calls their ``__eq__``; anything in sys.modules whose
    ``__eq__`` answers strangely counts as a change."""
    try:
        return bool(old == new)
    except Exception:
        return False


# (base_dir, resolved base_dir, id of the modules mapping) -> (the module objects seen, their
# local files). The walk over every module costs ~1 ms in an ML script; a process starting
# many runs repeats it only when the module objects changed (an import, a deletion, a
# replacement). A few entries at most: tests pass throwaway mappings.
_scan_cache: dict[tuple[str, str, int], tuple[list[object], list[tuple[str, str, str]]]] = {}
_SCAN_CACHE_SIZE = 8


def find_local_sources(base_dir: str | os.PathLike, main_file: str | os.PathLike | None,
                       modules: Mapping[str, object] | None = None) -> list[Source]:
    """The main file plus each module of `modules` (default ``sys.modules``) under `base_dir`.

    Sorted by name, one entry per file. A module whose file vanished since it was imported
    is skipped; a `main_file` that does not exist raises :class:`SourceNotFoundError`.
    Repeated calls with unchanged modules reuse the list of files and only ``stat`` each one
    (its MD5 is recomputed when its size or mtime changed).
    """
    if modules is None:
        modules = sys.modules
    base = os.path.abspath(base_dir)
    real_base = os.path.realpath(base)
    found: dict[str, Source] = {}
    if main_file is not None:
        main = _source_in(main_file, real_base)
        found[main.path] = main
    # Module objects, compared by identity (list == checks identity first): a new import, a
    # removed or replaced module changes the list. A list of objects rather than of ids, so a
    # freed module's id reused by a new one cannot pass for it.
    seen = list(modules.values())
    key = (base, real_base, id(modules))
    cached = _scan_cache.get(key)
    if cached is not None and same_objects(cached[0], seen):
        local = cached[1]
    else:
        local = _local_candidates(seen, base, real_base)
        if len(_scan_cache) >= _SCAN_CACHE_SIZE:
            _scan_cache.clear()
        _scan_cache[key] = (seen, local)
    for file, real, name in local:
        if file.endswith(".pyc"):  # its .py may have appeared since
            real = os.path.realpath(_source_file(file))
            name = _posix_relpath(real, real_base)
        if real in found:
            continue
        try:
            st = os.stat(real)
        except OSError:  # the file vanished since it was imported
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        found[real] = Source(path=real, name=name, md5=_md5_for_stat(real, st))
    return sorted(found.values(), key=lambda s: s.name)


__all__ = ["Source", "SourceNotFoundError", "file_md5", "source_for", "find_local_sources",
           "is_local_file"]
