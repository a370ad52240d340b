"""Tests for expt.experiment: the Experiment API, run(), commands and the current run."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from expt import Experiment, Run
from expt.errors import CommandNotFoundError, ExptError, InteractiveModeError
from expt.events import COMPLETED
from expt.testing import RecordingObserver

ROOT = str(Path(__file__).resolve().parents[1])


def simple(**kwargs):
    ex = Experiment("exp_test", save_git_info=False, **kwargs)

    @ex.config
    def cfg():
        lr = 0.1
        steps = 3
    return ex


def test_run_returns_the_run_with_sacreds_attributes():
    """run() returns the Run with id, config, modifications, info, result, status, times."""
    ex = simple()

    @ex.main
    def main(lr, _run):
        _run.info["note"] = "x"
        print("out")
        return lr
    obs = RecordingObserver(run_id=11)
    ex.observers.append(obs)
    run = ex.run(config_updates={"lr": 0.5}, info={"given": 1}, meta_info={"extra": True})
    assert isinstance(run, Run)
    assert run._id == 11 and run.status == COMPLETED and run.result == 0.5
    assert run.config["lr"] == 0.5 and run.config["steps"] == 3 and "seed" in run.config
    assert run.config_modifications.modified == {"lr"}
    assert run.info == {"given": 1, "note": "x"}
    assert run.start_time <= run.stop_time
    assert run.observers == [obs]
    assert run.captured_out == "out\n"
    assert run.meta_info["extra"] is True and run.meta_info["command"] == "main"
    assert run.meta_info["config_updates"] == {"lr": 0.5}


def test_default_name_is_the_file_stem():
    """Without a name the experiment is named after its main file."""
    ex = Experiment(save_git_info=False)
    assert ex.name == "test_experiment"
    assert ex.get_experiment_info()["mainfile"] == "test_experiment.py"


def test_experiment_info_keys():
    """get_experiment_info() has Sacred's ex_info keys."""
    info = simple().get_experiment_info()
    assert {"name", "base_dir", "sources", "dependencies", "repositories", "mainfile"} <= set(info)
    assert info["name"] == "exp_test"
    assert any(name.endswith("test_experiment.py") for name, _ in info["sources"])


def test_run_options_comment_name_and_id():
    """--comment, --name and --id options end up in meta_info, ex_info and the id."""
    ex = simple()
    ex.main(lambda: None)
    obs = RecordingObserver()
    ex.observers.append(obs)
    run = ex.run(options={"--comment": "try 1", "--name": "renamed", "--id": "given-id"})
    started = obs.last("started_event")
    assert started["meta_info"]["comment"] == "try 1"
    assert started["ex_info"]["name"] == "renamed"
    assert started["_id"] == "given-id" and run._id == "given-id"


def test_commands_and_unknown_command_suggestion():
    """Extra commands run by name; an unknown name suggests the nearest command."""
    ex = simple()

    @ex.command
    def evaluate(steps):
        """Evaluate the model."""
        return steps * 2

    @ex.main
    def train():
        return "trained"
    assert ex.run().result == "trained"
    assert ex.run("evaluate").result == 6
    with pytest.raises(CommandNotFoundError) as info:
        ex.run("evalute")
    assert info.value.suggestions == ["evaluate"]
    assert str(info.value).startswith("Unknown command 'evalute'. Did you mean 'evaluate'?")


def test_no_main_function_is_a_clear_error():
    """Running an experiment without a main function says how to add one."""
    with pytest.raises(ExptError, match="no main function.*@ex.main"):
        simple().run()


def test_unobserved_command_and_option():
    """unobserved commands and the --unobserved option send no events."""
    ex = simple()
    obs = RecordingObserver()
    ex.observers.append(obs)

    @ex.command(unobserved=True)
    def quiet():
        return 1

    ex.main(lambda: 2)
    assert ex.run("quiet").result == 1
    assert ex.run(options={"--unobserved": True}).result == 2
    assert obs.events == []
    ex.run()
    assert obs.names()[0] == "started_event"


def test_command_with_prefix():
    """@ex.command(prefix=...) reads its parameters from a sub-dict."""
    ex = simple()
    ex.add_config(model={"depth": 4})

    @ex.command(prefix="model")
    def describe(depth):
        return depth
    assert ex.run("describe").result == 4


def test_experiment_level_helpers_inside_and_outside_a_run(tmp_path):
    """ex.info/log_scalar/add_artifact work during a run and give clear errors outside."""
    ex = simple()
    obs = RecordingObserver()
    ex.observers.append(obs)
    artifact = tmp_path / "a.txt"
    artifact.write_text("a")

    @ex.main
    def main():
        ex.info["k"] = 1
        ex.log_scalar("m", 2.0)
        ex.log_scalar("m", 3.0)
        ex.add_artifact(artifact)
        ex.add_resource(artifact)
        with ex.open_resource(artifact) as f:
            return f.read()
    run = ex.run()
    assert run.result == "a" and run.info == {"k": 1}
    assert obs.metrics()["m"]["steps"] == [0, 1]
    assert "artifact_event" in obs.names() and "resource_event" in obs.names()
    for action, message in [(lambda: ex.info, "use ex.info"),
                            (lambda: ex.log_scalar("m", 1), "log a metric"),
                            (lambda: ex.add_artifact(artifact), "add an artifact"),
                            (lambda: ex.add_resource(artifact), "add a resource"),
                            (lambda: ex.open_resource(artifact), "open a resource")]:
        with pytest.raises(ExptError, match=f"Cannot {message} outside a run"):
            action()


