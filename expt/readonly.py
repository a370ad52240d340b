"""Read-only views of config values handed to captured functions.

They subclass dict and list, so ``json.dumps``, ``isinstance`` and ``pickle`` keep working, and
:func:`to_plain` turns them back into ordinary (mutable) dicts and lists.
"""
from __future__ import annotations

from typing import Any, NoReturn

from .dotted import deep_copy
from .errors import ReadOnlyConfigError


def _refuse(self, *args, **kwargs) -> NoReturn:
    raise ReadOnlyConfigError(
        f"The config is read-only inside captured functions ({self._where}). "
        "Copy it first (expt.readonly.to_plain(value) or dict(value)) to change a copy.")


class ReadOnlyDict(dict):
    """A dict whose mutating methods raise ReadOnlyConfigError."""

    __slots__ = ("_where",)

    def __init__(self, values=(), where: str = "config"):
        super().__init__(values)
        self._where = where

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __reduce__(self):
        return ReadOnlyDict, (dict(self), self._where)

    def __copy__(self) -> dict:
        return dict(self)

    def __deepcopy__(self, memo) -> Any:
        return to_plain(self)


class ReadOnlyList(list):
    """A list whose mutating methods raise ReadOnlyConfigError."""

    __slots__ = ("_where",)

    def __init__(self, values=(), where: str = "config"):
        super().__init__(values)
        self._where = where

    __setitem__ = __delitem__ = append = extend = insert = pop = remove = clear = _refuse
    sort = reverse = __iadd__ = __imul__ = _refuse

    def __reduce__(self):
        return ReadOnlyList, (list(self), self._where)

    def __copy__(self) -> list:
        return list(self)

    def __deepcopy__(self, memo) -> Any:
        return to_plain(self)


def make_readonly(value: Any, where: str = "config") -> Any:
    """`value` with every nested dict and list made read-only."""
    if isinstance(value, dict):
        return ReadOnlyDict({k: make_readonly(v, f"{where}.{k}") for k, v in value.items()},
                            where)
    if isinstance(value, list):
        return ReadOnlyList([make_readonly(v, where) for v in value], where)
    return value


def to_plain(value: Any) -> Any:
    """Ordinary, mutable dicts and lists again."""
    return deep_copy(value)
