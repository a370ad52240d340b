"""The command line, run as users run it: `python script.py [COMMAND] [with ...] [options]`."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent('''
    """A CLI test experiment."""
    import time
    from expt import Experiment, cli_option

    @cli_option("-o", "--owner", metavar="WHO")
    def owner(value, run):
        """Who started the run."""
        run.info["owner"] = value

    ex = Experiment("clitest", additional_cli_options=[owner])

    @ex.config
    def config():
        lr = 0.1            # learning rate
        layers = [64, 32]
        opt = {"name": "adam", "momentum": 0.9}
        name = "base"

    @ex.named_config
    def big():
        """A bigger model."""
        layers = [256, 128]

    @ex.command
    def show(lr, layers, opt, name):
        """Print the config values."""
        print(repr(lr), repr(layers), repr(opt), repr(name))

    @ex.command
    def fail():
        """Always fails."""
        raise ValueError("boom")

    @ex.command
    def sleep(_run):
        """Sleeps until stopped."""
        _run.log_scalar("before_sleep", 1)
        print("sleeping", flush=True)
        time.sleep(60)

    @ex.automain
    def main(lr, _run):
        print("main ran with lr", lr)
        return lr
''')


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "clitest.py"
    path.write_text(SCRIPT)
    return path


def run_cli(script: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=script.parent)


@pytest.mark.parametrize("update, expected", [
    ("lr=1e-3", "0.001 [64, 32] {'name': 'adam', 'momentum': 0.9} 'base'"),
    ("layers=[8,4]", "0.1 [8, 4] {'name': 'adam', 'momentum': 0.9} 'base'"),
    ("opt={'name':'sgd'}", "0.1 [64, 32] {'name': 'sgd', 'momentum': 0.9} 'base'"),
    ("opt.momentum=0.5", "0.1 [64, 32] {'name': 'adam', 'momentum': 0.5} 'base'"),
    ("name=foo", "0.1 [64, 32] {'name': 'adam', 'momentum': 0.9} 'foo'"),
    ("name=None", "0.1 [64, 32] {'name': 'adam', 'momentum': 0.9} None"),
    ("name='with space'", "0.1 [64, 32] {'name': 'adam', 'momentum': 0.9} 'with space'"),
    ("big", "0.1 [256, 128] {'name': 'adam', 'momentum': 0.9} 'base'"),
])
def test_with_updates_reach_the_command(script, update, expected):
    """Each form of `with` update arrives in the command's arguments."""
    result = run_cli(script, "show", "with", update)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_named_config_then_update_in_any_order(script):
    """Updates win over named configs wherever they stand on the line."""
    result = run_cli(script, "show", "with", "layers=[1]", "big")
    assert result.stdout.strip().split(" [")[1].startswith("1]")


def test_config_file_as_update(script, tmp_path):
    """A .json file after `with` is applied like a named config."""
    (tmp_path / "params.json").write_text('{"lr": 0.5}')
    result = run_cli(script, "show", "with", "params.json")
    assert result.stdout.startswith("0.5 ")


