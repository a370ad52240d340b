"""The command line: ``python train.py [COMMAND] [with UPDATE...] [OPTIONS]``.

This is the only module that prints errors and calls ``sys.exit``: user mistakes exit 2 with one
paragraph and no traceback (``--debug`` shows it), a failing main function exits 1 with its
traceback, an interrupted run exits 130 (SIGINT) or 143 (SIGTERM).
"""
from __future__ import annotations

import logging
import os
import signal
import sys
from typing import Any, NamedTuple, Sequence

from .errors import ExptError, Interrupted, UserInputError, did_you_mean, suggest
from .observer_options import ObserverOption, load_observer_options
from .run import format_user_traceback
from .updates import parse_with_words

EXIT_USER_ERROR = 2
EXIT_FAILED = 1

# (short, long, metavar or None, help) -- Sacred's option names.
BUILTIN_OPTIONS: list[tuple[str, str, str | None, str]] = [
    ("-b", "--beat-interval", "SECONDS", "Seconds between heartbeats (default 10)."),
    ("-c", "--comment", "COMMENT", "A comment stored with the run."),
    ("-C", "--capture", "MODE", "Output capture: no, sys or fd (default fd on POSIX)."),
    ("-d", "--debug", None, "Show full tracebacks, including expt's own frames."),
    ("-D", "--pdb", None, "Start the debugger post-mortem when the run fails."),
    ("-e", "--enforce_clean", None, "Refuse to run with uncommitted changes in git."),
    ("-f", "--force", None, "Allow unknown config keys and type changes."),
    ("-h", "--help", None, "Show this help."),
    ("-i", "--id", "ID", "The run's id (observers assign one otherwise)."),
    ("-l", "--loglevel", "LEVEL", "Log level: DEBUG, INFO, WARNING, ERROR or CRITICAL."),
    ("-n", "--name", "NAME", "The experiment's name for this run."),
    ("-p", "--print-config", None, "Print the config before running."),
    ("-P", "--priority", "PRIORITY", "Priority of a queued run."),
    ("-q", "--queue", None, "Record the run as QUEUED without running it."),
    ("-s", "--seed", "SEED", "The random seed (same as 'with seed=SEED')."),
    ("-u", "--unobserved", None, "Run without observers."),
]


class Invocation(NamedTuple):
    """What the command line asks for."""

    command: str | None
    updates: dict[str, Any]
    named_configs: list[str]
    options: dict[str, Any]   # docopt keys: '--name', ...
    observer_flags: list[tuple[ObserverOption, str]]
    help: bool


def all_options(ex) -> list[tuple[str, str, str | None, str]]:
    """Built-in options, observer flags from plug-ins and the experiment's own options."""
    plugins = [(o.short, o.long, o.metavar, o.help) for o in load_observer_options()]
    custom = [(o.short_flag, o.flag, getattr(o, "arg", None), o.help)
              for o in getattr(ex, "additional_cli_options", [])]
    return sorted(BUILTIN_OPTIONS + plugins + custom, key=lambda o: o[1].lstrip("-").lower())


def usage_text(ex, prog: str, options: Sequence[tuple] | None = None) -> str:
    """The full help: usage patterns, options and the experiment's commands."""
    options = all_options(ex) if options is None else options
    lines = [f"Usage:",
             f"  {prog} [(with UPDATE...)] [options]",
             f"  {prog} help [COMMAND]",
             f"  {prog} (-h | --help)",
             f"  {prog} COMMAND [(with UPDATE...)] [options]",
             "", "Options:"]
    for short, long, metavar, text in options:
        spelled = f"{short} {long}" + (f"={metavar}" if metavar else "")
        lines.append(f"  {spelled:<30} {text}")
    lines += ["", "Commands:"]
    commands = ex.gather_commands()
    for name in sorted(commands, key=lambda n: n != ex.default_command):
        doc = (commands[name].__doc__ or "").strip().splitlines()
        text = " ".join(filter(None, [doc[0] if doc else "",
                                      "(default)" if name == ex.default_command else ""]))
        lines.append(f"  {name:<30} {text}".rstrip())
    return "\n".join(lines) + "\n"


def parse(ex, argv: Sequence[str], prog: str = "experiment") -> Invocation:
    """An Invocation from the arguments after the program name; UserInputError when wrong."""
    import docopt

    options = all_options(ex)
    _check_option_spellings(argv, options)
    try:
        args = docopt.docopt(usage_text(ex, prog, options), list(argv), default_help=False)
    except docopt.DocoptExit as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid arguments"
        raise UserInputError(f"Cannot read the command line: {first}") from None
    updates, named = parse_with_words(args["UPDATE"] or [])
    if args["--seed"] is not None:
        updates["seed"] = _integer("--seed", args["--seed"])
    flags = [(o, args[o.long]) for o in load_observer_options() if args.get(o.long)]
    opts = {k: v for k, v in args.items() if k.startswith("-")}
    return Invocation(command=args["COMMAND"], updates=updates, named_configs=named,
                      options=opts, observer_flags=flags,
                      help=bool(args["help"] or args["--help"]))


