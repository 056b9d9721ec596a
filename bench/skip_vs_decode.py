"""How much the buffered transport's message skipper costs.

    python bench/skip_vs_decode.py

Captures a real 1000-row ``scannerGetList`` reply and a 1-row
``getRowWithColumns`` reply from the embedded server, then times, per reply:
txhbase's ``BinarySkipper.scan`` (finds the message end), pure Python and
with the compiled walk (``_skipaccel``, when built), thriftpy2's Cython
``skip(STRUCT)`` (the same job in C) and the Cython decode itself. Evidence
for bench/README.md's hot spot 1; not part of compare.py.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.dirname(HERE))

import happybase  # noqa: E402
from thriftpy2.protocol.cybin import TCyBinaryProtocol  # noqa: E402
from thriftpy2.thrift import TType  # noqa: E402
from thriftpy2.transport.memory import TCyMemoryBuffer  # noqa: E402

import cmp_raw  # noqa: E402
from cmp_common import ROW_DATA, TABLE, scan_key  # noqa: E402
from tests.conftest import start_embedded_subprocess  # noqa: E402
from txhbase.protocol.idl import hbase  # noqa: E402
from txhbase.protocol.skipper import HAVE_ACCELERATOR, make_skipper  # noqa: E402


def capture() -> tuple:
    """(1000-row scannerGetList reply, 1-row getRowWithColumns reply) as sent."""
    proc, port = start_embedded_subprocess()
    try:
        conn = happybase.Connection("127.0.0.1", port)
        conn.create_table(TABLE, {"cf": dict(max_versions=1)})
        with conn.table(TABLE).batch(batch_size=10000) as b:
            for i in range(1000):
                b.put(scan_key(i), ROW_DATA)
        wire = cmp_raw.Wire("127.0.0.1", port, "buffered", "binary")
        H = hbase.Hbase
        _, opened = wire.call("scannerOpenWithStop", H.scannerOpenWithStop_args(
            TABLE, b"scan-", b"scan.", None, {}))
        many, _ = wire.call("scannerGetList", H.scannerGetList_args(opened.success, 1000))
        one, _ = wire.call("getRowWithColumns", H.getRowWithColumns_args(
            TABLE, scan_key(0), None, {}))
        wire.close()
        return many, one
    finally:
        proc.terminate()
        proc.wait(10)


def per_call(fn: Callable[[], Any], n: int) -> float:
    t0 = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - t0) / n * 1e6


def main() -> None:
    many, one = capture()
    H = hbase.Hbase
    for name, data, result_cls, n in (
            ("1000-row scannerGetList reply", many, H.scannerGetList_result, 50),
            ("1-row getRowWithColumns reply", one, H.getRowWithColumns_result, 20000)):
        sk = make_skipper("binary", 1 << 28, accelerate=False)
        fast = make_skipper("binary", 1 << 28) if HAVE_ACCELERATOR else None
        buf = bytearray(data)

        def python_skip() -> None:
            sk.reset()
            assert sk.scan(buf) == len(buf)

        def compiled_skip() -> None:
            assert fast is not None
            fast.reset()
            assert fast.scan(buf) == len(buf)

        def cython_skip() -> None:
            p = TCyBinaryProtocol(TCyMemoryBuffer(data))
            p.read_message_begin()
            p.skip(TType.STRUCT)

        def cython_decode() -> None:
            p = TCyBinaryProtocol(TCyMemoryBuffer(data))
            p.read_message_begin()
            p.read_struct(result_cls())

        compiled = f"{per_call(compiled_skip, n):.1f} us" if fast else "not built"
        print(f"{name} ({len(data):,} bytes): txhbase skipper {per_call(python_skip, n):.1f} us "
              f"(compiled walk {compiled}), "
              f"Cython skip {per_call(cython_skip, n):.1f} us, "
              f"Cython decode {per_call(cython_decode, n):.1f} us")


if __name__ == "__main__":
    main()
