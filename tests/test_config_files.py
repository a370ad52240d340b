"""Tests for expt.config_files: reading .json, .yaml and .yml config files."""
import json

import pytest

from expt.config_files import SUPPORTED_SUFFIXES, is_config_file_name, load_config_file
from expt.errors import ConfigError, ConfigFileError

VALUES = {"lr": 0.01, "layers": [64, 32], "opt": {"name": "adam", "betas": [0.9, 0.99]},
          "flag": True, "nothing": None}


@pytest.mark.parametrize("name, text", [
    ("cfg.json", json.dumps(VALUES)),
    ("cfg.yaml", "lr: 0.01\nlayers: [64, 32]\nopt:\n  name: adam\n  betas: [0.9, 0.99]\n"
                 "flag: true\nnothing: null\n"),
    ("cfg.yml", "lr: 0.01\nlayers:\n  - 64\n  - 32\nopt: {name: adam, betas: [0.9, 0.99]}\n"
                "flag: yes\nnothing: ~\n"),
    ("CFG.JSON", json.dumps(VALUES)),
])
def test_supported_formats_load_the_same_dict(tmp_path, name, text):
    """JSON, YAML and YML files (any letter case) give the same plain dict."""
    path = tmp_path / name
    path.write_text(text)
    assert load_config_file(path) == VALUES
    assert load_config_file(str(path)) == VALUES


@pytest.mark.parametrize("name", ["cfg.json", "cfg.yaml", "cfg.yml"])
def test_empty_file_is_empty_config_or_error(tmp_path, name):
    """An empty YAML file is an empty config; an empty JSON file is invalid JSON."""
    path = tmp_path / name
    path.write_text("")
    if name.endswith(".json"):
        with pytest.raises(ConfigFileError, match="is not valid JSON"):
            load_config_file(path)
    else:
        assert load_config_file(path) == {}


@pytest.mark.parametrize("name", ["cfg.toml", "cfg.txt", "cfg", "cfg.json.bak"])
def test_unsupported_suffix_lists_the_formats(tmp_path, name):
    """Any other suffix is an error naming the file and listing the supported formats."""
    path = tmp_path / name
    path.write_text("{}")
    with pytest.raises(ConfigFileError) as info:
        load_config_file(path)
    message = str(info.value)
    assert str(path) in message and "unsupported format" in message
    assert "Supported formats: .json, .yaml, .yml." in message
    assert isinstance(info.value, ConfigError)


def test_missing_file_is_a_clear_error(tmp_path):
    """A file that does not exist is named in the error."""
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigFileError, match=r"Config file '.*nope\.yaml' does not exist\."):
        load_config_file(path)


def test_directory_is_a_clear_error(tmp_path):
    """A directory with a config suffix is an unreadable file, not a crash."""
    path = tmp_path / "dir.json"
    path.mkdir()
    with pytest.raises(ConfigFileError, match="Cannot read config file"):
        load_config_file(path)


@pytest.mark.parametrize("name, text, kind", [
    ("list.json", "[1, 2]", "list"),
    ("num.json", "3", "int"),
    ("str.yaml", "just text", "str"),
    ("list.yml", "- a\n- b\n", "list"),
])
def test_non_mapping_content_is_rejected(tmp_path, name, text, kind):
    """A file whose top level is not a mapping says what it holds instead."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigFileError, match=f"must hold a mapping of names to values, "
                                              f"not a {kind}"):
        load_config_file(path)


@pytest.mark.parametrize("name, text", [
    ("bad.json", "{'a': 1}"),
    ("bad.yaml", "a: [1, 2\n"),
    ("bad.yml", "a: b: c\n"),
])
def test_invalid_syntax_names_the_file(tmp_path, name, text):
    """Syntax errors are ConfigFileErrors naming the file and the format."""
    path = tmp_path / name
    path.write_text(text)
    fmt = "JSON" if name.endswith(".json") else "YAML"
    with pytest.raises(ConfigFileError, match=f"'{path}' is not valid {fmt}"):
        load_config_file(path)


@pytest.mark.parametrize("name, expected", [
    ("a.json", True), ("a.YAML", True), ("dir/a.yml", True), ("a.toml", False), ("big", False),
    ("lr=0.1", False),
])
def test_is_config_file_name(name, expected):
    """Only the supported suffixes count as config file names."""
    assert is_config_file_name(name) is expected
    assert SUPPORTED_SUFFIXES == (".json", ".yaml", ".yml")
