"""Tests for expt.gitinfo, on real temporary git repositories."""
import logging
import os
import shutil
import subprocess
import time

import pytest

from expt.gitinfo import (find_repo_root, get_git_info, is_dirty, parse_status,
                          start_git_info)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(cwd, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository with one commit on branch 'main' holding train.py and lib/util.py."""
    for name in ("GIT_DIR", "GIT_WORK_TREE"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text("lr = 0.1\nprint(lr)\n")
    (root / "lib").mkdir()
    (root / "lib" / "util.py").write_text("def f():\n    return 1\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


def test_clean_repository(repo):
    """A fresh commit: commit hash, branch, not dirty, empty diff, no remote URL."""
    info = get_git_info(repo / "train.py")
    assert info == {"url": "git:/" + str(repo), "root": str(repo),
                    "commit": git(repo, "rev-parse", "HEAD"), "branch": "main",
                    "dirty": False, "diff": "", "untracked": []}
    assert is_dirty(repo) is False


def test_modified_file_makes_it_dirty_with_the_change_in_the_diff(repo):
    """Editing a tracked file: dirty, and the diff holds the removed and added lines."""
    (repo / "train.py").write_text("lr = 0.5\nprint(lr)\n")
    info = get_git_info(repo)
    assert info["dirty"] is True
    assert "-lr = 0.1" in info["diff"] and "+lr = 0.5" in info["diff"]
    assert info["diff"] == git(repo, "diff", "HEAD") + "\n"
    assert is_dirty(repo / "lib") is True


def test_staged_changes_are_in_the_diff(repo):
    """Staged and unstaged changes both show, as in `git diff HEAD`."""
    (repo / "lib" / "util.py").write_text("def f():\n    return 2\n")
    git(repo, "add", "lib/util.py")
    (repo / "train.py").write_text("lr = 0.2\nprint(lr)\n")
    diff = get_git_info(repo)["diff"]
    assert "+    return 2" in diff and "+lr = 0.2" in diff


def test_untracked_files_are_listed_but_not_dirty(repo):
    """New files are listed under untracked and leave dirty False (Sacred's meaning)."""
    (repo / "notes.txt").write_text("x")
    (repo / "data").mkdir()
    (repo / "data" / "a.csv").write_text("1")
    info = get_git_info(repo)
    assert info["dirty"] is False
    assert sorted(info["untracked"]) == ["data/", "notes.txt"]
    assert is_dirty(repo) is False


def test_rename_and_delete(repo):
    """A staged rename and a deletion are dirty, and file names with spaces survive."""
    git(repo, "mv", "lib/util.py", "lib/new name.py")
    (repo / "train.py").unlink()
    (repo / "odd name.txt").write_text("x")
    info = get_git_info(repo)
    assert info["dirty"] is True
    assert info["untracked"] == ["odd name.txt"]
    assert "lib/new name.py" in info["diff"]


@pytest.mark.parametrize("remote, stored", [
    ("https://alice:s3cret@github.com/org/proj.git", "https://***@github.com/org/proj.git"),
    ("https://ghp_TOKEN123@github.com/org/proj.git", "https://***@github.com/org/proj.git"),
    ("git@github.com:org/proj.git", "git@github.com:org/proj.git"),
    ("ssh://git@example.com:2222/proj.git", "ssh://git@example.com:2222/proj.git"),
])
def test_remote_url_without_credentials(repo, remote, stored):
    """The origin URL is stored with any user:password or token removed."""
    git(repo, "remote", "add", "origin", remote)
    git(repo, "remote", "add", "upstream", "https://other.example/x.git")
    assert get_git_info(repo)["url"] == stored


def test_remote_url_via_included_config(repo, tmp_path):
    """An origin defined through [include] is still found (git itself is asked)."""
    extra = tmp_path / "extra.gitconfig"
    extra.write_text('[remote "origin"]\n\turl = https://u:p@host.example/r.git\n')
    git(repo, "config", "include.path", str(extra))
    assert get_git_info(repo)["url"] == "https://***@host.example/r.git"


def test_worktree_uses_git_for_the_remote(repo, tmp_path):
    """In a linked worktree (.git is a file) commit, branch and remote are right."""
    git(repo, "remote", "add", "origin", "https://tok@example.com/r.git")
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "feature", str(wt))
    info = get_git_info(wt / "train.py")
    assert info["branch"] == "feature"
    assert info["commit"] == git(repo, "rev-parse", "HEAD")
    assert info["url"] == "https://***@example.com/r.git"
    assert info["root"] == str(wt)


def test_detached_head(repo):
    """A detached HEAD has no branch but a commit."""
    git(repo, "checkout", "-q", "--detach")
    info = get_git_info(repo)
    assert info["branch"] is None and info["commit"] == git(repo, "rev-parse", "HEAD")


def test_repository_without_commits(tmp_path):
    """Before the first commit: no commit, and staged files appear in the diff."""
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "a.py").write_text("x = 1\n")
    git(tmp_path, "add", "a.py")
    info = get_git_info(tmp_path)
    assert info["commit"] is None and info["branch"] == "main"
    assert info["dirty"] is True and "+x = 1" in info["diff"]


