"""The Hbase service handler, called directly (no network), on a fake clock."""
from __future__ import annotations

import pytest
from thriftpy2.thrift import TApplicationException

from txhbase.protocol.idl import hbase
from txhbase.server import scanning as scanning_mod
from txhbase.server import store as store_mod
from txhbase.server.store import LATEST

from tests.server.helpers import T0, app_error_type, cd, delete, make_handler, put, rows_of

INTERNAL = TApplicationException.INTERNAL_ERROR
T = b"t1"


@pytest.fixture
def hf():
    h, ft = make_handler()
    h.createTable(T, [cd(b"cf", maxVersions=3), cd(b"cf2:", maxVersions=1)])
    return h, ft


# ---- tables ---------------------------------------------------------------

def test_every_idl_method_is_implemented():
    names = [n for n in dir(hbase.Hbase) if n.endswith("_args")]
    h, _ = make_handler()
    missing = [n[:-5] for n in names if not callable(getattr(h, n[:-5], None))]
    assert names and missing == []


def test_create_table_defaults_and_trailing_colon(hf):
    h, _ = hf
    descs = h.getColumnDescriptors(T)
    assert set(descs) == {b"cf:", b"cf2:"}
    d = descs[b"cf:"]
    assert (d.name, d.maxVersions, d.compression, d.inMemory, d.bloomFilterType,
            d.blockCacheEnabled, d.timeToLive) == (b"cf:", 3, "NONE", False, "NONE", False,
                                                   2147483647)
    assert descs[b"cf2:"].maxVersions == 1


def test_create_table_ttl_and_compression_are_kept():
    h, _ = make_handler()
    h.createTable(b"x", [cd(b"a", timeToLive=10, compression="gz", bloomFilterType="ROW")])
    d = h.getColumnDescriptors(b"x")[b"a:"]
    assert (d.timeToLive, d.compression, d.bloomFilterType) == (10, "GZ", "ROW")
    h.createTable(b"y", [cd(b"a", timeToLive=-1)])
    assert h.getColumnDescriptors(b"y")[b"a:"].timeToLive == 2147483647


def test_family_name_is_the_part_before_a_colon():
    h, _ = make_handler()
    h.createTable(b"x", [cd(b"fam:ignored", bloomFilterVectorSize=7)])
    d = h.getColumnDescriptors(b"x")
    assert list(d) == [b"fam:"] and d[b"fam:"].bloomFilterVectorSize == 0


def test_create_existing_table_is_already_exists(hf):
    h, _ = hf
    with pytest.raises(hbase.AlreadyExists):
        h.createTable(T, [cd(b"cf")])


@pytest.mark.parametrize("families", [
    [cd(b"")], [cd(b":")], [cd(b"a", compression="NOPE")], [cd(b"a", bloomFilterType="xx")],
    [cd(b"a"), cd(b"a:")], [cd(b"a", maxVersions=0)],
])
def test_create_table_bad_family_is_illegal_argument(families):
    h, _ = make_handler()
    with pytest.raises(hbase.IllegalArgument):
        h.createTable(b"bad", families)
    assert h.getTableNames() == []


def test_create_table_without_families_is_io_error():
    h, _ = make_handler()
    with pytest.raises(hbase.IOError) as ei:
        h.createTable(b"nofam", [])
    assert ei.value.canRetry is False


@pytest.mark.parametrize("name", [b"", b"a b", b"-x", b".x", b"\xff", b"ns-x:t"])
def test_invalid_table_name_is_internal_error(name):
    h, _ = make_handler()
    with pytest.raises(TApplicationException) as ei:
        h.createTable(name, [cd(b"cf")])
    assert app_error_type(ei) == INTERNAL
    with pytest.raises(TApplicationException):
        h.getRow(name, b"r")


def test_enable_disable_delete_lifecycle(hf):
    h, _ = hf
    assert h.isTableEnabled(T) is True
    with pytest.raises(hbase.IOError) as ei:
        h.enableTable(T)
    assert ei.value.canRetry is False and "TableNotDisabledException" in ei.value.message
    with pytest.raises(hbase.IOError) as ei:
        h.deleteTable(T)
    assert ei.value.canRetry is False
    h.disableTable(T)
    assert h.getTableNamesWithIsTableEnabled() == {T: False}
    with pytest.raises(hbase.IOError) as ei:
        h.disableTable(T)
    assert "TableNotEnabledException" in ei.value.message
    with pytest.raises(hbase.IOError) as ei:
        h.getRow(T, b"r")
    assert ei.value.canRetry is False
    with pytest.raises(hbase.IOError):
        h.mutateRow(T, b"r", [put(b"cf:a", b"1")])
    h.deleteTable(T)
    assert h.getTableNames() == []


@pytest.mark.parametrize("call", [
    lambda h: h.isTableEnabled(b"missing"), lambda h: h.enableTable(b"missing"),
    lambda h: h.disableTable(b"missing"),
    lambda h: h.getColumnDescriptors(b"missing"), lambda h: h.get(b"missing", b"r", b"cf:a"),
    lambda h: h.getRow(b"missing", b"r"), lambda h: h.scannerOpen(b"missing", b"", None),
    lambda h: h.mutateRow(b"missing", b"r", [put(b"cf:a", b"v")]),
    lambda h: h.atomicIncrement(b"missing", b"r", b"cf:a", 1),
    lambda h: h.compact(b"missing"), lambda h: h.majorCompact(b"missing"),
])
def test_missing_table_is_io_error_no_retry(call):
    h, _ = make_handler()
    with pytest.raises(hbase.IOError) as ei:
        call(h)
    assert ei.value.canRetry is False
    assert "TableNotFoundException" in ei.value.message


def test_delete_missing_table_is_a_plain_io_error():
    h, _ = make_handler()
    with pytest.raises(hbase.IOError) as ei:
        h.deleteTable(b"missing")
    assert ei.value.canRetry is True and "table does not exist" in ei.value.message


