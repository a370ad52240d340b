"""A python with Sacred 0.8.7 (and pymongo), for the tests that compare expt with Sacred itself.

``$SACRED_PYTHON`` when it has both, else /tmp/sacred-venv when it has both, else a throwaway
venv ``bench/.cache/sacred-mongo-venv`` made once by bench/_sacred_venv.py plus pymongo. So the
comparisons run everywhere the test suite runs (CI included), never skipped for want of Sacred.
"""
from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _ready(python: str | Path) -> bool:
    return Path(python).exists() and subprocess.run(
        [str(python), "-c", "import sacred, pymongo"], capture_output=True).returncode == 0


@functools.lru_cache(maxsize=None)
def sacred_python() -> Path:
    """The python of a venv with Sacred 0.8.7 and pymongo, made on first use."""
    for candidate in (os.environ.get("SACRED_PYTHON"), "/tmp/sacred-venv/bin/python"):
        if candidate and _ready(candidate):
            return Path(os.path.abspath(candidate))  # not resolve(): keep the venv's symlink
    sys.path.insert(0, str(BENCH))
    try:
        from _sacred_venv import CACHE_DIR, ensure_sacred_venv
    finally:
        sys.path.remove(str(BENCH))
    python = ensure_sacred_venv(CACHE_DIR / "sacred-mongo-venv")
    if not _ready(python):
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "pymongo>=4.6,<5"], check=True, stdout=subprocess.DEVNULL)
    return python


def sacred_source(module: str) -> Path:
    """The file of one of Sacred's modules in that venv, e.g. 'sacred.observers.base'."""
    out = subprocess.run([str(sacred_python()), "-c", f"import {module} as m; print(m.__file__)"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())
