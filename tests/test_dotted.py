"""Tests for expt.dotted: nested dicts by dotted paths."""
import pytest

from expt import dotted

TREE = {"a": 1, "opt": {"lr": 0.1, "inner": {"x": [1, 2]}}, "empty": {}}


@pytest.mark.parametrize("path, expected", [
    ("a", 1), ("opt.lr", 0.1), ("opt.inner.x", [1, 2]), ("opt.inner", {"x": [1, 2]}),
    ("empty", {}), ("", TREE),
])
def test_get_existing_paths(path, expected):
    """get() follows every part of a dotted path; '' is the whole tree."""
    assert dotted.get(TREE, path) == expected


@pytest.mark.parametrize("path", ["b", "opt.momentum", "a.b", "opt.inner.x.y"])
def test_get_missing_raises_or_defaults(path):
    """A missing part raises KeyError naming the path, or gives the default."""
    with pytest.raises(KeyError) as info:
        dotted.get(TREE, path)
    assert info.value.args[0] == path
    assert dotted.get(TREE, path, "dflt") == "dflt"
    assert dotted.has(TREE, path) is False


def test_set_creates_and_replaces_intermediates():
    """set_() creates missing dicts and replaces a non-dict met on the way."""
    tree = {"a": 1}
    dotted.set_(tree, "b.c.d", 2)
    dotted.set_(tree, "a.x", 3)
    assert tree == {"a": {"x": 3}, "b": {"c": {"d": 2}}}


def test_leaves_and_all_paths():
    """leaves() yields values and empty dicts; all_paths() also the inner nodes."""
    assert list(dotted.leaves(TREE)) == [("a", 1), ("opt.lr", 0.1), ("opt.inner.x", [1, 2]),
                                         ("empty", {})]
    assert list(dotted.all_paths(TREE)) == ["a", "opt", "opt.lr", "opt.inner", "opt.inner.x",
                                            "empty"]


@pytest.mark.parametrize("flat, tree", [
    ({"a.b": 1, "c": 2}, {"a": {"b": 1}, "c": 2}),
    ({"a.b.c.d": 1}, {"a": {"b": {"c": {"d": 1}}}}),
    ({"a": {"b.c": 1}, "a.d": 2}, {"a": {"b": {"c": 1}, "d": 2}}),
    ({"a": {}}, {"a": {}}),
])
def test_unflatten(flat, tree):
    """Dotted keys (also inside dict values) become nested dicts."""
    assert dotted.unflatten(flat) == tree


def test_deep_update_keeps_siblings_and_copies():
    """deep_update() merges recursively, keeps siblings and does not share update values."""
    base = {"opt": {"lr": 0.1, "mom": 0.9}, "x": 1}
    layers = [1, 2]
    dotted.deep_update(base, {"opt": {"lr": 0.5}, "layers": layers})
    assert base == {"opt": {"lr": 0.5, "mom": 0.9}, "x": 1, "layers": [1, 2]}
    layers.append(3)
    assert base["layers"] == [1, 2]


def test_deep_copy_copies_containers_only():
    """deep_copy() copies dicts and lists; other objects are shared."""
    obj = object()
    value = {"a": [{"b": obj}]}
    copy = dotted.deep_copy(value)
    assert copy == value and copy["a"] is not value["a"] and copy["a"][0]["b"] is obj
