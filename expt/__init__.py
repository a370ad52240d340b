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

__version__ = "0.1.0"
__all__ = [
    "Experiment", "Ingredient", "Run", "RunObserver", "CapturedFunction", "ConfigScope",
    "ConfigDict", "ExptError", "ConfigError", "ConfigKeyError", "MissingConfigError",
    "NamedConfigNotFoundError", "ObserverError", "ReadOnlyConfigError",
    "apply_backspaces_and_linefeeds", "cli_option",
]
