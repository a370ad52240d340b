"""Import Experiment and FileStorageObserver from the framework named by $BENCH_FRAMEWORK.

Each workload imports this helper, so one script runs unchanged under Sacred
(``BENCH_FRAMEWORK=sacred``, run by the Sacred venv's python) and under expt
(``BENCH_FRAMEWORK=expt``). Results go as JSON to the file named by $BENCH_OUT.
"""
from __future__ import annotations

import json
import os

FRAMEWORK = os.environ.get("BENCH_FRAMEWORK", "expt")

if FRAMEWORK == "sacred":
    from sacred import Experiment
    from sacred.observers import FileStorageObserver
elif FRAMEWORK == "expt":
    from expt import Experiment

    try:  # Sacred's spelling, offered by expt as a lazy alias
        from expt.observers import FileStorageObserver
    except ImportError:
        from observers import FileStorageObserver
else:
    raise SystemExit(f"BENCH_FRAMEWORK must be 'sacred' or 'expt', not {FRAMEWORK!r}")

__all__ = ["Experiment", "FileStorageObserver", "FRAMEWORK", "report"]


def report(result: dict) -> None:
    """Hand the workload's measurements to the driver (file in $BENCH_OUT, else stdout)."""
    out = os.environ.get("BENCH_OUT")
    if out:
        with open(out, "w") as fh:
            json.dump(result, fh)
    else:
        print(json.dumps(result))
