"""Resolving a run's config: defaults -> named configs -> ``with`` updates.

Precedence, lowest first: the config scopes and dicts of the experiment and its ingredients (in
definition order, each seeing the ones before), the named configs (in the order given, each seeing
the earlier ones), the updates. Named configs and updates are *fixed* while the default scopes
run, so later lines of a scope see them (``with a=3`` makes ``b = a * 2`` equal 6).
"""
from __future__ import annotations

import logging
import random
from types import MappingProxyType
from typing import Any, Iterable, Mapping, NamedTuple, Sequence, Union

from . import dotted
from .config_files import is_config_file_name, load_config_file
from .config_scope import ConfigDict, ConfigScope
from .errors import ConfigKeyError, NamedConfigNotFoundError, suggest

log = logging.getLogger("expt")

Scope = Union[ConfigScope, ConfigDict]
SEED_DOC = "the random seed for this experiment"


class ConfigLayer(NamedTuple):
    """The config sources of one ingredient; `path` is '' for the experiment itself."""

    path: str
    scopes: Sequence[Scope]
    named_configs: Mapping[str, Scope]


class ConfigSummary(NamedTuple):
    """How the resolved config came about, for print_config and the run record."""

    added: frozenset[str] = frozenset()
    modified: frozenset[str] = frozenset()
    typechanged: Mapping[str, tuple[str, str]] = MappingProxyType({})
    docs: Mapping[str, str] = MappingProxyType({})

    def to_dict(self) -> dict:
        """Plain lists and dicts, for storing with the run."""
        return {"added": sorted(self.added), "modified": sorted(self.modified),
                "typechanged": {k: list(v) for k, v in self.typechanged.items()},
                "docs": dict(self.docs)}


def resolve(layers: Sequence[ConfigLayer], *, updates: Mapping[str, Any] | None = None,
            named_configs: Iterable[str | Scope] = (), captured_params: Iterable[str] = (),
            force: bool = False) -> tuple[dict, ConfigSummary]:
    """The full config and its summary; unknown update keys raise ConfigKeyError unless `force`."""
    update_tree = dotted.unflatten(updates or {})
    ingredient_paths = [layer.path for layer in layers if layer.path]

    named_tree: dict = {}
    named_defined: set[str] = set()  # paths a named config assigns itself (not just the updates)
    for entry in named_configs:
        path, scope = find_named_config(layers, entry) if not callable(entry) else ("", entry)
        fixed = _fixed_for(update_tree, path, ingredient_paths)
        result = scope(fixed=fixed,
                       preset=dotted.get(named_tree, path, {}) if path else named_tree)
        _merge_at(named_tree, path, result.config)
        from_updates = {p for p, _ in dotted.leaves(fixed)}
        prefix = f"{path}." if path else ""
        named_defined |= {prefix + p for p in dotted.all_paths(result.config)
                          if p not in from_updates or p in result.overridden}
    fixed_tree = dotted.deep_update(dotted.deep_copy(named_tree), update_tree)

    config: dict = {}
    overridden: dict[str, Any] = {}
    docs: dict[str, str] = {}
    for layer in layers:
        prefix = f"{layer.path}." if layer.path else ""
        sub = _fixed_for(fixed_tree, layer.path, ingredient_paths)
        values: dict = dotted.deep_copy(sub)
        for scope in layer.scopes:
            result = scope(fixed=sub, preset=values)
            values = result.config
            overridden.update({prefix + k: v for k, v in result.overridden.items()})
            docs.update({prefix + k: v for k, v in scope.docs.items()})
        _merge_at(config, layer.path, values)
    if "seed" not in config:
        config["seed"] = random.SystemRandom().randrange(2**31)
    docs.setdefault("seed", SEED_DOC)

    added = {p for p, _ in dotted.leaves(fixed_tree) if p not in overridden and p != "seed"}
    # keys that a named config of this run defines exist, even if no default scope has them
    _check_unknown_updates(update_tree, added, config, set(captured_params), named_defined,
                           force)
    modified = {p for p, old in overridden.items() if dotted.get(config, p, None) != old}
    typechanged = {}
    for path, old in overridden.items():
        new = dotted.get(config, path, None)
        if _type_changed(old, new):
            typechanged[path] = (type(old).__name__, type(new).__name__)
            if not force:
                log.warning("Changed type of config entry '%s' from %s to %s.",
                            path, type(old).__name__, type(new).__name__)
    return config, ConfigSummary(frozenset(added), frozenset(modified), typechanged, docs)


def find_named_config(layers: Sequence[ConfigLayer], name: str) -> tuple[str, Scope]:
    """(ingredient path, scope) for `name`: 'big', 'data.small', or a config file path."""
    if is_config_file_name(name):
        return "", ConfigDict(load_config_file(name), origin=name)
    for layer in layers:
        if not layer.path and name in layer.named_configs:
            return "", layer.named_configs[name]
        if layer.path and name.startswith(layer.path + "."):
            short = name[len(layer.path) + 1:]
            if short in layer.named_configs:
                return layer.path, layer.named_configs[short]
    available = [f"{layer.path}.{n}" if layer.path else n
                 for layer in layers for n in layer.named_configs]
    raise NamedConfigNotFoundError(name, available)


def _fixed_for(tree: Mapping, path: str, ingredient_paths: Sequence[str]) -> dict:
    """The part of `tree` for the layer at `path`, without the parts of other ingredients."""
    sub = dotted.get(tree, path, {}) if path else tree
    if not isinstance(sub, dict):
        return {}
    prefix = f"{path}." if path else ""
    nested = {p[len(prefix):].split(".")[0] for p in ingredient_paths
              if p != path and p.startswith(prefix)}
    return {k: v for k, v in sub.items() if k not in nested}


def _merge_at(tree: dict, path: str, values: Mapping) -> None:
    if not path:
        dotted.deep_update(tree, values)
        return
    node = dotted.get(tree, path, None)
    if isinstance(node, dict):
        dotted.deep_update(node, values)
    else:
        dotted.set_(tree, path, dotted.deep_copy(dict(values)))


def _check_unknown_updates(update_tree: Mapping, added: set[str], config: Mapping,
                           captured_params: set[str], named: set[str], force: bool) -> None:
    for path, _ in dotted.leaves(update_tree):
        if path not in added or force or path in captured_params or path in named:
            continue
        valid = [p for p in dotted.all_paths(config) if p not in added or p in named] \
            + sorted(captured_params)
        raise ConfigKeyError(path, suggest(path, valid))


def _type_changed(old: Any, new: Any) -> bool:
    if old is None or new is None or type(old) is type(new):
        return False
    numbers = (int, float)
    if isinstance(old, numbers) and isinstance(new, numbers) \
            and not isinstance(old, bool) and not isinstance(new, bool):
        return False  # 1 -> 0.5 is an ordinary change of a number
    return True
