"""Tests for expt.hostinfo: the run's ``host`` record."""
import logging
import os
import platform
import stat
import sys

import pytest

from expt import hostinfo
from expt.hostinfo import (BUILTIN_KEYS, HostInfoNameError, get_host_info, machine_info,
                           parse_nvidia_smi_csv)
from expt.errors import UserInputError


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test sees the machine facts gathered anew."""
    hostinfo._machine_cache = None
    yield
    hostinfo._machine_cache = None


def test_builtin_fields_match_the_platform_module():
    """hostname, os and python_version equal what the stdlib (and so Sacred) reports."""
    info = get_host_info()
    assert info["hostname"] == platform.node()
    uname = platform.uname()
    if sys.platform.startswith("linux") and uname.processor not in ("", uname.machine):
        pytest.skip("`uname -p` names a processor here; expt leaves it out of the os string "
                    "to avoid starting that process")
    assert info["os"] == [platform.system(), platform.platform()]
    assert info["python_version"] == platform.python_version()
    assert info["ENV"] == {}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/cpuinfo")
def test_cpu_is_the_model_name_from_proc_cpuinfo():
    """On Linux the cpu field is the first 'model name' line of /proc/cpuinfo."""
    with open("/proc/cpuinfo") as f:
        names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    if not names:
        pytest.skip("this CPU's /proc/cpuinfo has no 'model name'")
    assert get_host_info()["cpu"] == names[0]


@pytest.mark.parametrize("text, expected", [
    ("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n"
     "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n",
     "Intel(R) Xeon(R) CPU @ 2.20GHz"),
    ("processor\t: 0\nBogoMIPS\t: 50.00\n\nHardware\t: BCM2835\n", "BCM2835"),
    ("Processor\t: AArch64 Processor rev 4 (aarch64)\nprocessor\t: 0\n",
     "AArch64 Processor rev 4 (aarch64)"),
    ("processor\t: 0\n", None),
])
def test_cpu_from_proc_file(tmp_path, text, expected):
    """The cpuinfo reader finds the model on x86 and ARM layouts."""
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    assert hostinfo._cpu_from_proc(str(path)) == expected


def test_env_holds_only_requested_variables_with_credentials_masked(monkeypatch):
    """ENV keeps only the asked-for variables that are set, and masks URL credentials."""
    monkeypatch.setenv("EXPT_TEST_DB", "mongodb://alice:secret@db.local:27017/runs")
    monkeypatch.setenv("EXPT_TEST_PLAIN", "hello")
    monkeypatch.setenv("EXPT_TEST_NOT_ASKED", "x")
    monkeypatch.delenv("EXPT_TEST_UNSET", raising=False)
    env = get_host_info(["EXPT_TEST_DB", "EXPT_TEST_PLAIN", "EXPT_TEST_UNSET"])["ENV"]
    assert env == {"EXPT_TEST_DB": "mongodb://***@db.local:27017/runs",
                   "EXPT_TEST_PLAIN": "hello"}


def test_env_read_at_each_call(monkeypatch):
    """ENV is not cached: a variable changed between runs is seen."""
    monkeypatch.setenv("EXPT_TEST_V", "1")
    assert get_host_info(["EXPT_TEST_V"])["ENV"] == {"EXPT_TEST_V": "1"}
    monkeypatch.setenv("EXPT_TEST_V", "2")
    assert get_host_info(["EXPT_TEST_V"])["ENV"] == {"EXPT_TEST_V": "2"}


def test_single_env_name_as_string(monkeypatch):
    """A lone variable name given as a string is one name, not a list of letters."""
    monkeypatch.setenv("EXPT_TEST_V", "v")
    assert get_host_info("EXPT_TEST_V")["ENV"] == {"EXPT_TEST_V": "v"}


def test_user_gatherers_are_added():
    """Each gatherer's value is stored under its name."""
    info = get_host_info(gatherers={"answer": lambda: 42, "pid": os.getpid})
    assert info["answer"] == 42
    assert info["pid"] == os.getpid()


