"""The `expt` command, run as a real program on runs written by real experiment processes."""
import csv
import io
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from expt import open_store

sys.path.insert(0, os.path.dirname(__file__))
from store_fixtures import make_runs, run_experiment, write_experiment  # noqa: E402

EXPT = str(Path(sys.executable).parent / "expt")


def expt(*args: str, cwd: Path, stdin: str = "", columns: int = 200
         ) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([EXPT, *args], cwd=cwd, input=stdin, capture_output=True, text=True,
                          timeout=60, env=env)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A folder holding runs/ with runs 1-4 (see store_fixtures.make_runs)."""
    folder = tmp_path_factory.mktemp("console")
    make_runs(folder)
    return folder


@pytest.fixture
def own_home(tmp_path) -> Path:
    make_runs(tmp_path)
    return tmp_path


def table_rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.strip().splitlines()]


def test_ls_table(home):
    """ls prints a header and one row per run with id, experiment, status and metrics."""
    proc = expt("ls", "runs", cwd=home)
    assert proc.returncode == 0, proc.stderr
    rows = table_rows(proc.stdout)
    assert rows[0][:5] == ["id", "experiment", "status", "start_time", "duration"]
    assert "valid.l2" in rows[0] and "num_leaves" in rows[0]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    assert [r[2] for r in rows[1:]] == ["COMPLETED"] * 3 + ["FAILED"]


def test_ls_filter_sort_columns(home):
    """A filter selects runs, --sort orders them, --columns chooses the columns."""
    proc = expt("ls", "runs", "status=COMPLETED", "and", "config.num_leaves>=40",
                "--sort=-config.num_leaves", "--columns", "id,config.num_leaves,metrics.valid.l2",
                cwd=home)
    assert proc.returncode == 0, proc.stderr
    assert table_rows(proc.stdout) == [["id", "num_leaves", "valid.l2"], ["3", "63", "2480"],
                                       ["2", "40", "3400"]]


def test_ls_json_and_csv(home):
    """--json and --csv give every column for scripts."""
    data = json.loads(expt("ls", "runs", "metrics.valid.l2.last<3000", "--json", cwd=home).stdout)
    assert [d["id"] for d in data] == [3]
    assert data[0]["config.num_leaves"] == 63 and data[0]["metrics.valid.l2"] == 2480.0
    assert data[0]["status"] == "COMPLETED"
    rows = list(csv.DictReader(io.StringIO(expt("ls", "runs", "--csv", cwd=home).stdout)))
    assert [r["id"] for r in rows] == ["1", "2", "3", "4"] and rows[1]["config.num_leaves"] == "40"
    # times in full ISO 8601 in both, as the store has them
    assert data[0]["start_time"] == rows[2]["start_time"]
    stored = open_store(home / "runs").get(3).start_time
    assert datetime.fromisoformat(data[0]["start_time"]) == stored


def test_ls_json_is_strict_json(tmp_path):
    """A diverged run's NaN metric and result are null in --json (NaN is not JSON: jq and
    JavaScript refuse it)."""
    (tmp_path / "nan.py").write_text(
        "from expt import Experiment\nex = Experiment('nan')\n"
        "@ex.automain\ndef main(_run):\n"
        "    _run.log_scalar('loss', float('nan'))\n    return float('inf')\n")
    subprocess.run([sys.executable, "nan.py", "-F", "runs"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=60)

    def refuse(name: str):
        raise ValueError(f"{name} in --json output")
    out = expt("ls", "runs", "--json", cwd=tmp_path).stdout
    [row] = json.loads(out, parse_constant=refuse)
    assert row["metrics.loss"] is None and row["result"] is None


def test_ls_columns_take_any_filter_field(own_home):
    """--columns names row columns or filter fields (tags, a metric's min); the table, tags
    included, has exactly the columns asked for, whatever the terminal's width."""
    expt("tag", "runs/3", "best", cwd=own_home)
    proc = expt("ls", "runs", "status=COMPLETED", "--columns",
                "id,tags,metrics.valid.l2,metrics.valid.l2.min,metrics.valid.l2.max,host.hostname",
                cwd=own_home, columns=40)
    assert proc.returncode == 0, proc.stderr
    rows = table_rows(proc.stdout)
    assert rows[0] == ["id", "tags", "valid.l2", "valid.l2.min", "valid.l2.max", "host.hostname"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3"]
    assert rows[1][1:4] == ["3760", "3760", "5000"]  # run 1 has no tags: an empty cell
    assert rows[3][:5] == ["3", "best", "2480", "2480", "5000"]
    data = json.loads(expt("ls", "runs", "--json", cwd=own_home).stdout)
    assert [d["tags"] for d in data] == [[], [], ["best"], []]



def test_ls_skips_unreadable_runs_and_says_so(own_home):
    """A run whose files are not valid JSON is left out of the table with one line on
    stderr each; the listing goes on (exit 0), and show names the broken file (exit 1)."""
    (own_home / "runs" / "2" / "run.json").write_text("{")
    (own_home / "runs" / "3" / "metrics.json").write_text("[1,")
    proc = expt("ls", "runs", cwd=own_home)
    assert proc.returncode == 0 and [r[0] for r in table_rows(proc.stdout)] == ["id", "1", "4"]
    assert [line.split(": ")[1] for line in proc.stderr.splitlines()] == [
        f"{own_home / 'runs' / '2' / 'run.json'} is not valid JSON (Expecting property name "
        "enclosed in double quotes", f"{own_home / 'runs' / '3' / 'metrics.json'} is not "
        "valid JSON (Expecting value"]
    assert all(line.startswith("Skipped an unreadable run: ") for line in proc.stderr.splitlines())
    proc = expt("show", "runs/2", cwd=own_home)
    assert proc.returncode == 1 and proc.stderr.startswith("expt show: ") and \
        proc.stderr.count("\n") == 1 and "run.json is not valid JSON" in proc.stderr


def test_ls_table_is_whole_when_piped(home):
    """Piped into a file or another program (no terminal, no $COLUMNS), nothing is cut."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    proc = subprocess.run([EXPT, "ls", "runs"], cwd=home, capture_output=True, text=True,
                          timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "more columns" not in proc.stdout and "…" not in proc.stdout
    assert "result" in proc.stdout.splitlines()[0].split()


def test_ls_csv_keeps_full_precision(home):
    """CSV numbers are the stored values in full (the table rounds, CSV must not)."""
    data = json.loads(expt("ls", "runs", "--json", cwd=home).stdout)
    rows = list(csv.DictReader(io.StringIO(expt("ls", "runs", "--csv", cwd=home).stdout)))
    assert [float(r["duration"]) for r in rows] == [d["duration"] for d in data]
    assert rows[2]["result"] == "3.1500000000000004"  # 63 * 0.05; the table shows 3.15
    assert [float(r["result"]) for r in rows[:3]] == [d["result"] for d in data[:3]]


def test_ls_fits_a_narrow_terminal(home):
    """In a 60-column terminal no line is wider; the hidden columns are named."""
    proc = expt("ls", "runs", cwd=home, columns=60)
    lines = proc.stdout.splitlines()
    assert all(len(line) <= 60 for line in lines[:-1])
    assert lines[-1].startswith("(") and "more columns" in lines[-1]


@pytest.mark.parametrize("args, message", [
    (["ls", "runs", "stauts=COMPLETED"], "Did you mean 'status'"),
    (["ls", "runs", "config.num_leaves", "=>", "3"], "Did you mean '>='"),
    (["ls", "runs", "config.num_leafs>=3"], "Did you mean 'config.num_leaves'"),
    (["ls", "runs", "--columns", "id,stauts"], "Unknown column 'stauts'. Did you mean 'status'"),
    (["ls", "rnus"], "No run folder 'rnus'"),
    (["show", "runs"], "Did you mean 'runs/1'"),
    (["show", "runs/99"], "No run 99 in runs"),
    (["show", "mongdb://localhost/db#1"], "Did you mean 'mongodb://localhost/db'"),
    (["show", "mongodb://localhost/db"], "needs '#ID'"),
    (["artifacts", "runs/2", "../../etc/passwd"], "Refusing artifact name '../../etc/passwd'"),
    (["artifacts", "runs/2", "modle.txt"], "Did you mean 'model.txt'"),
    (["ls", "runs", "--sort", "config.num_leafs"],
     "Unknown sort field 'config.num_leafs'. Did you mean 'config.num_leaves'"),
    (["ls", "runs", "--sort", "metrics.valid.l2"], "Did you mean 'metrics.valid.l2.last'"),
    (["ls", "runs", "--columns", "id,tag"], "Unknown column 'tag'. Did you mean 'tags'"),
    (["ls", "runs", "--columns", "id,metrics.valid.l3"], "Did you mean 'metrics.valid.l2'"),
    (["ls", "runs", "metrics.valid.l2.mean<3"], "Did you mean 'metrics.valid.l2.last'"),
    (["ls", "runs", "config.num_leaves>=abc"], "quote it to compare text"),
    (["ls", "runs", "num_leaves>=40"], "Did you mean 'config.num_leaves'"),
    (["ls", "runs/1"], "is the folder of one run (run runs/1); its store, which lists the runs, "
                       "is 'runs'"),
    (["ls", "mongodb://127.0.0.1:99999/db"], "Port must be an integer between 0 and 65535"),
    (["show", "mongodb://localhost/db#1#2"], "more than one '#'. Did you mean "
                                             "'mongodb://localhost/db#1' or "
                                             "'mongodb://localhost/db#2'"),
    (["show", "mongodb://localhost/db/3"], "Did you mean 'mongodb://localhost/db#3'"),
    (["compare", "runs/1", "runs/2", "--plot", "no/such/folder/c.png"],
     "Cannot write the plot to no/such/folder/c.png: folder"),
    (["compare", "runs/1", "runs/2", "--plot", "c.pgn"], "unknown image type '.pgn'"),
    (["tag", "runs/1", " "], "A tag is a non-empty text"),
    (["tag", "runs/1", "nosuch", "--remove"], "runs/1 has no tag 'nosuch'"),
])
def test_user_mistakes_exit_2_with_one_message(home, args, message):
    """Bad filters, sort keys, columns, run references and names: exit 2 before any output,
    one message, no traceback."""
    proc = expt(*args, cwd=home)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"expt {args[0]}: ")
    assert proc.stdout == ""


def test_unreachable_mongodb_is_one_line(home):
    """A MongoDB that does not answer: the reason in one line, not the driver's topology dump."""
    proc = expt("ls", "mongodb://127.0.0.1:1/db?serverSelectionTimeoutMS=300", cwd=home)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == ("expt ls: Cannot reach MongoDB at mongodb://127.0.0.1:1/db?"
                           "serverSelectionTimeoutMS=300: 127.0.0.1:1: [Errno 111] Connection "
                           "refused. Is the server running?\n")


def test_refused_mongodb_login_is_one_line(home, mongo_server):
    """Wrong credentials: exit 2 and one line, the password not shown."""
    url = mongo_server.url.replace("mongodb://", "mongodb://nobody:wrongpw@") + "/db"
    proc = expt("ls", url, cwd=home)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("expt ls: MongoDB at mongodb://***@")
    assert proc.stderr.endswith("refused the login: check the user name, password and "
                                "authSource.\n")



def test_database_lost_meanwhile_is_one_line(home):
    """A MongoDB server that stops while `logs --follow` reads a live run: exit 1 and one
    line with the reason, not the driver's traceback."""
    from datetime import timezone

    import pymongo

    from tests.mongo_server import free_port, start_server, stop_server

    port = free_port()
    pid = start_server(port)
    try:
        now = datetime.now(timezone.utc)
        with pymongo.MongoClient(f"mongodb://127.0.0.1:{port}") as client:
            client.lost.runs.insert_one({"_id": 1, "status": "RUNNING", "start_time": now,
                                         "heartbeat": now, "captured_out": "epoch 1\n",
                                         "experiment": {"name": "x"}, "config": {}})
        url = f"mongodb://127.0.0.1:{port}/lost?serverSelectionTimeoutMS=500#1"
        follow = subprocess.Popen([EXPT, "logs", url, "--follow"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        assert follow.stdout.readline() == "epoch 1\n"
    finally:
        stop_server(pid)
    out, err = follow.communicate(timeout=60)
    assert follow.returncode == 1 and "Traceback" not in err
    assert err.startswith("expt logs: the database failed: 127.0.0.1:") and err.count("\n") == 1


def test_show(home):
    """show prints status, config with command-line entries starred, metrics, artifacts."""
    out = expt("show", "runs/2", cwd=home).stdout
    assert out.startswith("Run runs/2  train  COMPLETED")
    assert "* num_leaves = 40" in out and "  lr = 0.1" in out
    line = next(line for line in out.splitlines() if line.strip().startswith("valid.l2"))
    assert line.split()[:5] == ["valid.l2", "5", "3400", "3400", "5000"]
    assert line.split()[5] == "█▆▅▃▁"  # evenly falling, rounded to 8 levels
    assert "Artifacts:\n  model.txt" in out


def test_show_failed_run_has_the_trace(home):
    """show on a failed run prints its traceback."""
    out = expt("show", "runs/4", cwd=home).stdout
    assert "FAILED" in out and "ValueError: boom" in out


def test_compare_hides_equal_entries_unless_all(home, tmp_path):
    """compare shows differing config entries, final metrics, and --plot writes a PNG."""
    proc = expt("compare", "runs/1", "runs/3", "--plot", str(tmp_path / "c.png"), cwd=home)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    rows = {r[0]: r[1:] for r in table_rows(out) if r}
    assert rows["num_leaves"] == ["31", "63"] and rows["lr"] == ["0.1", "0.05"]
    assert "n" not in rows and rows["valid.l2"] == ["3760", "2480"]
    assert rows["status"] == ["COMPLETED", "COMPLETED"] and rows["result"] == ["3.1", "3.15"]
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows_all = {r[0]: r[1:] for r in table_rows(expt("compare", "runs/1", "runs/3", "--all",
                                                     cwd=home).stdout) if r}
    assert rows_all["n"] == ["5", "5"]


def test_compare_metric_chooses_the_metrics_shown(home):
    """--metric (repeatable) picks the final metrics shown and plotted; an unknown one is an
    error naming the nearest, printed before anything else."""
    rows = {r[0]: r[1:] for r in table_rows(expt("compare", "runs/1", "runs/3", "--metric",
                                                 "train.loss", cwd=home).stdout) if r}
    assert "train.loss" in rows and "valid.l2" not in rows
    proc = expt("compare", "runs/1", "runs/3", "--metric", "valid.l3", cwd=home)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "'valid.l3'" in proc.stderr and "Did you mean 'valid.l2'" in proc.stderr


def test_compare_plot_marks_the_points_of_short_series(tmp_path):
    """A one-point series (a final test score) shows as a marker, a long one as a plain line."""
    from expt.console import MARKED_POINTS, metric_figure
    from expt.store import open_store

    script = write_experiment(tmp_path)
    run_experiment(script, tmp_path / "runs", "n=1")
    run_experiment(script, tmp_path / "runs", f"n={MARKED_POINTS + 1}")
    with open_store(tmp_path / "runs") as store:
        runs = store.runs()
        figure = metric_figure(runs, ["1", "2"], ["valid.l2"])
    short, long = figure.axes[0].get_lines()
    assert len(short.get_xdata()) == 1 and short.get_marker() == "o"
    assert len(long.get_xdata()) == MARKED_POINTS + 1 and long.get_marker() == "None"
    assert [t.get_text() for t in figure.axes[0].get_legend().get_texts()] == ["run 1", "run 2"]


def test_artifacts_list_and_download(home, tmp_path):
    """artifacts lists names; with NAME and -o it downloads the file."""
    assert expt("artifacts", "runs/2", cwd=home).stdout.split() == ["model.txt"]
    proc = expt("artifacts", "runs/2", "model.txt", "-o", str(tmp_path / "m.txt"), cwd=home)
    assert proc.returncode == 0 and (tmp_path / "m.txt").read_text() == "model of 40"


def test_artifacts_download_into_new_folders(home, tmp_path):
    """-o new/folder/ makes the folder and keeps the name; -o DIR without NAME takes every
    artifact. No partial files are left behind."""
    proc = expt("artifacts", "runs/2", "model.txt", "-o", f"{tmp_path}/new/folder/", cwd=home)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "new" / "folder" / "model.txt").read_text() == "model of 40"
    proc = expt("artifacts", "runs/2", "-o", str(tmp_path / "all"), cwd=home)
    assert proc.returncode == 0, proc.stderr
    assert os.listdir(tmp_path / "all") == ["model.txt"]
    assert (tmp_path / "all" / "model.txt").read_text() == "model of 40"
    assert proc.stdout == f"Saved model.txt to {tmp_path / 'all' / 'model.txt'}\n"
    proc = expt("artifacts", "runs/3", "-o", str(tmp_path / "none"), cwd=home)
    assert proc.stdout == "runs/3 has no artifacts.\n" and not (tmp_path / "none").exists()



def test_artifacts_never_overwrite_a_file_without_force(home, tmp_path):
    """A download onto an existing file is refused (exit 2, the file untouched) unless
    --force; with -o DIR, nothing is downloaded while any of the files exists."""
    mine = tmp_path / "model.txt"
    mine.write_text("my own model")
    proc = expt("artifacts", "runs/2", "model.txt", "-o", str(tmp_path), cwd=home)
    assert proc.returncode == 2 and proc.stderr == (
        f"expt artifacts: Not overwriting {mine}: pass --force, or -o to save elsewhere.\n")
    assert mine.read_text() == "my own model"
    assert expt("artifacts", "runs/2", "-o", str(tmp_path), cwd=home).returncode == 2
    assert mine.read_text() == "my own model" and os.listdir(tmp_path) == ["model.txt"]
    proc = expt("artifacts", "runs/2", "model.txt", "-o", str(tmp_path), "--force", cwd=home)
    assert proc.returncode == 0 and mine.read_text() == "model of 40"
    # an unknown name is reported as such, whatever files exist
    proc = expt("artifacts", "runs/2", "nope.txt", "-o", str(mine), cwd=home)
    assert proc.returncode == 2 and "has no artifact 'nope.txt'" in proc.stderr



def test_big_downloads_show_a_progress_bar_on_a_terminal(tmp_path):
    """An artifact of 16 MiB or more downloads with a progress bar on stderr when stderr is a
    terminal (a pseudo-terminal here); piped, stderr stays empty."""
    import fcntl
    import struct
    import termios

    (tmp_path / "big.py").write_text(
        "from expt import Experiment\nex = Experiment('big')\n@ex.automain\ndef main(_run):\n"
        "    open('big.bin', 'wb').write(b'x' * (17 << 20))\n    _run.add_artifact('big.bin')\n")
    subprocess.run([sys.executable, "big.py", "-F", "runs"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=60)
    terminal, stderr = os.openpty()
    fcntl.ioctl(stderr, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.run([EXPT, "artifacts", "runs/1", "big.bin", "-o", "out.bin"],
                          cwd=tmp_path, stdout=subprocess.PIPE, stderr=stderr, timeout=60)
    os.close(stderr)
    shown = b""
    while True:
        try:
            chunk = os.read(terminal, 1 << 16)
        except OSError:  # EIO: the other end is closed and everything was read
            break
        if not chunk:
            break
        shown += chunk
    os.close(terminal)
    assert proc.returncode == 0 and (tmp_path / "out.bin").stat().st_size == 17 << 20
    assert b"big.bin:" in shown and b"17.0M" in shown
    piped = expt("artifacts", "runs/1", "big.bin", "-o", "again.bin", cwd=tmp_path)
    assert piped.returncode == 0 and piped.stderr == ""


def test_logs(home):
    """logs prints the captured output."""
    assert expt("logs", "runs/1", cwd=home).stdout == "".join(f"step {i}\n" for i in range(5))


def start_live_run(folder: Path, steps: int) -> subprocess.Popen:
    """Start run runs/1 in `folder` (a step each 0.1 s) and return once it has started."""
    script = write_experiment(folder)
    proc = subprocess.Popen([sys.executable, str(script), "-F", "runs", "-b", "0.1", "with",
                             f"n={steps}", "sleep=0.1"], cwd=folder, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not (folder / "runs" / "1" / "cout.txt").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return proc


def test_logs_follow_a_live_run(tmp_path):
    """logs --follow prints output as a live run writes it and stops when the run ends."""
    proc = start_live_run(tmp_path, 20)
    try:
        follow = expt("logs", "runs/1", "--follow", cwd=tmp_path)
        assert proc.poll() is not None or proc.wait(5) == 0  # follow ended with the run
    finally:
        proc.kill()
    assert follow.returncode == 0
    assert follow.stdout == "".join(f"step {i}\n" for i in range(20))


def test_rm_asks_first(own_home):
    """rm asks for confirmation: 'n' keeps the runs (exit 1), 'y' or --yes deletes them."""
    proc = expt("rm", "runs/1", "runs/2", cwd=own_home, stdin="n\n")
    assert proc.returncode == 1 and "Nothing deleted" in proc.stdout
    assert (own_home / "runs" / "1").exists()
    proc = expt("rm", "runs/1", "runs/2", cwd=own_home, stdin="y\n")
    assert proc.returncode == 0 and "Deleted 2 runs" in proc.stdout
    assert expt("rm", "runs/3", "--yes", cwd=own_home).returncode == 0
    assert sorted(os.listdir(own_home / "runs")) == ["4", "_sources"]


def test_rm_refuses_a_running_run_without_force(tmp_path):
    """A run whose process is alive is not deleted (it would go on writing); --force does."""
    proc = start_live_run(tmp_path, 600)
    try:
        refused = expt("rm", "runs/1", "--yes", cwd=tmp_path)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert "Not deleting runs/1 (RUNNING)" in refused.stderr and "--force" in refused.stderr
        assert (tmp_path / "runs" / "1" / "run.json").exists()
        forced = expt("rm", "runs/1", "--yes", "--force", cwd=tmp_path)
        assert forced.returncode == 0 and not (tmp_path / "runs" / "1").exists()
    finally:
        proc.kill()
        proc.wait()


def test_tag(own_home):
    """tag adds a tag to omniboard.tags and --remove removes it."""
    assert expt("tag", "runs/1", "best", cwd=own_home).stdout.strip() == "runs/1 tags: best"
    doc = json.loads((own_home / "runs" / "1" / "run.json").read_text())
    assert doc["omniboard"]["tags"] == ["best"]
    assert expt("ls", "runs", "tags=best", "--columns", "id", cwd=own_home).stdout.split() == \
        ["id", "1"]
    expt("tag", "runs/1", "best", "--remove", cwd=own_home)
    assert json.loads((own_home / "runs" / "1" / "run.json").read_text())["omniboard"]["tags"] == []


@pytest.mark.parametrize("command", ["ls", "show", "compare", "artifacts", "logs", "rm", "tag"])
def test_help_on_each_subcommand(home, command):
    """Every subcommand has --help."""
    proc = expt(command, "--help", cwd=home)
    assert proc.returncode == 0 and proc.stdout.startswith(f"usage: expt {command}")


def test_sync_is_dispatched_through_the_entry_point(home):
    """expt sync reaches the command registered under 'sync' in expt.commands."""
    proc = expt("sync", "--help", cwd=home)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: expt sync")
    assert "sync" in expt("--help", cwd=home).stdout


def test_sync_from_a_missing_journal_folder_is_an_error(home, tmp_path):
    """A --journal folder that does not exist is a mistake (exit 2), not "nothing to upload"."""
    proc = expt("sync", "--journal", str(tmp_path / "nosuch"), cwd=home)
    assert proc.returncode == 2
    assert proc.stderr == f"expt sync: no journal folder '{tmp_path / 'nosuch'}' (it does not exist).\n"
