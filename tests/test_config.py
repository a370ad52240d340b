"""Tests for expt.config.resolve: defaults -> named configs -> updates, summary, errors."""
import json
import logging

import pytest

from expt import ConfigDict, ConfigKeyError, ConfigScope, NamedConfigNotFoundError
from expt.config import SEED_DOC, ConfigLayer, ConfigSummary, resolve


def base():
    """The experiment's defaults."""
    lr = 0.1  # learning rate
    name = "model"
    steps = 10
    opt = {"kind": "sgd", "deep": {"a": {"b": 1, "c": 2}}}
    total = steps * lr


def big():
    lr = 0.5
    steps = 100


def bigger():
    steps = 1000


def data_defaults():
    size = 10  # rows to load
    path = "data.csv"


def data_small():
    size = 1


def layers(**named):
    """The experiment layer and a 'data' ingredient layer."""
    return [
        ConfigLayer("", [ConfigScope(base)], {"big": ConfigScope(big),
                                               "bigger": ConfigScope(bigger), **named}),
        ConfigLayer("data", [ConfigScope(data_defaults)], {"small": ConfigScope(data_small)}),
    ]


def without_seed(config):
    return {k: v for k, v in config.items() if k != "seed"}


def test_defaults_only():
    """With no updates the config is the scopes' values plus a seed; nothing modified."""
    config, summary = resolve(layers())
    assert without_seed(config) == {
        "lr": 0.1, "name": "model", "steps": 10, "opt": {"kind": "sgd", "deep": {"a": {"b": 1,
                                                                                    "c": 2}}},
        "total": 1.0, "data": {"size": 10, "path": "data.csv"}}
    assert summary.added == frozenset() and summary.modified == frozenset()
    assert summary.typechanged == {}


def test_docs_with_ingredient_prefix_and_seed():
    """Docs are keyed by full dotted path; the seed has its own doc."""
    _, summary = resolve(layers())
    assert summary.docs == {"lr": "learning rate", "data.size": "rows to load", "seed": SEED_DOC}


def test_updates_are_fixed_while_scopes_run():
    """An update is visible to later lines of the scope (total = steps * lr)."""
    config, summary = resolve(layers(), updates={"steps": 3, "lr": 2.0})
    assert config["steps"] == 3 and config["total"] == 6.0
    assert summary.modified == {"steps", "lr", "total"} - {"total"}  # total was computed


@pytest.mark.parametrize("updates, path, value", [
    ({"opt.kind": "adam"}, "opt", {"kind": "adam", "deep": {"a": {"b": 1, "c": 2}}}),
    ({"opt.deep.a.b": 5}, "opt", {"kind": "sgd", "deep": {"a": {"b": 5, "c": 2}}}),
    ({"opt": {"deep": {"a": {"c": 7}}}}, "opt", {"kind": "sgd", "deep": {"a": {"b": 1, "c": 7}}}),
    ({"data.size": 99}, "data", {"size": 99, "path": "data.csv"}),
])
def test_dotted_updates_at_any_depth_keep_siblings(updates, path, value):
    """Dotted (or nested-dict) updates change one leaf and keep its siblings."""
    config, summary = resolve(layers(), updates=updates)
    assert config[path] == value
    assert len(summary.modified) == 1


def test_named_configs_apply_in_order_and_updates_win():
    """Later named configs win over earlier ones; updates win over all of them."""
    config, _ = resolve(layers(), named_configs=["big"])
    assert (config["lr"], config["steps"], config["total"]) == (0.5, 100, 50.0)
    config, _ = resolve(layers(), named_configs=["big", "bigger"])
    assert (config["lr"], config["steps"]) == (0.5, 1000)
    config, _ = resolve(layers(), named_configs=["bigger", "big"])
    assert config["steps"] == 100
    config, summary = resolve(layers(), named_configs=["big", "bigger"], updates={"steps": 7})
    assert (config["lr"], config["steps"], config["total"]) == (0.5, 7, 3.5)
    assert summary.modified == {"lr", "steps", "total"} - {"total"}


def test_named_config_sees_updates_and_earlier_named_configs():
    """A named config scope sees the updates and the named configs applied before it."""
    def derived():
        lr = steps / 1000  # noqa: F821
    lay = layers(derived=ConfigScope(derived))
    config, _ = resolve(lay, named_configs=["bigger", "derived"])
    assert config["lr"] == 1.0
    config, _ = resolve(lay, named_configs=["derived"], updates={"steps": 500})
    assert config["lr"] == 0.5


def test_named_config_dict():
    """A dict can be a named config."""
    config, summary = resolve(layers(quarter=ConfigDict({"lr": 0.25})), named_configs=["quarter"])
    assert config["lr"] == 0.25 and summary.modified == {"lr"}


