"""Seeding: the run's seed seeds `random` and numpy, and derives the seeds of captured functions.

Derived seeds use ``random.Random`` seeded with a string, which Python hashes with SHA-512, so
they are the same in every process and on every platform.
"""
from __future__ import annotations

import random
import sys
from typing import Any

SEED_RANGE = 2**31


def derive_seed(parent_seed: int, *names: object) -> int:
    """A seed determined by `parent_seed` and `names` (e.g. a function name and a call count)."""
    key = ":".join([str(parent_seed), *map(str, names)])
    return random.Random(key).randrange(SEED_RANGE)


def seed_globals(seed: int) -> None:
    """Seed `random`, and numpy's global generator when numpy is already imported."""
    random.seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(seed % 2**32)


def make_rnd(seed: int) -> Any:
    """A numpy RandomState seeded with `seed`, or random.Random when numpy is not installed."""
    try:
        import numpy
    except ImportError:
        return random.Random(seed)
    return numpy.random.RandomState(seed % 2**32)
