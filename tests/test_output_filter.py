"""Tests for expt.output_filter: terminal-style \\r and \\b handling, whole and incremental."""
from __future__ import annotations

import io

import pytest

try:
    from hypothesis import given, settings, strategies as st
except ImportError:  # property tests need the dev extra (hypothesis); the tables still run
    st = None

from expt.output_filter import (
    LineFilter, OutputFilter, RawFilter, WholeTextFilter, apply_backspaces_and_linefeeds,
    make_filter,
)


def terminal(text: str) -> str:
    """Independent oracle: a character-by-character model of what a terminal shows."""
    lines, line, cursor = [], [], 0
    for ch in text:
        if ch == "\n":
            lines.append("".join(line))
            line, cursor = [], 0
        elif ch == "\r":
            cursor = 0
        elif ch == "\b":
            cursor = max(0, cursor - 1)
        else:
            if cursor < len(line):
                line[cursor] = ch
            else:
                line.append(ch)
            cursor += 1
    return "".join(s + "\n" for s in lines) + "".join(line)


def render(text: str) -> str:
    """Whole text through a LineFilter, unfinished line included."""
    f = LineFilter()
    return f.feed(text) + f.flush()


WHOLE_TEXT_CASES = [
    # (raw, apply_backspaces_and_linefeeds(raw))
    ("", ""),
    ("abc\n", "abc\n"),
    ("abc\rX\n", "Xbc\n"),
    ("abc\r\n", "abc\n"),
    ("a\r\nb\r\n", "a\nb\n"),
    ("ab\bc\n", "ac\n"),
    ("\b\bab\n", "ab\n"),
    ("abc\b\b\bxy\n", "xyc\n"),
    ("one\ntwo\rTWO\nthree", "one\nTWO\nthree"),
    ("abc\r", "abc\r"),           # unfinished line keeps its cursor position (Sacred does too)
    ("ab\b", "ab\b"),
    ("abc\rx", "xbc\b\b"),
    ("\x1b[31mred\x1b[0m\tx\n", "\x1b[31mred\x1b[0m\tx\n"),   # escapes and tabs are kept
    ("a\r\r\rb\n", "b\n"),
    ("\n\n", "\n\n"),
]


@pytest.mark.parametrize("raw, expected", WHOLE_TEXT_CASES)
def test_apply_backspaces_and_linefeeds_table(raw, expected):
    """Whole-text filtering gives what a terminal shows, cursor kept on an unfinished line."""
    assert apply_backspaces_and_linefeeds(raw) == expected


RENDER_CASES = [
    # (raw, final rendering after flush)
    ("abc\r", "abc"),
    ("ab\b", "ab"),
    ("abc\rx", "xbc"),
    ("50%\r100%", "100%"),
    ("x\r\n", "x\n"),
]


@pytest.mark.parametrize("raw, expected", RENDER_CASES)
def test_line_filter_flush_table(raw, expected):
    """feed() followed by flush() leaves no control characters on the last line."""
    assert render(raw) == expected


FEED_CASES = [
    # (chunks, what each feed returns, pending after the last chunk)
    (["ab", "c\nd", "e\n"], ["", "abc\n", "de\n"], ""),
    (["abc\r", "\n"], ["", "abc\n"], ""),
    (["abc\r", "X"], ["", ""], "Xbc"),
    (["a\nb\nc"], ["a\nb\n"], "c"),
    (["x\b", "y\n"], ["", "y\n"], ""),
]


@pytest.mark.parametrize("chunks, outputs, pending", FEED_CASES)
def test_line_filter_feed_returns_completed_lines_only(chunks, outputs, pending):
    """Each feed returns only lines completed so far; the rest stays pending, processed."""
    f = LineFilter()
    assert [f.feed(chunk) for chunk in chunks] == outputs
    assert f.pending == pending


def bar(i: int, total: int = 10_000) -> str:
    """A tqdm-like progress line."""
    filled = 20 * i // total
    return f"{100 * i // total:3d}%|{'#' * filled}{' ' * (20 - filled)}| {i}/{total}"


def test_progress_bar_of_10000_steps_leaves_final_state():
    """A bar redrawn 10,000 times records one line: its final state."""
    raw = "start\n" + "".join("\r" + bar(i) for i in range(10_001)) + "\ndone\n"
    assert apply_backspaces_and_linefeeds(raw) == f"start\n{bar(10_000)}\ndone\n"


def test_progress_bar_fed_step_by_step_keeps_one_bar_pending():
    """Fed one redraw at a time, the pending line never grows beyond one bar."""
    f = LineFilter()
    longest = 0
    for i in range(10_001):
        assert f.feed("\r" + bar(i)) == ""
        longest = max(longest, len(f.pending))
    assert longest == len(bar(10_000))
    assert f.feed("\n") == bar(10_000) + "\n"


