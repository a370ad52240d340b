"""A throwaway venv with Sacred 0.8.7, for benchmarks that compare expt with Sacred.

``ensure_sacred_venv()`` creates ``bench/.cache/sacred-venv`` (git-ignored) the
first time and returns its python; later calls only check a marker file, so
it is cheap and idempotent. numpy is pinned to the version installed beside
expt so both frameworks see the same numpy (Sacred imports it at start-up).

Usable from the command line too: ``python bench/_sacred_venv.py`` prints the
path of the venv's python.
"""
from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

SACRED_VERSION = "0.8.7"
CACHE_DIR = Path(__file__).resolve().parent / ".cache"
VENV_DIR = CACHE_DIR / "sacred-venv"
_MARKER = ".bench-requirements"


def requirements() -> list[str]:
    """Requirement specs installed into the venv (numpy matched to this env)."""
    try:
        numpy_spec = f"numpy=={metadata.version('numpy')}"
    except metadata.PackageNotFoundError:
        numpy_spec = "numpy"
    return [f"sacred=={SACRED_VERSION}", numpy_spec]


def venv_python(venv_dir: Path = VENV_DIR) -> Path:
    """Path of the python executable inside ``venv_dir``."""
    return venv_dir / "bin" / "python"


def ensure_sacred_venv(venv_dir: Path = VENV_DIR, *, quiet: bool = True) -> Path:
    """Create (if needed) a venv with Sacred 0.8.7 and numpy; return its python.

    Safe when several processes call it at once (a file lock serialises the
    creation); a half-built venv is detected by the missing marker and rebuilt.
    """
    wanted = "\n".join(requirements()) + "\n"
    marker = venv_dir / _MARKER
    python = venv_python(venv_dir)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    venv_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(venv_dir.parent / (venv_dir.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building it
        if python.exists() and marker.exists() and marker.read_text() == wanted:
            return python
        out = subprocess.DEVNULL if quiet else None
        if not python.exists():
            # The base interpreter, not this venv's, so the new venv is independent.
            base = getattr(sys, "_base_executable", sys.executable)
            subprocess.run([base, "-m", "venv", "--clear", str(venv_dir)], check=True, stdout=out)
        print(f"[bench] installing {' '.join(requirements())} into {venv_dir} ...", file=sys.stderr)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *requirements()],
            check=True,
            stdout=out,
        )
        check = subprocess.run(
            [str(python), "-c", "import sacred; print(sacred.__version__)"],
            check=True, capture_output=True, text=True,
        )
        if check.stdout.strip() != SACRED_VERSION:
            raise RuntimeError(f"sacred venv at {venv_dir} has sacred {check.stdout.strip()!r}, wanted {SACRED_VERSION}")
        marker.write_text(wanted)
    return python


if __name__ == "__main__":
    print(ensure_sacred_venv(quiet=os.environ.get("BENCH_VERBOSE") is None))
