"""Fixtures for integration tests (the real SecantusDB server is tests/conftest.py's), and a
helper that runs a training inside a real run recorded by the MongoObserver."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest


@dataclass
class MongoRecorded:
    """One run as the MongoObserver stored it, read back with pymongo, GridFS and read.py."""
    db: Any
    run_id: Any
    ref: str  # the run reference, mongodb://host:port/db#id
    recorder: Any
    values: dict = field(default_factory=dict)

    @property
    def doc(self) -> dict:
        """The run document."""
        return self.db.runs.find_one({"_id": self.run_id})

    @property
    def info(self) -> dict:
        """The run's info, without the metric references the observer adds."""
        return {k: v for k, v in self.doc["info"].items() if k != "metrics"}

    def metric_names(self) -> set[str]:
        """Names of the run's metric documents."""
        return {d["name"] for d in self.db.metrics.find({"run_id": self.run_id}, {"name": 1})}

    def metric(self, name: str) -> dict:
        """The whole series of metric `name` (observers.mongo.read.read_metric)."""
        from observers.mongo import read_metric

        return read_metric(self.db, self.run_id, name)

    def artifact_names(self) -> list[str]:
        """Artifact names in the run document, in the order they were added."""
        return [a["name"] for a in self.doc["artifacts"]]

    def artifact_file(self, name: str) -> dict:
        """The GridFS ``fs.files`` document of artifact `name`."""
        [entry] = [a for a in self.doc["artifacts"] if a["name"] == name]
        return self.db.fs.files.find_one({"_id": entry["file_id"]})

    def artifact(self, name: str) -> bytes:
        """The bytes of artifact `name`, read from GridFS."""
        import gridfs

        [entry] = [a for a in self.doc["artifacts"] if a["name"] == name]
        return gridfs.GridFS(self.db).get(entry["file_id"]).read()

    def artifact_json(self, name: str) -> Any:
        return json.loads(self.artifact(name))

@pytest.fixture
def mongo_record(mongo_server, mongo_client, mongo_db_name, tmp_path):
    """`mongo_record(body)` runs `body(_run, values)` as an experiment's main function with a
    MongoObserver (fresh database) and a recording observer; returns a MongoRecorded."""
    from expt import Experiment
    from expt.testing import RecordingObserver
    from observers.mongo import MongoObserver

    def run(body: Callable[[Any, dict], None], name: str = "lgb_mongo") -> MongoRecorded:
        ex = Experiment(name, save_git_info=False)
        recorder = RecordingObserver()
        ex.observers += [MongoObserver(mongo_server.url, mongo_db_name,
                                       journal_dir=str(tmp_path / "journal")), recorder]
        values: dict = {}

        @ex.main
        def main(_run):
            body(_run, values)

        result = ex.run()
        ref = f"{mongo_server.url}/{mongo_db_name}#{result._id}"
        return MongoRecorded(mongo_client[mongo_db_name], result._id, ref, recorder, values)
    return run