@pytest.mark.parametrize("args, message", [
    (("with", "lr="), "no value after 'lr='"),
    (("with", "lrr=3"), "Unknown config key 'lrr' in 'with' update. Did you mean 'lr'?"),
    (("with", "bigg"), "Unknown named config 'bigg'. Did you mean 'big'?"),
    (("with", "missing.json"), "Config file 'missing.json' does not exist."),
    (("shwo",), "Unknown command 'shwo'. Did you mean 'show'?"),
    (("--nmae", "x"), "Unknown option '--nmae'. Did you mean '--name'"),
    (("-Z",), "Unknown option '-Z'"),
    (("-l", "LOUD"), "Unknown log level 'LOUD'"),
])
def test_user_mistakes_exit_2_with_one_clear_paragraph(script, args, message):
    """A user mistake names what was wrong, suggests the fix, exits 2, shows no traceback."""
    result = run_cli(script, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "Usage:" in result.stderr


def test_debug_shows_the_traceback_of_a_mistake(script):
    """--debug adds the traceback to the message."""
    result = run_cli(script, "with", "lrr=3", "--debug")
    assert result.returncode == 2
    assert "Traceback" in result.stderr


def test_failing_main_exits_1_with_user_frames_only(script):
    """A failing command exits 1 and shows its traceback without expt's frames."""
    result = run_cli(script, "fail")
    assert result.returncode == 1
    assert "ValueError: boom" in result.stderr
    assert 'raise ValueError("boom")' in result.stderr
    assert "expt/run.py" not in result.stderr


def test_help_lists_options_and_commands_with_docstrings(script):
    """--help prints usage, options and each command's docstring."""
    result = run_cli(script, "--help")
    assert result.returncode == 0
    for text in ("Usage:", "--file_storage=DIR", "--unobserved", "show", "Print the config values.",
                 "print_config"):
        assert text in result.stdout


def test_help_command_prints_the_command_doc(script):
    """`help COMMAND` prints that command's docstring."""
    result = run_cli(script, "help", "show")
    assert result.returncode == 0
    assert "Print the config values." in result.stdout


def test_file_storage_flag_records_the_run(script, tmp_path):
    """-F DIR stores the run with config, output and result."""
    result = run_cli(script, "with", "lr=0.3", "-F", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    run = json.loads((tmp_path / "runs" / "1" / "run.json").read_text())
    assert run["status"] == "COMPLETED"
    assert run["result"] == 0.3
    config = json.loads((tmp_path / "runs" / "1" / "config.json").read_text())
    assert config["lr"] == 0.3
    assert "main ran with lr 0.3" in (tmp_path / "runs" / "1" / "cout.txt").read_text()


@pytest.mark.parametrize("flag, check", [
    (("-n", "renamed"), lambda run: run["experiment"]["name"] == "renamed"),
    (("-c", "a comment"), lambda run: run["meta"]["comment"] == "a comment"),
    (("-i", "custom7"), lambda run: True),
    (("-q",), lambda run: run["status"] == "QUEUED"),
])
def test_run_options_are_recorded(script, tmp_path, flag, check):
    """-n, -c, -i and -q change what is recorded."""
    runs = tmp_path / "runs"
    result = run_cli(script, *flag, "-F", str(runs))
    assert result.returncode == 0, result.stderr
    run_dirs = [p for p in runs.iterdir() if not p.name.startswith("_")]
    assert len(run_dirs) == 1
    if flag[0] == "-i":
        assert run_dirs[0].name == "custom7"
    assert check(json.loads((run_dirs[0] / "run.json").read_text()))


def test_unobserved_records_nothing(script, tmp_path):
    """-u runs the experiment without observers."""
    result = run_cli(script, "-u", "-F", str(tmp_path / "runs"))
    assert result.returncode == 0
    assert "main ran" in result.stdout
    assert not any(p.name.isdigit() for p in (tmp_path / "runs").glob("*"))


def test_seed_option_sets_the_seed(script, tmp_path):
    """-s SEED is the same as `with seed=SEED`."""
    run_cli(script, "-s", "123", "-F", str(tmp_path / "runs"))
    config = json.loads((tmp_path / "runs" / "1" / "config.json").read_text())
    assert config["seed"] == 123


def test_print_config_option_prints_before_running(script):
    """-p prints the config, then runs."""
    result = run_cli(script, "-p", "with", "lr=0.2")
    assert result.returncode == 0
    assert result.stdout.index("lr = 0.2") < result.stdout.index("main ran")


def test_credentials_in_observer_urls_are_not_stored(script, tmp_path):
    """A password in an option value never reaches the stored meta."""
    result = run_cli(script, "-c", "see mongodb://bob:hunter2@db:27017/x", "-F",
                     str(tmp_path / "runs"))
    assert result.returncode == 0
    text = (tmp_path / "runs" / "1" / "run.json").read_text()
    assert "hunter2" not in text
    assert "mongodb://***@db:27017/x" in text


def test_sigterm_ends_the_run_interrupted_with_its_last_data(script, tmp_path):
    """SIGTERM: exit 143, status INTERRUPTED with a stop time, last metrics and output stored."""
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, str(script), "sleep", "-F", str(runs)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path)
    assert proc.stdout.readline().strip() == "sleeping"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 143
    run = json.loads((runs / "1" / "run.json").read_text())
    assert run["status"] == "INTERRUPTED"
    assert run["stop_time"]
    metrics = json.loads((runs / "1" / "metrics.json").read_text())
    assert metrics["before_sleep"]["values"] == [1]
    assert "sleeping" in (runs / "1" / "cout.txt").read_text()


def test_sigint_ends_the_run_interrupted_with_exit_130(script, tmp_path):
    """Ctrl-C (SIGINT): exit 130, status INTERRUPTED."""
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, str(script), "sleep", "-F", str(runs)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path)
    assert proc.stdout.readline().strip() == "sleeping"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    assert json.loads((runs / "1" / "run.json").read_text())["status"] == "INTERRUPTED"


def test_experiment_options_appear_in_help_and_apply_to_the_run(script, tmp_path):
    """A cli_option is listed in --help and its function changes the run."""
    assert "--owner=WHO" in run_cli(script, "--help").stdout
    result = run_cli(script, "--owner", "ana", "-F", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "runs" / "1" / "info.json").read_text())["owner"] == "ana"


