"""Captured functions: config values injected by parameter name.

Outside a run a captured function is an ordinary function (explicit arguments, defaults);
inside a run it also receives config values and the special ``_run``, ``_log``, ``_seed``,
``_rnd`` and ``_config``.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any

from . import dotted
from .randomness import derive_seed, make_rnd
from .readonly import make_readonly
from .signature import NOT_FOUND, Signature


class Binding:
    """What a running run lends a captured function: its config part, the run, a logger."""

    def __init__(self, *, config: Mapping, full_config: Mapping, run: Any,
                 logger: logging.Logger, seed: int):
        self.config = config          # read-only, the part at the function's prefix
        self.full_config = full_config
        self.run = run
        self.logger = logger
        self.seed = seed
        self.calls = 0


class CapturedFunction:
    """A function registered with ``@ex.capture`` (or as a command, main or hook)."""

    def __init__(self, func: Callable, *, prefix: str | None = None, path: str = ""):
        functools.update_wrapper(self, func)
        self.func = func
        self.prefix = prefix
        self.path = path
        self.signature = Signature(func)
        self.binding: Binding | None = None

    @property
    def config_path(self) -> str:
        """Where this function's values live in the config ('' for the top level)."""
        return ".".join(p for p in (self.path, self.prefix) if p)

    def parameter_paths(self) -> list[str]:
        """Dotted config paths that this function's parameters would read."""
        prefix = f"{self.config_path}." if self.config_path else ""
        return [prefix + name for name in self.signature.config_parameters]

    def bind(self, *, full_config: Mapping, run: Any, logger: logging.Logger,
             seed: int) -> None:
        """Attach the function to a run (`full_config` is already read-only)."""
        part = dotted.get(full_config, self.config_path, {}) if self.config_path else full_config
        self.binding = Binding(config=part if isinstance(part, Mapping) else {},
                               full_config=full_config, run=run, seed=seed,
                               logger=logger.getChild(self.signature.name))

    def unbind(self) -> None:
        self.binding = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        binding = self.binding
        if binding is None:
            lookup = _nothing
        else:
            lookup = functools.partial(_lookup, binding, self.signature.name, {})
        return self.func(*args, **self.signature.fill(args, kwargs, lookup))

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        """Captured methods receive their instance as usual."""
        if instance is None:
            return self
        return functools.partial(self, instance)

    def __repr__(self) -> str:
        return f"<captured function {self.signature.name}>"


def _nothing(name: str) -> Any:
    return NOT_FOUND


def _lookup(binding: Binding, func_name: str, per_call: dict, name: str) -> Any:
    if name in binding.config:
        return binding.config[name]
    if name == "_run":
        return binding.run
    if name == "_log":
        return binding.logger
    if name == "_config":
        return binding.full_config
    if name in ("_seed", "_rnd"):
        seed = per_call.get("seed")
        if seed is None:  # one seed per call: _rnd is seeded with the _seed of the same call
            binding.calls += 1
            seed = per_call["seed"] = derive_seed(binding.seed, func_name, binding.calls)
        return seed if name == "_seed" else make_rnd(seed)
    return NOT_FOUND


def readonly_config(config: Mapping) -> Mapping:
    """The config as captured functions see it."""
    return make_readonly(dict(config))
