"""Building run documents: BSON-safe values, credentials removed, content types of artifacts."""
from __future__ import annotations

import mimetypes
from datetime import date, datetime
from typing import Any

from expt.serialize import to_safe

from .url import redact

FORMAT = "expt-MongoObserver-1"


def _bson_key(key: Any) -> str:
    # MongoDB readers choke on '.' and a leading '$' in keys; Sacred's mapping, so tools agree
    key = str(key)
    if key.startswith("$"):
        key = "@" + key[1:]
    return key.replace(".", ",")


def bson_safe(value: Any) -> Any:
    """`value` storable in BSON: keys fixed, odd objects by :func:`expt.serialize.to_safe`.

    BSON's own types (ObjectId, Binary, datetimes) are kept.
    """
    if isinstance(value, (str, int, float, bool, type(None), datetime, date, bytes)):
        return value
    if isinstance(value, dict):
        return {_bson_key(k): bson_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [bson_safe(v) for v in value]
    if type(value).__module__.startswith("bson"):
        return value
    return bson_safe(to_safe(value)) if not isinstance(value, (set, frozenset)) else [
        bson_safe(v) for v in value]


def redact_strings(value: Any) -> Any:
    """`value` with credentials removed from every string that holds a URL."""
    if isinstance(value, str):
        return redact(value) if "://" in value or "@" in value else value
    if isinstance(value, dict):
        return {k: redact_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_strings(v) for v in value]
    return value


def run_document(*, status: str, ex_info: dict, command: str, host_info: dict, config: dict,
                 meta_info: dict, start_time: datetime | None) -> dict:
    """A new run document with the fields Sacred 0.8.7 writes (sources filled in later)."""
    experiment = redact_strings(bson_safe(dict(ex_info)))
    experiment["sources"] = [[name, None] for name, _md5 in ex_info.get("sources", [])]
    doc = {
        "experiment": experiment,
        "command": command,
        "host": redact_strings(bson_safe(dict(host_info))),
        "config": redact_strings(bson_safe(config)),
        "meta": redact_strings(bson_safe(dict(meta_info))),
        "status": status,
    }
    if status != "QUEUED":
        doc.update({"format": FORMAT, "start_time": start_time, "resources": [],
                    "artifacts": [], "captured_out": "", "info": {}, "heartbeat": None,
                    # {name, count, last, min, max} per metric; absent in Sacred's runs
                    "metric_summaries": []})
    return doc


def content_type(filename: str) -> str | None:
    """The MIME type guessed from the file name, or None."""
    return mimetypes.guess_type(filename)[0]