def test_table_regions_missing_and_split(hf):
    h, _ = hf
    assert h.getTableRegions(b"missing") == []
    [r] = h.getTableRegions(T)
    assert (r.startKey, r.endKey, r.version) == (b"", b"", 1)
    assert r.name.startswith(T + b",,") and r.name.endswith(b".")
    h.store.split_table(T, [b"m", b"f"])
    regions = h.getTableRegions(T)
    assert [(r.startKey, r.endKey) for r in regions] == [(b"", b"f"), (b"f", b"m"), (b"m", b"")]
    assert len({r.name for r in regions}) == 3
    info = h.getRegionInfo(T + b",g,99999999999999")
    assert (info.startKey, info.endKey) == (b"f", b"m")
    with pytest.raises(hbase.IOError):
        h.getRegionInfo(b"nothere,x,1")
    assert h.getRegionInfo(b"zzz").startKey == b"m"  # the last meta row <= b"zzz"
    assert h.getRegionInfo(b"").startKey == b"m"  # "" = from the end of meta


def test_presplit_applies_when_table_is_created():
    h, _ = make_handler()
    h.store.split_table(b"later", [b"k"])
    h.createTable(b"later", [cd(b"cf")])
    assert len(h.getTableRegions(b"later")) == 2


def test_server_methods(hf):
    h, _ = hf
    assert h.getThriftServerType() == hbase.TThriftServerType.ONE
    assert h.getClusterId() == h.getClusterId() and h.getClusterId()
    if not hasattr(hbase, "TAccessControlEntity"):
        return  # grant/revoke are not in this IDL (HBase 2.6 answers UNKNOWN_METHOD)
    entity = hbase.TAccessControlEntity(username="u", scope=0, actions="R", tableName=T)
    with pytest.raises(hbase.IOError) as ei:
        h.grant(entity)
    assert ei.value.canRetry is False
    with pytest.raises(hbase.IOError):
        h.revoke(entity)


# ---- reads and writes -------------------------------------------------------

def test_put_and_get_variants(hf):
    h, ft = hf
    h.mutateRowTs(T, b"r", [put(b"cf:a", b"v1")], 10)
    h.mutateRowTs(T, b"r", [put(b"cf:a", b"v2")], 20)
    h.mutateRowTs(T, b"r", [put(b"cf:a", b"v3"), put(b"cf:", b"empty")], 30)
    assert [(c.value, c.timestamp) for c in h.get(T, b"r", b"cf:a")] == [(b"v3", 30)]
    assert [c.value for c in h.getVer(T, b"r", b"cf:a", 10)] == [b"v3", b"v2", b"v1"]
    assert [c.value for c in h.getVerTs(T, b"r", b"cf:a", 30, 10)] == [b"v2", b"v1"]
    assert h.getVerTs(T, b"r", b"cf:a", 0, 10) == []
    # bare family = every column of it, "cf:" = the empty qualifier only
    assert [c.value for c in h.get(T, b"r", b"cf")] == [b"empty", b"v3"]
    assert [c.value for c in h.get(T, b"r", b"cf:")] == [b"empty"]
    assert h.get(T, b"r", b"cf:zz") == [] and h.get(T, b"nope", b"cf:a") == []
    with pytest.raises(hbase.IOError) as ei:
        h.getVer(T, b"r", b"cf:a", 0)
    with pytest.raises(hbase.IOError) as ei:
        h.get(T, b"r", b"nofam:a")
    assert ei.value.canRetry is False and "NoSuchColumnFamily" in ei.value.message
    with pytest.raises(TApplicationException):
        h.get(T, b"", b"cf:a")
    with pytest.raises(TApplicationException):
        h.getVerTs(T, b"r", b"cf:a", -1, 1)


def test_max_versions_are_pruned(hf):
    h, _ = hf
    for ts in (1, 2, 3, 4, 5):
        h.mutateRowTs(T, b"r", [put(b"cf:a", str(ts).encode()), put(b"cf2:a", b"x%d" % ts)], ts)
    assert [c.timestamp for c in h.getVer(T, b"r", b"cf:a", 10)] == [5, 4, 3]
    assert [c.timestamp for c in h.getVer(T, b"r", b"cf2:a", 10)] == [5]
    # older versions stay (as in HBase's memstore): a time range still finds them
    h.mutateRowTs(T, b"r", [put(b"cf:a", b"old")], 0)
    assert [c.timestamp for c in h.getVer(T, b"r", b"cf:a", 10)] == [5, 4, 3]
    assert [c.timestamp for c in h.getVerTs(T, b"r", b"cf:a", 3, 10)] == [2, 1, 0]
    assert [c.timestamp for c in h.getVerTs(T, b"r", b"cf2:a", 3, 10)] == [2]
    assert h.getRowTs(T, b"r", 2)[0].columns[b"cf2:a"].value == b"x1"
    # same timestamp: the later write replaces the value
    h.mutateRowTs(T, b"r", [put(b"cf:a", b"new4")], 4)
    assert [c.value for c in h.getVer(T, b"r", b"cf:a", 10)] == [b"5", b"new4", b"3"]
    # a major compaction drops what max_versions hides
    h.majorCompact(T)
    assert h.getVerTs(T, b"r", b"cf:a", 3, 10) == []
    # retention is bounded
    for ts in range(100, 200):
        h.mutateRowTs(T, b"r", [put(b"cf:a", b"%d" % ts)], ts)
    assert len(h.store.tables[T].rows[b"r"][b"cf:a"]) // 3 == store_mod.RETAIN_VERSIONS


def test_get_rows_order_duplicates_and_columns(hf):
    h, _ = hf
    for r in (b"a", b"b", b"c"):
        h.mutateRowTs(T, r, [put(b"cf:x", r + b"x"), put(b"cf2:y", r + b"y")], 5)
    res = h.getRows(T, [b"c", b"zz", b"a", b"c"])
    assert [r.row for r in res] == [b"c", b"a", b"c"]
    assert rows_of(h.getRowsWithColumns(T, [b"b"], [b"cf2"])) == [(b"b", {b"cf2:y": b"by"})]
    assert rows_of(h.getRowsWithColumns(T, [b"b"], [])) == [
        (b"b", {b"cf:x": b"bx", b"cf2:y": b"by"})]
    assert h.getRowsTs(T, [b"a"], 5) == []
    assert len(h.getRowsWithColumnsTs(T, [b"a"], [b"cf:x"], 6)) == 1
    assert rows_of(h.getRowWithColumns(T, b"a", [b"cf:x", b"cf2:nope"])) == [
        (b"a", {b"cf:x": b"ax"})]
    assert h.getRow(T, b"missing") == []
    assert h.getRowTs(T, b"a", 5) == [] and len(h.getRowTs(T, b"a", 6)) == 1
    with pytest.raises(hbase.IOError) as ei:
        h.getRowWithColumns(T, b"a", [b"nofam:x"])
    assert ei.value.canRetry is False


