"""Tests for expt.config_scope: function bodies turned into config dicts."""
import math
import os
import sys
import traceback

import pytest

from expt import ConfigDict, ConfigScope

MODULE_CONSTANT = 42  # a module-level name: visible to scopes, never a config entry
from expt.errors import ConfigError


def test_plain_locals_become_entries():
    """Every plain local is an entry, in definition order."""
    def cfg():
        a = 1
        b = "two"
        c = [1, 2]
        d = {"x": None}
    assert ConfigScope(cfg)().config == {"a": 1, "b": "two", "c": [1, 2], "d": {"x": None}}
    assert list(ConfigScope(cfg)().config) == ["a", "b", "c", "d"]


def test_fixed_value_wins_and_later_lines_see_it():
    """with a=3: the scope's `a = 1` keeps 3, and `b = a * 2` is 6."""
    def cfg():
        a = 1
        b = a * 2
    result = ConfigScope(cfg)(fixed={"a": 3})
    assert result.config == {"a": 3, "b": 6}
    assert result.overridden == {"a": 1}


def test_fixed_value_visible_before_its_assignment():
    """A fixed value is visible even to lines above the assignment it overrides."""
    def cfg():
        b = a + 1  # noqa: F821 - `a` comes from the fixed values
        a = 1
    assert ConfigScope(cfg)(fixed={"a": 10}).config == {"b": 11, "a": 10}


def test_nested_fixed_update_keeps_sibling_keys():
    """Fixing opt.lr changes only lr; the scope's other keys of opt stay."""
    def cfg():
        opt = {"lr": 0.1, "momentum": 0.9, "inner": {"x": 1, "y": 2}}
        lr_times_ten = opt["lr"] * 10
    result = ConfigScope(cfg)(fixed={"opt": {"lr": 0.5, "inner": {"y": 20}}})
    assert result.config["opt"] == {"lr": 0.5, "momentum": 0.9, "inner": {"x": 1, "y": 20}}
    assert result.config["lr_times_ten"] == 5.0
    assert result.overridden == {"opt.lr": 0.1, "opt.inner.y": 2}


def test_fixed_key_not_in_scope_is_added():
    """A fixed value the scope does not define is still in the result."""
    def cfg():
        a = 1
    assert ConfigScope(cfg)(fixed={"new": 5}).config == {"new": 5, "a": 1}


def test_preset_values_are_visible_and_replaceable():
    """Entries of earlier scopes (preset) are visible and may be reassigned."""
    def cfg():
        b = a + 1  # noqa: F821 - `a` comes from an earlier scope
        a = 100
    assert ConfigScope(cfg)(preset={"a": 1}).config == {"a": 100, "b": 2}


def test_docs_from_inline_comments_and_comments_above():
    """A comment ending the line, else the comment lines directly above, is the doc."""
    def cfg():
        a = 1  # the inline doc
        # the doc above b
        # spans two lines
        b = 2
        c = 3

        # only directly above counts
        d = 4  # inline wins
        e = f = 5  # both names
        g: int = 6  # annotated
    docs = ConfigScope(cfg).docs
    assert docs == {"a": "the inline doc", "b": "the doc above b spans two lines",
                    "d": "inline wins", "e": "both names", "f": "both names", "g": "annotated"}


def test_multiline_assignment_takes_comment_of_last_line():
    """A multi-line assignment is documented by the comment after its closing line."""
    def cfg():
        layers = [
            64,
            32,
        ]  # widths of the hidden layers
    assert ConfigScope(cfg).docs == {"layers": "widths of the hidden layers"}
    assert ConfigScope(cfg)().config == {"layers": [64, 32]}


def test_scope_docstring_is_doc_not_entry():
    """The docstring becomes the scope's doc and is not an entry."""
    def cfg():
        """Training settings."""
        a = 1
    scope = ConfigScope(cfg)
    assert scope.doc == "Training settings."
    assert scope().config == {"a": 1}


