"""Experiment-specific command-line options (Sacred's ``cli_option``)::

    @cli_option("-o", "--own-flag", is_flag=True)
    def own_flag(value, run):
        '''Mark the run as special.'''
        run.info["special"] = value

    ex = Experiment("demo", additional_cli_options=[own_flag])

``python demo.py --own-flag`` calls ``own_flag(True, run)`` before the run starts; an option
with a value (``is_flag=False``) receives its text.
"""
from __future__ import annotations

from typing import Any, Callable


class CliOption:
    """An option added to an experiment's command line, applied to the run before it starts."""

    def __init__(self, apply: Callable[[Any, Any], None], short_flag: str, flag: str, *,
                 is_flag: bool = False, metavar: str = "VALUE", help: str | None = None):
        if not (short_flag.startswith("-") and len(short_flag) == 2 and flag.startswith("--")):
            raise ValueError(f"Expected flags like '-o' and '--own-option', got {short_flag!r} "
                             f"and {flag!r}.")
        self.apply = apply
        self.short_flag = short_flag
        self.flag = flag
        self.is_flag = is_flag
        self.arg = None if is_flag else metavar
        doc = (apply.__doc__ or "").strip()
        self.help = help or (doc.splitlines()[0] if doc else "")


def cli_option(short_flag: str, flag: str, *, is_flag: bool = False, metavar: str = "VALUE",
               help: str | None = None) -> Callable[[Callable[[Any, Any], None]], CliOption]:
    """Decorator: `func(value, run)` becomes a command-line option of the experiments it is
    passed to (``Experiment(additional_cli_options=[...])``)."""
    def decorate(func: Callable[[Any, Any], None]) -> CliOption:
        return CliOption(func, short_flag, flag, is_flag=is_flag, metavar=metavar, help=help)
    return decorate