def run_commandline(ex, argv: Sequence[str]):
    """Run `ex` as the command line asks; returns the Run, or exits with a status code."""
    prog = os.path.basename(argv[0]) if argv else ex.name
    debug = any(a in ("-d", "--debug") for a in argv[1:])
    try:
        invocation = parse(ex, argv[1:], prog)
        if invocation.help:
            if invocation.command:
                _print_command_help(ex, invocation.command)
            else:
                sys.stdout.write(usage_text(ex, prog))
            return None
        run = _prepare(ex, invocation)
    except ExptError as exc:
        _fail(exc, debug, prog, EXIT_USER_ERROR if isinstance(exc, UserInputError) else 1)
    previous = _stop_on_sigterm()
    try:
        run()
    except Interrupted as exc:
        sys.exit(128 + exc.signum)
    except KeyboardInterrupt:
        sys.exit(130)
    except ExptError as exc:
        if run.status is not None:  # raised by the user's code while running: a failed run
            _report_failure(exc, debug, invocation)
        _fail(exc, debug, prog, EXIT_USER_ERROR if isinstance(exc, UserInputError) else 1)
    except Exception as exc:
        _report_failure(exc, debug, invocation)
    finally:
        ex._release(run)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return run


def _report_failure(exc: BaseException, debug: bool, invocation: Invocation):
    """The main function raised: show its traceback (and the debugger if asked), exit 1."""
    sys.stderr.write("".join(_trace(exc, debug)))
    if invocation.options.get("--pdb"):
        import pdb

        pdb.post_mortem(exc.__traceback__)
    sys.exit(EXIT_FAILED)


def _stop_on_sigterm():
    """Make SIGTERM end the run as INTERRUPTED (exit 143) instead of killing it unrecorded."""
    def interrupt(signum, frame):
        raise Interrupted(signum)

    try:
        return signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        return None


def _prepare(ex, invocation: Invocation):
    opts = invocation.options
    _configure_logging(opts.get("--loglevel"))
    for option, value in invocation.observer_flags:
        try:
            ex.observers.append(option.factory(value))
        except ImportError as exc:  # an optional extra is not installed
            raise UserInputError(f"{option.long} cannot be used here: {exc}") from None
    for hook in ex.option_hooks:
        hook(options=opts)
    if opts.get("--beat-interval") is not None:
        opts["--beat-interval"] = _number("--beat-interval", opts["--beat-interval"])
    if opts.get("--enforce_clean"):
        _enforce_clean(ex)
    run = ex._create_run(invocation.command, invocation.updates, invocation.named_configs,
                         None, None, opts)
    for option in ex.additional_cli_options:
        value = opts.get(option.flag)
        if value not in (None, False):
            option.apply(value, run)
    if opts.get("--print-config"):
        from .commands import print_config

        print_config(run)
    return run


def _check_option_spellings(argv: Sequence[str], options: Sequence[tuple]) -> None:
    """A clear error, with the nearest valid option, for an option that does not exist."""
    longs = [o[1] for o in options]
    shorts = {o[0] for o in options}
    for word in argv:
        if word.startswith("--"):
            name = word.split("=", 1)[0]
            if name not in longs and not any(long.startswith(name) for long in longs):
                raise UserInputError(f"Unknown option '{name}'.{did_you_mean(suggest(name, longs))}"
                                     " See --help for all options.")
        elif word.startswith("-") and len(word) > 1 and not _is_number(word):
            if word[:2] not in shorts:
                raise UserInputError(f"Unknown option '{word[:2]}'. See --help for all options.")


def _enforce_clean(ex) -> None:
    from .gitinfo import is_dirty

    dirty = is_dirty(ex.base_dir)
    if dirty is None:
        raise UserInputError("--enforce_clean needs a git repository, and "
                             f"'{ex.base_dir}' is not inside one.")
    if dirty:
        raise UserInputError("--enforce_clean: the repository has uncommitted changes; "
                             "commit or stash them first.")


def _configure_logging(level: str | None) -> None:
    """Show expt's and the run's log records on stderr, without touching the root logger."""
    logger = logging.getLogger("expt")
    if level is not None:
        value = level.upper() if not level.isdigit() else int(level)
        if isinstance(value, str) and value not in logging.getLevelNamesMapping():
            names = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
            raise UserInputError(f"Unknown log level '{level}'."
                                 f"{did_you_mean(suggest(value, names))} Levels: "
                                 f"{', '.join(names)}.")
        logger.setLevel(value)
    elif logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    if not logging.getLogger().handlers and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s - %(name)s - %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False


def _print_command_help(ex, name: str) -> None:
    commands = ex.gather_commands()
    if name not in commands:
        from .errors import CommandNotFoundError

        raise CommandNotFoundError(name, list(commands))
    doc = (commands[name].__doc__ or "(no description)").strip()
    sys.stdout.write(f"{name}\n\n{doc}\n")


def _trace(exc: BaseException, debug: bool) -> list[str]:
    if debug:
        import traceback

        return traceback.format_exception(type(exc), exc, exc.__traceback__)
    return format_user_traceback(exc)


def _fail(exc: ExptError, debug: bool, prog: str, code: int):
    if debug:
        sys.stderr.write("".join(_trace(exc, True)))
    sys.stderr.write(f"Error: {exc}\n")
    if code == EXIT_USER_ERROR:
        sys.stderr.write(f"Usage: {prog} [COMMAND] [with UPDATE...] [options]   "
                         f"(see {prog} --help)\n")
    sys.exit(code)


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _number(option: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UserInputError(f"{option} needs a number of seconds, not '{text}'.") from None


def _integer(option: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UserInputError(f"{option} needs a whole number, not '{text}'.") from None
