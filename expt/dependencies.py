"""The run's package dependencies: ``"name==version"`` for every imported third-party package.

``importlib.metadata.packages_distributions()`` costs about 25 ms to import and 65 ms to run
here (it reads every installed distribution's file list), too much for each run start. This
module instead looks only in the folder the imported module was loaded from:

1. a ``*.dist-info`` / ``*.egg-info`` there whose name equals the module's (``numpy``);
2. else one whose name contains it (``docopt`` -> ``docopt_ng``, ``yaml`` -> ``pyyaml``),
   confirmed by its ``top_level.txt`` or ``RECORD``;
3. else every distribution there, by ``top_level.txt`` or ``RECORD`` (``sklearn``,
   ``PIL``), then the other ``sys.path`` folders (editable installs).

Name and version come from the distribution's ``METADATA`` header (so ``PyYAML``, as pip
spells it, as Sacred records it). Folder listings and answers are cached per process and
refreshed when a folder's mtime changes (a ``pip install`` in between).
"""
from __future__ import annotations

import os
import re
import sys
from typing import Iterable, Mapping

_IGNORED = frozenset(sys.stdlib_module_names) | frozenset(sys.builtin_module_names) | {
    "__main__", "__mp_main__"}
_SEPARATORS = re.compile(r"[-_.]+")


def normalize(name: str) -> str:
    """PEP 503 form of a project name (``Foo_Bar.baz`` -> ``foo-bar-baz``)."""
    return _SEPARATORS.sub("-", name).lower()


def _read_header(path: str) -> tuple[str | None, str | None]:
    """Name and Version from a METADATA / PKG-INFO file (the headers end at a blank line)."""
    name = version = None
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break
                if line.startswith("Name:") and name is None:
                    name = line[5:].strip()
                elif line.startswith("Version:") and version is None:
                    version = line[8:].strip()
                if name and version:
                    break
    except OSError:
        pass
    return name, version


class _Dist:
    """One installed distribution's metadata folder (or legacy egg-info file)."""

    __slots__ = ("path", "key", "_meta", "_listed")

    def __init__(self, path: str, key: str):
        self.path = path
        self.key = key  # normalized project name from the folder name
        self._meta: tuple[str | None, str | None] | None = None
        self._listed: list[str] | None | bool = False  # False: top_level.txt not read yet

    def meta(self) -> tuple[str | None, str | None]:
        if self._meta is None:
            if os.path.isdir(self.path):
                header = "METADATA" if self.path.endswith(".dist-info") else "PKG-INFO"
                self._meta = _read_header(os.path.join(self.path, header))
            else:
                self._meta = _read_header(self.path)
        return self._meta

    def top_level(self) -> list[str] | None:
        """The names in top_level.txt (cached), or None when the distribution has none."""
        if self._listed is False:
            try:
                with open(os.path.join(self.path, "top_level.txt"), encoding="utf-8") as f:
                    self._listed = [line.strip() for line in f if line.strip()]
            except OSError:
                self._listed = None
        return self._listed  # type: ignore[return-value]

    def claims(self, top: str, records: dict[str, bytes] | None) -> bool:
        """True when this distribution installs the import name `top`.

        From top_level.txt, else from RECORD when `records` (a per-call cache of RECORD
        bytes) is given. RECORD is searched as bytes for a line starting ``top/`` or
        ``top.`` (package folder, module file, extension module): parsing its thousands of
        lines in Python would cost ~10 ms for a scientific stack, the search ~0.5 ms.
        """
        listed = self.top_level()
        if listed is not None:
            return top in listed
        if records is None:
            return False
        data = records.get(self.path)
        if data is None:
            try:
                with open(os.path.join(self.path, "RECORD"), "rb") as f:
                    data = b"\n" + f.read()
            except OSError:
                data = b""
            records[self.path] = data
        name = b"\n" + top.encode("utf-8", errors="replace")
        return name + b"/" in data or name + b"." in data


