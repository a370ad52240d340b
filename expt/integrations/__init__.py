"""Integrations with machine-learning libraries, imported explicitly and never by ``import expt``.

    from expt.integrations.lightgbm import autolog, expt_callback, load_model
    from expt.integrations.sklearn import log_regression_metrics
    from expt.integrations.datasets import log_dataset

Each module imports its library when it is imported; a missing library raises ``ImportError``
naming the extra to install (``pip install "expt[lightgbm]"``).
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


def require(module: str, extra: str = "lightgbm") -> ModuleType:
    """Import `module`, or raise ImportError saying which expt extra provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        raise ImportError(
            f"This expt integration needs the package '{top}', which is not installed: "
            f'pip install "expt[{extra}]"') from exc


def resolve_run(run: Any = None) -> Any:
    """`run` if given, else the run whose main function is executing now (or None)."""
    if run is not None:
        return run
    from ..run import current_run

    return current_run()