def test_current_run_cleared_after_failure():
    """After a failing run the experiment has no current run and functions are unbound."""
    ex = simple()

    @ex.main
    def main(lr):
        raise RuntimeError("x")
    with pytest.raises(RuntimeError):
        ex.run()
    assert ex.current_run is None
    with pytest.raises(ExptError):
        ex.log_scalar("m", 1)


def test_run_commandline_with_updates_and_named_configs():
    """run_commandline(argv) parses 'with' words and returns the Run."""
    ex = simple()
    ex.add_named_config("long", {"steps": 100})
    ex.main(lambda lr, steps: (lr, steps))
    run = ex.run_commandline(["prog", "with", "long", "lr=0.25"])
    assert run.result == (0.25, 100)


def test_beat_interval_argument():
    """Experiment(beat_interval=...) sets the heartbeat period of its runs."""
    import time
    ex = simple(beat_interval=0.01)
    obs = RecordingObserver()
    ex.observers.append(obs)
    ex.main(lambda: time.sleep(0.3))
    ex.run()
    assert obs.names().count("heartbeat_event") >= 3  # periodic ones plus the final one


def test_captured_out_filter_applies():
    """captured_out_filter post-processes the captured output (default: carriage returns)."""
    ex = simple()

    @ex.main
    def main():
        print("10%\r50%\r100%")
    assert ex.run(options={"--capture": "sys"}).captured_out == "100%\n"
    ex.captured_out_filter = lambda text: text.upper()
    assert ex.run(options={"--capture": "sys"}).captured_out == "10%\r50%\r100%\n".upper()


def run_python(code: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, cwd=cwd, timeout=60, env=dict(os.environ, PYTHONPATH=ROOT))


def test_interactive_mode_required_without_a_main_file(tmp_path):
    """Without a main file (REPL, notebook) Experiment refuses unless interactive=True."""
    refused = run_python("""
        from expt import Experiment
        try:
            Experiment("nb")
        except Exception as e:
            print(type(e).__name__, e)
    """, tmp_path)
    assert refused.stdout.startswith("InteractiveModeError This experiment is defined in an "
                                     "interactive session")
    assert "interactive=True" in refused.stdout
    allowed = run_python("""
        from expt import Experiment
        ex = Experiment("nb", interactive=True, save_git_info=False)
        ex.add_config(a=2)
        ex.main(lambda a: print("result", a * 3))
        run = ex.run()
        print(run.status, run.experiment_info["mainfile"])
    """, tmp_path)
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.splitlines() == ["result 6", "COMPLETED None"]


def test_interactive_experiment_needs_a_name():
    """An interactive experiment without a name is a clear error."""
    namespace = {"__name__": "cell"}
    with pytest.raises(ExptError, match="needs a name"):
        exec("from expt import Experiment\nExperiment(interactive=True)", namespace)
    with pytest.raises(InteractiveModeError):
        exec("from expt import Experiment\nExperiment('x')", {"__name__": "cell"})


def test_script_piped_to_python_stdin_runs_interactively(tmp_path):
    """A script fed to `python -` with interactive=True runs (no main file to record)."""
    script = ("from expt import Experiment\n"
              "ex = Experiment('piped', interactive=True, save_git_info=False)\n"
              "ex.add_config(a=1)\n"
              "ex.main(lambda a: print('ok', a))\n"
              "ex.run()\n")
    done = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True,
                          cwd=tmp_path, timeout=60, env=dict(os.environ, PYTHONPATH=ROOT))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok 1\n"


def test_several_config_scopes_and_updates_through_run():
    """Scopes run in definition order seeing earlier ones; captured parameters may be set."""
    ex = simple()

    @ex.config
    def more():
        total = lr * steps  # noqa: F821 - sees the first scope and the updates

    @ex.capture
    def batches(batch_size):
        return batch_size

    @ex.main
    def main(total):
        return total, batches()
    assert ex.run(config_updates={"steps": 10, "batch_size": 8}).result == (1.0, 8)


def test_force_option_allows_unknown_keys_and_silences_type_warnings(caplog):
    """options={'--force': True} accepts unknown keys and logs no type-change warning."""
    import logging
    ex = simple()
    ex.main(lambda _config: dict(_config))
    from expt import ConfigKeyError
    with pytest.raises(ConfigKeyError, match="Did you mean 'steps'"):
        ex.run(config_updates={"stepz": 1})
    with caplog.at_level(logging.WARNING, logger="expt"):
        run = ex.run(config_updates={"stepz": 1, "lr": "fast"}, options={"--force": True})
    assert run.result["stepz"] == 1 and run.result["lr"] == "fast"
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    with caplog.at_level(logging.WARNING, logger="expt"):
        ex.run(config_updates={"lr": "fast"})
    assert "Changed type of config entry 'lr' from float to str." in caplog.text