def test_diff_credentials_are_masked(repo):
    """A URL with a password inside the changed code is masked in the stored diff."""
    (repo / "train.py").write_text('DB = "mongodb://admin:hunter2@db:27017"\n')
    diff = get_git_info(repo)["diff"]
    assert "hunter2" not in diff and "mongodb://***@db:27017" in diff


def test_large_diff_is_truncated(repo):
    """A diff above the limit is cut and says so."""
    (repo / "train.py").write_text("x = 1\n" * 5000)
    diff = get_git_info(repo, max_diff_bytes=1000)["diff"]
    assert diff.endswith("bytes]\n") and "[expt: diff truncated at 1000 of" in diff
    assert len(diff) < 1200


def test_without_diff(repo):
    """with_diff=False reports dirty but reads no diff."""
    (repo / "train.py").write_text("changed\n")
    info = get_git_info(repo, with_diff=False)
    assert info["dirty"] is True and info["diff"] == ""


def test_outside_a_repository(tmp_path):
    """A folder that is in no repository gives None."""
    (tmp_path / "plain").mkdir()
    assert find_repo_root(tmp_path / "plain") is None
    assert get_git_info(tmp_path / "plain") is None
    assert is_dirty(tmp_path / "plain") is None


def test_git_not_installed(repo, monkeypatch):
    """Without a git executable on PATH the answer is None, not an exception."""
    monkeypatch.setenv("PATH", str(repo / "no-bin-here"))
    assert get_git_info(repo) is None
    assert is_dirty(repo) is None


def test_broken_repository_gives_none(tmp_path):
    """A .git folder that git does not accept as a repository gives None."""
    (tmp_path / ".git").mkdir()  # an empty .git folder is not a repository
    assert get_git_info(tmp_path) is None
    assert is_dirty(tmp_path) is None


def test_timeout_gives_none(repo, tmp_path, monkeypatch, caplog):
    """A git that hangs is killed at the timeout and the answer is None."""
    bindir = tmp_path / "slowbin"
    bindir.mkdir()
    slow = bindir / "git"
    slow.write_text("#!/bin/sh\nsleep 30 &\nsleep 30\n")  # a child holding the pipes too
    slow.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="expt.gitinfo"):
        assert get_git_info(repo, timeout=0.5) is None
    assert "timed out" in caplog.text
    assert time.monotonic() - started < 10  # the whole process group was stopped


@pytest.mark.parametrize("raw, expected", [
    (b"# branch.oid abc\0# branch.head main\0", ("abc", "main", False, [])),
    (b"# branch.oid (initial)\0# branch.head dev\0? new.py\0", (None, "dev", False, ["new.py"])),
    (b"# branch.oid abc\0# branch.head (detached)\0"
     b"1 .M N... 100644 100644 100644 h1 h2 a.py\0", ("abc", None, True, [])),
    (b"# branch.oid abc\0# branch.head main\0"
     b"2 R. N... 100644 100644 100644 h1 h2 R100 new.py\0old.py\0? x\0",
     ("abc", "main", True, ["x"])),
    (b"# branch.oid abc\0# branch.head main\0u UU N... 1 2 3 4 h1 h2 h3 c.py\0",
     ("abc", "main", True, [])),
])
def test_parse_status(raw, expected):
    """Porcelain v2 records become commit, branch, dirty and untracked."""
    info = parse_status(raw)
    assert (info["commit"], info["branch"], info["dirty"], info["untracked"]) == expected


def test_started_job_gives_the_same_record(repo):
    """start_git_info(...).result() equals get_git_info(...), and result() is repeatable."""
    (repo / "train.py").write_text("lr = 0.3\n")
    job = start_git_info(repo)
    (repo / "unrelated.txt").write_text("made while git runs")  # other work meanwhile
    first = job.result()
    assert first["dirty"] is True and "+lr = 0.3" in first["diff"]
    assert job.result() is first
    assert {k: v for k, v in first.items() if k != "untracked"} == \
        {k: v for k, v in get_git_info(repo).items() if k != "untracked"}


def test_started_job_outside_a_repository(tmp_path):
    """A job for a folder in no repository starts no git and gives None."""
    job = start_git_info(tmp_path)
    assert job.folder is None and job.result() is None


def test_cancelled_job(repo):
    """A cancelled job stops git and leaves no running process."""
    job = start_git_info(repo)
    job.cancel()
    for proc in (job._status_proc, job._url_proc):
        assert proc is None or proc.poll() is not None