def test_columns_apply_in_order_like_hbase_add_family_add_column(hf):
    h, _ = hf
    h.mutateRowTs(T, b"r", [put(b"cf:a", b"1"), put(b"cf:b", b"2"), put(b"cf:", b"e")], 5)
    assert set(rows_of(h.getRowWithColumns(T, b"r", [b"cf", b"cf:b"]))[0][1]) == {b"cf:b"}
    assert set(rows_of(h.getRowWithColumns(T, b"r", [b"cf:b", b"cf"]))[0][1]) == {
        b"cf:a", b"cf:b", b"cf:"}
    sid = h.scannerOpen(T, b"", [b"cf", b"cf:", b"cf:a"])
    assert set(rows_of(h.scannerGetList(sid, 5))[0][1]) == {b"cf:", b"cf:a"}


def test_scan_with_start_equal_to_stop_is_a_get(scan_hf):
    h, _ = scan_hf
    assert [r.row for r in drain(h, h.scannerOpenWithStop(T, b"row03", b"row03", None))] == [
        b"row03"]
    assert [r.row for r in drain(h, h.scannerOpenWithStopTs(T, b"row03", b"row03", None,
                                                            LATEST))] == [b"row03"]
    for reverse in (False, True):
        sid = h.scannerOpenWithScan(T, hbase.TScan(startRow=b"row05", stopRow=b"row05",
                                                   reversed=reverse))
        assert [r.row for r in drain(h, sid)] == [b"row05"]


def test_mutate_rows_is_one_batch(hf):
    h, ft = hf
    h.mutateRows(T, [hbase.BatchMutation(row=b"b", mutations=[put(b"cf:a", b"1")]),
                     hbase.BatchMutation(row=b"b", mutations=[put(b"cf:b", b"2")]),
                     hbase.BatchMutation(row=b"c", mutations=[put(b"cf:a", b"3")])])
    stamps = {c.timestamp for r in h.getRows(T, [b"b", b"c"]) for c in r.columns.values()}
    assert stamps == {ft.ms()}  # one server timestamp for the whole batch
    assert h.mutateRows(b"missing", []) is None  # nothing to send: no table touched
    with pytest.raises(hbase.IOError) as ei:
        h.mutateRows(b"missing", [hbase.BatchMutation(row=b"r", mutations=[put(b"cf:a", b"")])])
    assert ei.value.canRetry is True


def test_row_errors_come_before_table_errors(hf):
    h, _ = hf
    for call in (lambda: h.getVerTs(b"missing", b"", b"cf:a", 1, 5),
                 lambda: h.get(b"missing", b"", b"cf:a"),
                 lambda: h.getRow(b"missing", b""),
                 lambda: h.atomicIncrement(b"missing", b"", b"cf:a", 1),
                 lambda: h.deleteAll(b"missing", b"", b"cf:a"),
                 lambda: h.deleteAllRowTs(b"missing", b"r", -1)):
        with pytest.raises(TApplicationException):
            call()


def test_get_rows_is_a_batch(hf):
    """table.get(List<Get>): no rows touch no table; failures are retryable batch errors."""
    h, _ = hf
    assert h.getRows(b"missing", []) == []
    assert h.getRowsWithColumnsTs(b"missing", [], None, 1) == []
    with pytest.raises(hbase.IOError) as ei:
        h.getRows(b"missing", [b"r", b"s"])
    assert ei.value.canRetry is True
    with pytest.raises(hbase.IOError) as ei:
        h.getRowsWithColumns(T, [b"r", b"r"], [b"nofam:x"])
    assert ei.value.canRetry is True
    with pytest.raises(hbase.IOError) as ei:  # HTable.get(List) of one Get is a get
        h.getRowsTs(b"missing", [b"r"], 6)
    assert ei.value.canRetry is False
    with pytest.raises(TApplicationException):
        h.getRows(b"missing", [b""])
    with pytest.raises(hbase.IOError) as ei:  # a single get is not a batch
        h.getRow(b"missing", b"r")
    assert ei.value.canRetry is False


def test_null_value_is_empty_and_bare_family_put_ignored(hf):
    h, _ = hf
    h.mutateRow(T, b"r", [put(b"cf:a", None), put(b"cf", b"ignored")])
    assert rows_of(h.getRow(T, b"r")) == [(b"r", {b"cf:a": b""})]


def test_mutate_row_errors(hf):
    h, _ = hf
    with pytest.raises(hbase.IllegalArgument):
        h.mutateRow(T, b"", [put(b"cf:a", b"v")])
    with pytest.raises(hbase.IllegalArgument):
        h.mutateRowTs(T, b"r", [put(b"cf:a", b"v")], -5)
    with pytest.raises(hbase.IllegalArgument):
        h.mutateRow(b"bad name", b"r", [put(b"cf:a", b"v")])
    with pytest.raises(hbase.IOError) as ei:
        h.mutateRow(T, b"r", [put(b"nofam:a", b"v")])
    assert ei.value.canRetry is False


def test_mutate_row_applies_delete_then_put_at_one_timestamp(hf):
    h, ft = hf
    h.mutateRow(T, b"r", [put(b"cf:a", b"old"), put(b"cf:b", b"b")])
    ft.advance_ms(5)
    # HBase: Delete then Put, both at the same server ms: the put is masked
    h.mutateRow(T, b"r", [put(b"cf:a", b"new"), delete(b"cf:a"), put(b"cf:c", b"c")])
    assert h.get(T, b"r", b"cf:a") == []
    assert rows_of(h.getRow(T, b"r")) == [(b"r", {b"cf:b": b"b", b"cf:c": b"c"})]
    # a later call puts again
    h.mutateRow(T, b"r", [put(b"cf:a", b"again")])
    assert h.get(T, b"r", b"cf:a")[0].value == b"again"
    # with an explicit timestamp the delete marker masks the put of the same ts
    h.mutateRowTs(T, b"s", [put(b"cf:a", b"v"), delete(b"cf:a")], 100)
    assert h.get(T, b"s", b"cf:a") == []


