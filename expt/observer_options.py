"""Command-line flags that attach observers (``-F DIR``, ``-m URL``), found by entry point.

An observer package declares, in the ``expt.observer_options`` entry-point group, an
:class:`ObserverOption`; the command line adds its flag to the usage text and calls its
factory with the flag's value. The core therefore never names an observer module.

Entry points are read straight from the ``entry_points.txt`` files of the distributions on
``sys.path``: importing ``importlib.metadata`` alone costs 15-25 ms, a large part of a short
run's whole start-up. The format is the one importlib.metadata reads (an INI file whose
sections are groups and whose entries are ``name = module:attribute``).
"""
from __future__ import annotations

import functools
import importlib
import logging
import os
import sys
from typing import Callable, Iterator, NamedTuple

ENTRY_POINT_GROUP = "expt.observer_options"


class ObserverOption(NamedTuple):
    """One observer flag: ``short``/``long`` spellings, its ``metavar``, help, and a factory."""

    short: str           # "-F"
    long: str            # "--file_storage"
    metavar: str         # "DIR"
    help: str
    factory: Callable[[str], object]


@functools.lru_cache(maxsize=1)
def load_observer_options() -> tuple[ObserverOption, ...]:
    """Every ObserverOption installed, sorted by long flag name; broken plug-ins are skipped."""
    options = {}
    for name, target in entry_points(ENTRY_POINT_GROUP):
        if name in options:
            continue  # the first distribution on sys.path wins, as with imports
        try:
            module, _, attribute = target.partition(":")
            option = getattr(importlib.import_module(module.strip()), attribute.strip())
        except (ImportError, AttributeError) as exc:  # a broken plug-in must not break runs
            logging.getLogger("expt").warning("Skipping observer option %s: %s", name, exc)
            continue
        if isinstance(option, ObserverOption):
            options[name] = option
    return tuple(sorted(options.values(), key=lambda o: o.long))


def entry_points(group: str) -> Iterator[tuple[str, str]]:
    """(name, 'module:attribute') of each entry point in `group`, in sys.path order."""
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        for entry in names:
            if entry.endswith((".dist-info", ".egg-info")):
                yield from _read_group(os.path.join(folder, entry, "entry_points.txt"), group)


def _read_group(path: str, group: str) -> Iterator[tuple[str, str]]:
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return
    in_group = False
    for line in lines:
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            in_group = line == f"[{group}]"
        elif in_group and "=" in line:
            name, _, value = line.partition("=")
            yield name.strip(), value.split("[")[0].strip()  # drop "[extras]"
