"""Git state is reused across runs only while nothing git would see has changed."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from expt import git_cache
from expt.git_cache import cached_git_info


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "T")
    (tmp_path / "train.py").write_text("x = 1\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "params.yaml").write_text("a: 1\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "first")
    git_cache._cache.clear()
    _settle(tmp_path)
    return tmp_path


def test_unchanged_tree_reuses_the_answer(repo):
    """A second call with nothing changed returns the cached record without running git."""
    first = cached_git_info(str(repo))
    assert first["dirty"] is False
    assert cached_git_info(str(repo)) is first


def test_edit_to_a_tracked_non_source_file_is_seen(repo):
    """Changing a tracked data file (not a Python source) makes the next record dirty."""
    cached_git_info(str(repo))
    time.sleep(0.01)
    (repo / "data" / "params.yaml").write_text("a: 2\n")
    info = cached_git_info(str(repo))
    assert info["dirty"] is True
    assert "+a: 2" in info["diff"]


def test_new_untracked_file_is_seen(repo):
    """A new untracked file shows up in the next record."""
    cached_git_info(str(repo))
    time.sleep(0.01)
    (repo / "data" / "new.csv").write_text("1,2\n")
    assert "data/new.csv" in cached_git_info(str(repo))["untracked"]


def test_commit_is_seen(repo):
    """A new commit changes the recorded commit."""
    before = cached_git_info(str(repo))["commit"]
    (repo / "train.py").write_text("x = 2\n")
    git(repo, "commit", "-q", "-am", "second")
    after = cached_git_info(str(repo))
    assert after["commit"] != before
    assert after["dirty"] is False


def test_outside_a_repository_is_none(tmp_path):
    """No repository, no record."""
    assert cached_git_info(str(tmp_path)) is None


def test_prefetched_answer_is_used_for_the_first_run(repo):
    """prefetch starts git at definition time; the first run takes its answer."""
    git_cache._prefetched.clear()
    git_cache.prefetch(str(repo))
    assert len(git_cache._prefetched) == 1
    info = cached_git_info(str(repo))
    assert info["dirty"] is False and not git_cache._prefetched


def test_prefetched_answer_is_dropped_after_a_commit(repo):
    """A commit between prefetch and run makes the run ask git again."""
    git_cache._prefetched.clear()
    git_cache.prefetch(str(repo))
    before = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                            text=True).stdout.strip()
    (repo / "train.py").write_text("x = 3\n")
    git(repo, "commit", "-q", "-am", "third")
    assert cached_git_info(str(repo))["commit"] != before


def test_stale_prefetch_is_not_used(repo, monkeypatch):
    """An answer older than PREFETCH_MAX_AGE is not trusted (files may have changed)."""
    git_cache._prefetched.clear()
    git_cache.prefetch(str(repo))
    monkeypatch.setattr(git_cache, "PREFETCH_MAX_AGE", 0.0)
    (repo / "train.py").write_text("x = 4\n")
    assert cached_git_info(str(repo))["dirty"] is True


def test_run_after_a_prefetched_run_uses_the_stat_cache(repo, monkeypatch):
    """The prefetch also lists tracked files, so the second run needs no git process."""
    git_cache._prefetched.clear()
    git_cache.prefetch(str(repo))
    first = cached_git_info(str(repo))
    monkeypatch.setattr(git_cache, "get_git_info", lambda path: pytest.fail("git was run"))
    assert cached_git_info(str(repo)) is first


needs_inotify = pytest.mark.skipif(not hasattr(os, "register_at_fork") or sys.platform != "linux",
                                   reason="inotify watches are Linux-only")


def _settle(repo: Path) -> None:
    """Let the fixture's files age past the racy margin, as files of a real project are."""
    time.sleep(git_cache.RACY_MARGIN + 0.02)


@needs_inotify
def test_watched_tree_needs_no_stat_calls(repo, monkeypatch):
    """From the third run on, while the watch reports nothing, a run neither stats the tracked
    files nor runs git (the first run sets up no watch: a single run would not use it)."""
    first = cached_git_info(str(repo))
    assert git_cache._cache[str(repo)].watch is None
    assert cached_git_info(str(repo)) is first
    assert git_cache._cache[str(repo)].watch is not None
    monkeypatch.setattr(git_cache, "_stamps", lambda paths: pytest.fail("stamps were taken"))
    monkeypatch.setattr(git_cache, "get_git_info", lambda path: pytest.fail("git was run"))
    assert cached_git_info(str(repo)) is first


@pytest.mark.parametrize("change", ["edit", "same_size_edit", "new_file", "delete", "chmod"])
@pytest.mark.parametrize("runs_before", [1, 2])  # 1: the stamps see it; 2: the watch does
def test_change_right_after_a_run_is_seen(repo, change, runs_before):
    """A change made at once after a run (same clock tick, even same size) reaches the next."""
    for _ in range(runs_before):
        cached_git_info(str(repo))
    params = repo / "data" / "params.yaml"
    if change == "edit":
        params.write_text("a: 22\n")
    elif change == "same_size_edit":
        params.write_text("a: 2\n")
    elif change == "new_file":
        (repo / "data" / "new.csv").write_text("1\n")
    elif change == "delete":
        params.unlink()
    else:
        params.chmod(0o755)
    info = cached_git_info(str(repo))
    if change == "new_file":
        assert info["untracked"] == ["data/new.csv"]
    else:
        assert info["dirty"] is True


def test_reset_soft_is_seen(repo):
    """Moving the branch without touching the index or HEAD's file (reset --soft) is seen."""
    (repo / "train.py").write_text("x = 5\n")
    git(repo, "commit", "-q", "-am", "second")
    _settle(repo)
    second = cached_git_info(str(repo))
    assert cached_git_info(str(repo)) is second
    git(repo, "reset", "-q", "--soft", "HEAD~1")
    info = cached_git_info(str(repo))
    assert info["commit"] != second["commit"]
    assert info["dirty"] is True


def test_change_after_prefetch_started_is_seen(repo):
    """A tracked file changed after the prefetched git status ran makes the run ask again."""
    git_cache._prefetched.clear()
    git_cache.prefetch(str(repo))
    git_cache._prefetched[str(repo)][3].result()  # git has answered: clean
    (repo / "data" / "params.yaml").write_text("a: 3\n")
    info = cached_git_info(str(repo))
    assert info["dirty"] is True and "+a: 3" in info["diff"]
    assert cached_git_info(str(repo))["dirty"] is True


@needs_inotify
def test_forked_child_does_not_use_the_parents_watch(repo):
    """In a forked child the parent's watch always reports a change (its events are shared)."""
    cached_git_info(str(repo))
    cached_git_info(str(repo))
    watch = git_cache._cache[str(repo)].watch
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write, b"1" if watch.changed() else b"0")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    assert watch.changed() is False
