"""The parameters of a function, read from its code object.

``inspect.signature`` is general but importing ``inspect`` costs several milliseconds of every
run's start-up; plain functions and bound methods (what captured functions and observer methods
are) describe their parameters in ``__code__``. Other callables fall back to inspect.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

_VARARGS, _VARKEYWORDS = 0x04, 0x08  # co_flags bits (inspect.CO_VARARGS, CO_VARKEYWORDS)


class Parameters(NamedTuple):
    """Names of a callable's parameters by kind (``self`` of a bound method left out)."""

    positional: tuple[str, ...]       # positional-or-keyword
    keyword_only: tuple[str, ...]
    with_defaults: frozenset[str]
    var_keyword: bool                 # takes **kwargs


def parameters_of(func: Callable) -> Parameters:
    """The :class:`Parameters` of `func`."""
    bound = getattr(func, "__self__", None) is not None and hasattr(func, "__func__")
    target = func.__func__ if bound else func
    code = getattr(target, "__code__", None)
    if code is None or not hasattr(target, "__defaults__"):
        return _from_inspect(func)
    names = code.co_varnames
    n_pos = code.co_argcount
    positional = names[code.co_posonlyargcount:n_pos]
    keyword_only = names[n_pos:n_pos + code.co_kwonlyargcount]
    defaults = target.__defaults__ or ()
    with_defaults = set(names[n_pos - len(defaults):n_pos]) if defaults else set()
    with_defaults |= set(target.__kwdefaults__ or ())
    if bound:
        positional = positional[1:] if code.co_posonlyargcount == 0 else positional
    return Parameters(tuple(positional), tuple(keyword_only), frozenset(with_defaults),
                      bool(code.co_flags & _VARKEYWORDS))


def _from_inspect(func: Callable) -> Parameters:
    import inspect

    params = list(inspect.signature(func).parameters.values())
    return Parameters(
        tuple(p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD),
        tuple(p.name for p in params if p.kind is p.KEYWORD_ONLY),
        frozenset(p.name for p in params if p.default is not p.empty),
        any(p.kind is p.VAR_KEYWORD for p in params))
