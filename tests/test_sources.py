"""Tests for expt.sources: which files a run records, and their MD5s."""
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import pytest

import expt
from expt import sources
from expt.errors import UserInputError
from expt.sources import Source, SourceNotFoundError, file_md5, find_local_sources, source_for

REPO_ROOT = str(Path(expt.__file__).resolve().parent.parent)


def md5_of(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def run_python(script: Path, cwd: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO_ROOT, str(cwd / "vendor")]))
    out = subprocess.run([sys.executable, str(script)], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_real_imports_in_a_subprocess(tmp_path):
    """A script importing a local package records the script and both package files."""
    write(tmp_path / "mypkg" / "__init__.py", "from .util import helper\n")
    write(tmp_path / "mypkg" / "util.py", "def helper():\n    return 1\n")
    # An installed-looking library under base_dir is a dependency, not a source.
    write(tmp_path / "vendor" / "lib" / "site-packages" / "fakelib" / "__init__.py", "X = 1\n")
    write(tmp_path / "vendor" / "plainlib.py", "Y = 2\n")  # outside the site dir: a source
    main = write(tmp_path / "main.py", """\
        import json, os, sys
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "vendor", "lib",
                                        "site-packages"))
        import mypkg, fakelib, plainlib
        from expt.sources import find_local_sources
        found = find_local_sources(os.path.dirname(os.path.abspath(__file__)), __file__)
        print(json.dumps([[s.name, s.md5, s.path] for s in found]))
        """)
    found = run_python(main, tmp_path)
    real = tmp_path.resolve()
    assert found == [
        ["main.py", md5_of(main), str(real / "main.py")],
        ["mypkg/__init__.py", md5_of(tmp_path / "mypkg/__init__.py"),
         str(real / "mypkg" / "__init__.py")],
        ["mypkg/util.py", md5_of(tmp_path / "mypkg/util.py"), str(real / "mypkg" / "util.py")],
        ["vendor/plainlib.py", md5_of(tmp_path / "vendor/plainlib.py"),
         str(real / "vendor" / "plainlib.py")],
    ]


def module(name, file):
    mod = types.ModuleType(name)
    mod.__file__ = None if file is None else str(file)
    return mod


def test_site_packages_and_dist_packages_are_skipped(tmp_path):
    """Files inside site-packages or dist-packages under base_dir are not sources."""
    local = write(tmp_path / "model.py", "a = 1\n")
    site = write(tmp_path / ".venv/lib/python3.11/site-packages/numpyish/__init__.py", "")
    dist = write(tmp_path / "env/lib/python3/dist-packages/thing.py", "")
    mods = {"model": module("model", local), "numpyish": module("numpyish", site),
            "thing": module("thing", dist), "builtin": module("builtin", None)}
    assert [s.name for s in find_local_sources(tmp_path, None, mods)] == ["model.py"]


def test_stdlib_of_an_interpreter_under_base_dir_is_skipped():
    """With base_dir above the running interpreter, its stdlib modules are not sources."""
    base = os.path.dirname(os.path.realpath(sys.base_prefix))
    assert os.__file__.startswith(base)
    names = [s.name for s in find_local_sources(base, None, dict(sys.modules))]
    assert not [n for n in names if n.endswith("/os.py")], names


def test_files_outside_base_dir_are_skipped(tmp_path):
    """A module from elsewhere (the stdlib, another folder) is not a local source."""
    inside = write(tmp_path / "proj" / "a.py", "")
    outside = write(tmp_path / "other" / "b.py", "")
    mods = {"a": module("a", inside), "b": module("b", outside), "os": os}
    assert [s.name for s in find_local_sources(tmp_path / "proj", None, mods)] == ["a.py"]


def test_sorted_by_name_and_deduplicated(tmp_path):
    """Results are sorted by name and a file reached twice is listed once."""
    z = write(tmp_path / "z.py", "")
    a = write(tmp_path / "sub" / "a.py", "")
    mods = {"z": module("z", z), "sub.a": module("sub.a", a), "alias": module("alias", a)}
    found = find_local_sources(tmp_path, z, mods)
    assert [s.name for s in found] == ["sub/a.py", "z.py"]


def test_pyc_paths_map_to_their_py_file(tmp_path):
    """A module whose __file__ is a .pyc is recorded as the .py next to it."""
    py = write(tmp_path / "m.py", "x = 1\n")
    mods = {"m": module("m", str(py) + "c")}
    assert [s.path for s in find_local_sources(tmp_path, None, mods)] == [str(py.resolve())]


def test_vanished_module_file_is_skipped(tmp_path):
    """A module whose file was deleted since import does not break the run."""
    gone = tmp_path / "gone.py"
    assert find_local_sources(tmp_path, None, {"gone": module("gone", gone)}) == []


def test_symlinked_base_dir(tmp_path):
    """A base_dir reached through a symlink still finds modules imported by the real path."""
    real = tmp_path / "real"
    f = write(real / "m.py", "")
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    found = find_local_sources(link, link / "m.py", {"m": module("m", f)})
    assert [(s.name, s.path) for s in found] == [("m.py", str(f.resolve()))]


def test_source_for_outside_base_dir(tmp_path):
    """A hand-added file outside base_dir gets a '../' name, like Sacred's."""
    f = write(tmp_path / "shared" / "helpers.py", "h = 1\n")
    s = source_for(f, tmp_path / "proj")
    assert s == Source(path=str(f.resolve()), name="../shared/helpers.py", md5=md5_of(f))


def test_source_for_missing_file_suggests_nearest(tmp_path):
    """A missing file is a clear error naming it and the nearest existing file."""
    write(tmp_path / "train.py", "")
    missing = tmp_path / "trian.py"
    with pytest.raises(SourceNotFoundError) as err:
        source_for(missing, tmp_path)
    assert err.value.path == str(missing)
    assert err.value.suggestions == [str(tmp_path / "train.py")]
    assert "trian.py" in str(err.value) and "Did you mean" in str(err.value)
    assert isinstance(err.value, UserInputError) and isinstance(err.value, FileNotFoundError)


def test_missing_main_file_raises(tmp_path):
    """A main file that does not exist is reported, not silently dropped."""
    with pytest.raises(SourceNotFoundError):
        find_local_sources(tmp_path, tmp_path / "nope.py", {})


def test_md5_follows_changes(tmp_path):
    """Rewriting a file (even at once, same size) gives the new MD5."""
    f = write(tmp_path / "a.py", "x = 1\n")
    first = file_md5(str(f))
    f.write_text("x = 2\n")
    assert file_md5(str(f)) == md5_of(f) != first


def test_md5_cached_for_settled_files(tmp_path):
    """An old file's MD5 is cached under its size and mtime, and recomputed when they change."""
    f = write(tmp_path / "old.py", "y = 1\n")
    past = time.time() - 3600
    os.utime(f, (past, past))
    assert file_md5(str(f)) == md5_of(f)
    assert sources._md5_cache[str(f)][2] == md5_of(f)
    f.write_text("y = 22\n")  # new size and mtime
    assert file_md5(str(f)) == md5_of(f)


def test_large_file_md5(tmp_path):
    """Files bigger than one read chunk hash correctly."""
    f = tmp_path / "big.bin"
    f.write_bytes(os.urandom(3 * (1 << 20) + 17))
    assert file_md5(str(f)) == md5_of(f)


@pytest.mark.parametrize("rel, local", [
    ("a.py", True), ("pkg/b.py", True), (".venv/lib/python3.11/site-packages/x.py", False),
    ("../elsewhere.py", False),
])
def test_is_local_file(tmp_path, rel, local):
    """is_local_file agrees with what find_local_sources records."""
    base = tmp_path / "proj"
    base.mkdir()
    f = write(base / rel, "")
    assert sources.is_local_file(str(f), base) is local


def test_lazy_module_getattr_is_not_triggered(tmp_path):
    """Looking for __file__ never calls a module's lazy __getattr__ (it may import things)."""
    calls = []
    lazy = types.ModuleType("lazy")

    def __getattr__(name):
        calls.append(name)
        raise AttributeError(name)

    lazy.__getattr__ = __getattr__
    local = write(tmp_path / "a.py", "")
    found = find_local_sources(tmp_path, None, {"lazy": lazy, "a": module("a", local)})
    assert [s.name for s in found] == ["a.py"] and calls == []


def test_module_imported_between_calls_is_recorded(tmp_path):
    """A local module imported after a first call is among the second call's sources
    (the cached module walk notices the import)."""
    write(tmp_path / "first.py", "A = 1\n")
    write(tmp_path / "later.py", "B = 2\n")
    main = write(tmp_path / "main.py", """\
        import json, os, sys
        import first
        from expt.sources import find_local_sources
        base = os.path.dirname(os.path.abspath(__file__))
        names = lambda: [s.name for s in find_local_sources(base, __file__)]
        before = names()
        again = names()
        import later
        after = names()
        del sys.modules["later"]
        gone = names()
        print(json.dumps([before, again, after, gone]))
        """)
    before, again, after, gone = run_python(main, tmp_path)
    assert before == again == ["first.py", "main.py"]
    assert after == ["first.py", "later.py", "main.py"]
    assert gone == before


def test_module_replaced_under_its_name_is_rescanned(tmp_path):
    """Replacing a module object in the mapping (same names) changes the recorded files."""
    a = write(tmp_path / "a.py", "")
    b = write(tmp_path / "b.py", "")
    mods = {"m": module("m", a)}
    assert [s.name for s in find_local_sources(tmp_path, None, mods)] == ["a.py"]
    mods["m"] = module("m", b)
    assert [s.name for s in find_local_sources(tmp_path, None, mods)] == ["b.py"]


def test_source_edited_between_calls_gets_its_new_md5(tmp_path):
    """With the module walk cached, a source rewritten between calls (a settled file, whose
    MD5 was cached, given new content and mtime) is recorded with its new MD5."""
    f = write(tmp_path / "model.py", "w = 1\n")
    past = time.time() - 3600
    os.utime(f, (past, past))
    mods = {"model": module("model", f)}
    first = find_local_sources(tmp_path, None, mods)
    assert first[0].md5 == md5_of(f)
    f.write_text("w = 2  # edited\n")
    second = find_local_sources(tmp_path, None, mods)
    assert second[0].md5 == md5_of(f) != first[0].md5


def test_source_deleted_between_calls_is_skipped(tmp_path):
    """A cached module file that has been deleted since is left out, not an error."""
    f = write(tmp_path / "tmpmod.py", "")
    mods = {"tmpmod": module("tmpmod", f)}
    assert len(find_local_sources(tmp_path, None, mods)) == 1
    f.unlink()
    assert find_local_sources(tmp_path, None, mods) == []


def test_odd_objects_in_the_modules_mapping_are_tolerated(tmp_path):
    """A non-module entry whose == raises (as a numpy array's does) makes the walk run
    again instead of failing."""
    class Odd:
        def __eq__(self, other):
            raise ValueError("ambiguous")

        __hash__ = object.__hash__

    f = write(tmp_path / "m.py", "")
    mods = {"m": module("m", f), "odd": Odd()}
    assert [s.name for s in find_local_sources(tmp_path, None, mods)] == ["m.py"]
    mods["odd"] = Odd()  # a new object: == is called on it and raises
    assert [s.name for s in find_local_sources(tmp_path, None, mods)] == ["m.py"]
