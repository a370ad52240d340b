"""Driving a MongoObserver through a run's events, the way the core's Run does."""
from __future__ import annotations

import os
from datetime import datetime, timezone


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def ex_info(base_dir: str, name: str = "demo") -> dict:
    """Experiment info with one real source file in `base_dir`."""
    import hashlib

    path = os.path.join(base_dir, "train.py")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write("print('hello')\n")
    md5 = hashlib.md5(open(path, "rb").read()).hexdigest()
    return {"name": name, "base_dir": base_dir, "sources": [["train.py", md5]],
            "dependencies": ["numpy==1.26.4"], "repositories": [], "mainfile": "train.py"}


def start(obs, base_dir: str, config: dict | None = None, meta: dict | None = None, _id=None):
    """Send started_event; return the id."""
    return obs.started_event(ex_info=ex_info(base_dir), command="main",
                             host_info={"hostname": "testhost", "os": ["Linux", "x"]},
                             start_time=now(), config=config or {"lr": 0.1, "seed": 1},
                             meta_info=meta or {"command": "main", "options": {}}, _id=_id)


def metrics(name: str, start_step: int, n: int, value=lambda i: i * 0.5) -> dict:
    """metrics_by_name with `n` points of metric `name` from step `start_step`."""
    t = now()
    steps = list(range(start_step, start_step + n))
    return {name: {"steps": steps, "values": [value(s) for s in steps], "timestamps": [t] * n}}
