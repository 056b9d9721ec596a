"""thrift/Hbase.thrift: shipped with the package, and wire-identical to HBase's.

Wire identity is checked against independent copies of the IDL: the one
bundled in the happybase PyPI package (always), and the one inside the
Maven-resolved hbase-thrift jar (when the real-HBase harness has fetched it).
For every struct both define, each field id has the same name and the same
wire type (nested container/struct types included); every method of the other
IDL exists here with identical argument and result specs. Every place where
we deliberately differ is listed below with the reason.
"""
from __future__ import annotations

import filecmp
import os
import tempfile
import zipfile
from typing import Any, Dict, Optional

import pytest
import thriftpy2
from thriftpy2.thrift import TType

from txhbase.protocol.idl import IDL_PATH, hbase

REPO_IDL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "thrift", "Hbase.thrift")

#: Methods the happybase IDL (written for HBase 0.9x) has and HBase 2.6 no
#: longer serves.
HAPPYBASE_ONLY_METHODS = {
    "getRowOrBefore": "removed from HBase's Thrift1 service in 2.0; a 2.6 gateway "
                      "answers it with TApplicationException UNKNOWN_METHOD",
}

#: Struct fields the happybase IDL lacks, (struct, field id) -> reason. They are
#: additions in later HBase versions; old peers skip unknown fields, so adding
#: them keeps the wire compatible.
HAPPYBASE_MISSING_FIELDS: Dict[tuple, str] = {
    ("IOError", 2): "canRetry: HBase 2.x sets it false for DoNotRetryIOExceptions "
                    "(table not found/disabled...); happybase's copy predates it",
    ("TScan", 10): "cacheBlocks: added to TScan in HBase 2.x after happybase's copy",
}


def load(path: str, name: str) -> Any:
    return thriftpy2.load(path, module_name=name)


def wire_type(spec: Any) -> Any:
    """A thriftpy2 type spec reduced to what goes on the wire.

    thriftpy2 distinguishes ``binary`` (BINARY) from ``string`` (STRING) only
    for decoding; both are Thrift type 11 on the wire. Structs are compared by
    their own field specs elsewhere, so here only by name.
    """
    if isinstance(spec, tuple):
        head, rest = spec[0], spec[1:]
        if head in (TType.LIST, TType.SET):
            return (head, wire_type(rest[0]))
        if head == TType.MAP:
            k, v = rest[0]
            return (head, wire_type(k), wire_type(v))
        if head == TType.STRUCT:
            return (head, rest[0].__name__)
        return wire_type(head)
    if isinstance(spec, int):
        return TType.STRING if spec == TType.BINARY else spec
    if isinstance(spec, type):
        return (TType.STRUCT, spec.__name__)
    raise AssertionError(f"unexpected spec {spec!r}")


def field_types(cls: Any) -> Dict[int, tuple]:
    """{field id: (name, wire type)} from a thriftpy2 struct's thrift_spec."""
    out = {}
    for fid, spec in cls.thrift_spec.items():
        ttype, name = spec[0], spec[1]
        if ttype in (TType.LIST, TType.SET, TType.MAP, TType.STRUCT):
            out[fid] = (name, wire_type((ttype, spec[2])))
        else:
            out[fid] = (name, wire_type(ttype))
    return out


def structs(module: Any) -> Dict[str, Any]:
    return {name: getattr(module, name) for name in dir(module)
            if hasattr(getattr(module, name), "thrift_spec")
            and name != "Hbase" and not name.startswith("_")}