def test_named_config_file(tmp_path):
    """A .json/.yaml path given as a named config is loaded and applied."""
    path = tmp_path / "fast.yaml"
    path.write_text("lr: 0.9\nopt:\n  kind: adam\n")
    config, _ = resolve(layers(), named_configs=[str(path)])
    assert config["lr"] == 0.9 and config["opt"]["kind"] == "adam"
    assert config["opt"]["deep"] == {"a": {"b": 1, "c": 2}}
    json_path = tmp_path / "slow.json"
    json_path.write_text(json.dumps({"lr": 0.001}))
    config, _ = resolve(layers(), named_configs=[str(path), str(json_path)])
    assert config["lr"] == 0.001


def test_ingredient_named_config_by_dotted_name():
    """An ingredient's named config is asked for as 'ingredient.name' and applies at its path."""
    config, summary = resolve(layers(), named_configs=["data.small"])
    assert config["data"] == {"size": 1, "path": "data.csv"}
    assert summary.modified == {"data.size"}
    assert "size" not in config


@pytest.mark.parametrize("name, message", [
    ("bog", "Unknown named config 'bog'. Did you mean 'big'? "
            "Available named configs: big, bigger, data.small."),
    ("data.smal", "Unknown named config 'data.smal'. Did you mean 'data.small'? "
                  "Available named configs: big, bigger, data.small."),
    ("small", "Unknown named config 'small'. Did you mean 'data.small'? "
              "Available named configs: big, bigger, data.small."),
])
def test_unknown_named_config_suggests(name, message):
    """An unknown named config is an error with the nearest names and the full list."""
    with pytest.raises(NamedConfigNotFoundError) as info:
        resolve(layers(), named_configs=[name])
    assert str(info.value) == message
    assert info.value.name == name and info.value.available == ["big", "bigger", "data.small"]
    assert isinstance(info.value, KeyError)


@pytest.mark.parametrize("key, message, suggestions", [
    ("lrr", "Unknown config key 'lrr' in 'with' update. Did you mean 'lr'?", ["lr"]),
    ("data.sise", "Unknown config key 'data.sise' in 'with' update. Did you mean 'data.size' or "
                  "'data'?", ["data.size", "data"]),
    ("opt.deep.a.d", "Unknown config key 'opt.deep.a.d' in 'with' update. Did you mean "
                     "'opt.deep.a.c', 'opt.deep.a.b' or 'opt.deep.a'?",
     ["opt.deep.a.c", "opt.deep.a.b", "opt.deep.a"]),
    ("xyzzy", "Unknown config key 'xyzzy' in 'with' update.", []),
])
def test_unknown_update_key_error_text(key, message, suggestions):
    """An update to a key that exists nowhere names it and suggests the nearest keys."""
    with pytest.raises(ConfigKeyError) as info:
        resolve(layers(), updates={key: 1})
    assert str(info.value) == message
    assert info.value.key == key
    assert info.value.suggestions == suggestions
    assert isinstance(info.value, KeyError)


def test_captured_parameter_keys_are_allowed():
    """An update naming a captured function's parameter is not unknown; it is 'added'."""
    config, summary = resolve(layers(), updates={"batch": 32, "data.workers": 2},
                              captured_params={"batch", "data.workers"})
    assert config["batch"] == 32 and config["data"]["workers"] == 2
    assert summary.added == {"batch", "data.workers"}


def test_captured_parameters_are_suggested():
    """A misspelt captured parameter is suggested too."""
    with pytest.raises(ConfigKeyError) as info:
        resolve(layers(), updates={"bacth": 1}, captured_params={"batch"})
    assert info.value.suggestions == ["batch"]


def test_update_of_key_defined_by_a_named_config_is_allowed():
    """A key that only a named config of this run defines may be updated."""
    lay = layers(extra=ConfigDict({"dropout": 0.1}))
    config, summary = resolve(lay, named_configs=["extra"], updates={"dropout": 0.3})
    assert config["dropout"] == 0.3
    with pytest.raises(ConfigKeyError):
        resolve(lay, updates={"dropout": 0.3})


def test_named_config_may_add_new_keys():
    """Named configs may introduce keys the defaults lack; they count as added."""
    config, summary = resolve(layers(extra=ConfigDict({"dropout": 0.1})), named_configs=["extra"])
    assert config["dropout"] == 0.1 and summary.added == {"dropout"}


