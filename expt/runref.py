"""Naming stores and runs on the command line and in Python.

Locations (where runs are stored):
    runs, ./runs, /data/runs          a run folder root (what ``-F DIR`` wrote)
    mongodb://[user:pw@]host[:port]/db, mongodb+srv://...   a MongoDB database
    host:port, host:port:db           ``-m``'s short forms (database ``sacred`` when omitted)

Run references (one run):
    runs/3                            folder root ``runs``, run id 3
    LOCATION#ID                       any location, e.g. ``mongodb://host/db#3``,
                                      ``localhost:27017:expt#3``, ``runs#3``

``-m``'s bare ``db`` short form is not accepted here, because ``runs`` could then be a folder or
a database; write ``localhost:27017:db`` or ``mongodb://localhost/db`` instead. Parsing never
touches the disk or the network: the store checks that the place exists when it is opened.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from .errors import UserInputError, did_you_mean, suggest

FOLDER, MONGO = "folder", "mongo"
_SCHEMES = ("mongodb", "mongodb+srv")
_SHORT_MONGO = re.compile(  # host:port or host:port:db
    r"^(?:[A-Za-z0-9][A-Za-z0-9.\-]*|\[[0-9A-Fa-f:]+\]):\d{1,5}(?::[^:/\\\s]+)?$")

RunId = Union[int, str]


class RunRefError(UserInputError, ValueError):
    """A location or run reference in none of the accepted forms; `value`, `suggestions`."""

    def __init__(self, value: str, reason: str, suggestions: list[str] | None = None):
        self.value = value
        self.suggestions = list(suggestions or [])
        super().__init__(f"Bad run reference '{value}': {reason}.{did_you_mean(self.suggestions)}"
                         " Runs are named like runs/3 or mongodb://host/db#3.")


@dataclass(frozen=True)
class Location:
    """A store: `kind` is ``folder`` or ``mongo``; `target` the folder path or MongoDB URL."""

    kind: str
    target: str

    def __str__(self) -> str:
        return self.target


@dataclass(frozen=True)
class RunRef:
    """One run: its store's location and its id."""

    location: Location
    run_id: RunId

    def __str__(self) -> str:
        if self.location.kind == FOLDER:
            return f"{self.location.target.rstrip('/')}/{self.run_id}"
        return f"{self.location.target}#{self.run_id}"


def run_id_from_text(text: str) -> RunId:
    """``"3"`` -> 3 (Sacred's integer ids); any other text stays a string id."""
    text = text.strip()
    return int(text) if text.isdigit() else text


def parse_location(text: str) -> Location:
    """The store named by `text` (see the module docstring)."""
    if not isinstance(text, str) or not text.strip():
        raise RunRefError(str(text), "the location is empty")
    text = text.strip()
    if "://" in text:
        scheme = text.split("://", 1)[0].lower()
        if scheme not in _SCHEMES:
            close = suggest(scheme, _SCHEMES, n=1)
            fix = [f"{close[0]}://{text.split('://', 1)[1]}"] if close else []
            raise RunRefError(text, f"unknown scheme '{scheme}://' (use mongodb:// or "
                                    "mongodb+srv://, or a folder path)", fix)
        return Location(MONGO, text)
    if _SHORT_MONGO.match(text):
        return Location(MONGO, text)
    return Location(FOLDER, text)


def parse_runref(text: str) -> RunRef:
    """The run named by `text`: ``runs/3`` or ``LOCATION#ID``."""
    if not isinstance(text, str) or not text.strip():
        raise RunRefError(str(text), "it is empty")
    text = text.strip()
    if "#" in text:
        where, _, run_id = text.rpartition("#")
        if "#" in where:
            base, *ids = text.split("#")
            raise RunRefError(text, "more than one '#'", [f"{base}#{i}" for i in ids if i])
        if not run_id.strip():
            raise RunRefError(text, "no run id after '#'", [f"{where}#1"])
        if not where.strip():
            raise RunRefError(text, "no location before '#'", [f"runs#{run_id}"])
        return RunRef(parse_location(where), run_id_from_text(run_id))
    location = parse_location(text)
    if location.kind == MONGO:
        db_and_id = re.match(r"^(.*://[^/]+/[^/?#]+)/([^/?#]+)$", text)  # mongodb://h/db/3
        raise RunRefError(text, "a MongoDB location needs '#ID' to name a run",
                          ["#".join(db_and_id.groups()) if db_and_id else f"{text}#1"])
    path = text.rstrip("/\\")
    cut = max(path.rfind("/"), path.rfind("\\"))
    if cut < 0:
        raise RunRefError(text, "a run is named by its folder root and its id",
                          [f"runs/{path}" if path.isdigit() else f"{path}/1"])
    parent, name = path[:cut], path[cut + 1:]
    if not name or name in (".", ".."):
        raise RunRefError(text, "the last part of the path must be the run id")
    return RunRef(Location(FOLDER, parent or "/"), run_id_from_text(name))
