"""Observer flags are found through the expt.observer_options entry-point group."""
from __future__ import annotations

import importlib.metadata
import sys

import pytest

from expt.observer_options import ENTRY_POINT_GROUP, entry_points, load_observer_options


def test_reads_the_same_entry_points_as_importlib_metadata():
    """The direct reader finds exactly what importlib.metadata finds for our group."""
    expected = sorted((e.name, e.value) for e in importlib.metadata.entry_points(
        group=ENTRY_POINT_GROUP))
    assert sorted(set(entry_points(ENTRY_POINT_GROUP))) == expected
    assert ("file_storage", "observers.file_storage:FileStorageOption") in expected


def test_installed_flags_are_file_storage_and_mongo():
    """-F and -m come from the observers package."""
    assert [(o.short, o.long) for o in load_observer_options()] == [
        ("-F", "--file_storage"), ("-m", "--mongo_db")]


def test_entry_points_of_another_distribution_and_extras_syntax(tmp_path, monkeypatch):
    """A plug-in distribution's entries are read, '[extras]' suffixes dropped, other groups ignored."""
    dist = tmp_path / "plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "entry_points.txt").write_text(
        "[console_scripts]\nx = a:b\n\n[expt.observer_options]\n"
        "slack = slack_obs.option:SlackOption [slack]\n# a comment\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    assert list(entry_points(ENTRY_POINT_GROUP)) == [("slack", "slack_obs.option:SlackOption")]


def test_broken_plugin_is_skipped_with_a_warning(tmp_path, monkeypatch, caplog):
    """A plug-in that cannot be imported is skipped; the others still load."""
    dist = tmp_path / "broken-1.0.dist-info"
    dist.mkdir()
    (dist / "entry_points.txt").write_text(
        "[expt.observer_options]\nbroken = no_such_module_xyz:Option\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    load_observer_options.cache_clear()
    try:
        longs = [o.long for o in load_observer_options()]
    finally:
        load_observer_options.cache_clear()
    assert "--file_storage" in longs
    assert "Skipping observer option broken" in caplog.text
