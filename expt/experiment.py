"""Experiment: the root ingredient with a main function, observers and ``run()``."""
from __future__ import annotations

import logging
import os
import sys
from typing import Any, Callable, Iterable, Mapping, Sequence

from . import dotted
from .capture import CapturedFunction, readonly_config
from .capture_output import DEFAULT_MODE, check_mode
from .commands import print_config, print_dependencies, print_named_configs_of, save_config
from .config import resolve
from .errors import CommandNotFoundError, ExptError, InteractiveModeError
from .experiment_info import collect_experiment_info
from .git_cache import prefetch as prefetch_git_info
from .hostinfo import check_gatherer_name, get_host_info
from .ingredient import Ingredient
from .output_filter import apply_backspaces_and_linefeeds
from .randomness import seed_globals
from .redact import redact_tree
from .run import Run

log = logging.getLogger("expt")


class Experiment(Ingredient):
    """An experiment: decorate its config and main function, then run it.

    Sacred's spelling: ``Experiment(name, ingredients, interactive, base_dir, ...)``; options
    that Sacred keeps in a global settings object are arguments here.
    """

    def __init__(self, name: str | None = None, ingredients: Sequence[Ingredient] = (),
                 interactive: bool = False, base_dir: str | os.PathLike | None = None,
                 additional_host_info: Mapping[str, Callable[[], Any]] | None = None,
                 additional_cli_options: Sequence[Any] = (), save_git_info: bool = True, *,
                 capture_mode: str | None = None, beat_interval: float = 10.0,
                 host_env_vars: Sequence[str] = ()):
        caller_file = sys._getframe(1).f_globals.get("__file__")
        if caller_file and caller_file.startswith("<"):
            caller_file = None  # python - (stdin) or python -c: no main file
        if caller_file is None and not interactive:
            raise InteractiveModeError(
                "This experiment is defined in an interactive session (REPL or notebook), where "
                "expt cannot record a main file. Pass interactive=True to allow it: "
                "Experiment('name', interactive=True).")
        if name is None:
            if caller_file is None:
                raise ExptError("An interactive experiment needs a name: Experiment('name', ...).")
            name = os.path.splitext(os.path.basename(caller_file))[0]
        super().__init__(name, ingredients, base_dir=base_dir, _caller_depth=2)
        self.interactive = interactive
        self.save_git_info = save_git_info
        self.additional_host_info = dict(additional_host_info or {})
        for gatherer_name in self.additional_host_info:
            check_gatherer_name(gatherer_name)
        self.additional_cli_options = list(additional_cli_options)
        self.capture_mode = capture_mode
        self.beat_interval = beat_interval
        self.host_env_vars = list(host_env_vars)
        self.observers: list[object] = []
        self.option_hooks: list[Callable] = []
        self.default_command: str | None = None
        self.captured_out_filter: Any = apply_backspaces_and_linefeeds
        self.current_run: Run | None = None
        self._add_builtin_commands()
        if save_git_info:
            prefetch_git_info(self.base_dir)  # git works while the script goes on

    def _add_builtin_commands(self) -> None:
        def print_named_configs() -> None:
            """Print the named configs of the experiment and its ingredients."""
            print_named_configs_of(self)

        for function in (print_config, print_dependencies, save_config, print_named_configs):
            self.command(function, unobserved=True)

    @property
    def name(self) -> str:
        return self.path

    @property
    def config_path(self) -> str:
        return ""  # the experiment's own entries sit at the top of the config

    # -- main function ---------------------------------------------------------------------

    def main(self, func: Callable) -> CapturedFunction:
        """Decorator: the function a run executes by default."""
        captured = self.command(func)
        self.default_command = func.__name__
        return captured

    def automain(self, func: Callable) -> CapturedFunction:
        """Like ``main``, and run the command line when the file is executed as a script."""
        captured = self.main(func)
        if func.__module__ == "__main__":
            self.run_commandline()
        return captured

    def option_hook(self, func: Callable) -> Callable:
        """Decorator: ``func(options)`` is called with the command-line options before a run."""
        self.option_hooks.append(func)
        return func

    # -- running ---------------------------------------------------------------------------

    def run(self, command_name: str | None = None, config_updates: Mapping | None = None,
            named_configs: Iterable[str] = (), info: Mapping | None = None,
            meta_info: Mapping | None = None, options: Mapping | None = None) -> Run:
        """Resolve the config, run the command with the observers, and return the Run."""
        run = self._create_run(command_name, config_updates, named_configs, info, meta_info,
                               options)
        try:
            run()
        finally:
            self._release(run)
        return run

    def run_commandline(self, argv: Sequence[str] | None = None) -> Run | None:
        """Parse `argv` (default ``sys.argv``), run, and exit on errors with a clear message."""
        from .cli import run_commandline

        return run_commandline(self, sys.argv if argv is None else list(argv))

    def get_experiment_info(self) -> dict:
        """Name, base dir, sources, dependencies and repositories, as sent to observers."""
        ingredients = list(self.traverse_ingredients())
        return collect_experiment_info(
            name=self.name, base_dir=self.base_dir, mainfile=self.mainfile,
            extra_sources=set().union(*(i.sources for i in ingredients)),
            extra_dependencies=set().union(*(i.dependencies for i in ingredients)),
            save_git_info=self.save_git_info)

    def _create_run(self, command_name: str | None, config_updates: Mapping | None,
                    named_configs: Iterable[str], info: Mapping | None,
                    meta_info: Mapping | None, options: Mapping | None) -> Run:
        raw_options = dict(options or {})
        options = normalize_options(options)
        named_configs = list(named_configs)  # read twice below; a generator would be empty
        command_name = command_name or self.default_command
        commands = self.gather_commands()
        if command_name is None:
            raise ExptError("This experiment has no main function: decorate one with @ex.main.")
        if command_name not in commands:
            raise CommandNotFoundError(command_name, list(commands))
        command = commands[command_name]
        captured = self.all_captured_functions()
        config, summary = resolve(
            self.config_layers(), updates=config_updates, named_configs=named_configs,
            captured_params={p for f in captured for p in f.parameter_paths()},
            force=bool(options.get("force")))
        logger = self.run_logger()
        for hook in (h for i in self.traverse_ingredients() for h in i.config_hooks):
            dotted.deep_update(config, hook(config, command_name, logger) or {})
        seed = config["seed"]
        seed_globals(seed)

        unobserved = options.get("unobserved") or getattr(command, "unobserved", False)
        ex_info = self.get_experiment_info()
        if options.get("name"):
            ex_info["name"] = options["name"]
        meta = {"command": command_name, "options": raw_options,
                "config_updates": dict(config_updates or {}),
                "named_configs": [str(n) for n in named_configs], **dict(meta_info or {})}
        if options.get("comment"):
            meta["comment"] = options["comment"]
        if options.get("priority") is not None:
            meta["priority"] = options["priority"]
        beat_interval = float(options.get("beat_interval") or self.beat_interval)
        meta["beat_interval"] = beat_interval  # readers judge a silent run dead from it
        run = Run(
            config=config, config_modifications=summary, main_function=command,
            observers=[] if unobserved else self.observers, experiment_info=ex_info,
            host_info=get_host_info(self.host_env_vars, self.additional_host_info),
            meta_info=redact_tree(meta), command=command_name, logger=logger, run_id=options.get("id"),
            beat_interval=beat_interval,
            capture_mode=check_mode(options.get("capture") or self.capture_mode or DEFAULT_MODE),
            captured_out_filter=self.captured_out_filter,
            pre_run_hooks=[h for i in self.traverse_ingredients() for h in i.pre_run_hooks],
            post_run_hooks=[h for i in self.traverse_ingredients() for h in i.post_run_hooks],
            queue_only=bool(options.get("queue")))
        run.info.update(info or {})
        frozen = readonly_config(config)
        for function in captured:
            function.bind(full_config=frozen, run=run, logger=logger, seed=seed)
        self.current_run = run
        return run

    def _release(self, run: Run) -> None:
        for function in self.all_captured_functions():
            function.unbind()
        if self.current_run is run:
            self.current_run = None

    def gather_commands(self) -> dict[str, CapturedFunction]:
        """Every command by the name it is invoked with (``ingredient.cmd`` for ingredients)."""
        commands = {}
        for ingredient in self.traverse_ingredients():
            for name, function in ingredient.commands.items():
                full = name if ingredient is self else f"{ingredient.path}.{name}"
                commands[full] = function
        return commands

    def run_logger(self) -> logging.Logger:
        """The logger a run's ``_log`` descends from: 'expt.<experiment name>'."""
        return log.getChild(self.name)

    # -- the current run, for code that has only the experiment ----------------------------

    def _require_run(self, action: str) -> Run:
        if self.current_run is None:
            raise ExptError(f"Cannot {action} outside a run: call it from the main function "
                            "or a captured function while the experiment runs.")
        return self.current_run

    @property
    def info(self) -> dict:
        """The current run's ``info`` dict."""
        return self._require_run("use ex.info").info

    def log_scalar(self, name: str, value: Any, step: int | None = None) -> None:
        """Record a metric point in the current run."""
        self._require_run("log a metric").log_scalar(name, value, step)

    def add_artifact(self, filename: str | os.PathLike, name: str | None = None,
                     metadata: dict | None = None, content_type: str | None = None) -> None:
        """Store a file with the current run."""
        self._require_run("add an artifact").add_artifact(filename, name, metadata, content_type)

    def add_resource(self, filename: str | os.PathLike) -> None:
        """Record a file the current run used."""
        self._require_run("add a resource").add_resource(filename)

    def open_resource(self, filename: str | os.PathLike, mode: str = "r"):
        """Open a file and record it as a resource of the current run."""
        return self._require_run("open a resource").open_resource(filename, mode)


def normalize_options(options: Mapping | None) -> dict:
    """Options by plain name: ``{"--beat-interval": 2}`` and ``{"beat_interval": 2}`` alike."""
    normalized = {}
    for key, value in (options or {}).items():
        normalized[str(key).lstrip("-").replace("-", "_")] = value
    return normalized

