"""Built-in commands every experiment has: print_config, print_dependencies, save_config,
print_named_configs. They run unobserved."""
from __future__ import annotations

import os
import sys
from typing import Any, Mapping, TextIO

from .config import ConfigSummary
from .serialize import dumps

LEGEND = "Configuration (* modified, + added, ~ type changed):"
_MARK = {"typechanged": "~", "added": "+", "modified": "*"}
_COLOUR = {"typechanged": "\x1b[31m", "added": "\x1b[32m", "modified": "\x1b[34m"}
_RESET = "\x1b[0m"


def format_config(config: Mapping, summary: ConfigSummary, *, colour: bool = False) -> str:
    """The config as an indented tree: entries marked by how they changed, docs as comments."""
    lines = [LEGEND]
    _format_tree(config, summary, "", 1, colour, lines)
    return "\n".join(lines) + "\n"


def _format_tree(tree: Mapping, summary: ConfigSummary, prefix: str, depth: int, colour: bool,
                 lines: list[str]) -> None:
    indent = "  " * depth
    for key in sorted(tree, key=lambda k: (isinstance(tree[k], Mapping) and bool(tree[k]), k)):
        path = prefix + str(key)
        value = tree[key]
        kind = _change_kind(path, summary)
        mark = _MARK.get(kind, " ")
        if isinstance(value, Mapping) and value:
            text = f"{indent}{key}:"
        else:
            text = f"{indent}{key} = {value!r}"
        doc = summary.docs.get(path)
        line = f"{text:<40} {mark}" + (f" # {doc}" if doc else "")
        if colour and kind:
            line = f"{_COLOUR[kind]}{line}{_RESET}"
        lines.append(line.rstrip())
        if isinstance(value, Mapping) and value:
            _format_tree(value, summary, path + ".", depth + 1, colour, lines)


def _change_kind(path: str, summary: ConfigSummary) -> str | None:
    if path in summary.typechanged:
        return "typechanged"
    if path in summary.added:
        return "added"
    if path in summary.modified:
        return "modified"
    return None


def print_config(_run: Any) -> None:
    """Print the resolved config, with each entry's doc and how it was changed."""
    sys.stdout.write(format_config(_run.config, _run.config_modifications,
                                   colour=_is_terminal(sys.stdout)))


def print_dependencies(_run: Any) -> None:
    """Print the sources (with md5), the package dependencies and the git state of this run."""
    info = _run.experiment_info
    print("Sources:")
    for name, md5 in info.get("sources", []):
        print(f"  {name:<50} {md5}")
    print("Dependencies:")
    for dependency in info.get("dependencies", []):
        print(f"  {dependency}")
    for repo in info.get("repositories", []):
        state = "dirty" if repo.get("dirty") else "clean"
        print(f"Git: {repo.get('url')} {repo.get('branch') or ''} {repo.get('commit')} ({state})")


def save_config(_run: Any, config_filename: str = "config.json") -> None:
    """Write the resolved config to `config_filename` (.json, or .yaml/.yml)."""
    config = {k: v for k, v in _run.config.items() if k != "config_filename"}
    if config_filename.lower().endswith((".yaml", ".yml")):
        import yaml

        text = yaml.safe_dump(_plain(config), sort_keys=False)
    else:
        text = dumps(config)
    with open(config_filename, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"Saved the config to {os.path.abspath(config_filename)}")


def print_named_configs_of(experiment: Any) -> None:
    """Print every named config of `experiment` and its ingredients, with docstrings."""
    print("Named configs:")
    any_found = False
    for ingredient in experiment.traverse_ingredients():
        prefix = f"{ingredient.config_path}." if ingredient.config_path else ""
        for name, scope in ingredient.named_configs.items():
            any_found = True
            doc = (getattr(scope, "doc", "") or "").strip().splitlines()
            print(f"  {prefix}{name:<30} {doc[0] if doc else ''}".rstrip())
    if not any_found:
        print("  (none)")


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("NO_COLOR") is None
    except (AttributeError, ValueError):
        return False