def test_modules_functions_classes_private_and_annotations_do_not_leak():
    """Imports, functions, lambdas, classes, _private names and annotations stay out."""
    def cfg():
        import json
        from os import path as osp
        def helper(x):
            return x + 1
        square = lambda x: x * x  # noqa: E731
        class Thing:
            pass
        _hidden = 7
        typed: float = 0.5
        declared_only: int
        visible = helper(_hidden) + square(2)
        name = Thing.__name__
        dumped = json.dumps([1]) + osp.sep
    config = ConfigScope(cfg)().config
    assert config == {"typed": 0.5, "visible": 12, "name": "Thing", "dumped": "[1]/"}


def test_globals_of_the_defining_module_are_visible():
    """Module-level names (here `math`) can be used in a scope."""
    def cfg():
        tau = 2 * math.pi
    assert ConfigScope(cfg)().config == {"tau": 2 * math.pi}


def test_closure_variables_are_visible():
    """Variables of an enclosing function are visible to a scope defined inside it."""
    def make(width):
        depth = width // 2
        def cfg():
            layers = [width] * depth
        return ConfigScope(cfg)
    assert make(4)().config == {"layers": [4, 4]}


def test_scope_runs_fresh_each_call():
    """Each call starts from a clean namespace; mutable values are not shared."""
    def cfg():
        items = []
        items.append(1)
    scope = ConfigScope(cfg)
    first, second = scope().config, scope().config
    assert first == second == {"items": [1]}
    assert first["items"] is not second["items"]


def test_error_inside_scope_reports_the_user_file_line():
    """An exception in a scope points at the line of this file where it happened."""
    def cfg():
        a = 1
        b = a / 0
    line = cfg.__code__.co_firstlineno + 2
    with pytest.raises(ZeroDivisionError) as info:
        ConfigScope(cfg)()
    last = traceback.extract_tb(info.value.__traceback__)[-1]
    assert (last.filename, last.lineno) == (__file__, line)
    assert last.line == "b = a / 0"


def test_name_error_in_scope_names_the_variable():
    """Using an undefined name is a NameError naming it, on the right line."""
    def cfg():
        a = undefined_thing + 1  # noqa: F821
    with pytest.raises(NameError, match="undefined_thing") as info:
        ConfigScope(cfg)()
    assert traceback.extract_tb(info.value.__traceback__)[-1].lineno == \
        cfg.__code__.co_firstlineno + 1


