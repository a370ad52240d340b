"""Turning captured terminal output into the text a terminal shows: ``\\r`` and ``\\b`` applied.

A progress bar redraws its line with ``\\r`` thousands of times; a run should record its final
state, not every frame.  Semantics (the ones a terminal and Sacred use):

- ``\\n`` ends the line; ``\\r`` moves the cursor to the start of the line; ``\\b`` moves it one
  left (never before the start); other characters *overwrite* at the cursor and move it right.
  So ``"abc\\rX\\n"`` shows ``"Xbc"`` and ``"\\r\\n"`` is a plain line end.
- Other control characters and ANSI escape sequences are kept as they are.

The filter protocol (:class:`OutputFilter`) is incremental, so a run never re-processes the whole
output at each heartbeat: ``feed(text)`` returns only the lines completed so far, ``pending`` is
how the unfinished last line looks now, ``flush()`` ends it.  Sacred-style filters, plain
callables on the whole text (``ex.captured_out_filter = apply_backspaces_and_linefeeds``), are
accepted too: :func:`make_filter` wraps them in :class:`WholeTextFilter`, which re-applies them
to the accumulated text exactly as Sacred does, and recognises our own
:func:`apply_backspaces_and_linefeeds` to use the incremental :class:`LineFilter` instead.
"""
from __future__ import annotations

import re
from typing import Callable, Protocol, Union, runtime_checkable

_CONTROL = re.compile(r"[^\r\x08]+|\r|\x08")  # \x08 is \b (backspace)


@runtime_checkable
class OutputFilter(Protocol):
    """An incremental output filter; one instance serves one capture."""

    def feed(self, text: str) -> str:
        """Take more raw text; return the output that is final now (usually completed lines)."""

    def flush(self) -> str:
        """End of output: return what is still pending; the filter starts afresh afterwards."""

    @property
    def pending(self) -> str:
        """How the not yet final part looks now (a progress bar's current state)."""


class LineFilter:
    """Applies ``\\r`` and ``\\b`` line by line, keeping only one copy of the unfinished line."""

    __slots__ = ("_line", "_cursor")

    def __init__(self) -> None:
        self._line = ""    # the unfinished line, control characters already applied
        self._cursor = 0   # where the next character goes in it

    @property
    def pending(self) -> str:
        """The unfinished line as a terminal shows it now."""
        return self._line

    def feed(self, text: str) -> str:
        """Return the completed lines of ``text`` (through its last ``\\n``), filtered."""
        if "\r" not in text and "\b" not in text and self._cursor == len(self._line):
            # Fast path for ordinary output: nothing to overwrite.
            cut = text.rfind("\n") + 1
            if not cut:
                self._line += text
                self._cursor = len(self._line)
                return ""
            done = self._line + text[:cut]
            self._line = text[cut:]
            self._cursor = len(self._line)
            return done
        parts = text.split("\n")
        done = []
        for part in parts[:-1]:
            self._apply(part)
            done.append(self._line)
            self._line, self._cursor = "", 0
        self._apply(parts[-1])
        if not done:
            return ""
        done.append("")  # the "\n" after the last completed line
        return "\n".join(done)

    def flush(self) -> str:
        """Return the unfinished line as shown and forget it."""
        line = self._line
        self._line, self._cursor = "", 0
        return line

    def state_suffix(self) -> str:
        """The unfinished line plus the control characters that put the cursor back in place.

        Appending more raw text to this gives the same result as appending it to the raw
        unfinished line, which makes :func:`apply_backspaces_and_linefeeds` composable.
        """
        line, cursor = self._line, self._cursor
        if cursor == len(line):
            return line
        if cursor == 0:
            return line + "\r"
        return line + "\b" * (len(line) - cursor)

    def _apply(self, segment: str) -> None:
        """Apply one piece of a line (no ``\\n`` inside) at the cursor."""
        line, cursor = self._line, self._cursor
        for match in _CONTROL.finditer(segment):
            token = match.group()
            if token == "\r":
                cursor = 0
            elif token == "\b":
                if cursor:
                    cursor -= 1
            else:
                end = cursor + len(token)
                line = line[:cursor] + token + line[end:]
                cursor = end
        self._line, self._cursor = line, cursor


class RawFilter:
    """No filtering (Sacred's ``captured_out_filter = None``): completed lines as they came."""

    __slots__ = ("_rest",)

    def __init__(self) -> None:
        self._rest = ""

    @property
    def pending(self) -> str:
        """The text after the last line end."""
        return self._rest

    def feed(self, text: str) -> str:
        """Return the raw text up to its last ``\\n``."""
        text = self._rest + text
        cut = text.rfind("\n") + 1
        self._rest = text[cut:]
        return text[:cut]

    def flush(self) -> str:
        """Return the rest and forget it."""
        rest, self._rest = self._rest, ""
        return rest


class WholeTextFilter:
    """Adapts a Sacred-style filter ``func(whole_text) -> text`` to the incremental protocol.

    As in Sacred, the kept value is ``func(previous_value + new_raw_text)``.  ``feed`` returns
    what was added to the value up to its last ``\\n``; if ``func`` rewrites text it already
    returned, that change is visible only in the whole value (``returned + pending``).
    """

    __slots__ = ("func", "_value", "_returned")

    def __init__(self, func: Callable[[str], str]) -> None:
        self.func = func
        self._value = ""
        self._returned = 0

    @property
    def pending(self) -> str:
        """The value after what ``feed`` has returned."""
        return self._value[self._returned:]

    def feed(self, text: str) -> str:
        """Re-apply ``func`` to the whole text; return the newly completed part."""
        if not text:
            return ""
        self._value = value = self.func(self._value + text)
        self._returned = start = min(self._returned, len(value))
        cut = value.rfind("\n", start) + 1
        if cut <= start:
            return ""
        self._returned = cut
        return value[start:cut]

    def flush(self) -> str:
        """Return the rest of the value and start afresh."""
        rest = self._value[self._returned:]
        self._value, self._returned = "", 0
        return rest


FilterSpec = Union[OutputFilter, Callable[[str], str], type, None]


def apply_backspaces_and_linefeeds(text: str) -> str:
    """Interpret ``\\r`` and ``\\b`` in a whole text like a terminal (Sacred's function).

    An unfinished last line keeps the cursor position as trailing ``\\r`` or ``\\b`` characters,
    so ``f(f(a) + b) == f(a + b)``: applying it again to the result plus new output is the same
    as applying it to all the raw output, which is how Sacred uses it at every heartbeat.
    """
    line_filter = LineFilter()
    return line_filter.feed(text) + line_filter.state_suffix()


def make_filter(spec: FilterSpec = apply_backspaces_and_linefeeds) -> OutputFilter:
    """A fresh incremental filter for ``spec``.

    ``spec`` may be :func:`apply_backspaces_and_linefeeds` (the default, made incremental),
    ``None`` (raw output), an :class:`OutputFilter` class or instance, or any callable on the
    whole text (Sacred's ``captured_out_filter``).
    """
    if spec is apply_backspaces_and_linefeeds:
        return LineFilter()
    if spec is None:
        return RawFilter()
    if isinstance(spec, type):
        return spec()
    if isinstance(spec, OutputFilter):
        return spec
    if callable(spec):
        return WholeTextFilter(spec)
    raise TypeError(
        f"captured_out_filter must be a callable taking the whole output text, an object with "
        f"feed()/flush()/pending, or None; got {spec!r}"
    )