@pytest.mark.parametrize("updates, changed", [
    ({"name": 5}, {"name": ("str", "int")}),
    ({"opt.deep.a.b": "one"}, {"opt.deep.a.b": ("int", "str")}),
    ({"opt.kind": ["a"]}, {"opt.kind": ("str", "list")}),
    ({"lr": 1}, {}),           # int for float: an ordinary number change
    ({"steps": 2.5}, {}),
    ({"name": None}, {}),      # None never counts as a type change
])
def test_type_change_warns(caplog, updates, changed):
    """A value of another type is recorded and logged as a warning (numbers are compatible)."""
    with caplog.at_level(logging.WARNING, logger="expt"):
        _, summary = resolve(layers(), updates=updates)
    assert summary.typechanged == changed
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"Changed type of config entry '{p}' from {a} to {b}."
                        for p, (a, b) in changed.items()]


def test_force_suppresses_unknown_key_error_and_type_warning(caplog):
    """force=True accepts unknown keys and logs no type-change warning (still summarised)."""
    with caplog.at_level(logging.WARNING, logger="expt"):
        config, summary = resolve(layers(), updates={"lrr": 1, "name": 5}, force=True)
    assert config["lrr"] == 1 and config["name"] == 5
    assert summary.added == {"lrr"} and summary.typechanged == {"name": ("str", "int")}
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_seed_added_when_absent_and_kept_when_given():
    """A random seed is added when absent; an update or a scope's seed is kept."""
    seeds = {resolve(layers())[0]["seed"] for _ in range(5)}
    assert all(isinstance(s, int) and 0 <= s < 2**31 for s in seeds) and len(seeds) > 1
    assert resolve(layers(), updates={"seed": 42})[0]["seed"] == 42
    seeded = [ConfigLayer("", [ConfigDict({"seed": 7})], {})]
    config, summary = resolve(seeded)
    assert config["seed"] == 7 and "seed" not in summary.added


def test_several_scopes_in_order_see_earlier_ones():
    """Scopes of one layer run in definition order; each sees and may change earlier entries."""
    def first():
        a = 1
        b = 2
    def second():
        c = a + b  # noqa: F821
        b = 20
    def third():
        d = b + c  # noqa: F821
    lay = [ConfigLayer("", [ConfigScope(first), ConfigScope(second), ConfigScope(third)], {})]
    config, _ = resolve(lay)
    assert without_seed(config) == {"a": 1, "b": 20, "c": 3, "d": 23}
    config, summary = resolve(lay, updates={"a": 10, "b": 0})
    assert without_seed(config) == {"a": 10, "b": 0, "c": 10, "d": 10}
    assert summary.modified == {"a", "b"}


def test_scope_and_dict_and_file_layers_combine(tmp_path):
    """A scope, a dict and a file of one layer combine in definition order."""
    from expt.config_files import load_config_file
    path = tmp_path / "more.json"
    path.write_text(json.dumps({"c": 3, "a": 100}))
    def first():
        a = 1
    lay = [ConfigLayer("", [ConfigScope(first), ConfigDict({"b": 2}),
                            ConfigDict(load_config_file(path))], {})]
    assert without_seed(resolve(lay)[0]) == {"a": 100, "b": 2, "c": 3}


def test_ingredient_updates_do_not_leak_into_other_layers():
    """An update under 'data.' reaches only the data ingredient's scopes."""
    def uses_size():
        size = 5
    lay = [ConfigLayer("", [ConfigScope(uses_size)], {}),
           ConfigLayer("data", [ConfigScope(data_defaults)], {})]
    config, _ = resolve(lay, updates={"data.size": 1})
    assert config["size"] == 5 and config["data"]["size"] == 1


def test_summary_to_dict_is_json_safe():
    """ConfigSummary.to_dict() gives sorted lists and plain dicts."""
    _, summary = resolve(layers(), updates={"name": 5, "steps": 3, "new": 1}, force=True)
    as_dict = summary.to_dict()
    assert as_dict["added"] == ["new"] and as_dict["modified"] == ["name", "steps"]
    assert as_dict["typechanged"] == {"name": ["str", "int"]}
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert ConfigSummary().to_dict() == {"added": [], "modified": [], "typechanged": {},
                                         "docs": {}}


@pytest.mark.parametrize("named, key, suggestions", [
    (["big"], "lrr", ["lr"]),
    (["big", "bigger"], "stepz", ["steps"]),
    (["data.small"], "data.sise", ["data.size", "data"]),
    (["data.small"], "data.size.deep", []),
    (["extra"], "dropuot", ["dropout"]),
])
def test_unknown_update_key_still_rejected_with_named_configs(named, key, suggestions):
    """Named configs see the updates while they run, yet that does not make unknown keys valid."""
    lay = layers(extra=ConfigDict({"dropout": 0.1}))
    with pytest.raises(ConfigKeyError) as info:
        resolve(lay, named_configs=named, updates={key: 1})
    assert info.value.key == key
    assert info.value.suggestions[:len(suggestions)] == suggestions