def test_a_put_born_expired_hides_nothing(hf):
    h, _ = hf
    h.mutateRowTs(T, b"x", [put(b"cf:a", b"kept")], 10)
    h.mutateRowTs(T, b"x", [put(b"cf:a", b"")], 10, {b"_ttl": (1000).to_bytes(8, "big")})
    assert h.get(T, b"x", b"cf:a")[0].value == b"kept"


def test_mutate_rows_puts_before_deletes(hf):
    h, _ = hf
    h.mutateRowsTs(T, [
        hbase.BatchMutation(row=b"r1", mutations=[delete(b"cf:a")]),
        hbase.BatchMutation(row=b"r1", mutations=[put(b"cf:a", b"v"), put(b"cf:b", b"w")]),
    ], 50)
    assert rows_of(h.getRow(T, b"r1")) == [(b"r1", {b"cf:b": b"w"})]
    with pytest.raises(TApplicationException) as ei:
        h.mutateRows(T, [hbase.BatchMutation(row=b"r2", mutations=[put(b"cf", b"v")])])
    assert app_error_type(ei) == INTERNAL
    # HBase builds the batch before its try block: these are uncaught
    with pytest.raises(TApplicationException):
        h.mutateRows(T, [hbase.BatchMutation(row=b"", mutations=[put(b"cf:a", b"v")])])
    with pytest.raises(TApplicationException):
        h.mutateRowsTs(T, [hbase.BatchMutation(row=b"r", mutations=[put(b"cf:a", b"v")])], -1)
    with pytest.raises(hbase.IllegalArgument):  # the table lookup is inside it
        h.mutateRows(b"bad name", [hbase.BatchMutation(row=b"r", mutations=[])])
    with pytest.raises(hbase.IOError) as ei:
        h.mutateRows(T, [hbase.BatchMutation(row=b"r3", mutations=[put(b"zz:a", b"v")])])
    assert ei.value.canRetry is True
    with pytest.raises(hbase.IOError) as ei:
        h.mutateRows(T, [hbase.BatchMutation(row=b"r4", mutations=[put(b"cf:a", b"v")]),
                         hbase.BatchMutation(row=b"r4", mutations=[delete(b"zz:a")])])
    assert ei.value.canRetry is True
    assert h.get(T, b"r4", b"cf:a")[0].value == b"v"  # the puts went first


def test_deletes_remove_versions_up_to_ts(hf):
    h, ft = hf
    for ts in (10, 20, 30):
        h.mutateRowTs(T, b"r", [put(b"cf:a", b"a%d" % ts), put(b"cf:b", b"b%d" % ts),
                                put(b"cf2:c", b"c%d" % ts)], ts)
    h.deleteAllTs(T, b"r", b"cf:a", 20)
    assert [c.timestamp for c in h.getVer(T, b"r", b"cf:a", 9)] == [30]
    h.deleteAllTs(T, b"r", b"cf", 25)  # the family, versions <= 25
    assert [c.timestamp for c in h.getVer(T, b"r", b"cf:b", 9)] == [30]
    h.deleteAll(T, b"r", b"cf2:c")
    assert h.get(T, b"r", b"cf2:c") == []
    h.deleteAllRowTs(T, b"r", 29)
    assert len(h.getRow(T, b"r")) == 1
    h.deleteAllRow(T, b"r")
    assert h.getRow(T, b"r") == []
    with pytest.raises(TApplicationException):
        h.deleteAll(T, b"", b"cf:a")
    with pytest.raises(TApplicationException):
        h.deleteAllTs(T, b"r", b"cf:a", -1)
    with pytest.raises(hbase.IOError):
        h.deleteAll(T, b"r", b"nofam:a")


def test_delete_marker_masks_older_puts_until_major_compaction(hf):
    h, ft = hf
    h.mutateRowTs(T, b"r", [put(b"cf:a", b"v")], 100)
    h.deleteAllRowTs(T, b"r", 100)
    h.mutateRowTs(T, b"r", [put(b"cf:a", b"masked")], 90)
    assert h.get(T, b"r", b"cf:a") == []
    h.mutateRowTs(T, b"r", [put(b"cf:a", b"newer")], 101)
    assert [c.value for c in h.get(T, b"r", b"cf:a")] == [b"newer"]
    h.majorCompact(T)
    h.mutateRowTs(T, b"r", [put(b"cf:b", b"after")], 50)
    assert [c.value for c in h.get(T, b"r", b"cf:b")] == [b"after"]


def test_family_ttl_and_cell_ttl_expire_on_the_clock():
    h, ft = make_handler()
    h.createTable(b"ttl", [cd(b"f", timeToLive=10), cd(b"g")])
    h.mutateRow(b"ttl", b"r", [put(b"f:a", b"v"), put(b"g:a", b"w")])
    ttl = (2000).to_bytes(8, "big")
    h.mutateRow(b"ttl", b"r", [put(b"g:b", b"short")], {b"_ttl": ttl})
    # the second put of the row in the same ms got ts now+1: it expires at now+2001
    ft.advance_ms(2001)
    assert b"g:b" in rows_of(h.getRow(b"ttl", b"r"))[0][1]
    ft.advance_ms(1)
    assert rows_of(h.getRow(b"ttl", b"r")) == [(b"r", {b"f:a": b"v", b"g:a": b"w"})]
    ft.advance_ms(7999)
    assert rows_of(h.getRow(b"ttl", b"r")) == [(b"r", {b"g:a": b"w"})]


def test_delete_with_an_expired_ttl_marker_deletes_nothing(hf):
    h, ft = hf
    h.mutateRowTs(T, b"r", [put(b"cf:a", b"v")], 10)
    ttl = {b"_ttl": (1000).to_bytes(8, "big")}
    h.deleteAllRowTs(T, b"r", 10, ttl)  # marker at ts 10 + 1 s: long expired
    h.deleteAllTs(T, b"r", b"cf:a", 10, ttl)
    h.mutateRowTs(T, b"r", [delete(b"cf")], 10, ttl)
    assert h.get(T, b"r", b"cf:a")[0].value == b"v"
    h.deleteAllRow(T, b"r", ttl)  # at server time the marker is alive
    assert h.get(T, b"r", b"cf:a") == []


