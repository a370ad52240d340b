"""Tests of expt.integrations; shared helpers for running a training inside a real run."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from expt import Experiment
from expt.testing import RecordingObserver


@dataclass
class Recorded:
    """What one run recorded: the Run, its folder, the recording observer, main's values."""
    run: Any
    folder: Path
    recorder: RecordingObserver
    values: dict = field(default_factory=dict)

    def json(self, name: str) -> Any:
        """A JSON file of the run folder."""
        return json.loads((self.folder / name).read_text())

    @property
    def info(self) -> dict:
        """info.json ({} when the run's info stayed empty and the observer wrote none)."""
        return self.json("info.json") if (self.folder / "info.json").exists() else {}

    @property
    def metrics(self) -> dict:
        return self.json("metrics.json")


def record(body: Callable[[Any, dict], None], basedir: Path, name: str = "lgb_test") -> Recorded:
    """Run `body(_run, values)` as an experiment's main function with a file and a recording observer."""
    from observers import FileStorageObserver

    ex = Experiment(name, save_git_info=False)
    recorder = RecordingObserver()
    ex.observers += [FileStorageObserver(basedir), recorder]
    values: dict = {}

    @ex.main
    def main(_run):
        body(_run, values)

    run = ex.run()
    return Recorded(run, Path(basedir) / str(run._id), recorder, values)
