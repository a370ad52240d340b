"""Runs every command line that each examples/*.py lists in its docstring, as a real process.

Docstring conventions (see examples/config_scope.py):
- a line starting with ``python examples/...`` is a command line to run (from a fresh folder;
  paths starting with ``examples/`` point into this repository);
- lines starting with ``->`` right below it are what that command must print (stdout or stderr),
  and ``-> exit N`` the exit code it must end with (default 0);
- the example is skipped when a module it imports at the top level, or one named on a line
  ``Requires: pkg, pkg`` (for imports made later), is not installed.
New examples are picked up automatically.
"""
import ast
import importlib.util
import json
import os
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
REQUIRED = ["hello_world.py", "config_scope.py", "named_configs.py", "captured_functions.py",
            "ingredients.py"]
# Expectations for examples whose docstrings list commands without '->' lines.
EXTRA_EXPECTED = {
    "python examples/hello_world.py": ["Hello world!"],
    'python examples/hello_world.py with message="Hello, expt!"': ["Hello, expt!"],
    "python examples/hello_world.py --help": ["Usage:", "Options:"],
}


@dataclass
class Command:
    """One documented command line and what it must do."""

    line: str
    expected: list[str] = field(default_factory=list)
    exit_code: int = 0


@dataclass
class Example:
    path: Path
    commands: list[Command]
    requires: list[str]


def parse_example(path: Path) -> Example:
    """The command lines, expectations and requirements in the module docstring of `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    doc = ast.get_docstring(tree) or ""
    commands: list[Command] = []
    requires: list[str] = top_level_imports(tree)
    for raw in doc.splitlines():
        line = raw.strip()
        if line.startswith("python "):
            commands.append(Command(line, list(EXTRA_EXPECTED.get(line, []))))
        elif line.startswith("->") and commands:
            text = line[2:].strip()
            if text.startswith("exit ") and text[5:].strip().isdigit():
                commands[-1].exit_code = int(text[5:])
            else:
                commands[-1].expected.append(text)
        elif line.lower().startswith("requires:"):
            requires += [p.strip() for p in line.split(":", 1)[1].split(",") if p.strip()]
    return Example(path, commands, requires)


def top_level_imports(tree: ast.Module) -> list[str]:
    """Root names of the modules a file imports at its top level (absolute imports only)."""
    roots: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            roots += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.append(node.module.split(".")[0])
    return list(dict.fromkeys(roots))


def argv_for(line: str) -> list[str]:
    """The command line as argv: our interpreter, repository paths made absolute."""
    words = shlex.split(line)
    assert words[0] == "python"
    return [sys.executable] + [str(ROOT / w) if w.startswith("examples/") else w
                               for w in words[1:]]


def run_line(line: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    return subprocess.run(argv_for(line), cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)


CASES = [pytest.param(ex, cmd, id=f"{ex.path.name}: {cmd.line.split(' ', 2)[2:] or ['']}"[:120])
         for ex in map(parse_example, EXAMPLES) for cmd in ex.commands]


def test_required_examples_exist_and_document_commands():
    """The issue's examples exist, and every example lists at least one command line."""
    names = [p.name for p in EXAMPLES]
    assert set(REQUIRED) <= set(names)
    for path in EXAMPLES:
        example = parse_example(path)
        assert example.commands, f"{path.name} lists no 'python examples/...' command lines"
        assert all(c.line.split()[1] == f"examples/{path.name}" for c in example.commands), \
            f"{path.name} documents a command line of another file"


def missing_requirements(example: Example) -> list[str]:
    return [m for m in example.requires if importlib.util.find_spec(m) is None]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Every runnable documented command, run a few at a time (the processes mostly wait)."""
    lines = [c.values[1].line for c in CASES if not missing_requirements(c.values[0])]
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {line: pool.submit(run_line, line, tmp_path_factory.mktemp("example"))
                   for line in lines}
        return {line: future.result() for line, future in futures.items()}


@pytest.mark.parametrize("example, command", CASES)
def test_documented_command_line(example, command, finished):
    """The command exits with the documented code and prints every documented line."""
    missing = missing_requirements(example)
    if missing:
        pytest.skip(f"{example.path.name} needs {', '.join(missing)}")
    done = finished[command.line]
    output = done.stdout + done.stderr
    assert done.returncode == command.exit_code, (
        f"{command.line}\nexit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}")
    for text in command.expected:
        assert text in output, f"{command.line}\nexpected {text!r} in:\n{output}"
    if command.exit_code == 0:
        assert "Traceback" not in done.stderr, done.stderr


def test_hello_world_records_a_run_with_the_file_observer(tmp_path):
    """`hello_world.py -F runs` leaves a complete run folder in ./runs."""
    done = run_line("python examples/hello_world.py -F runs", tmp_path)
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "runs" / "1"
    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "COMPLETED" and run["result"] == len("Hello world!")
    assert json.loads((run_dir / "config.json").read_text())["message"] == "Hello world!"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["message_length"]["values"] == [12]
    assert (run_dir / "cout.txt").read_text() == "Hello world!\n"


def test_parse_example_conventions(tmp_path):
    """The docstring parser reads commands, expectations, exit codes and requirements."""
    path = tmp_path / "demo.py"
    path.write_text('"""Demo.\n\nRequires: numpy, lightgbm\n\nCommand lines it supports:\n'
                    '    python examples/demo.py with a=1\n        -> a is 1\n'
                    '    python examples/demo.py with b=1\n        -> exit 2\n'
                    '        -> Did you mean\n"""\n'
                    'import os.path\nfrom not_installed_pkg.sub import thing\n'
                    'def f():\n    import later\n')
    example = parse_example(path)
    assert example.requires == ["os", "not_installed_pkg", "numpy", "lightgbm"]
    assert missing_requirements(example) == ["not_installed_pkg"]
    assert [(c.line, c.expected, c.exit_code) for c in example.commands] == [
        ("python examples/demo.py with a=1", ["a is 1"], 0),
        ("python examples/demo.py with b=1", ["Did you mean"], 2)]
