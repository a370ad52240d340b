"""Facts about the machine a run executes on, under Sacred's ``host`` keys.

``hostname``, ``os`` ([system, platform string]), ``python_version``, ``cpu``, ``gpus`` (only
when ``nvidia-smi`` is on PATH) and ``ENV`` (only the variables the user asked for).

Speed matters (this runs at every run start): on Linux everything comes from ``os.uname()``,
``os.confstr()`` and one read of ``/proc/cpuinfo``; ``platform.platform()`` would spawn
``uname -p`` (about 6 ms), so the same string is built here without it. The machine facts are
cached for the life of the process; ``ENV`` and user gatherers are read at every call.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Any, Callable, Mapping, Sequence

from .errors import UserInputError
from .redact import redact_url

log = logging.getLogger("expt.hostinfo")

BUILTIN_KEYS = ("hostname", "os", "python_version", "cpu", "gpus", "ENV")
NVIDIA_SMI_TIMEOUT = 10.0  # seconds; a wedged driver can make nvidia-smi hang
_GPU_QUERY = "name,memory.total,persistence_mode,driver_version"

_machine_cache: dict[str, Any] | None = None


class HostInfoNameError(UserInputError, KeyError):
    """A user gatherer is named like a built-in host-info field."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(
            f"Host info gatherer name '{name}' is taken by a built-in field "
            f"({', '.join(BUILTIN_KEYS)}); choose another name."
        )

    def __str__(self) -> str:
        return self.args[0]


def check_gatherer_name(name: str) -> None:
    """Raise :class:`HostInfoNameError` when `name` would overwrite a built-in field."""
    if name in BUILTIN_KEYS:
        raise HostInfoNameError(name)


def _platform_string(uname: os.uname_result) -> str:
    """``platform.platform()`` on Linux, without the ``uname -p`` subprocess it starts."""
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, ValueError, OSError):
        libc = ""
    lib = libc.split(maxsplit=1)
    if len(lib) != 2:  # musl or unknown libc: let the stdlib work it out
        import platform
        return platform.platform()
    parts = [uname.sysname, uname.release, uname.machine, "with", lib[0] + lib[1]]
    text = "-".join(p.strip() for p in parts if p)
    for char in ' /\\:;"()':
        text = text.replace(char, "_" if char == " " else "-")
    text = text.replace("unknown", "")
    while "--" in text:
        text = text.replace("--", "-")
    return text.rstrip("-")


def _cpu_from_proc(path: str = "/proc/cpuinfo") -> str | None:
    """The first ``model name`` in /proc/cpuinfo (x86), or ``Hardware``/``cpu model`` elsewhere."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            fallback = None
            for line in f:
                key, sep, value = line.partition(":")
                if not sep:
                    continue
                key = key.strip().lower()
                if key == "model name":
                    return value.strip()
                if fallback is None and key in ("hardware", "cpu model", "processor") \
                        and not value.strip().isdigit():
                    fallback = value.strip()
            return fallback
    except OSError:
        return None


def _cpu() -> str:
    if sys.platform.startswith("linux"):
        model = _cpu_from_proc()
        if model:
            return model
    if sys.platform == "darwin":
        import subprocess
        try:
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"],
                                 capture_output=True, text=True, timeout=5)
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    import platform
    return platform.processor() or platform.machine() or "Unknown"


def parse_nvidia_smi_csv(text: str) -> dict[str, Any]:
    """Sacred's ``gpus`` value from ``nvidia-smi --query-gpu=name,memory.total,
    persistence_mode,driver_version --format=csv,noheader,nounits`` output."""
    gpus = []
    driver = None
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = [f.strip() for f in line.rsplit(",", 3)]  # GPU names may contain commas
        if len(fields) != 4:
            continue
        name, memory, persistence, driver = fields
        try:
            total_memory: int | str = int(float(memory.split()[0]))
        except (ValueError, IndexError):
            total_memory = memory
        gpus.append({"model": name, "total_memory": total_memory,
                     "persistence_mode": persistence.lower() == "enabled"})
    return {"gpus": gpus, "driver_version": driver}


def _which(program: str) -> str | None:
    """shutil.which() for POSIX without importing shutil (and fnmatch) on every run start."""
    if os.name != "posix":
        import shutil
        return shutil.which(program)
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(folder or ".", program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _gpus() -> dict[str, Any] | None:
    exe = _which("nvidia-smi")
    if exe is None:
        return None
    import subprocess
    try:
        out = subprocess.run(
            [exe, f"--query-gpu={_GPU_QUERY}", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT)
    except (OSError, subprocess.SubprocessError) as e:
        log.warning("Could not read GPU information from nvidia-smi: %s", e)
        return None
    if out.returncode != 0:
        log.warning("nvidia-smi failed (exit %s): %s", out.returncode, out.stderr.strip()[:200])
        return None
    return parse_nvidia_smi_csv(out.stdout)


def machine_info(*, refresh: bool = False) -> dict[str, Any]:
    """hostname, os, python_version, cpu and (with nvidia-smi) gpus; cached per process."""
    global _machine_cache
    if _machine_cache is None or refresh:
        if hasattr(os, "uname") and sys.platform.startswith("linux"):
            uname = os.uname()
            info: dict[str, Any] = {
                "hostname": uname.nodename,
                "os": [uname.sysname, _platform_string(uname)],
            }
        else:
            import platform
            info = {"hostname": platform.node(), "os": [platform.system(), platform.platform()]}
        # sys.version's first word is what platform.python_version() returns ('3.11.9').
        info["python_version"] = sys.version.split()[0]
        info["cpu"] = _cpu()
        gpus = _gpus()
        if gpus is not None:
            info["gpus"] = gpus
        _machine_cache = info
    return dict(_machine_cache)


def captured_env(names: Sequence[str]) -> dict[str, str]:
    """The requested environment variables that are set, URL credentials masked."""
    return {k: redact_url(os.environ[k]) for k in names if k in os.environ}


def get_host_info(env_vars: Sequence[str] | None = (),
                  gatherers: Mapping[str, Callable[[], Any]] | None = None) -> dict[str, Any]:
    """The ``host`` record of a run.

    `env_vars` names the environment variables to keep under ``ENV``. Each of `gatherers` is
    called without arguments and its value stored under its name; one that raises is logged
    as a warning and left out, so a broken gatherer never stops a run. A gatherer named like
    a built-in field raises :class:`HostInfoNameError` (a mistake in the experiment).
    """
    if isinstance(env_vars, str):  # a lone name would otherwise be read letter by letter
        env_vars = (env_vars,)
    env_vars = env_vars or ()
    info = machine_info()
    info["ENV"] = captured_env(env_vars)
    for name, gatherer in (gatherers or {}).items():
        check_gatherer_name(name)
        try:
            info[name] = gatherer()
        except Exception as e:  # a user's gatherer must not fail the run
            log.warning("Host info gatherer '%s' failed and was skipped: %s: %s",
                        name, type(e).__name__, e)
    return info


__all__ = ["get_host_info", "machine_info", "captured_env", "parse_nvidia_smi_csv",
           "check_gatherer_name", "HostInfoNameError", "BUILTIN_KEYS"]
