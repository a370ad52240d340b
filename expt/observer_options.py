"""Command-line flags that attach observers (``-F DIR``, ``-m URL``), found by entry point.

An observer package declares, in the ``expt.observer_options`` entry-point group, an
:class:`ObserverOption`; the command line adds its flag to the usage text and calls its
factory with the flag's value. The core therefore never names an observer module.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Callable

ENTRY_POINT_GROUP = "expt.observer_options"


@dataclass(frozen=True)
class ObserverOption:
    """One observer flag: ``short``/``long`` spellings, its ``metavar``, help, and a factory."""

    short: str           # "-F"
    long: str            # "--file_storage"
    metavar: str         # "DIR"
    help: str
    factory: Callable[[str], object]


@functools.lru_cache(maxsize=1)
def load_observer_options() -> tuple[ObserverOption, ...]:
    """Every ObserverOption installed, sorted by long flag name; broken plug-ins are skipped."""
    from importlib.metadata import entry_points

    options = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            option = ep.load()
        except (ImportError, AttributeError) as exc:  # a broken plug-in must not break runs
            logging.getLogger("expt").warning("Skipping observer option %s: %s", ep.name, exc)
            continue
        if isinstance(option, ObserverOption):
            options.append(option)
    return tuple(sorted(options, key=lambda o: o.long))