def compare(ours: Any, theirs: Any, missing_methods: Dict[str, str],
            missing_fields: Dict[tuple, str]) -> list:
    """Every wire difference between two loaded IDLs not explained by the
    allow-lists (an empty list means wire-identical)."""
    problems = []
    our_structs, their_structs = structs(ours), structs(theirs)
    for name, cls in their_structs.items():
        if name not in our_structs:
            problems.append(f"struct {name} missing here")
            continue
        a, b = field_types(our_structs[name]), field_types(cls)
        for fid, (fname, ftype) in b.items():
            if fid not in a:
                problems.append(f"{name}.{fid} ({fname}) missing here")
            elif a[fid] != (fname, ftype):
                problems.append(f"{name}.{fid}: ours {a[fid]} theirs {(fname, ftype)}")
        for fid in a.keys() - b.keys():
            if (name, fid) not in missing_fields:
                problems.append(f"{name}.{fid} ({a[fid][0]}) not in their IDL and not allow-listed")
    for method in theirs.Hbase.thrift_services:
        if method not in ours.Hbase.thrift_services:
            if method not in missing_methods:
                problems.append(f"method {method} missing here")
            continue
        for suffix in ("_args", "_result"):
            a = field_types(getattr(ours.Hbase, method + suffix))
            b = field_types(getattr(theirs.Hbase, method + suffix))
            if a != b:
                problems.append(f"{method}{suffix}: ours {a} theirs {b}")
    for name in dir(theirs):
        enum = getattr(theirs, name)
        if hasattr(enum, "_VALUES_TO_NAMES") and not hasattr(enum, "thrift_spec"):
            mine = getattr(ours, name, None)
            if mine is None or getattr(mine, "_VALUES_TO_NAMES", None) != enum._VALUES_TO_NAMES:
                problems.append(f"enum {name}: ours {getattr(mine, '_VALUES_TO_NAMES', None)} "
                                f"theirs {enum._VALUES_TO_NAMES}")
    for method in missing_methods:
        if method in ours.Hbase.thrift_services:
            problems.append(f"allow-listed method {method} exists here after all")
    return problems


def test_packaged_copy_is_identical():
    assert filecmp.cmp(IDL_PATH, REPO_IDL, shallow=False), \
        "txhbase/protocol/Hbase.thrift differs from thrift/Hbase.thrift: copy it over"


def test_loaded_module_is_the_packaged_copy():
    assert os.path.samefile(hbase.__thrift_file__, IDL_PATH)
    assert os.path.dirname(IDL_PATH).endswith(os.path.join("txhbase", "protocol"))


def happybase_idl() -> Any:
    happybase = pytest.importorskip("happybase")
    path = os.path.join(os.path.dirname(happybase.__file__), "Hbase.thrift")
    if not os.path.exists(path):
        pytest.skip(f"this happybase has no bundled Hbase.thrift ({path})")
    return load(path, "happybase_hbase_thrift")


def test_wire_identical_to_happybase_idl():
    theirs = happybase_idl()
    problems = compare(hbase, theirs, HAPPYBASE_ONLY_METHODS, HAPPYBASE_MISSING_FIELDS)
    assert problems == []


def test_happybase_allow_list_is_needed():
    """Each allow-listed difference really exists in happybase's copy."""
    theirs = happybase_idl()
    for method in HAPPYBASE_ONLY_METHODS:
        assert method in theirs.Hbase.thrift_services
        assert method not in hbase.Hbase.thrift_services
    for struct, fid in HAPPYBASE_MISSING_FIELDS:
        assert fid not in getattr(theirs, struct).thrift_spec
        assert fid in getattr(hbase, struct).thrift_spec


def test_every_happybase_call_encodes_identically():
    """Encode each method's empty args with both IDLs: same bytes."""
    from txhbase.protocol.codec import CALL, make_codec
    theirs = happybase_idl()
    for method in theirs.Hbase.thrift_services:
        if method in HAPPYBASE_ONLY_METHODS:
            continue
        for protocol in ("binary", "compact"):
            codec = make_codec(protocol)
            a = codec.encode(method, CALL, 1, getattr(hbase.Hbase, method + "_args")())
            b = codec.encode(method, CALL, 1, getattr(theirs.Hbase, method + "_args")())
            assert a == b, method


def hbase_jar_idl() -> Optional[str]:
    try:
        from tests.realhbase.harness import find_hbase_thrift_jar
    except ImportError as e:
        pytest.skip(f"real-HBase harness not available: {e}")
    jar = find_hbase_thrift_jar()
    if not jar:
        pytest.skip("hbase-thrift jar not resolved on this machine (run the real-HBase harness)")
    with zipfile.ZipFile(jar) as z:
        names = [n for n in z.namelist() if n.endswith("thrift/Hbase.thrift")]
        if not names:
            pytest.skip(f"{jar} holds no thrift/Hbase.thrift")
        out = os.path.join(tempfile.mkdtemp(), "Hbase.thrift")
        with open(out, "wb") as f:
            f.write(z.read(names[0]))
    return out


def test_wire_identical_to_hbase_jar_idl():
    path = hbase_jar_idl()
    theirs = load(path, "hbase_jar_thrift")
    assert compare(hbase, theirs, {}, {}) == []
    # The other direction too: nothing here that HBase 2.6 does not serve
    # (grant/revoke once crept in; 2.6's Thrift1 service lacks them).
    assert compare(theirs, hbase, {}, {}) == []
    assert set(theirs.Hbase.thrift_services) == set(hbase.Hbase.thrift_services)
