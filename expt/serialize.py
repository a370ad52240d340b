"""Making values JSON/BSON-safe, by one rule.

The rule, applied recursively:
- ``None``, ``bool``, ``int``, ``float``, ``str`` stay as they are (non-finite floats too; the
  JSON writers spell them as Sacred does);
- dicts become dicts with string keys; lists, tuples and sets become lists;
- numpy scalars become Python numbers, numpy arrays nested lists (numpy is never imported here:
  anything with ``tolist()`` and a ``dtype`` counts);
- ``pathlib.Path`` becomes its string, ``datetime``/``date`` stay datetimes in
  :func:`to_safe` (BSON stores them) and become ISO strings in :func:`to_json_safe`;
- anything else is stored as its ``repr`` with one warning per type.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from datetime import date, datetime
from typing import Any

log = logging.getLogger("expt.serialize")
_warned_types: set[type] = set()
_PLAIN = (str, int, float, bool, type(None))


def to_safe(value: Any, *, iso_dates: bool = False) -> Any:
    """`value` made of plain dicts, lists, numbers, strings, None and datetimes."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, _PLAIN) and not hasattr(value, "dtype"):  # numpy.float64 is a float
        return value
    if isinstance(value, dict):
        return {str(k): to_safe(v, iso_dates=iso_dates) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_safe(v, iso_dates=iso_dates) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat() if iso_dates else value
    if isinstance(value, os.PathLike):  # pathlib paths, without importing pathlib
        return os.fspath(value)
    if hasattr(value, "dtype") and hasattr(value, "tolist"):  # numpy scalar or array
        return to_safe(value.tolist(), iso_dates=iso_dates)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if type(value) not in _warned_types:
        _warned_types.add(type(value))
        log.warning("Storing a %s as its repr(): it is not JSON-serializable.",
                    type(value).__name__)
    return repr(value)


def to_json_safe(value: Any) -> Any:
    """Like :func:`to_safe`, with datetimes as ISO-8601 strings."""
    return to_safe(value, iso_dates=True)


def dumps(value: Any, *, indent: int | None = 2) -> str:
    """JSON text for `value` after :func:`to_json_safe`."""
    return json.dumps(to_json_safe(value), indent=indent, sort_keys=False)


def write_json_atomic(path: str | os.PathLike, value: Any, *, indent: int | None = 2) -> None:
    """Write JSON so that readers see the old file or the new one, never half of one."""
    write_text_atomic(path, dumps(value, indent=indent))


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`."""
    path = os.fspath(path)
    # Unique per process and thread, so concurrent writers never share a temporary file.
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # don't leave the half-written temporary file
            os.remove(tmp)
        raise
