"""Tests for expt.dependencies: imported third-party packages and their versions."""
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

import expt
from expt.dependencies import find_package_dependencies, normalize, package_version

REPO_ROOT = str(Path(expt.__file__).resolve().parent.parent)


def run_python(code: str, cwd: Path, extra_path=()) -> object:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO_ROOT, *map(str, extra_path)]))
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_numpy_and_yaml_versions_in_a_subprocess(tmp_path):
    """Importing numpy and yaml records their installed versions, and no stdlib module."""
    deps = run_python("""
        import json, os, collections, numpy, yaml
        from expt.dependencies import find_package_dependencies
        print(json.dumps(find_package_dependencies()))
        """, tmp_path)
    assert f"numpy=={metadata.version('numpy')}" in deps
    assert f"PyYAML=={metadata.version('PyYAML')}" in deps
    names = {d.split("==")[0] for d in deps}
    assert not names & {"json", "os", "collections", "sys"}
    assert deps == sorted(deps, key=str.lower)


def test_agrees_with_importlib_metadata(tmp_path):
    """For many real packages (renamed, namespace, RECORD-only) the answer equals
    importlib.metadata.packages_distributions()'s."""
    result = run_python("""
        import json, sys
        import numpy, yaml, sklearn, dateutil, docopt, pymongo, bson, PIL, mpl_toolkits.mplot3d
        import matplotlib, pytest, pluggy
        from expt.dependencies import find_package_dependencies
        ours = find_package_dependencies()
        from importlib import metadata
        owners = metadata.packages_distributions()
        theirs = set()
        for name in list(sys.modules):
            if "." in name or name.startswith("_") or name in sys.stdlib_module_names:
                continue
            for dist in owners.get(name, []):
                theirs.add(f"{metadata.metadata(dist)['Name']}=={metadata.version(dist)}")
        print(json.dumps([ours, sorted(theirs)]))
        """, tmp_path)
    ours, theirs = result
    assert set(ours) == set(theirs)
    for expected in ("scikit-learn", "python-dateutil", "pymongo", "pillow", "matplotlib"):
        assert any(d.lower().startswith(expected + "==") for d in ours), expected


def test_local_modules_are_not_dependencies(tmp_path):
    """A local module under base_dir is a source, not a dependency, even with __version__."""
    (tmp_path / "localpkg").mkdir()
    (tmp_path / "localpkg" / "__init__.py").write_text("__version__ = '9.9'\n")
    deps = run_python(f"""
        import json, localpkg, yaml
        from expt.dependencies import find_package_dependencies
        print(json.dumps([find_package_dependencies(base_dir={str(tmp_path)!r}),
                          find_package_dependencies()]))
        """, tmp_path, [tmp_path])
    with_base, without_base = deps
    assert not [d for d in with_base if d.startswith("localpkg")]
    assert "localpkg==9.9" in without_base  # no metadata: __version__ is the last resort
    assert f"PyYAML=={metadata.version('PyYAML')}" in with_base


def make_dist(site: Path, folder: str, name: str, version: str, files: dict,
              top_level=None, record=True):
    """Write a distribution's metadata folder and files, as an installer lays them out."""
    info = site / folder
    info.mkdir(parents=True)
    (info / ("PKG-INFO" if folder.endswith(".egg-info") else "METADATA")).write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nLong text\nName: wrong\n")
    for rel, text in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text)
    if top_level is not None:
        (info / "top_level.txt").write_text("\n".join(top_level) + "\n")
    if record:
        lines = [f"{rel},sha256=x,1" for rel in files] + [f"{folder}/METADATA,,"]
        (info / "RECORD").write_text("\n".join(lines) + "\n")


def test_installed_layouts(tmp_path):
    """Exact name, renamed with top_level.txt, RECORD only, single-module, compiled module,
    egg-info and a namespace package shared by two distributions all resolve."""
    site = tmp_path / "site-packages"
    make_dist(site, "exactname-1.0.dist-info", "ExactName", "1.0",
              {"exactname/__init__.py": ""})
    make_dist(site, "pyfancy-2.0.dist-info", "PyFancy", "2.0", {"fancy/__init__.py": ""},
              top_level=["fancy"])
    make_dist(site, "some_tool_kit-3.0.dist-info", "some-tool-kit", "3.0",
              {"stk/__init__.py": "", "stk/core.py": ""})
    make_dist(site, "single_mod-4.0.dist-info", "single-mod", "4.0", {"singlemod.py": ""})
    make_dist(site, "fastext-5.0.dist-info", "fastext", "5.0",
              {"_fastcore.cpython-311-x86_64-linux-gnu.so": "", "fastcore.py": ""})
    make_dist(site, "Legacy_Pkg-6.0-py3.11.egg-info", "Legacy-Pkg", "6.0",
              {"legacy/__init__.py": ""}, top_level=["legacy"], record=False)
    make_dist(site, "ns_one-7.0.dist-info", "ns-one", "7.0", {"nspace/one/__init__.py": ""})
    make_dist(site, "ns_two-8.0.dist-info", "ns-two", "8.0", {"nspace/two/__init__.py": ""})
    result = run_python("""
        import json
        import exactname, fancy, stk.core, singlemod, fastcore, legacy, nspace.one
        from expt.dependencies import find_package_dependencies
        print(json.dumps(find_package_dependencies()))
        """, tmp_path, [site])
    for dep in ("ExactName==1.0", "PyFancy==2.0", "some-tool-kit==3.0", "single-mod==4.0",
                "fastext==5.0", "Legacy-Pkg==6.0", "ns-one==7.0", "ns-two==8.0"):
        assert dep in result, (dep, result)


