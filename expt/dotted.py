"""Nested dicts addressed by dotted paths (``optimizer.lr``)."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

_MISSING = object()


def get(tree: Mapping, path: str, default: Any = _MISSING) -> Any:
    """The value at `path`; `default` (or KeyError) when any part is missing."""
    node: Any = tree
    for part in path.split(".") if path else ():
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif default is _MISSING:
            raise KeyError(path)
        else:
            return default
    return node


def has(tree: Mapping, path: str) -> bool:
    """Whether `path` exists in `tree`."""
    try:
        get(tree, path)
    except KeyError:
        return False
    return True


def set_(tree: dict, path: str, value: Any) -> None:
    """Set the value at `path`, creating intermediate dicts (replacing non-dicts on the way)."""
    *parents, last = path.split(".")
    node = tree
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[last] = value


def leaves(tree: Mapping, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of every non-dict value and every empty dict, depth first."""
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from leaves(value, path + ".")
        else:
            yield path, value


def all_paths(tree: Mapping, prefix: str = "") -> Iterator[str]:
    """Every dotted path in `tree`, inner nodes included."""
    for key, value in tree.items():
        path = f"{prefix}{key}"
        yield path
        if isinstance(value, Mapping):
            yield from all_paths(value, path + ".")


def unflatten(flat: Mapping[str, Any]) -> dict:
    """``{"a.b": 1, "c": 2}`` -> ``{"a": {"b": 1}, "c": 2}``; dict values are unflattened too."""
    tree: dict = {}
    for path, value in flat.items():
        if isinstance(value, Mapping) and value:
            for sub, leaf in leaves(value):
                set_(tree, f"{path}.{sub}", leaf)
        else:
            set_(tree, path, value)
    return tree


def deep_update(base: dict, updates: Mapping) -> dict:
    """Merge `updates` into `base` in place, recursing into dicts on both sides; returns base."""
    for key, value in updates.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            deep_update(base[key], value)
        else:
            base[key] = deep_copy(value)
    return base


def deep_copy(value: Any) -> Any:
    """A copy of nested dicts and lists; other values are shared."""
    if isinstance(value, Mapping):
        return {k: deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [deep_copy(v) for v in value]
    return value