def test_bad_filter_is_reported_before_a_missing_table(hf):
    pytest.importorskip("txhbase.server.filters")
    h, _ = hf
    with pytest.raises(TApplicationException):
        h.scannerOpenWithScan(b"missing", hbase.TScan(filterString=b"Nope("))


def test_append_reads_the_row_before_the_append(hf):
    h, _ = hf
    cells = h.append(hbase.TAppend(table=T, row=b"ap", columns=[b"cf:a", b"cf:a"],
                                   values=[b"x", b"y"]))
    assert [c.value for c in cells] == [b"x", b"y"]
    assert cells[0].timestamp == cells[1].timestamp
    assert h.get(T, b"ap", b"cf:a")[0].value == b"y"


def test_atomic_increment(hf):
    h, ft = hf
    assert h.atomicIncrement(T, b"r", b"cf:n", 5) == 5
    assert h.atomicIncrement(T, b"r", b"cf:n", -7) == -2
    assert h.get(T, b"r", b"cf:n")[0].value == (-2).to_bytes(8, "big", signed=True)
    assert h.atomicIncrement(T, b"r", b"cf", 3) == 3  # family only = empty qualifier
    assert h.get(T, b"r", b"cf:")[0].value == (3).to_bytes(8, "big")
    h.mutateRow(T, b"r", [put(b"cf:s", b"abc")])
    with pytest.raises(hbase.IOError) as ei:
        h.atomicIncrement(T, b"r", b"cf:s", 1)
    assert ei.value.canRetry is False
    with pytest.raises(TApplicationException):
        h.atomicIncrement(T, b"", b"cf:n", 1)
    # a counter written in the future keeps increasing timestamps
    h.mutateRowTs(T, b"f", [put(b"cf:n", (1).to_bytes(8, "big"))], T0 + 10_000)
    h.atomicIncrement(T, b"f", b"cf:n", 1)
    assert h.get(T, b"f", b"cf:n")[0].timestamp == T0 + 10_001


def test_increment_and_increment_rows(hf):
    h, _ = hf
    h.increment(hbase.TIncrement(table=T, row=b"r", column=b"cf:c", ammount=2))
    h.incrementRows([hbase.TIncrement(table=T, row=b"r", column=b"cf:c", ammount=3),
                     hbase.TIncrement(table=T, row=b"q", column=b"cf:c", ammount=1)])
    assert int.from_bytes(h.get(T, b"r", b"cf:c")[0].value, "big") == 5
    with pytest.raises(TApplicationException):
        h.increment(hbase.TIncrement(table=T, row=b"", column=b"cf:c", ammount=1))
    with pytest.raises(TApplicationException):
        h.increment(hbase.TIncrement(table=T, row=b"r", column=b"cf", ammount=1))
    with pytest.raises(TApplicationException):  # before the missing table is noticed
        h.increment(hbase.TIncrement(table=b"missing", row=b"r", column=b"cf", ammount=1))


def test_append(hf):
    h, _ = hf
    h.mutateRow(T, b"r", [put(b"cf:a", b"x")])
    cells = h.append(hbase.TAppend(table=T, row=b"r", columns=[b"cf:b", b"cf:a"],
                                   values=[b"new", b"yz"]))
    assert [c.value for c in cells] == [b"xyz", b"new"]
    assert h.get(T, b"r", b"cf:a")[0].value == b"xyz"
    with pytest.raises(TApplicationException):
        h.append(hbase.TAppend(table=T, row=b"", columns=[b"cf:a"], values=[b"v"]))
    with pytest.raises(TApplicationException):  # parsed before the table is looked up
        h.append(hbase.TAppend(table=b"missing", row=b"r", columns=[b"cf"], values=[b"v"]))
    with pytest.raises(hbase.IOError):
        h.append(hbase.TAppend(table=T, row=b"r", columns=[b"nofam:a"], values=[b"v"]))


def test_check_and_put(hf):
    h, _ = hf
    m = put(b"cf:b", b"set")
    assert h.checkAndPut(T, b"r", b"cf:a", b"x", m) is False
    assert h.checkAndPut(T, b"r", b"cf:a", None, m) is True  # absent column
    assert h.get(T, b"r", b"cf:b")[0].value == b"set"
    assert h.checkAndPut(T, b"r", b"cf:a", None, put(b"cf:b", b"2")) is True
    h.mutateRow(T, b"r", [put(b"cf:a", b"x")])
    assert h.checkAndPut(T, b"r", b"cf:a", None, put(b"cf:b", b"3")) is False
    assert h.checkAndPut(T, b"r", b"cf:a", b"x", put(b"cf:b", b"4")) is True
    assert h.get(T, b"r", b"cf:b")[0].value == b"4"
    # a null or empty expected value matches a missing or an empty column
    h.mutateRow(T, b"e", [put(b"cf:a", b"")])
    assert h.checkAndPut(T, b"e", b"cf:a", None, put(b"cf:b", b"1")) is True
    assert h.checkAndPut(T, b"e", b"cf:a", b"", put(b"cf:b", b"2")) is True
    assert h.checkAndPut(T, b"e", b"cf:zz", b"", put(b"cf:b", b"3")) is True
    assert h.checkAndPut(T, b"e", b"cf:b", b"", put(b"cf:b", b"4")) is False
    with pytest.raises(TApplicationException):
        h.checkAndPut(T, b"r", b"cf", b"x", m)
    with pytest.raises(hbase.IllegalArgument):
        h.checkAndPut(T, b"", b"cf:a", b"x", m)
    with pytest.raises(hbase.IllegalArgument):
        h.checkAndPut(b"bad name", b"r", b"cf:a", b"x", m)
    with pytest.raises(hbase.IOError):
        h.checkAndPut(b"missing", b"r", b"cf:a", b"x", m)
    # the put's family is only checked when the put is applied
    assert h.checkAndPut(T, b"r", b"cf:a", b"nomatch", put(b"nofam:x", b"1")) is False
    with pytest.raises(hbase.IOError):
        h.checkAndPut(T, b"r", b"cf:a", b"x", put(b"nofam:x", b"1"))


