"""Tests for expt.updates: the words after ``with``."""
import pytest

from expt.errors import UserInputError
from expt.updates import UpdateSyntaxError, parse_value, parse_with_words


@pytest.mark.parametrize("text, value", [
    ("1", 1), ("-2", -2), ("1e-3", 0.001), ("0.5", 0.5), ("True", True), ("False", False),
    ("None", None), ("[64,32]", [64, 32]), ("(1, 2)", (1, 2)), ("{'a': 1}", {"a": 1}),
    ('{"a": [1, {"b": 2}]}', {"a": [1, {"b": 2}]}), ("'quoted'", "quoted"), ('"dq"', "dq"),
    ("foo", "foo"), ("adam_w", "adam_w"), ("true", "true"), ("1+", "1+"), ("a=b", "a=b"),
    ("", ""), ("print(1)", "print(1)"), ("__import__('os')", "__import__('os')"),
])
def test_parse_value(text, value):
    """Python literals are parsed safely; anything else stays text (never evaluated)."""
    parsed = parse_value(text)
    assert parsed == value and type(parsed) is type(value)


def test_parse_with_words_splits_updates_and_named_configs():
    """key=value words are updates; other words are named configs or files, in order."""
    updates, named = parse_with_words(
        ["lr=0.1", "model.depth=3", "big", "cfg/fast.yaml", "name=foo", "x = 2 ",
         "deep.a.b.c=[1]", "expr=a=b", "small"])
    assert updates == {"lr": 0.1, "model.depth": 3, "name": "foo", "x": 2,
                       "deep.a.b.c": [1], "expr": "a=b"}
    assert named == ["big", "cfg/fast.yaml", "small"]


def test_later_update_of_same_key_wins():
    """Repeating a key keeps the last value."""
    assert parse_with_words(["a=1", "a=2"]) == ({"a": 2}, [])


@pytest.mark.parametrize("word, reason", [
    ("=1", "'' is not a valid config key"),
    ("a b=1", "'a b' is not a valid config key"),
    ("1a=2", "'1a' is not a valid config key"),
    ("a.=1", "'a.' is not a valid config key"),
    ("a..b=1", "'a..b' is not a valid config key"),
    ("a-b=1", "'a-b' is not a valid config key"),
    ("a=", "no value after 'a='"),
    ("a=  ", "no value after 'a='"),
    ("", "it is empty"),
    ("   ", "it is empty"),
])
def test_bad_words_are_clear_errors(word, reason):
    """Malformed words raise UpdateSyntaxError naming the word, the reason and the syntax."""
    with pytest.raises(UpdateSyntaxError) as info:
        parse_with_words([word])
    assert info.value.word == word and info.value.reason == reason
    assert str(info.value).startswith(f"Cannot read the update '{word}': {reason}. "
                                      "Updates look like key=value")
    assert isinstance(info.value, UserInputError) and isinstance(info.value, ValueError)
