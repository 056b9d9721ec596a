"""The one-pass put paths give exactly what the general checks give.

``_validate.put_mutations`` has a fast loop for plain dicts of bytes; these
tests compare it with ``put_data`` (the general path) on arbitrary input,
results and errors alike, and check the batch send shortcut taken when no
whole-row delete is buffered.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from txhbase import _validate, errors
from txhbase.batch import BatchError, WholeRowDelete
from txhbase.protocol.idl import hbase

from tests.client.fakes import FakeConnection, result_of

class _Sub(bytes):
    """A bytes subclass: not the fast path's plain bytes."""


_names = st.one_of(
    st.binary(max_size=6),
    st.sampled_from([b"cf:a", b"cf:", b":q", b":", b"cf", b"", b"x:y:z"]),
    st.text(max_size=4),
    st.builds(memoryview, st.binary(max_size=4)),
    st.builds(_Sub, st.sampled_from([b"cf:a", b"cf", b":q"])),
    st.integers(0, 3),
)
_values = st.one_of(st.binary(max_size=4), st.text(max_size=2),
                    st.builds(bytearray, st.binary(max_size=3)), st.none(), st.integers(0, 2))


def _outcome(func, *args):
    try:
        return "ok", func(*args)
    except (TypeError, ValueError) as exc:
        return type(exc), str(exc)


def _general(data, wal):
    return [(False, c, v, wal) for c, v in _validate.put_data(data)]


def _fast(data, wal):
    return [(m.isDelete, m.column, m.value, m.writeToWAL)
            for m in _validate.put_mutations(data, wal, hbase.Mutation)]


@settings(max_examples=300)
@given(st.dictionaries(_names, _values, max_size=5), st.booleans())
def test_put_mutations_matches_put_data(data, wal):
    assert _outcome(_fast, data, wal) == _outcome(_general, data, wal)


@pytest.mark.parametrize("data", [
    {b"cf:a": b"1", b":q": b"2"}, {b":": b"1"}, {b"cf": b"1"}, {b"": b"1"},
    {b"cf:a": "text"}, {b"cf:a": None}, {"cf:a": b"1", b"cf:b": bytearray(b"2")},
    {b"cf:a": b"1", 7: b"2"}, {_Sub(b"cf:a"): b"1"}, {}, {b"cf:": b""},
])
def test_put_mutations_edge_cases_match_put_data(data):
    assert _outcome(_fast, data, True) == _outcome(_general, data, True)


@pytest.mark.parametrize("data", [None, [(b"cf:a", b"1")], b"cf:a", 3])
def test_put_mutations_rejects_non_mappings_like_put_data(data):
    assert _outcome(_fast, data, True) == _outcome(_general, data, True)
    assert _outcome(_fast, data, True)[0] is TypeError


def test_put_mutations_takes_other_mappings():
    from types import MappingProxyType
    data = MappingProxyType({"cf:a": bytearray(b"1")})
    assert _fast(data, False) == [(False, b"cf:a", b"1", False)]


def test_batch_without_row_delete_sends_buffered_lists():
    conn = FakeConnection()
    b = conn.table(b"t").batch()
    b.put(b"r", {b"cf:a": b"1"})
    b.delete(b"r", [b"cf:b"])
    d = b.send()
    c = conn.answer("mutateRows")  # no getColumnDescriptors first
    assert [(m.isDelete, m.column) for m in c.args[1][0].mutations] == [
        (False, b"cf:a"), (True, b"cf:b")]
    assert result_of(d) is None


def test_requeued_row_delete_is_expanded_again():
    conn = FakeConnection()
    b = conn.table(b"t").batch()
    b.put(b"r", {b"cf:a": b"1"})
    b.delete(b"r")
    d = b.send()
    conn.fail("getColumnDescriptors", errors.HBaseIOError("no table", False))
    with pytest.raises(BatchError) as info:
        result_of(d)
    b.requeue(info.value)
    d = b.send()
    conn.answer("getColumnDescriptors", {b"cf:": None, b"x:": None})
    c = conn.answer("mutateRows")
    muts = c.args[1][0].mutations
    assert not any(isinstance(m, WholeRowDelete) for m in muts)
    assert [(m.isDelete, m.column) for m in muts] == [
        (False, b"cf:a"), (True, b"cf"), (True, b"x")]
    assert result_of(d) is None
