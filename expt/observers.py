"""Sacred's spelling ``from expt.observers import FileStorageObserver``.

The observers live in the separate ``observers`` package; this alias imports it only when an
attribute is asked for, so ``import expt`` never loads observers (or pymongo).
"""
from __future__ import annotations

from typing import Any

from .events import RunObserver

__all__ = ["RunObserver", "FileStorageObserver", "StdoutObserver", "MongoObserver"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        import observers

        return getattr(observers, name)
    raise AttributeError(f"module 'expt.observers' has no attribute '{name}'")
