"""Ingredient: the decorator registries (configs, named configs, captured functions, commands)."""
from __future__ import annotations

import os
import sys
from typing import Any, Callable, Iterator, Mapping

from .capture import CapturedFunction
from .config import ConfigLayer
from .config_files import load_config_file
from .config_scope import ConfigDict, ConfigScope
from .errors import ConfigError, ExptError


class Ingredient:
    """A reusable part of an experiment with its own config section at ``path``."""

    def __init__(self, path: str, ingredients: tuple["Ingredient", ...] | list = (), *,
                 base_dir: str | os.PathLike | None = None, _caller_depth: int = 1):
        self.path = path
        self.ingredients = list(ingredients)
        self.configurations: list[ConfigScope | ConfigDict] = []
        self.named_configs: dict[str, ConfigScope | ConfigDict] = {}
        self.captured_functions: list[CapturedFunction] = []
        self.commands: dict[str, CapturedFunction] = {}
        self.pre_run_hooks: list[CapturedFunction] = []
        self.post_run_hooks: list[CapturedFunction] = []
        self.config_hooks: list[Callable] = []
        self.sources: set[str] = set()
        self.dependencies: set[tuple[str, str]] = set()
        caller = sys._getframe(_caller_depth).f_globals
        mainfile = caller.get("__file__")
        # '<stdin>' (python -) or '<string>' (python -c) name no file to record.
        self.mainfile: str | None = None if mainfile and mainfile.startswith("<") else mainfile
        if base_dir is None:
            base_dir = os.path.dirname(os.path.abspath(self.mainfile)) if self.mainfile \
                else os.getcwd()
        self.base_dir = os.path.abspath(base_dir)

    @property
    def config_path(self) -> str:
        """Where this ingredient's entries live in the run's config."""
        return self.path

    # -- config ----------------------------------------------------------------------------

    def config(self, func: Callable) -> ConfigScope:
        """Decorator: the function body becomes config entries (see expt.config_scope)."""
        scope = ConfigScope(func)
        self.configurations.append(scope)
        return scope

    def named_config(self, func: Callable) -> ConfigScope:
        """Decorator: a config scope applied only when named (``with NAME``)."""
        scope = ConfigScope(func)
        self.named_configs[func.__name__] = scope
        return scope

    def add_config(self, cfg_or_file: Mapping | str | os.PathLike | None = None,
                   **kw_conf: Any) -> None:
        """Add config entries from a dict, a .json/.yaml file, or keyword arguments."""
        self.configurations.append(_config_dict(cfg_or_file, kw_conf))

    def add_named_config(self, name: str, cfg_or_file: Mapping | str | os.PathLike | None = None,
                         **kw_conf: Any) -> None:
        """Add a named config from a dict, a .json/.yaml file, or keyword arguments."""
        self.named_configs[name] = _config_dict(cfg_or_file, kw_conf)

    def config_hook(self, func: Callable) -> Callable:
        """Decorator: ``func(config, command_name, logger)`` returns updates to the config."""
        self.config_hooks.append(func)
        return func

    # -- functions -------------------------------------------------------------------------

    def capture(self, func: Callable | None = None, *, prefix: str | None = None) -> Any:
        """Decorator: fill the function's parameters from the config (``prefix`` for a part)."""
        if func is None:
            return lambda f: self.capture(f, prefix=prefix)
        if isinstance(func, CapturedFunction):
            return func
        captured = CapturedFunction(func, prefix=prefix, path=self.config_path)
        self.captured_functions.append(captured)
        return captured

    def command(self, func: Callable | None = None, *, prefix: str | None = None,
                unobserved: bool = False) -> Any:
        """Decorator: a command runnable from the command line (``python x.py NAME``)."""
        if func is None:
            return lambda f: self.command(f, prefix=prefix, unobserved=unobserved)
        captured = self.capture(func, prefix=prefix)
        captured.unobserved = unobserved
        self.commands[func.__name__] = captured
        return captured

    def pre_run_hook(self, func: Callable | None = None, *, prefix: str | None = None) -> Any:
        """Decorator: a captured function called before the main function."""
        if func is None:
            return lambda f: self.pre_run_hook(f, prefix=prefix)
        captured = self.capture(func, prefix=prefix)
        self.pre_run_hooks.append(captured)
        return captured

    def post_run_hook(self, func: Callable | None = None, *, prefix: str | None = None) -> Any:
        """Decorator: a captured function called after the main function returned."""
        if func is None:
            return lambda f: self.post_run_hook(f, prefix=prefix)
        captured = self.capture(func, prefix=prefix)
        self.post_run_hooks.append(captured)
        return captured

    # -- provenance ------------------------------------------------------------------------

    def add_source_file(self, filename: str | os.PathLike) -> None:
        """Store `filename` with every run, as a source."""
        path = os.path.abspath(os.fspath(filename))
        if not os.path.isfile(path):
            raise ExptError(f"Cannot add source file '{filename}': no such file.")
        self.sources.add(path)

    def add_package_dependency(self, package_name: str, version: str) -> None:
        """Record a package dependency that cannot be detected from imports."""
        self.dependencies.add((package_name, version))

    # -- traversal -------------------------------------------------------------------------

    def traverse_ingredients(self) -> Iterator["Ingredient"]:
        """This ingredient and all ingredients below it, each once, this one first."""
        seen: set[int] = set()
        stack = [self]
        while stack:
            ingredient = stack.pop(0)
            if id(ingredient) in seen:
                continue
            seen.add(id(ingredient))
            yield ingredient
            stack.extend(ingredient.ingredients)

    def config_layers(self) -> list[ConfigLayer]:
        """The config sources of this ingredient and those below it."""
        return [ConfigLayer(i.config_path, i.configurations, i.named_configs)
                for i in self.traverse_ingredients()]

    def all_captured_functions(self) -> list[CapturedFunction]:
        return [f for i in self.traverse_ingredients() for f in i.captured_functions]


def _config_dict(cfg_or_file: Mapping | str | os.PathLike | None,
                 kw_conf: Mapping[str, Any]) -> ConfigDict:
    if cfg_or_file is None:
        return ConfigDict(kw_conf)
    if kw_conf:
        raise ConfigError("Pass either a dict/file or keyword arguments, not both.")
    if isinstance(cfg_or_file, (str, os.PathLike)):
        return ConfigDict(load_config_file(cfg_or_file), origin=os.fspath(cfg_or_file))
    if isinstance(cfg_or_file, Mapping):
        return ConfigDict(cfg_or_file)
    raise ConfigError(f"A config must be a dict or a file path, not {type(cfg_or_file).__name__}.")