# ---- scanners -----------------------------------------------------------------

@pytest.fixture
def scan_hf(hf):
    h, ft = hf
    for i in range(10):
        r = b"row%02d" % i
        h.mutateRowTs(T, r, [put(b"cf:a", b"a%d" % i), put(b"cf:b", b"b%d" % i),
                             put(b"cf2:c", b"c%d" % i)], 100 + i)
    return h, ft


def drain(h, sid, n=3):
    out = []
    while True:
        got = h.scannerGetList(sid, n)
        if not got:
            return out
        out.extend(got)


def test_scan_start_stop_and_end_forever(scan_hf):
    h, _ = scan_hf
    sid = h.scannerOpenWithStop(T, b"row03", b"row06", [b"cf:a"])
    res = drain(h, sid, 2)
    assert rows_of(res) == [(b"row03", {b"cf:a": b"a3"}), (b"row04", {b"cf:a": b"a4"}),
                            (b"row05", {b"cf:a": b"a5"})]
    assert h.scannerGetList(sid, 5) == [] and h.scannerGet(sid) == []
    h.scannerClose(sid)
    with pytest.raises(hbase.IllegalArgument) as ei:
        h.scannerGet(sid)
    assert ei.value.message == "scanner ID is invalid"
    with pytest.raises(hbase.IllegalArgument):
        h.scannerClose(sid)
    with pytest.raises(hbase.IllegalArgument):
        h.scannerGetList(12345, 1)
    assert h.open_scanner_count() == 0


def test_scan_all_and_ts_and_prefix(scan_hf):
    h, _ = scan_hf
    h.mutateRowTs(T, b"other", [put(b"cf:a", b"o")], 1)
    assert len(drain(h, h.scannerOpen(T, b"", None))) == 11
    assert [r.row for r in drain(h, h.scannerOpenTs(T, b"", [b"cf"], 103))] == [
        b"other", b"row00", b"row01", b"row02"]
    assert [r.row for r in drain(h, h.scannerOpenWithStopTs(T, b"row01", b"row09", [], 104))] \
        == [b"row01", b"row02", b"row03"]
    h.mutateRowTs(T, b"row1", [put(b"cf:a", b"x")], 1)
    assert [r.row for r in drain(h, h.scannerOpenWithPrefix(T, b"row0", None))] == [
        b"row%02d" % i for i in range(10)]
    assert drain(h, h.scannerOpenWithPrefix(T, b"zzz", None)) == []
    with pytest.raises(hbase.IOError):
        h.scannerOpen(T, b"", [b"nofam"])
    with pytest.raises(TApplicationException):
        h.scannerOpenTs(T, b"", None, -1)


def test_scan_with_tscan_fields(scan_hf):
    h, _ = scan_hf
    sid = h.scannerOpenWithScan(T, hbase.TScan(startRow=b"row02", stopRow=b"row04",
                                               sortColumns=True, columns=[b"cf", b"cf2:c"]))
    res = drain(h, sid)
    assert res[0].columns is None
    assert rows_of(res) == [
        (b"row02", [(b"cf:a", b"a2"), (b"cf:b", b"b2"), (b"cf2:c", b"c2")]),
        (b"row03", [(b"cf:a", b"a3"), (b"cf:b", b"b3"), (b"cf2:c", b"c3")])]
    # reversed: start is the highest row, stop exclusive below
    sid = h.scannerOpenWithScan(T, hbase.TScan(startRow=b"row05", stopRow=b"row02",
                                               reversed=True))
    assert [r.row for r in drain(h, sid)] == [b"row05", b"row04", b"row03"]
    sid = h.scannerOpenWithScan(T, hbase.TScan(reversed=True))
    assert [r.row for r in drain(h, sid)] == [b"row%02d" % i for i in range(9, -1, -1)]
    sid = h.scannerOpenWithScan(T, hbase.TScan(timestamp=102, caching=1, cacheBlocks=False))
    assert [r.row for r in drain(h, sid)] == [b"row00", b"row01"]


def test_scan_batch_size_splits_wide_rows(scan_hf):
    h, _ = scan_hf
    sid = h.scannerOpenWithScan(T, hbase.TScan(startRow=b"row00", stopRow=b"row02",
                                               batchSize=2, sortColumns=True))
    first = h.scannerGetList(sid, 3)
    assert [(r.row, len(r.sortedColumns)) for r in first] == [
        (b"row00", 2), (b"row00", 1), (b"row01", 2)]
    rest = drain(h, sid)
    assert [(r.row, len(r.sortedColumns)) for r in rest] == [(b"row01", 1)]
    cols = [c.columnName for r in first[:2] for c in r.sortedColumns]
    assert cols == [b"cf:a", b"cf:b", b"cf2:c"]


def test_scanner_sees_position_not_snapshot(scan_hf):
    h, _ = scan_hf
    sid = h.scannerOpen(T, b"", [b"cf:a"])
    assert [r.row for r in h.scannerGetList(sid, 2)] == [b"row00", b"row01"]
    h.deleteAllRow(T, b"row02")
    h.mutateRow(T, b"row015", [put(b"cf:a", b"ins")])
    assert [r.row for r in h.scannerGetList(sid, 2)] == [b"row015", b"row03"]


def test_idle_scanner_expires_on_the_clock(scan_hf):
    h, ft = scan_hf
    sid = h.scannerOpen(T, b"", None)
    ft.clock.advance(59)
    assert len(h.scannerGet(sid)) == 1  # access resets the idle timer
    ft.clock.advance(59)
    assert len(h.scannerGet(sid)) == 1
    ft.clock.advance(61)
    with pytest.raises(hbase.IllegalArgument):
        h.scannerGet(sid)
    assert h.open_scanner_count() == 0


def test_long_filtered_scan_yields_to_the_reactor(scan_hf, monkeypatch):
    h, ft = scan_hf
    monkeypatch.setattr(scanning_mod, "SCAN_STEP_ROWS", 3)
    sid = h.scannerOpen(T, b"", [b"cf:a"])
    sc = h.scanners.lookup(sid)

    class DropAllButLast:
        done = False
        reversed = False

        def filter_row(self, row, cells, versions=None):
            return cells if row == b"row09" else None

    sc.filter = DropAllButLast()
    results = []
    d = h.scannerGetList(sid, 5)
    # default budget is read at call time through the module constant
    if not isinstance(d, list):
        d.addCallback(results.append)
        assert results == []
        for _ in range(5):
            ft.clock.advance(0)
        assert [r.row for r in results[0]] == [b"row09"]
    else:  # pragma: no cover - budget large enough
        raise AssertionError("expected a Deferred continuation")


