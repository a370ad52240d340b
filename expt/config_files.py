"""Reading config files (JSON, YAML) into plain dicts."""
from __future__ import annotations

import json
import os
from typing import Any

from .errors import ConfigFileError

SUPPORTED_SUFFIXES = (".json", ".yaml", ".yml")


def is_config_file_name(name: str) -> bool:
    """Whether `name` ends like a config file expt can read."""
    return name.lower().endswith(SUPPORTED_SUFFIXES)


def load_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The dict stored in a .json, .yaml or .yml file; a clear error for anything else."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ConfigFileError(
            f"Cannot read config file '{path}': unsupported format '{suffix or '(none)'}'. "
            f"Supported formats: {', '.join(SUPPORTED_SUFFIXES)}.")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise ConfigFileError(f"Config file '{path}' does not exist.") from None
    except OSError as exc:
        raise ConfigFileError(f"Cannot read config file '{path}': {exc.strerror}.") from None
    try:
        if suffix == ".json":
            values = json.loads(text)
        else:
            import yaml  # lazily: only YAML users pay for it

            values = yaml.safe_load(text)
    except ValueError as exc:  # json.JSONDecodeError and yaml.YAMLError's parents
        raise ConfigFileError(f"Config file '{path}' is not valid {suffix[1:].upper()}: {exc}") \
            from None
    except Exception as exc:  # yaml.YAMLError does not derive from ValueError
        raise ConfigFileError(f"Config file '{path}' is not valid YAML: {exc}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigFileError(
            f"Config file '{path}' must hold a mapping of names to values, "
            f"not a {type(values).__name__}.")
    return values