def test_failing_gatherer_is_skipped_with_a_warning(caplog):
    """A gatherer that raises is left out, logged as a warning, and the others still run."""
    def broken():
        raise RuntimeError("sensor offline")

    with caplog.at_level(logging.WARNING, logger="expt.hostinfo"):
        info = get_host_info(gatherers={"temp": broken, "ok": lambda: "yes"})
    assert "temp" not in info
    assert info["ok"] == "yes"
    assert "temp" in caplog.text and "sensor offline" in caplog.text


@pytest.mark.parametrize("name", BUILTIN_KEYS)
def test_gatherer_named_like_builtin_is_an_error(name):
    """A gatherer may not replace a built-in field; the error names it."""
    with pytest.raises(HostInfoNameError) as err:
        get_host_info(gatherers={name: lambda: 1})
    assert err.value.name == name
    assert f"'{name}'" in str(err.value)
    assert isinstance(err.value, UserInputError)


def test_caller_cannot_change_cached_facts():
    """Editing a returned dict does not leak into the next run's record."""
    first = get_host_info()
    first["hostname"] = "changed"
    assert get_host_info()["hostname"] == platform.node()


NVIDIA_CSV = (
    "NVIDIA GeForce RTX 3090, 24576, Enabled, 535.104.05\n"
    "Tesla V100-SXM2-16GB, 16384, Disabled, 535.104.05\n"
)


@pytest.mark.parametrize("text, expected", [
    (NVIDIA_CSV, {"gpus": [
        {"model": "NVIDIA GeForce RTX 3090", "total_memory": 24576, "persistence_mode": True},
        {"model": "Tesla V100-SXM2-16GB", "total_memory": 16384, "persistence_mode": False}],
        "driver_version": "535.104.05"}),
    ("Weird, Name, With Commas, 8192, Disabled, 470.1\n", {"gpus": [
        {"model": "Weird, Name, With Commas", "total_memory": 8192, "persistence_mode": False}],
        "driver_version": "470.1"}),
    ("A100, [N/A], Enabled, 550.0\n", {"gpus": [
        {"model": "A100", "total_memory": "[N/A]", "persistence_mode": True}],
        "driver_version": "550.0"}),
    ("", {"gpus": [], "driver_version": None}),
])
def test_parse_nvidia_smi_csv(text, expected):
    """nvidia-smi's CSV output becomes Sacred's gpus record."""
    assert parse_nvidia_smi_csv(text) == expected


def _fake_nvidia_smi(folder, body):
    script = folder / "nvidia-smi"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


@pytest.mark.skipif(os.name != "posix", reason="uses a shell script on PATH")
def test_gpus_read_from_nvidia_smi_on_path(tmp_path, monkeypatch):
    """With an nvidia-smi on PATH (a stand-in script printing real CSV), gpus is filled."""
    args_file = tmp_path / "args"
    _fake_nvidia_smi(tmp_path, f'echo "$@" > {args_file}\nprintf "{NVIDIA_CSV}"\n')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    info = machine_info(refresh=True)
    assert info["gpus"]["driver_version"] == "535.104.05"
    assert [g["model"] for g in info["gpus"]["gpus"]] == ["NVIDIA GeForce RTX 3090",
                                                          "Tesla V100-SXM2-16GB"]
    assert "--format=csv,noheader,nounits" in args_file.read_text()


@pytest.mark.skipif(os.name != "posix", reason="uses a shell script on PATH")
def test_failing_nvidia_smi_leaves_gpus_out(tmp_path, monkeypatch, caplog):
    """An nvidia-smi that fails (no driver) means no gpus key and a warning, not an error."""
    _fake_nvidia_smi(tmp_path, 'echo "NVIDIA-SMI has failed" >&2\nexit 9\n')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with caplog.at_level(logging.WARNING, logger="expt.hostinfo"):
        info = machine_info(refresh=True)
    assert "gpus" not in info
    assert "NVIDIA-SMI has failed" in caplog.text


def test_no_gpus_key_without_nvidia_smi(monkeypatch, tmp_path):
    """Without nvidia-smi on PATH there is no gpus key at all."""
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "gpus" not in machine_info(refresh=True)
