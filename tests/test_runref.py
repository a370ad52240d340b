"""Run references and store locations: folders, MongoDB URLs and -m's short forms."""
import pytest

from expt.runref import (FOLDER, MONGO, Location, RunRef, RunRefError, parse_location,
                         parse_runref)


@pytest.mark.parametrize("text, kind, target", [
    ("runs", FOLDER, "runs"),
    ("./runs/", FOLDER, "./runs/"),
    ("/data/runs", FOLDER, "/data/runs"),
    ("mongodb://host/db", MONGO, "mongodb://host/db"),
    ("mongodb+srv://u:p@cluster.example.net/x", MONGO, "mongodb+srv://u:p@cluster.example.net/x"),
    ("localhost:27017", MONGO, "localhost:27017"),
    ("db.example.com:27017:expt", MONGO, "db.example.com:27017:expt"),
    ("[::1]:27017:expt", MONGO, "[::1]:27017:expt"),
])
def test_parse_location(text, kind, target):
    """Folders, MongoDB URIs and the host:port[:db] short forms are told apart."""
    assert parse_location(text) == Location(kind, target)


@pytest.mark.parametrize("text, location, run_id", [
    ("runs/3", Location(FOLDER, "runs"), 3),
    ("./runs/3/", Location(FOLDER, "./runs"), 3),
    ("/abs/runs/12", Location(FOLDER, "/abs/runs"), 12),
    ("runs/my-run", Location(FOLDER, "runs"), "my-run"),
    ("runs#3", Location(FOLDER, "runs"), 3),
    ("mongodb://host/db#3", Location(MONGO, "mongodb://host/db"), 3),
    ("localhost:27017:expt#5", Location(MONGO, "localhost:27017:expt"), 5),
])
def test_parse_runref(text, location, run_id):
    """A run is a folder path ending in its id, or LOCATION#ID."""
    assert parse_runref(text) == RunRef(location, run_id)


@pytest.mark.parametrize("ref, text", [
    (RunRef(Location(FOLDER, "runs"), 3), "runs/3"),
    (RunRef(Location(MONGO, "mongodb://h/db"), 3), "mongodb://h/db#3"),
])
def test_runref_str_round_trips(ref, text):
    """str(ref) is a reference that parses back to the same run."""
    assert str(ref) == text and parse_runref(text) == ref


@pytest.mark.parametrize("text, reason, suggestion", [
    ("runs", "folder root and its id", "runs/1"),
    ("3", "folder root and its id", "runs/3"),
    ("mongodb://host/db", "needs '#ID'", "mongodb://host/db#1"),
    ("mongodb://host/db/3", "needs '#ID'", "mongodb://host/db#3"),
    ("mongodb://host/db#1#2", "more than one '#'", "mongodb://host/db#2"),
    ("mongdb://host/db#3", "unknown scheme", "mongodb://host/db"),
    ("runs#", "no run id after '#'", "runs#1"),
    ("#3", "no location before '#'", "runs#3"),
    ("", "empty", None),
])
def test_bad_references_explain_and_suggest(text, reason, suggestion):
    """A bad reference says why and suggests a valid spelling."""
    with pytest.raises(RunRefError) as info:
        parse_runref(text)
    assert reason in str(info.value)
    if suggestion:
        assert suggestion in info.value.suggestions