def test_delete_table_drops_its_scanners(scan_hf):
    h, _ = scan_hf
    sid = h.scannerOpen(T, b"", None)
    h.disableTable(T)
    h.deleteTable(T)
    with pytest.raises(hbase.IllegalArgument):
        h.scannerGet(sid)


def test_scanner_ids_start_at_zero_like_hbase():
    h, _ = make_handler()
    h.createTable(b"s", [cd(b"cf")])
    assert [h.scannerOpen(b"s", b"", None) for _ in range(3)] == [0, 1, 2]


def test_scanner_get_list_bad_counts(scan_hf):
    h, _ = scan_hf
    sid = h.scannerOpen(T, b"", None)
    assert h.scannerGetList(sid, 0) == []
    with pytest.raises(TApplicationException):
        h.scannerGetList(sid, -1)
    assert len(h.scannerGetList(sid, 100)) == 10


def test_latest_constant_is_java_long_max():
    assert LATEST == 2 ** 63 - 1


def test_back_to_back_server_time_ops_on_a_row_apply_in_order(hf):
    """Same-ms ops at LATEST behave as HBase's >= 1 ms apart RPCs: last one wins."""
    h, ft = hf
    for _ in range(4):
        h.atomicIncrement(T, b"r", b"cf:n", 1)
    h.mutateRow(T, b"r", [put(b"cf:n", (42).to_bytes(8, "big"))])
    assert h.atomicIncrement(T, b"r", b"cf:n", 0) == 42
    h.mutateRow(T, b"r", [put(b"cf:x", b"1")])
    h.deleteAll(T, b"r", b"cf:x")
    assert h.get(T, b"r", b"cf:x") == []
    h.mutateRow(T, b"r", [put(b"cf:x", b"2")])
    assert h.get(T, b"r", b"cf:x")[0].value == b"2"
    h.deleteAllRow(T, b"r")
    h.mutateRows(T, [hbase.BatchMutation(row=b"r", mutations=[put(b"cf:y", b"3")])])
    assert rows_of(h.getRow(T, b"r")) == [(b"r", {b"cf:y": b"3"})]
    # server timestamps of other rows are not pushed ahead of the clock
    h.mutateRow(T, b"other", [put(b"cf:x", b"o")])
    assert h.get(T, b"other", b"cf:x")[0].timestamp == ft.ms()


# ---- scans with the filter language -------------------------------------------

def test_scan_filter_string(scan_hf):
    pytest.importorskip("txhbase.server.filters")
    h, _ = scan_hf
    sid = h.scannerOpenWithScan(T, hbase.TScan(filterString=b"KeyOnlyFilter()",
                                               columns=[b"cf:a"]))
    res = drain(h, sid)
    assert len(res) == 10 and all(r.columns == {b"cf:a": r.columns[b"cf:a"]} for r in res)
    assert {r.columns[b"cf:a"].value for r in res} == {b""}
    # WHILE ends the scan at the first failing row
    sid = h.scannerOpenWithScan(T, hbase.TScan(
        filterString=b"WHILE RowFilter(<, 'binary:row04')"))
    assert [r.row for r in drain(h, sid)] == [b"row00", b"row01", b"row02", b"row03"]
    # reversed scans give the filter reversed=True
    sid = h.scannerOpenWithScan(T, hbase.TScan(reversed=True,
                                               filterString=b"PrefixFilter('row0')"))
    assert [r.row for r in drain(h, sid)] == [b"row%02d" % i for i in range(9, -1, -1)]
    # a filter and batching together: cells are filtered, then split
    sid = h.scannerOpenWithScan(T, hbase.TScan(
        batchSize=1, filterString=b"QualifierFilter(!=, 'binary:b')",
        startRow=b"row01", stopRow=b"row02"))
    assert [(r.row, list(r.columns)) for r in drain(h, sid)] == [
        (b"row01", [b"cf:a"]), (b"row01", [b"cf2:c"])]
    sid = h.scannerOpenWithScan(T, hbase.TScan(
        batchSize=1, sortColumns=True, filterString=b"QualifierFilter(!=, 'binary:b')",
        startRow=b"row01", stopRow=b"row02"))
    assert [[c.columnName for c in r.sortedColumns] for r in drain(h, sid)] == [
        [b"cf:a"], [b"cf2:c"]]


def test_scan_filters_see_every_stored_version(hf):
    """HBase 2.6: a filter sees every stored version (up to the family's max)
    and the scan's one version is taken from what the filter kept."""
    h, _ = hf
    for ts, value in ((10, b"old"), (20, b"mid"), (30, b"new")):
        h.mutateRowTs(T, b"r", [put(b"cf:a", value), put(b"cf2:c", value)], ts)
    h.mutateRowTs(T, b"r", [put(b"cf:b", b"b")], 20)

    def scan(text, **kw):
        sid = h.scannerOpenWithScan(T, hbase.TScan(filterString=text, **kw))
        return [(r.row, {c: (v.value, v.timestamp) for c, v in r.columns.items()})
                for r in drain(h, sid)]

    assert scan(b"TimestampsFilter(10)") == [(b"r", {b"cf:a": (b"old", 10)})]  # cf2 keeps 1
    assert scan(b"ValueFilter(=, 'binary:mid')") == [(b"r", {b"cf:a": (b"mid", 20)})]
    # the filter kept two versions of cf:a: the scan returns the newest of them
    assert scan(b"TimestampsFilter(10, 20)") == [
        (b"r", {b"cf:a": (b"mid", 20), b"cf:b": (b"b", 20)})]
    # the time range applies before the filter
    assert scan(b"ValueFilter(!=, 'binary:zz')", timestamp=30) == [
        (b"r", {b"cf:a": (b"mid", 20), b"cf:b": (b"b", 20), b"cf2:c": (b"mid", 20)})]
    # without a filter only the newest version is read
    sid = h.scannerOpenWithScan(T, hbase.TScan())
    assert {c: v.value for c, v in drain(h, sid)[0].columns.items()} == {
        b"cf:a": b"new", b"cf:b": b"b", b"cf2:c": b"new"}


