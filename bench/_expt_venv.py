"""A venv with expt installed from this working tree the way users get it (``pip install .``,
not editable), for benchmarks that compare it with Sacred installed the same way.

An editable install adds an import hook that costs every process ~15 ms before any of expt
runs; Sacred's venv has none, so whole-process figures would compare unlike things.
``ensure_expt_venv()`` creates ``bench/.cache/expt-venv`` once (with numpy matched to this
environment) and reinstalls expt only when the tree's sources changed since the last call.
"""
from __future__ import annotations

import fcntl
import hashlib
import subprocess
import sys
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_DIR = REPO_ROOT / "bench" / ".cache" / "expt-venv"
_MARKER = ".bench-tree"


def tree_digest() -> str:
    """Hash of what `pip install .` would install: packaging files and the two packages."""
    digest = hashlib.sha1()
    files = [REPO_ROOT / "setup.cfg", REPO_ROOT / "setup.py", REPO_ROOT / "pyproject.toml"]
    for package in ("expt", "observers"):
        files += sorted((REPO_ROOT / package).rglob("*.py"))
    for path in files:
        digest.update(str(path.relative_to(REPO_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_expt_venv(venv_dir: Path = VENV_DIR, *, quiet: bool = True) -> Path:
    """Create or refresh the venv; return its python."""
    python = venv_dir / "bin" / "python"
    marker = venv_dir / _MARKER
    wanted = tree_digest()
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    venv_dir.parent.mkdir(parents=True, exist_ok=True)
    out = subprocess.DEVNULL if quiet else None
    with open(venv_dir.parent / (venv_dir.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not python.exists():
            base = getattr(sys, "_base_executable", sys.executable)
            subprocess.run([base, "-m", "venv", "--clear", str(venv_dir)], check=True, stdout=out)
            try:
                numpy = f"numpy=={metadata.version('numpy')}"
            except metadata.PackageNotFoundError:
                numpy = "numpy"
            subprocess.run([str(python), "-m", "pip", "install", "-q",
                            "--disable-pip-version-check", numpy], check=True, stdout=out)
        print(f"[bench] installing expt from {REPO_ROOT} into {venv_dir} ...", file=sys.stderr)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "--force-reinstall", "--no-cache-dir", str(REPO_ROOT)],
                       check=True, stdout=out, stderr=out)
        marker.write_text(wanted)
    return python


if __name__ == "__main__":
    print(ensure_expt_venv(quiet=False))
