"""Tests for expt.ingredient: ingredient configs, named configs, captured functions, commands."""
import json

import pytest

from expt import ConfigKeyError, Experiment, Ingredient, NamedConfigNotFoundError
from expt.errors import ConfigError, ExptError
from expt.testing import RecordingObserver


def build():
    """tok <- data <- experiment, each with config and captured functions."""
    tok = Ingredient("tok")

    @tok.config
    def tok_cfg():
        vocab = 100  # vocabulary size

    @tok.capture
    def vocab_size(vocab):
        return vocab

    data = Ingredient("data", ingredients=[tok])

    @data.config
    def data_cfg():
        size = 10
        path = "d.csv"

    @data.named_config
    def small():
        size = 1

    @data.capture
    def load(size, path):
        return f"{path}:{size}"

    @data.command
    def stats(size):
        """Print dataset statistics."""
        return {"size": size}

    ex = Experiment("ingredients_test", ingredients=[data], save_git_info=False)

    @ex.config
    def cfg():
        size = 999  # the experiment's own 'size', separate from data.size

    @ex.main
    def main(size):
        return size, load(), vocab_size()
    return ex, data, tok


def test_ingredient_configs_live_under_their_path():
    """Each ingredient's entries are under its path; nested ingredients under their own path."""
    ex, _, _ = build()
    run = ex.run()
    assert run.config["data"] == {"size": 10, "path": "d.csv"}
    assert run.config["tok"] == {"vocab": 100}
    assert run.config["size"] == 999
    assert run.result == (999, "d.csv:10", 100)
    assert run.config_modifications.docs["tok.vocab"] == "vocabulary size"


def test_ingredient_updates_and_named_configs():
    """'data.size=3' and the named config 'data.small' change only the data section."""
    ex, _, _ = build()
    assert ex.run(config_updates={"data.size": 3}).result == (999, "d.csv:3", 100)
    assert ex.run(named_configs=["data.small"]).result == (999, "d.csv:1", 100)
    run = ex.run(named_configs=["data.small"], config_updates={"data.size": 5, "tok.vocab": 7})
    assert run.result == (999, "d.csv:5", 7)


def test_unknown_ingredient_key_and_named_config():
    """Misspelt ingredient keys and named configs get suggestions with the full path."""
    ex, _, _ = build()
    with pytest.raises(ConfigKeyError) as info:
        ex.run(config_updates={"data.sise": 3})
    assert info.value.suggestions[0] == "data.size"
    with pytest.raises(NamedConfigNotFoundError) as info:
        ex.run(named_configs=["data.smal"])
    assert info.value.suggestions == ["data.small"]


def test_ingredient_command_runs_by_dotted_name():
    """An ingredient's command is run as 'data.stats' with the ingredient's config."""
    ex, _, _ = build()
    obs = RecordingObserver()
    ex.observers.append(obs)
    run = ex.run("data.stats", config_updates={"data.size": 4})
    assert run.result == {"size": 4}
    assert obs.last("started_event")["command"] == "data.stats"
    assert "data.stats" in ex.gather_commands() and "main" in ex.gather_commands()


def test_ingredient_captured_function_outside_a_run():
    """Outside a run an ingredient's captured function needs explicit arguments."""
    ex, data, _ = build()
    load = data.captured_functions[0]
    assert load(size=2, path="x") == "x:2"


def test_add_config_dict_kwargs_and_files(tmp_path):
    """add_config takes a dict, keyword arguments, or a .json/.yaml file."""
    ing = Ingredient("opt")
    ing.add_config({"lr": 0.1})
    ing.add_config(momentum=0.9)
    path = tmp_path / "opt.yaml"
    path.write_text("betas: [0.9, 0.99]\n")
    ing.add_config(path)
    json_path = tmp_path / "more.json"
    json_path.write_text(json.dumps({"lr": 0.5}))
    ing.add_config(str(json_path))
    ex = Experiment("cfg_sources", ingredients=[ing], save_git_info=False)
    ex.main(lambda: None)
    assert ex.run().config["opt"] == {"lr": 0.5, "momentum": 0.9, "betas": [0.9, 0.99]}


def test_add_config_errors(tmp_path):
    """Both a dict and keywords, a wrong type, or a bad file are clear errors."""
    ing = Ingredient("x")
    with pytest.raises(ConfigError, match="either a dict/file or keyword arguments"):
        ing.add_config({"a": 1}, b=2)
    with pytest.raises(ConfigError, match="must be a dict or a file path, not int"):
        ing.add_config(5)
    with pytest.raises(ConfigError, match="unsupported format '.toml'"):
        ing.add_config(tmp_path / "c.toml")
    with pytest.raises(ConfigError, match="does not exist"):
        ing.add_config(tmp_path / "missing.json")


def test_add_named_config_dict_and_file(tmp_path):
    """add_named_config takes a dict or a file; they are selected by name."""
    ex = Experiment("named_sources", save_git_info=False)
    ex.add_config(lr=0.1, depth=2)
    ex.add_named_config("fast", {"lr": 1.0})
    path = tmp_path / "deep.yml"
    path.write_text("depth: 10\n")
    ex.add_named_config("deep", path)
    ex.main(lambda lr, depth: (lr, depth))
    assert ex.run(named_configs=["fast", "deep"]).result == (1.0, 10)


def test_hooks_run_in_order():
    """config hooks change the config; pre/post run hooks run around main with config values."""
    calls = []
    ex = Experiment("hooks", save_git_info=False)
    ex.add_config(a=1)

    @ex.config_hook
    def hook(config, command_name, logger):
        calls.append(("config_hook", command_name, config["a"]))
        return {"b": config["a"] * 10}

    @ex.pre_run_hook
    def before(a, b):
        calls.append(("pre", a, b))

    @ex.post_run_hook
    def after(_run):
        calls.append(("post", _run.result))

    @ex.main
    def main(b):
        calls.append(("main", b))
        return b
    run = ex.run()
    assert run.config["b"] == 10
    assert calls == [("config_hook", "main", 1), ("pre", 1, 10), ("main", 10), ("post", 10)]


def test_add_source_file_and_package_dependency(tmp_path):
    """Extra sources and dependencies are part of the experiment info."""
    extra = tmp_path / "helper.py"
    extra.write_text("X = 1\n")
    ing = Ingredient("dep")
    ing.add_source_file(extra)
    ing.add_package_dependency("somepkg", "1.2.3")
    ex = Experiment("provenance", ingredients=[ing], save_git_info=False)
    info = ex.get_experiment_info()
    assert "somepkg==1.2.3" in info["dependencies"]
    assert any(name.endswith("helper.py") for name, _ in info["sources"])
    with pytest.raises(ExptError, match="Cannot add source file"):
        ing.add_source_file(tmp_path / "nope.py")


def test_diamond_ingredients_traversed_once():
    """An ingredient used by two others is configured once."""
    shared = Ingredient("shared")
    shared.add_config(v=1)
    a, b = Ingredient("a", ingredients=[shared]), Ingredient("b", ingredients=[shared])
    ex = Experiment("diamond", ingredients=[a, b], save_git_info=False)
    assert [i.path for i in ex.traverse_ingredients()] == ["diamond", "a", "b", "shared"]
    ex.main(lambda: None)
    assert ex.run().config["shared"] == {"v": 1}
