"""MongoDB observer: runs, metrics, output, sources and artifacts in MongoDB (Sacred's layout).

``MongoObserver`` is imported lazily, so loading the ``-m`` flag (:data:`MongoDbOption`) does not
import pymongo until an observer is actually made.
"""
from __future__ import annotations

from typing import Any

from expt.observer_options import ObserverOption

__all__ = ["MongoObserver", "MongoDbOption", "MongoUrlError", "parse_url", "read_metric",
           "read_output"]


def _make(url: str):
    from .observer import MongoObserver

    return MongoObserver(url)


MongoDbOption = ObserverOption(
    short="-m", long="--mongo_db", metavar="URL",
    help="Record the run in MongoDB: mongodb://[user:pw@]host[:port][/db], mongodb+srv://..., "
         "host:port, host:port:db or db.",
    factory=_make)


def __getattr__(name: str) -> Any:
    if name == "MongoObserver":
        from .observer import MongoObserver
        return MongoObserver
    if name in ("MongoUrlError", "parse_url"):
        from . import url
        return getattr(url, name)
    if name in ("read_metric", "read_output"):
        from . import read
        return getattr(read, name)
    raise AttributeError(f"module 'observers.mongo' has no attribute {name!r}")
