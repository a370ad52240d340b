"""Which parameters a captured function takes, and filling the missing ones from a lookup."""
from __future__ import annotations

from typing import Any, Callable

from .errors import MissingConfigError
from .parameters import parameters_of

SPECIAL_PARAMETERS = ("_run", "_log", "_seed", "_rnd", "_config")
NOT_FOUND = object()  # what a lookup returns for a name it cannot fill


class Signature:
    """The parameters of `func` that config values or special values can fill."""

    def __init__(self, func: Callable):
        self.name = getattr(func, "__qualname__", getattr(func, "__name__", repr(func)))
        params = parameters_of(func)
        self.positional = list(params.positional)
        self.keyword_only = list(params.keyword_only)
        self.has_defaults = params.with_defaults
        self.fillable = self.positional + self.keyword_only

    @property
    def config_parameters(self) -> list[str]:
        """Parameters that config entries can fill (not the special ones)."""
        return [n for n in self.fillable if n not in SPECIAL_PARAMETERS]

    def fill(self, args: tuple, kwargs: dict,
             lookup: Callable[[str], Any]) -> dict:
        """`kwargs` plus a value from `lookup` for every parameter not given.

        `lookup(name)` returns the value or the module's ``NOT_FOUND``; a parameter with no value
        and no default raises MissingConfigError. Explicit arguments always win.
        """
        given = set(self.positional[:len(args)]) | kwargs.keys()
        missing = []
        filled = dict(kwargs)
        for name in self.fillable:
            if name in given:
                continue
            value = lookup(name)
            if value is not NOT_FOUND:
                filled[name] = value
            elif name not in self.has_defaults:
                missing.append(name)
        if missing:
            raise MissingConfigError(self.name, missing)
        return filled