class _Folder:
    """The distributions installed in one sys.path folder."""

    def __init__(self, folder: str, mtime: int):
        self.mtime = mtime
        self.dists: list[_Dist] = []
        try:
            entries = os.listdir(folder)
        except OSError:
            entries = []
        for entry in entries:
            if entry.endswith(".dist-info"):
                stem = entry[:-10]
            elif entry.endswith(".egg-info"):
                stem = entry[:-9]
            else:
                continue
            name = stem.split("-", 1)[0]  # 'scikit_learn-1.9.1' / 'expt' / 'foo-1.0-py3.11'
            self.dists.append(_Dist(os.path.join(folder, entry), normalize(name)))

    def find(self, top: str, *, all_claimants: bool = False,
             records: dict[str, bytes] | None = None) -> list[_Dist]:
        """The distributions here that install the import name `top` (RECORD files are
        searched only when a `records` cache is given)."""
        key = normalize(top)
        exact = [d for d in self.dists if d.key == key]
        if exact and not all_claimants:
            return exact[:1]
        likely = [d for d in self.dists if key in d.key and d not in exact]
        rest = [d for d in self.dists if d not in exact and d not in likely]
        found = list(exact)
        for dist in likely + rest:
            if dist.claims(top, records):
                found.append(dist)
                if not all_claimants:
                    break
        return found


_folders: dict[str, _Folder] = {}
_resolved: dict[tuple[str, str, int], list[tuple[str, str]]] = {}


def _folder(path: str) -> _Folder | None:
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return None
    cached = _folders.get(path)
    if cached is None or cached.mtime != mtime:
        cached = _folders[path] = _Folder(path, mtime)
    return cached


def _pairs(dists: list[_Dist]) -> list[tuple[str, str]]:
    pairs = []
    for dist in dists:
        name, version = dist.meta()
        if name and version:
            pairs.append((name, version))
    return pairs


def _namespace(module: object) -> dict:
    """A module's __dict__: reading attributes through it never runs a lazy __getattr__."""
    namespace = getattr(module, "__dict__", None)
    return namespace if isinstance(namespace, dict) else {}


def _module_location(module: object) -> tuple[str | None, bool]:
    """(folder holding the top-level package or module, is it a namespace package)."""
    namespace = _namespace(module)
    file = namespace.get("__file__")
    if isinstance(file, str):
        folder = os.path.dirname(os.path.abspath(file))
        if os.path.basename(file).startswith("__init__."):
            folder = os.path.dirname(folder)
        return folder, False
    paths = namespace.get("__path__")
    try:
        first = next(iter(paths)) if paths is not None else None
    except (StopIteration, TypeError):
        first = None
    if isinstance(first, str):
        return os.path.dirname(os.path.abspath(first)), True
    return None, False


def distributions_for(top: str, module: object,
                      records: dict[str, bytes] | None = None) -> list[tuple[str, str]]:
    """(name, version) of the distributions providing the imported top-level `module`.

    `records` caches RECORD files for the length of one scan (pass the same dict for many
    modules); answers themselves are cached for the process.
    """
    folder, namespace = _module_location(module)
    if folder is None:
        return []
    index = _folder(folder)
    mtime = index.mtime if index else 0
    key = (top, folder, mtime)
    if key in _resolved:
        return _resolved[key]
    if records is None:
        records = {}
    found = _pairs(index.find(top, all_claimants=namespace, records=records)) if index else []
    if not found:
        # Editable installs keep their metadata in site-packages, not next to the code. Their
        # RECORD does not list the code, so only names and top_level.txt are looked at, which
        # keeps this cheap for local modules that have no distribution at all.
        for entry in sys.path:
            if not entry or os.path.abspath(entry) == folder:
                continue
            other = _folder(os.path.abspath(entry))
            if other is not None:
                found = _pairs(other.find(top, all_claimants=namespace))
                if found:
                    break
    if not found:
        version = _namespace(module).get("__version__")
        if isinstance(version, str) and version:
            found = [(top, version)]
    _resolved[key] = found
    return found