ROW_LEVEL_FILTERS = [b"PageFilter(2)", b"SingleColumnValueFilter('cf', 'a', =, 'binary:a1')",
                     b"DependentColumnFilter('cf', 'a')", b"SKIP ValueFilter(!=, 'binary:zz')",
                     b"WHILE RowFilter(<, 'binary:row04')"]


@pytest.mark.parametrize("text", ROW_LEVEL_FILTERS)
def test_batched_scan_with_a_row_level_filter_fails_at_the_first_get(scan_hf, text):
    """HBase 2.6 refuses Scan.setBatch with a filter that hasFilterRow; its client
    retries until RetriesExhaustedException (a retryable IOError) at the first get."""
    from txhbase.server.filters import BATCH_WITH_FILTER_ROW_ERROR

    h, _ = scan_hf
    for reversed_ in (False, True):
        sid = h.scannerOpenWithScan(T, hbase.TScan(batchSize=1, filterString=text,
                                                   reversed=reversed_))
        for get in (lambda: h.scannerGetList(sid, 5), lambda: h.scannerGet(sid)):
            with pytest.raises(hbase.IOError) as ei:
                get()  # every get retries the open, and fails again
            assert (ei.value.message, ei.value.canRetry) == (BATCH_WITH_FILTER_ROW_ERROR, True)
        assert h.scannerGetList(sid, 0) == []  # next(0) never reaches the region server
        h.scannerClose(sid)
    assert h.open_scanner_count() == 0
    # no batch (or a batchSize HBase does not send): whole rows as usual
    for batch in (None, 0, -1):
        sid = h.scannerOpenWithScan(T, hbase.TScan(batchSize=batch, filterString=text))
        assert drain(h, sid)


def test_batched_scan_with_a_cell_level_filter_is_split(scan_hf):
    h, _ = scan_hf
    sid = h.scannerOpenWithScan(T, hbase.TScan(batchSize=2, filterString=b"KeyOnlyFilter()",
                                               startRow=b"row01", stopRow=b"row02"))
    assert [(r.row, sorted(r.columns)) for r in drain(h, sid)] == [
        (b"row01", [b"cf:a", b"cf:b"]), (b"row01", [b"cf2:c"])]


ON_DEMAND_FILTERS = [b"SingleColumnValueFilter('cf', 'a', =, 'binary:a1', true, true)",
                     b"ColumnValueFilter('cf', 'a', =, 'binary:a1')"]


@pytest.mark.parametrize("text", ON_DEMAND_FILTERS)
def test_reversed_scan_of_an_on_demand_family_fails_at_the_first_get(scan_hf, text):
    """HBase 2.6's reversed region scanner refuses families loaded on demand
    (a DoNotRetryIOException), whether or not any row matches."""
    from txhbase.server.filters import REVERSE_SCAN_ON_DEMAND_ERROR

    h, _ = scan_hf
    for columns in (None, [b"cf2"], [b"cf:a", b"cf2:c"]):
        sid = h.scannerOpenWithScan(T, hbase.TScan(reversed=True, filterString=text,
                                                   columns=columns, startRow=b"zz"))
        for _ in range(2):
            with pytest.raises(hbase.IOError) as ei:
                h.scannerGetList(sid, 1)
            assert (ei.value.message, ei.value.canRetry) == (REVERSE_SCAN_ON_DEMAND_ERROR, False)
        h.scannerClose(sid)
    # only the filter's own family scanned: nothing is on demand
    sid = h.scannerOpenWithScan(T, hbase.TScan(reversed=True, filterString=text,
                                               columns=[b"cf"]))
    assert [r.row for r in drain(h, sid)] == [b"row01"]
    # forward scans load the other families after the row decision
    sid = h.scannerOpenWithScan(T, hbase.TScan(filterString=text))
    assert [r.row for r in drain(h, sid)] == [b"row01"]
    # an empty table refuses it too: the region scanner is what fails
    h.createTable(b"empty", [cd(b"cf"), cd(b"cf2")])
    sid = h.scannerOpenWithScan(b"empty", hbase.TScan(reversed=True, filterString=text))
    with pytest.raises(hbase.IOError):
        h.scannerGet(sid)


def test_reversed_scan_with_essential_families_only_is_served(scan_hf):
    h, _ = scan_hf
    for text in (b"SingleColumnValueFilter('cf', 'a', =, 'binary:a1')",  # filterIfMissing off
                 b"ValueFilter(=, 'binary:a1')"):
        sid = h.scannerOpenWithScan(T, hbase.TScan(reversed=True, filterString=text))
        assert [r.row for r in drain(h, sid)] == [b"row01"]


@pytest.mark.parametrize("text", [b"NoSuchFilter()", b"PrefixFilter(", b"ValueFilter(=, 'x')",
                                  b""])
def test_bad_filter_string_is_internal_error(scan_hf, text):
    pytest.importorskip("txhbase.server.filters")
    h, _ = scan_hf
    with pytest.raises(TApplicationException) as ei:
        h.scannerOpenWithScan(T, hbase.TScan(filterString=text))
    assert app_error_type(ei) == INTERNAL
    assert h.open_scanner_count() == 0


def test_a_handler_without_a_store_keeps_time_by_its_clock():
    """HBaseHandler(clock=...) alone: server timestamps and TTLs follow that clock,
    not the wall clock (the store it creates is given the handler's clock)."""
    from twisted.internet import task

    from txhbase.server.handler import HBaseHandler

    clock = task.Clock()
    clock.advance(1234.5)
    h = HBaseHandler(clock=clock)
    h.createTable(b"t", [cd(b"cf")])
    h.mutateRow(b"t", b"r", [put(b"cf:a", b"v")])
    assert [c.timestamp for c in h.get(b"t", b"r", b"cf:a")] == [1234500]


def test_the_store_needs_a_clock():
    with pytest.raises(TypeError):
        store_mod.Store()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="clock"):
        store_mod.Store(clock=1234)  # type: ignore[arg-type]