@pytest.mark.parametrize("args, message", [
    (("-C", "fs"), "Unknown capture mode 'fs'. Did you mean 'fd'?"),
    (("-b", "often"), "--beat-interval needs a number of seconds, not 'often'"),
    (("-s", "abc"), "--seed needs a whole number, not 'abc'"),
])
def test_bad_option_values_exit_2(script, args, message):
    """Option values are checked with a clear message."""
    result = run_cli(script, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("mode", ["no", "sys", "fd"])
def test_capture_modes_record_as_asked(script, tmp_path, mode):
    """-C no records no output; sys and fd record the printed line."""
    runs = tmp_path / "runs"
    assert run_cli(script, "-C", mode, "-F", str(runs)).returncode == 0
    cout = (runs / "1" / "cout.txt")
    text = cout.read_text() if cout.exists() else ""
    assert ("main ran with lr 0.1" in text) == (mode != "no")


def test_loglevel_debug_shows_debug_records(script):
    """-l DEBUG lets expt's debug records through; the default shows INFO."""
    quiet = run_cli(script, "-l", "WARNING")
    assert "Started run" not in quiet.stderr
    assert "Started run" in run_cli(script).stderr


def test_queue_with_priority_records_it(script, tmp_path):
    """-q -P 5 records a QUEUED run with its priority in meta."""
    runs = tmp_path / "runs"
    assert run_cli(script, "-q", "-P", "5", "-F", str(runs)).returncode == 0
    run = json.loads((runs / "1" / "run.json").read_text())
    assert run["status"] == "QUEUED"
    assert run["meta"]["priority"] == "5"


def test_pdb_opens_the_debugger_on_failure(script):
    """-D starts pdb post-mortem; quitting it still exits 1."""
    proc = subprocess.run([sys.executable, str(script), "fail", "-D"], input="q\n",
                          capture_output=True, text=True, timeout=60, cwd=script.parent)
    assert proc.returncode == 1
    assert "(Pdb)" in proc.stdout


def git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_enforce_clean_refuses_uncommitted_changes(script, tmp_path):
    """-e runs in a clean repository and refuses with exit 2 when a tracked file changed."""
    git(tmp_path, "init", "-q")
    git(tmp_path, "-c", "user.email=a@b", "-c", "user.name=A", "add", script.name)
    git(tmp_path, "-c", "user.email=a@b", "-c", "user.name=A", "commit", "-q", "-m", "x")
    assert run_cli(script, "-e").returncode == 0
    script.write_text(script.read_text() + "\n# changed\n")
    result = run_cli(script, "-e")
    assert result.returncode == 2
    assert "uncommitted changes" in result.stderr


def test_enforce_clean_outside_git_is_an_error(script):
    """-e outside a repository says why it refuses."""
    result = run_cli(script, "-e")
    assert result.returncode == 2
    assert "needs a git repository" in result.stderr


def test_git_commit_and_uncommitted_diff_are_recorded(script, tmp_path):
    """A run in a repository with an uncommitted change stores the commit and the diff."""
    git(tmp_path, "init", "-q")
    git(tmp_path, "remote", "add", "origin", "https://bob:s3cret@example.com/team/repo.git")
    git(tmp_path, "add", script.name)
    git(tmp_path, "-c", "user.email=a@b", "-c", "user.name=A", "commit", "-q", "-m", "x")
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True,
                            text=True).stdout.strip()
    script.write_text(script.read_text() + "\n# an uncommitted change\n")
    assert run_cli(script, "-F", str(tmp_path / "runs")).returncode == 0
    repo = json.loads((tmp_path / "runs" / "1" / "run.json").read_text())[
        "experiment"]["repositories"][0]
    assert repo["commit"] == commit
    assert repo["dirty"] is True
    assert "+# an uncommitted change" in repo["diff"]
    assert repo["url"] == "https://***@example.com/team/repo.git"


def test_root_logger_untouched_and_run_logger_named_after_experiment(tmp_path):
    """The command line leaves the root logger alone; _log is 'expt.<experiment name>'."""
    script = tmp_path / "logs.py"
    script.write_text(textwrap.dedent('''
        import logging
        from expt import Experiment
        ex = Experiment("logdemo")

        @ex.automain
        def main(_log):
            print(len(logging.getLogger().handlers), logging.getLogger().level)
            print(_log.name)
            _log.info("hello from the run")
    '''))
    result = run_cli(script)
    assert result.returncode == 0, result.stderr
    handlers, level = result.stdout.splitlines()[0].split()
    assert handlers == "0" and level == str(30)
    assert result.stdout.splitlines()[1].startswith("expt.logdemo")
    assert "hello from the run" in result.stderr


def test_force_accepts_an_unknown_key_and_a_type_change(script):
    """-f lets an unknown key and a type change through without the error and the warning."""
    result = run_cli(script, "show", "with", "lrr=3", "lr='fast'", "-f")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("'fast' ")
    assert "Changed type" not in result.stderr
    assert "Changed type of config entry 'lr' from float to str" in \
        run_cli(script, "show", "with", "lr='fast'").stderr


def test_observer_flag_whose_extra_is_missing_is_a_clear_error(script, tmp_path):
    """An observer flag whose package cannot be imported names the extra to install, exit 2."""
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "pymongo.py").write_text("raise ImportError('pymongo is not installed')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(blocker), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, str(script), "-m", "localhost:27017:x"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert 'pip install "expt[mongo]"' in result.stderr
    assert "Traceback" not in result.stderr
