"""Observers that record runs: FileStorageObserver, StdoutObserver and (lazily) MongoObserver.

``MongoObserver`` is imported on first access, so ``import observers`` never imports pymongo.
"""
from __future__ import annotations

from typing import Any

from .file_storage import FileStorageObserver
from .stdout import StdoutObserver

__all__ = ["FileStorageObserver", "StdoutObserver", "MongoObserver"]

_LAZY = {"MongoObserver": "observers.mongo"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later accesses skip this function
        return value
    raise AttributeError(f"module 'observers' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