def build_wheel(folder: Path, dist: str, version: str, files: dict) -> Path:
    """A minimal but valid wheel (zip with METADATA, WHEEL, RECORD), as a build backend makes."""
    escaped = dist.replace("-", "_")
    info = f"{escaped}-{version}.dist-info"
    members = dict(files)
    members[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
    members[f"{info}/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: expt-tests\n"
                                "Root-Is-Purelib: true\nTag: py3-none-any\n")
    record = [f"{name},,{len(text)}" for name, text in members.items()] + [f"{info}/RECORD,,"]
    members[f"{info}/RECORD"] = "\n".join(record) + "\n"
    path = folder / f"{escaped}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


def test_real_pip_install(tmp_path):
    """A package pip installs (import name differs from its dist name) is found with the
    version pip recorded."""
    wheel = build_wheel(tmp_path, "Dist-With-Other-Name", "0.4.2",
                        {"renamed_mod/__init__.py": "", "renamed_mod/core.py": ""})
    target = tmp_path / "target"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
         "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    deps = run_python("""
        import json, renamed_mod.core
        from expt.dependencies import find_package_dependencies, package_version
        print(json.dumps([find_package_dependencies(),
                          package_version("Dist-With-Other-Name")]))
        """, tmp_path, [target])
    found, version = deps
    assert "Dist-With-Other-Name==0.4.2" in found
    assert version == "0.4.2"


def test_extra_dependencies_are_added_and_sorted():
    """User-declared (name, version) pairs join the list; a missing version is '<unknown>'."""
    deps = find_package_dependencies({}, extra=[("zeta", "1.0"), ("Alpha", None)])
    assert deps == ["Alpha==<unknown>", "zeta==1.0"]


def test_explicit_module_mapping_limits_the_scan():
    """Only the given modules are examined; stdlib and private names are skipped."""
    import yaml
    import json as json_module
    mods = {"yaml": yaml, "json": json_module, "_private": yaml, "yaml.composer": yaml}
    assert find_package_dependencies(mods) == [f"PyYAML=={metadata.version('PyYAML')}"]


@pytest.mark.parametrize("name, expected", [
    ("numpy", lambda: metadata.version("numpy")),
    ("PyYAML", lambda: metadata.version("PyYAML")),
    ("pyyaml", lambda: metadata.version("PyYAML")),
    ("scikit_learn", lambda: metadata.version("scikit-learn")),
    ("docopt-ng", lambda: metadata.version("docopt-ng")),
    ("no-such-package-xyz", lambda: None),
])
def test_package_version(name, expected):
    """package_version() answers for distribution names in any spelling, None if absent."""
    assert package_version(name) == expected()


def test_package_version_by_import_name():
    """An imported module's import name (yaml) also finds its distribution's version."""
    import yaml  # noqa: F401
    assert package_version("yaml") == metadata.version("PyYAML")


@pytest.mark.parametrize("name, expected", [
    ("Foo_Bar", "foo-bar"), ("foo.bar", "foo-bar"), ("FOO--bar__baz", "foo-bar-baz"),
])
def test_normalize(name, expected):
    """Project names compare in PEP 503 form."""
    assert normalize(name) == expected


def test_editable_install_metadata_in_another_folder(tmp_path):
    """Code in a source folder with its dist-info in site-packages (editable) is found."""
    site = tmp_path / "site-packages"
    make_dist(site, "editable_proj-0.3.dist-info", "editable-proj", "0.3",
              {"__editable__.editable_proj-0.3.pth": str(tmp_path / "src")},
              top_level=["editmod"])
    (tmp_path / "src" / "editmod").mkdir(parents=True)
    (tmp_path / "src" / "editmod" / "__init__.py").write_text("")
    result = run_python("""
        import json, editmod
        from expt.dependencies import find_package_dependencies
        print(json.dumps(find_package_dependencies()))
        """, tmp_path, [tmp_path / "src", site])
    assert "editable-proj==0.3" in result


def test_lazy_module_getattr_is_not_triggered():
    """Reading __file__/__path__/__version__ never calls a module's lazy __getattr__."""
    import types
    calls = []
    lazy = types.ModuleType("lazything")

    def __getattr__(name):
        calls.append(name)
        raise AttributeError(name)

    lazy.__getattr__ = __getattr__
    assert find_package_dependencies({"lazything": lazy}) == []
    assert calls == []


def test_repeated_calls_follow_imports_and_installs(tmp_path):
    """Calls in one process see a package imported in between, and a version changed by a
    reinstall (its folder's mtime changes), though the module walk is cached."""
    site = tmp_path / "site-packages"
    make_dist(site, "alpha-1.0.dist-info", "alpha", "1.0", {"alpha/__init__.py": ""})
    make_dist(site, "beta-2.0.dist-info", "beta", "2.0", {"beta/__init__.py": ""})
    result = run_python(f"""
        import json, os, shutil, time
        import alpha
        from expt.dependencies import find_package_dependencies
        deps = lambda: [d for d in find_package_dependencies() if d[0] in "ab"]
        first, again = deps(), deps()
        import beta
        with_beta = deps()
        site = {str(site)!r}
        time.sleep(0.05)  # a new mtime for the folder, whatever the timestamp granularity
        os.rename(os.path.join(site, "beta-2.0.dist-info"), os.path.join(site, "beta-2.1.dist-info"))
        meta = os.path.join(site, "beta-2.1.dist-info", "METADATA")
        with open(meta, "w") as f:
            f.write("Metadata-Version: 2.1\\nName: beta\\nVersion: 2.1\\n")
        upgraded = deps()
        print(json.dumps([first, again, with_beta, upgraded]))
        """, tmp_path, [site])
    first, again, with_beta, upgraded = result
    assert first == again == ["alpha==1.0"]
    assert with_beta == ["alpha==1.0", "beta==2.0"]
    assert upgraded == ["alpha==1.0", "beta==2.1"]
