"""The ``ex_info`` record of a run: name, base dir, sources, dependencies, repositories."""
from __future__ import annotations

import os
import sys
from typing import Iterable

from .dependencies import find_package_dependencies
from .gitinfo import get_git_info
from .sources import find_local_sources, source_for

# Git state per repository, reused while nothing that git looks at has changed, so that many
# runs in one process do not each pay for `git status` and `git diff`.
_git_cache: dict[str, tuple[tuple, dict | None]] = {}


def collect_experiment_info(*, name: str, base_dir: str, mainfile: str | None,
                            extra_sources: Iterable[str] = (),
                            extra_dependencies: Iterable[tuple[str, str]] = (),
                            save_git_info: bool = True) -> dict:
    """Sacred's ``ex_info`` dict; ``sources`` are ``[name relative to base_dir, md5]`` pairs."""
    sources = {s.name: s for s in find_local_sources(base_dir, mainfile, sys.modules)}
    for path in extra_sources:
        source = source_for(path, base_dir)
        sources[source.name] = source
    repositories = []
    if save_git_info:
        git = _cached_git_info(base_dir, [s.md5 for s in sources.values()])
        if git:
            repositories.append(git)
    return {
        "name": name,
        "base_dir": base_dir,
        "sources": [[s.name, s.md5] for s in sorted(sources.values(), key=lambda s: s.name)],
        "dependencies": find_package_dependencies(sys.modules, extra_dependencies),
        "repositories": repositories,
        "mainfile": os.path.basename(mainfile) if mainfile else None,
    }


def _cached_git_info(base_dir: str, source_md5s: list[str]) -> dict | None:
    key = (tuple(source_md5s), _stamp(os.path.join(base_dir, ".git")))
    cached = _git_cache.get(base_dir)
    if cached is not None and cached[0] == key:
        return cached[1]
    info = get_git_info(base_dir)
    if info is not None:
        key = (tuple(source_md5s), _stamp(os.path.join(info.get("root", base_dir), ".git")))
    _git_cache[base_dir] = (key, info)
    return info


def _stamp(git_dir: str) -> tuple:
    """Modification times of the files git changes on commit, checkout and add."""
    stamps = []
    for name in ("HEAD", "index"):
        try:
            stamps.append(os.stat(os.path.join(git_dir, name)).st_mtime_ns)
        except OSError:
            stamps.append(None)
    return tuple(stamps)
