"""expt: record every machine-learning experiment -- config, code, environment, output, metrics,
artifacts, result. Sacred-compatible: ``from expt import Experiment``."""
from .capture import CapturedFunction
from .cli_option import cli_option
from .config_scope import ConfigDict, ConfigScope
from .errors import (
    ConfigError, ConfigKeyError, ExptError, MissingConfigError, NamedConfigNotFoundError,
    ObserverError, ReadOnlyConfigError,
)
from .events import RunObserver
from .experiment import Experiment
from .ingredient import Ingredient
from .output_filter import apply_backspaces_and_linefeeds
from .run import Run


def open_store(location):
    """The runs stored at `location` (a run folder or MongoDB URL): :class:`expt.store.Store`."""
    from .store import open_store as _open_store  # lazy: `import expt` stays lean

    return _open_store(location)


def get_run(ref):
    """One stored run from ``runs/3`` or ``mongodb://host/db#3``: :class:`expt.store.RunRecord`."""
    from .store import get_run as _get_run

    return _get_run(ref)


__version__ = "0.1.0"
__all__ = [
    "Experiment", "Ingredient", "Run", "RunObserver", "CapturedFunction", "ConfigScope",
    "ConfigDict", "ExptError", "ConfigError", "ConfigKeyError", "MissingConfigError",
    "NamedConfigNotFoundError", "ObserverError", "ReadOnlyConfigError",
    "apply_backspaces_and_linefeeds", "cli_option", "open_store", "get_run",
]
