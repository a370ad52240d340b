"""Parameters read from code objects agree with inspect.signature."""
from __future__ import annotations

import functools
import inspect

import pytest

from expt.parameters import parameters_of


def plain(a, b=1, *args, c, d=2, **kwargs): pass
def posonly(a, /, b, *, c=3): pass
def nothing(): pass


class Thing:
    def method(self, x, y=0): pass

    @classmethod
    def cls_method(cls, z): pass

    def __call__(self, q): pass


def expected(func):
    params = list(inspect.signature(func).parameters.values())
    return (tuple(p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD),
            tuple(p.name for p in params if p.kind is p.KEYWORD_ONLY),
            frozenset(p.name for p in params if p.default is not p.empty),
            any(p.kind is p.VAR_KEYWORD for p in params))


@pytest.mark.parametrize("func", [
    plain, posonly, nothing, Thing().method, Thing.method, Thing.cls_method, Thing(),
    functools.partial(plain, 1), lambda x, *, y=1: None,
], ids=lambda f: getattr(f, "__name__", type(f).__name__))
def test_same_answer_as_inspect(func):
    """Functions, methods, classmethods, callables and partials match inspect.signature."""
    assert tuple(parameters_of(func)) == expected(func)