def _same_objects(old: list[object], new: list[object]) -> bool:
    from .sources import same_objects as same  # the one definition; sources is light
    return same(old, new)


def _is_local(module: object, base_dir: str) -> bool:
    from .sources import is_local_file  # only needed when a base_dir is given
    file = _namespace(module).get("__file__")
    return isinstance(file, str) and is_local_file(file, base_dir)


def _folder_mtime(folder: str | None) -> int | None:
    if folder is None:
        return None
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:
        return None


def _scan(modules: list[tuple[str, object]], base: str | None
          ) -> tuple[list[tuple[str, str]], dict[str | None, int | None]]:
    """(name, version) pairs of the third-party packages among `modules`, and the mtime of
    each folder they were loaded from (taken before looking, so a change made meanwhile is
    seen by the next call)."""
    pairs: list[tuple[str, str]] = []
    folders: dict[str | None, int | None] = {}
    records: dict[str, bytes] = {}  # RECORD files read during this call only
    for name, module in modules:
        if "." in name or name.startswith("_") or name in _IGNORED or module is None:
            continue
        if base is not None and _is_local(module, base):
            continue
        folder = _module_location(module)[0]
        if folder not in folders:
            folders[folder] = _folder_mtime(folder)
        pairs += distributions_for(name, module, records)
    return pairs, folders


# (base_dir, id of the modules mapping) -> (names, module objects, folder mtimes, pairs).
# Reading every imported module costs ~0.3 ms per run; a process starting many runs redoes it
# only when the modules changed (by name or object) or a package folder did (pip install).
_scan_cache: dict[tuple[str | None, int], tuple[list[str], list[object],
                                                 dict[str | None, int | None],
                                                 list[tuple[str, str]]]] = {}
_SCAN_CACHE_SIZE = 8


def find_package_dependencies(modules: Mapping[str, object] | None = None,
                              extra: Iterable[tuple[str, str | None]] = (),
                              *, base_dir: str | os.PathLike | None = None) -> list[str]:
    """Sorted ``"name==version"`` for each imported third-party top-level package.

    `modules` defaults to ``sys.modules``; stdlib and private (``_x``) modules are skipped,
    and so are modules that are local sources of `base_dir`. `extra` adds (name, version)
    pairs the user declared; a version of None is written ``<unknown>`` (as Sacred does).
    Modules with neither package metadata nor a ``__version__`` are left out.
    """
    if modules is None:
        modules = sys.modules
    base = os.fspath(base_dir) if base_dir is not None else None
    items = list(modules.items())
    names = [name for name, _ in items]
    objects = [module for _, module in items]
    key = (base, id(modules))
    cached = _scan_cache.get(key)
    if (cached is not None and cached[0] == names and _same_objects(cached[1], objects)
            and all(_folder_mtime(f) == m for f, m in cached[2].items())):
        pairs = cached[3]
    else:
        pairs, folders = _scan(items, base)
        if len(_scan_cache) >= _SCAN_CACHE_SIZE:
            _scan_cache.clear()
        _scan_cache[key] = (names, objects, folders, pairs)
    deps: dict[str, str] = dict(pairs)
    for dist_name, version in extra:
        deps[dist_name] = version if version else "<unknown>"
    return [f"{n}=={deps[n]}" for n in sorted(deps, key=lambda n: (n.lower(), n))]


def package_version(name: str) -> str | None:
    """The installed version of a distribution or top-level import name, or None."""
    key = normalize(name)
    for entry in sys.path:
        folder = _folder(os.path.abspath(entry or "."))
        if folder is None:
            continue
        for dist in folder.dists:
            if dist.key == key:
                version = dist.meta()[1]
                if version:
                    return version
    module = sys.modules.get(name)
    if module is not None:
        pairs = distributions_for(name, module)
        if pairs:
            return pairs[0][1]
    try:  # zipped eggs and other finders that keep no metadata folder on sys.path
        from importlib import metadata
        return metadata.version(name)
    except Exception:
        return None


__all__ = ["find_package_dependencies", "package_version", "distributions_for", "normalize"]