def test_decorated_scope_with_decorator_arguments(tmp_path):
    """A scope defined with a decorator spanning lines still compiles from its body."""
    src = tmp_path / "scopemod.py"
    src.write_text(
        "def deco(*a, **k):\n"
        "    return lambda f: f\n"
        "\n"
        "@deco(\n"
        "    1,\n"
        ")\n"
        "def cfg():\n"
        "    x = 1  # one\n"
        "    y = x + 1\n"
        "    z = 1 / 0 if y == 99 else y\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import scopemod
        scope = ConfigScope(scopemod.cfg)
        assert scope().config == {"x": 1, "y": 2, "z": 2}
        assert scope.docs == {"x": "one"}
        with pytest.raises(ZeroDivisionError) as info:
            scope(fixed={"y": 99})
        last = traceback.extract_tb(info.value.__traceback__)[-1]
        assert (os.path.basename(last.filename), last.lineno) == ("scopemod.py", 10)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("scopemod", None)


def test_scope_without_source_is_a_clear_error():
    """A function whose source cannot be read gives a ConfigError suggesting add_config."""
    namespace = {}
    exec(compile("def cfg():\n    a = 1\n", "<no-file>", "exec"), namespace)
    with pytest.raises(ConfigError, match=r"Cannot read the source of config scope 'cfg'.*"
                                          r"add_config"):
        ConfigScope(namespace["cfg"])


def test_config_dict_behaves_like_a_scope():
    """ConfigDict: fixed values win (nested too), presets are kept, input is not shared."""
    values = {"a": 1, "opt": {"lr": 0.1, "mom": 0.9}}
    cd = ConfigDict(values)
    values["a"] = 99
    result = cd(fixed={"opt": {"lr": 0.5}}, preset={"earlier": True})
    assert result.config == {"earlier": True, "a": 1, "opt": {"lr": 0.5, "mom": 0.9}}
    assert result.overridden == {"opt.lr": 0.1}
    assert cd.docs == {} and cd.doc == ""


def test_comprehensions_lambdas_and_nested_functions_see_scope_entries():
    """Comprehensions, lambdas and nested functions can use earlier entries (Sacred cannot)."""
    def cfg():
        width = 2
        layers = [width * i for i in range(3)]
        by_name = {name: width for name in "ab"}
        doubled = (lambda: width * 2)()
        def helper():
            return width + 1
        plus_one = helper()
        from_module = MODULE_CONSTANT + width
    config = ConfigScope(cfg)(fixed={"width": 10}).config
    assert config == {"width": 10, "layers": [0, 10, 20], "by_name": {"a": 10, "b": 10},
                      "doubled": 20, "plus_one": 11, "from_module": 52}


def test_module_globals_do_not_leak_and_are_not_changed():
    """Module-level names are readable but never entries; the module's globals stay as they were."""
    def cfg():
        a = MODULE_CONSTANT
        MODULE_CONSTANT = 0  # noqa: F841 - assigning makes it the scope's own entry
    def reads_only():
        b = MODULE_CONSTANT + 1
    assert ConfigScope(reads_only)().config == {"b": 43}
    assert ConfigScope(cfg)().config == {"a": 42, "MODULE_CONSTANT": 0}
    assert globals()["MODULE_CONSTANT"] == 42


def test_deleted_names_are_not_entries():
    """`del` removes a name from the config."""
    def cfg():
        tmp = 5
        kept = tmp * 2
        del tmp
    assert ConfigScope(cfg)().config == {"kept": 10}


def test_fixed_values_survive_item_assignment_inside_the_scope():
    """`opt["lr"] = 0.1` after `opt = {}` keeps a fixed opt.lr, and later lines see it."""
    def cfg():
        opt = {}
        opt["lr"] = 0.1
        doubled = opt["lr"] * 2
        net = dict(inner={})
        net["inner"]["depth"] = 3
        net["inner"].update(width=5)
        opt.setdefault("momentum", 0.9)
        opt |= {"nesterov": True}
    result = ConfigScope(cfg)(fixed={"opt": {"lr": 0.5, "momentum": 0.1, "nesterov": False},
                                     "net": {"inner": {"depth": 7, "width": 9}}})
    assert result.config == {"opt": {"lr": 0.5, "momentum": 0.1, "nesterov": False},
                             "doubled": 1.0, "net": {"inner": {"depth": 7, "width": 9}}}
    assert result.overridden == {"opt.lr": 0.1, "net.inner.depth": 3, "net.inner.width": 5,
                                 "opt.nesterov": True}
    assert type(result.config["opt"]) is dict and type(result.config["net"]["inner"]) is dict


def test_unfixed_item_assignment_is_unaffected():
    """Keys that are not fixed can be set and updated as usual inside a fixed dict."""
    def cfg():
        opt = {"lr": 0.1}
        opt["momentum"] = 0.9
        opt.update(decay=0.01)
    result = ConfigScope(cfg)(fixed={"opt": {"lr": 0.5}})
    assert result.config == {"opt": {"lr": 0.5, "momentum": 0.9, "decay": 0.01}}
    assert result.overridden == {"opt.lr": 0.1}


def test_fixed_values_win_over_mutation_of_an_earlier_scopes_dict():
    """A dict from an earlier scope (preset) keeps its fixed keys when this scope mutates it."""
    def cfg():
        opt["lr"] = 0.2  # noqa: F821 - opt comes from an earlier scope
    result = ConfigScope(cfg)(fixed={"opt": {"lr": 0.5}}, preset={"opt": {"lr": 0.1, "m": 1}})
    assert result.config == {"opt": {"lr": 0.5, "m": 1}}
    assert result.overridden == {"opt.lr": 0.2}
