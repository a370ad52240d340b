"""The ExptError family and `suggest()`, the nearest-name helper every message uses."""
from __future__ import annotations

from typing import Iterable, Sequence


def suggest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The valid names closest to `name`, best first (empty when nothing is close)."""
    import difflib  # only errors need it: keep it out of `import expt`

    candidates = list(dict.fromkeys(candidates))
    close = difflib.get_close_matches(name, candidates, n=n, cutoff=0.6)
    if close:
        return close
    # A misspelt last part of a dotted path still deserves a hint ('opt.lr' -> 'optimizer.lr').
    tail = name.rsplit(".", 1)[-1]
    return [c for c in candidates if c.rsplit(".", 1)[-1] == tail][:n]


def did_you_mean(suggestions: Sequence[str]) -> str:
    """' Did you mean 'a' or 'b'?' or an empty string."""
    if not suggestions:
        return ""
    quoted = [f"'{s}'" for s in suggestions]
    choice = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f" Did you mean {choice}?"


class ExptError(Exception):
    """Base of every error expt raises on purpose; the command line shows these without a traceback."""


class UserInputError(ExptError):
    """A mistake in what the user asked for (exit code 2 on the command line)."""


class ConfigError(UserInputError):
    """A config could not be built (bad scope, file, update or named config)."""


class ConfigKeyError(ConfigError, KeyError):
    """An update names a key that exists nowhere."""

    def __init__(self, key: str, suggestions: Sequence[str] = (), source: str = "'with' update"):
        self.key = key
        self.suggestions = list(suggestions)
        self.source = source
        super().__init__(f"Unknown config key '{key}' in {source}.{did_you_mean(self.suggestions)}")

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return self.args[0]


class ConfigFileError(ConfigError):
    """A config file is missing, unreadable or of an unsupported format."""


class ReadOnlyConfigError(ExptError, TypeError):
    """A captured function tried to change the config it was given."""


class NamedConfigNotFoundError(ConfigError, KeyError):
    """A named config that no experiment or ingredient defines."""

    def __init__(self, name: str, available: Sequence[str] = ()):
        self.name = name
        self.available = list(available)
        self.suggestions = suggest(name, self.available)
        listing = ", ".join(self.available) if self.available else "none are defined"
        super().__init__(
            f"Unknown named config '{name}'.{did_you_mean(self.suggestions)} "
            f"Available named configs: {listing}."
        )

    def __str__(self) -> str:
        return self.args[0]


class MissingConfigError(ExptError, TypeError):
    """A captured function was called without a value for some of its parameters."""

    def __init__(self, function: str, missing: Sequence[str]):
        self.function = function
        self.missing = list(missing)
        names = ", ".join(f"'{m}'" for m in self.missing)
        super().__init__(
            f"{function}() is missing a value for {names}: pass it as an argument "
            "or define it in the config."
        )


class CommandNotFoundError(UserInputError):
    """The command line names a command the experiment does not have."""

    def __init__(self, name: str, available: Sequence[str]):
        self.name = name
        self.available = list(available)
        self.suggestions = suggest(name, self.available)
        super().__init__(
            f"Unknown command '{name}'.{did_you_mean(self.suggestions)} "
            f"Commands: {', '.join(self.available)}."
        )


class ObserverError(ExptError):
    """An observer is misconfigured or broke the contract."""


class InteractiveModeError(ExptError):
    """An experiment defined without a main file was used outside interactive mode."""


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (SIGTERM); it ends INTERRUPTED like on Ctrl-C."""

    STATUS = "INTERRUPTED"

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"stopped by signal {signum}")
