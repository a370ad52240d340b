"""Tests for expt.tee_stream: TeeStream on real streams, chains of tees, detach."""
from __future__ import annotations

import io

import pytest

from expt.tee_stream import NullStream, TeeStream, final_fd, rebase


def make_tee(orig=None, target=None, isatty=False):
    """A tee on real in-memory streams and the list its record goes to."""
    record: list[str] = []
    orig = orig if orig is not None else io.StringIO()
    tee = TeeStream(orig, orig if target is None else target, record.append, isatty)
    return tee, orig, record


def test_write_records_and_forwards():
    """write() and writelines() reach the target and the record; write returns the count."""
    tee, orig, record = make_tee()
    assert tee.write("héllo\n") == 6
    tee.writelines(["a", "b\n"])
    print("via print", file=tee)
    assert orig.getvalue() == "héllo\nab\nvia print\n"
    assert "".join(record) == orig.getvalue()


@pytest.mark.parametrize("value", [b"bytes", 3, None])
def test_write_of_non_text_is_a_type_error(value):
    """Like a real text stream, only str is accepted, and nothing is recorded."""
    tee, orig, record = make_tee()
    with pytest.raises(TypeError, match="must be str"):
        tee.write(value)
    assert record == [] and orig.getvalue() == ""


def test_answers_like_the_replaced_stream(tmp_path):
    """fileno, encoding, errors and other attributes come from orig; isatty is the given one."""
    with open(tmp_path / "f", "w", encoding="latin-1", errors="replace") as f:
        tee, _, _ = make_tee(orig=f, isatty=True)
        assert tee.fileno() == f.fileno()
        assert (tee.encoding, tee.errors, tee.mode) == ("latin-1", "replace", "w")
        assert tee.isatty() and tee.writable() and not tee.readable() and not tee.seekable()
        assert not tee.closed


def test_without_a_stream_writes_go_nowhere():
    """orig None (pythonw): writes are recorded only; fileno is unsupported; utf-8 assumed."""
    record: list[str] = []
    tee = TeeStream(None, None, record.append, False)
    assert isinstance(tee._target, NullStream)
    assert tee.write("lost\n") == 5 and record == ["lost\n"]
    with pytest.raises(io.UnsupportedOperation):
        tee.fileno()
    with pytest.raises(AttributeError):
        tee.name
    assert (tee.encoding, tee.errors) == ("utf-8", "strict")


def test_buffer_writes_are_recorded_decoded():
    """Binary writes go to the target's buffer; a character split across writes is whole."""
    orig = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    tee, _, record = make_tee(orig=orig)
    data = "é€\n".encode()
    for i in range(len(data)):
        tee.buffer.write(data[i:i + 1])
    tee.buffer.flush()
    assert orig.buffer.getvalue() == data
    assert "".join(record) == "é€\n"


def test_buffer_missing_when_target_has_none():
    """A target without .buffer (StringIO) gives AttributeError, as the stream itself would."""
    tee, _, _ = make_tee()
    with pytest.raises(AttributeError):
        tee.buffer


def test_detach_writes_straight_through_and_records_nothing():
    """After detach() a kept reference writes to the replaced stream only."""
    orig, other = io.StringIO(), io.StringIO()
    tee, _, record = make_tee(orig=orig, target=other)
    tee.write("during\n")
    tee.detach()
    tee.write("after\n")
    assert (other.getvalue(), orig.getvalue(), record) == ("during\n", "after\n", ["during\n"])


def test_final_fd_looks_through_tees(tmp_path):
    """final_fd follows a chain of tees to the file; streams without a descriptor give None."""
    with open(tmp_path / "f", "w") as f:
        inner, _, _ = make_tee(orig=f)
        outer, _, _ = make_tee(orig=inner)
        assert final_fd(outer) == f.fileno()
    assert final_fd(make_tee()[0]) is None
    assert final_fd(None) is None


def test_rebase_keeps_recording_into_outer_captures_until_they_end():
    """A rebased chain records into each outer tee and writes to the new writer instead."""
    terminal, writer = io.StringIO(), io.StringIO()
    outer, _, outer_record = make_tee(orig=terminal)
    copy = rebase(outer, writer)
    assert isinstance(copy, TeeStream) and copy is not outer
    copy.write("one\n")
    outer.detach()  # the outer capture ended: its copies stop recording too
    copy.write("two\n")
    assert (writer.getvalue(), terminal.getvalue()) == ("one\ntwo\n", "")
    assert outer_record == ["one\n"]
    assert rebase(terminal, writer) is writer
