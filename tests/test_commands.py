"""Built-in commands: print_config's tree (pinned), save_config, print_named_configs,
print_dependencies."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import yaml

from expt import Experiment
from expt.commands import format_config
from expt.config import ConfigSummary

PINNED = """\
Configuration (* modified, + added, ~ type changed):
  batch = 32                             ~ # examples per step
  lr = 0.5                               * # learning rate
  seed = 1                                 # the random seed for this experiment
  model:
    depth = 3
    dropout = 0.1                        +
    width = 128                          * # units per layer
"""

def test_print_config_tree_is_pinned():
    """Nested dicts indent, docs follow '#', and * + ~ mark modified, added, type-changed."""
    config = {"lr": 0.5, "batch": 32, "seed": 1,
              "model": {"depth": 3, "width": 128, "dropout": 0.1}}
    summary = ConfigSummary(
        added=frozenset({"model.dropout"}), modified=frozenset({"lr", "model.width"}),
        typechanged={"batch": ("str", "int")},
        docs={"lr": "learning rate", "batch": "examples per step", "model.width": "units per layer",
              "seed": "the random seed for this experiment"})
    assert format_config(config, summary) == PINNED


def test_print_config_colours_only_when_asked():
    """Plain text by default; ANSI colours for a terminal."""
    summary = ConfigSummary(modified=frozenset({"a"}))
    assert "\x1b[" not in format_config({"a": 1}, summary)
    assert "\x1b[34m" in format_config({"a": 1}, summary, colour=True)


def test_print_config_from_a_real_run_marks_what_the_update_changed(capsys):
    """The summary of a real resolve marks the updated entry and its doc."""
    ex = Experiment("pc", interactive=True)

    @ex.config
    def config():
        lr = 0.1  # learning rate
        layers = 2

    @ex.main
    def main():
        pass

    ex.run("print_config", config_updates={"lr": 0.3})
    out = capsys.readouterr().out
    assert "  lr = 0.3" in out and "* # learning rate" in out
    assert "  layers = 2" in out


SCRIPT = textwrap.dedent('''
    from expt import Experiment
    ex = Experiment("cmds")

    @ex.config
    def config():
        lr = 0.1
        opt = {"name": "adam"}

    @ex.named_config
    def fast():
        """Fewer, bigger steps."""
        lr = 0.5

    @ex.named_config
    def slow():
        lr = 0.01

    @ex.automain
    def main():
        pass
''')


def run_script(tmp_path, *args):
    script = tmp_path / "cmds.py"
    script.write_text(SCRIPT)
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)


def test_save_config_writes_json_and_yaml(tmp_path):
    """save_config writes the resolved config to the file named by config_filename."""
    result = run_script(tmp_path, "save_config", "with", "lr=0.2", "config_filename=out.json")
    assert result.returncode == 0, result.stderr
    saved = json.loads((tmp_path / "out.json").read_text())
    assert saved["lr"] == 0.2 and saved["opt"] == {"name": "adam"} and "seed" in saved
    assert "config_filename" not in saved
    run_script(tmp_path, "save_config", "with", "config_filename=out.yaml")
    assert yaml.safe_load((tmp_path / "out.yaml").read_text())["lr"] == 0.1


def test_print_named_configs_lists_them_with_docstrings(tmp_path):
    """print_named_configs shows each named config and the first line of its docstring."""
    result = run_script(tmp_path, "print_named_configs")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "Named configs:"
    assert any(line.split() == ["fast", "Fewer,", "bigger", "steps."] for line in lines)
    assert any(line.split() == ["slow"] for line in lines)


def test_print_dependencies_shows_sources_and_packages(tmp_path):
    """print_dependencies lists the main file with its md5 and the imported packages."""
    result = run_script(tmp_path, "print_dependencies")
    assert result.returncode == 0
    assert "Sources:" in result.stdout and "cmds.py" in result.stdout
    assert "expt==" in result.stdout


def test_builtin_commands_record_nothing(tmp_path):
    """Built-in commands run unobserved, even with -F."""
    run_script(tmp_path, "print_config", "-F", "runs")
    assert not any(p.name.isdigit() for p in (tmp_path / "runs").glob("*"))