def test_real_tqdm_output_is_reduced_to_final_bar():
    """Real tqdm output (10,000 redraws) filters to a single final bar line."""
    tqdm = pytest.importorskip("tqdm").tqdm
    out = io.StringIO()
    for _ in tqdm(range(10_000), file=out, mininterval=0, miniters=1, ascii=True):
        pass
    raw = out.getvalue()
    assert raw.count("\r") > 10_000
    shown = render(raw)
    assert shown.count("\n") == 1 and shown.endswith("\n")
    assert shown.startswith("100%|##########| 10000/10000 [")
    assert "\r" not in shown


needs_hypothesis = pytest.mark.skipif(st is None, reason="hypothesis is not installed")
if st is None:  # keep the decorators below importable
    def given(**_):
        return lambda f: f

    def settings(**_):
        return lambda f: f

    text_st = None

    class st:  # noqa: N801
        integers = lists = staticmethod(lambda *a, **k: None)
else:
    text_st = st.text(alphabet=st.sampled_from(list("ab \n\r\b\x1b")), max_size=60)


@needs_hypothesis
@settings(max_examples=400, deadline=None)
@given(text=text_st, cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=8))
def test_incremental_feed_equals_whole_text(text, cuts):
    """Feeding text split at arbitrary chunk boundaries gives the whole-text result."""
    f = LineFilter()
    pieces, start = [], 0
    for cut in sorted(cuts) + [len(text)]:
        pieces.append(f.feed(text[start:max(start, cut)]))
        start = max(start, cut)
    assert "".join(pieces) + f.flush() == render(text) == terminal(text)


@needs_hypothesis
@settings(max_examples=400, deadline=None)
@given(a=text_st, b=text_st)
def test_whole_text_function_composes_like_sacred_uses_it(a, b):
    """f(f(a) + b) == f(a + b): re-filtering the kept value plus new output loses nothing."""
    f = apply_backspaces_and_linefeeds
    assert f(f(a) + b) == f(a + b)
    assert f(f(a)) == f(a)


@needs_hypothesis
@settings(max_examples=200, deadline=None)
@given(text=text_st)
def test_whole_text_matches_terminal_model(text):
    """The completed lines of the whole-text result match the oracle."""
    done = text[: text.rfind("\n") + 1]
    assert apply_backspaces_and_linefeeds(done) == terminal(done)


def test_raw_filter_passes_text_unchanged():
    """RawFilter (captured_out_filter=None) returns completed lines as they came."""
    f = RawFilter()
    assert f.feed("a\rb\nc") == "a\rb\n"
    assert f.pending == "c"
    assert f.flush() == "c"


def test_whole_text_filter_applies_user_function_sacred_style():
    """A user function on the whole text is re-applied to the kept value plus new text."""
    calls = []

    def upper(text: str) -> str:
        calls.append(text)
        return text.upper()

    f = WholeTextFilter(upper)
    assert f.feed("ab") == ""
    assert f.feed("c\nde") == "ABC\n"
    assert calls == ["ab", "ABc\nde"]
    assert f.pending == "DE"
    assert f.flush() == "DE"


def test_whole_text_filter_with_our_function_matches_line_filter():
    """Sacred-style use of apply_backspaces_and_linefeeds gives the incremental result."""
    raw = ["x\ry", "z\n", "".join("\r" + bar(i, 100) for i in range(101)), "\nend\b"]
    whole, inc = WholeTextFilter(apply_backspaces_and_linefeeds), LineFilter()
    assert [whole.feed(r) for r in raw] == [inc.feed(r) for r in raw]


MAKE_FILTER_CASES = [
    (apply_backspaces_and_linefeeds, LineFilter),
    (None, RawFilter),
    (LineFilter, LineFilter),
    (str.upper, WholeTextFilter),
    (lambda text: text, WholeTextFilter),
]


@pytest.mark.parametrize("spec, kind", MAKE_FILTER_CASES)
def test_make_filter_table(spec, kind):
    """make_filter turns each kind of spec into an incremental filter of the right class."""
    made = make_filter(spec)
    assert type(made) is kind
    assert isinstance(made, OutputFilter)


def test_make_filter_keeps_filter_instances():
    """An OutputFilter instance is used as it is."""
    instance = RawFilter()
    assert make_filter(instance) is instance


def test_make_filter_rejects_non_callables():
    """A spec that is neither callable nor a filter is a clear TypeError."""
    with pytest.raises(TypeError, match="captured_out_filter must be a callable.*got 42"):
        make_filter(42)
