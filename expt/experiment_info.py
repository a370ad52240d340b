"""The ``ex_info`` record of a run: name, base dir, sources, dependencies, repositories."""
from __future__ import annotations

import os
import sys
from typing import Iterable

from .dependencies import find_package_dependencies
from .git_cache import cached_git_info
from .sources import find_local_sources, source_for


def collect_experiment_info(*, name: str, base_dir: str, mainfile: str | None,
                            extra_sources: Iterable[str] = (),
                            extra_dependencies: Iterable[tuple[str, str]] = (),
                            save_git_info: bool = True) -> dict:
    """Sacred's ``ex_info`` dict; ``sources`` are ``[name relative to base_dir, md5]`` pairs."""
    sources = {s.name: s for s in find_local_sources(base_dir, mainfile, sys.modules)}
    for path in extra_sources:
        source = source_for(path, base_dir)
        sources[source.name] = source
    git = cached_git_info(base_dir) if save_git_info else None
    return {
        "name": name,
        "base_dir": base_dir,
        "sources": [[s.name, s.md5] for s in sorted(sources.values(), key=lambda s: s.name)],
        "dependencies": find_package_dependencies(sys.modules, extra_dependencies,
                                                  base_dir=base_dir),
        "repositories": [git] if git else [],
        "mainfile": os.path.basename(mainfile) if mainfile else None,
    }
