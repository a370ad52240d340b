"""Parsing the words after ``with``: ``key=value`` updates, named configs and config files."""
from __future__ import annotations

import ast
import re
from typing import Any, Sequence

from .errors import UserInputError

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class UpdateSyntaxError(UserInputError, ValueError):
    """A word after ``with`` that is neither ``key=value`` nor a named config or file."""

    def __init__(self, word: str, reason: str):
        self.word = word
        self.reason = reason
        super().__init__(f"Cannot read the update '{word}': {reason}. Updates look like "
                         "key=value (e.g. lr=0.01, model.depth=3, layers=[64,32], name=foo), "
                         "a named config, or a .json/.yaml file.")


def parse_value(text: str) -> Any:
    """A Python literal (``1e-3``, ``[64,32]``, ``{'a': 1}``, ``True``, ``None``), else the text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def parse_with_words(words: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """(updates by dotted key, named configs and config files in order) from `words`."""
    updates: dict[str, Any] = {}
    named: list[str] = []
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            if not word.strip():
                raise UpdateSyntaxError(word, "it is empty")
            named.append(word)
            continue
        key = key.strip()
        if not _KEY.match(key):
            raise UpdateSyntaxError(word, f"'{key}' is not a valid config key")
        if not value.strip():
            raise UpdateSyntaxError(word, f"no value after '{key}='")
        updates[key] = parse_value(value.strip())
    return updates, named
