"""The folder store read API on runs written by real experiment processes (-F)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import expt
from expt.filters import FilterError
from expt.store import (BrokenRunError, NotInRunError, RunNotFoundError, StoreNotFoundError,
                        open_store, summarize)
from observers.file_storage import UnsafePathError
from observers.file_storage.store import FolderStore

sys.path.insert(0, os.path.dirname(__file__))
from store_fixtures import make_runs  # noqa: E402
from store_cases import (  # noqa: E402,F401  the cases every store passes
    test_artifacts_list_open_download, test_failed_run_has_its_trace, test_filters,
    test_killed_run_becomes_probably_dead, test_listed_runs_read_what_one_run_reads,
    test_metrics_as_numpy_arrays, test_order_by_a_field_no_run_has_names_the_nearest,
    test_order_by_and_limit, test_a_limit_that_is_not_a_count_is_refused, test_record_fields,
    test_to_frame, test_unknown_metric_suggests_the_nearest,
    test_unknown_run_id_suggests_existing_ids)


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    return make_runs(tmp_path_factory.mktemp("store"))


@pytest.fixture
def store(store_dir):
    return open_store(str(store_dir))


@pytest.fixture
def own_store(tmp_path):
    """A store this test may change."""
    return open_store(str(make_runs(tmp_path)))


def test_open_store_finds_the_folder_backend_by_entry_point(store):
    """open_store on a folder gives the FolderStore registered in expt.stores."""
    assert isinstance(store, FolderStore)
    assert [r.id for r in store.runs()] == [1, 2, 3, 4]


def test_open_store_takes_a_path_object(store_dir):
    """A pathlib.Path names a folder store as its text does."""
    with open_store(store_dir) as store:
        assert [r.id for r in store.runs()] == [1, 2, 3, 4]


def test_missing_folder_is_a_clear_error(store_dir):
    """A location that does not exist names itself and the nearest folder."""
    with pytest.raises(StoreNotFoundError, match="No run folder .*Did you mean 'runs'"):
        open_store(str(store_dir.parent / "rnus"))


@pytest.mark.parametrize("values, expected", [
    ([], (None, None, None)),
    ([3, 1, 2], (2, 1, 3)),
    ([1.0, None, 3.0], (3.0, 1.0, 3.0)),
    ([float("nan"), 1.0, 0.5], (0.5, 0.5, 1.0)),
    ([1.0, float("nan"), 0.5], (0.5, 0.5, 1.0)),
    (["a", "b"], ("b", None, None)),
])
def test_summarize(values, expected):
    """last/min/max of a series: min and max over the numbers, NaN and None ignored."""
    s = summarize({"values": values})
    assert (s["last"], s["min"], s["max"]) == expected and s["count"] == len(values)


def test_misspelt_config_field_is_an_error(store):
    """A config field that no run has is reported with the nearest existing one."""
    with pytest.raises(FilterError) as info:
        store.runs("config.num_leafs>=40")
    assert info.value.suggestions[0] == "config.num_leaves"


def test_to_frame_without_pandas_names_the_extra(store_dir):
    """Without pandas, to_frame raises ImportError naming the 'pandas' extra."""
    code = ("import sys; sys.modules['pandas'] = None; import expt\n"
            f"try:\n    expt.open_store({str(store_dir)!r}).runs().to_frame()\n"
            "except ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert 'pip install "expt[pandas]"' in out


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "../1/run.json"])
def test_artifact_paths_cannot_leave_the_run_folder(store, name):
    """Names that would read outside the run folder are refused."""
    with pytest.raises(UnsafePathError):
        store.get(2).artifacts.open(name)


def test_listed_artifact_that_is_a_link_outside_is_refused(own_store):
    """A listed artifact whose file is a symbolic link out of the run folder is refused."""
    run_dir = Path(own_store.root) / "2"
    (run_dir / "model.txt").unlink()
    os.symlink("/etc/hostname", run_dir / "model.txt")
    with pytest.raises(UnsafePathError, match="outside"):
        own_store.get(2).artifacts.open("model.txt")


def test_source_paths_cannot_leave_the_store(own_store):
    """A run.json whose source path points outside the store is refused on read."""
    path = Path(own_store.root) / "1" / "run.json"
    doc = json.loads(path.read_text())
    doc["experiment"]["sources"] = [["train.py", "../../../../etc/passwd"]]
    path.write_text(json.dumps(doc))
    with pytest.raises(UnsafePathError, match="outside"):
        own_store.get(1).read_source("train.py")
    with pytest.raises(NotInRunError, match="Did you mean 'train.py'"):
        own_store.get(1).read_source("trian.py")


def test_tags_and_notes_where_omniboard_keeps_them(own_store):
    """add_tag/set_note write omniboard.tags/omniboard.notes in run.json; filters see them."""
    run = own_store.get(1)
    run.add_tag("best")
    run.add_tag("v2")
    run.add_tag("best")
    run.set_note("fast and good")
    doc = json.loads((Path(own_store.root) / "1" / "run.json").read_text())
    assert doc["omniboard"] == {"tags": ["best", "v2"], "notes": "fast and good"}
    assert doc["status"] == "COMPLETED"  # the rest of the document is kept
    fresh = open_store(own_store.root)
    assert fresh.get(1).tags == ["best", "v2"] and fresh.get(1).note == "fast and good"
    assert [r.id for r in fresh.runs("tags=best")] == [1]
    fresh.get(1).remove_tag("best")
    assert open_store(own_store.root).get(1).tags == ["v2"]


def test_delete_removes_the_run_and_keeps_shared_sources(own_store):
    """delete() removes the run folder; other runs and _sources stay."""
    own_store.get(2).delete()
    assert [r.id for r in own_store.runs()] == [1, 3, 4]
    assert not (Path(own_store.root) / "2").exists()
    assert os.listdir(Path(own_store.root) / "_sources")
    with pytest.raises(RunNotFoundError):
        own_store.get(2)
    assert "Experiment" in own_store.get(1).read_source("train.py")



def test_unreadable_runs_are_skipped_with_a_warning(own_store, caplog):
    """A run.json or config.json that is not valid JSON (a full disk, a hand edit): listings
    leave that run out and say so; opening it names the file; the other runs are listed."""
    root = Path(own_store.root)
    (root / "2" / "run.json").write_text('{"status": "COMPL')
    (root / "3" / "config.json").write_text("{bad")
    assert [r.id for r in own_store.runs()] == [1, 3, 4]  # config.json is read when used
    assert [r.id for r in own_store.runs("config.num_leaves>=0")] == [1, 4]
    skipped = [r.getMessage() for r in caplog.records if r.name == "expt"]
    assert skipped[-2:] == [
        f"Skipped an unreadable run: {root / '2' / 'run.json'} is not valid JSON (Unterminated "
        "string starting at: line 1 column 12 (char 11)).",
        f"Skipped an unreadable run: {root / '3' / 'config.json'} is not valid JSON (Expecting "
        "property name enclosed in double quotes: line 1 column 2 (char 1))."]
    with pytest.raises(BrokenRunError, match=r"2/run.json is not valid JSON"):
        own_store.get(2)


def test_a_folder_without_run_json_is_not_suggested_as_itself(own_store):
    """A run folder with no run.json yet (a run starting, a stray folder) is no run; the
    error does not suggest the same id."""
    (Path(own_store.root) / "7").mkdir()
    with pytest.raises(RunNotFoundError) as info:
        own_store.get(7)
    assert info.value.suggestions == [] and [r.id for r in own_store.runs()] == [1, 2, 3, 4]


def test_get_run_by_reference(store_dir, monkeypatch):
    """expt.get_run opens one run from a runs/3 reference."""
    monkeypatch.chdir(store_dir.parent)
    run = expt.get_run("runs/3")
    assert run.id == 3 and run.ref == "runs/3" and run.config["num_leaves"] == 63
    assert expt.get_run(Path("runs/3")).ref == "runs/3"


def test_two_million_point_series_round_trip(tmp_path):
    """A 2,000,000-point series written by a real run is read back complete and in order."""
    script = tmp_path / "long.py"
    script.write_text(
        "from expt import Experiment\nex = Experiment('long')\n"
        "@ex.automain\ndef main(_run):\n"
        "    for i in range(2_000_000):\n        _run.log_scalar('loss', i * 0.5)\n")
    subprocess.run([sys.executable, str(script), "-F", str(tmp_path / "runs")], check=True,
                   capture_output=True, timeout=300)
    series = open_store(str(tmp_path / "runs")).get(1).metrics["loss"]
    assert len(series) == 2_000_000
    assert np.array_equal(series.steps, np.arange(2_000_000))
    assert np.array_equal(series.values, np.arange(2_000_000) * 0.5)
    assert len(series.timestamps) == 2_000_000


def test_beat_interval_is_read_from_the_run(store):
    """The heartbeat interval comes from meta (default 10 s when the run did not set it)."""
    assert store.get(1).beat_interval == 10.0


@pytest.fixture
def fresh_location(tmp_path) -> tuple[str, str]:
    """An empty folder store and the flag that records runs there."""
    return str(tmp_path / "runs"), "-F"


def test_import_expt_stays_lean():
    """import expt loads neither the store modules, numpy, pandas nor observers."""
    code = ("import sys, expt\n"
            "print([m for m in ('expt.store', 'expt.filters', 'numpy', 'pandas', 'observers')"
            " if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip() == "[]"
