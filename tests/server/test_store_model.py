"""Property tests: the store against a plain-dict model of HBase's cell semantics.

The model keeps, per (row, column), a list of (ts, value); a put with
``ts <= `` any earlier delete marker covering it is dropped, a delete removes
versions ``<= ts`` and leaves a marker, at most RETAIN_VERSIONS versions are
kept (like HBase's memstore, more than max_versions), and reads take the
newest ``min(n, max_versions)`` versions with ``ts < max_ts``.  Every read of the store must match the model, also after
the store's snapshot has been replayed into a fresh store (the WAL path).
"""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as s

from txhbase.server import wal
from txhbase.server.store import LATEST, RETAIN_VERSIONS, FamilySpec, Selection, Store

FAMS = {b"f": 3, b"g": 1}
ROWS = [b"a", b"b", b"ba", b"c"]
QUALS = [b"", b"q", b"r"]
TS = s.integers(min_value=0, max_value=12)

put_op = s.tuples(s.just("put"), s.sampled_from(ROWS), s.sampled_from(sorted(FAMS)),
                  s.sampled_from(QUALS), TS, s.binary(max_size=3))
del_op = s.tuples(s.just("del"), s.sampled_from(ROWS),
                  s.sampled_from([None, b"f", b"g"]), s.sampled_from([None] + QUALS), TS)
ops = s.lists(s.one_of(put_op, del_op), max_size=40)


class Model:
    def __init__(self) -> None:
        self.cells: dict = {}  # (row, fam, qual) -> [(ts, value)] newest first
        self.markers: list = []  # (row, fam|None, qual|None, ts)

    def _covered(self, row, fam, qual, ts, marker) -> bool:
        mrow, mfam, mqual, mts = marker
        return (mrow == row and ts <= mts and (mfam is None or mfam == fam)
                and (mqual is None or mqual == qual))

    def put(self, row, fam, qual, ts, value) -> None:
        if any(self._covered(row, fam, qual, ts, m) for m in self.markers):
            return
        versions = [v for v in self.cells.get((row, fam, qual), []) if v[0] != ts]
        versions.append((ts, value))
        versions.sort(key=lambda v: -v[0])
        self.cells[(row, fam, qual)] = versions[:max(FAMS[fam], RETAIN_VERSIONS)]

    def delete(self, row, fam, qual, ts) -> None:
        marker = (row, fam, qual, ts)
        self.markers.append(marker)
        for key in list(self.cells):
            self.cells[key] = [v for v in self.cells[key]
                               if not self._covered(key[0], key[1], key[2], v[0], marker)]
            if not self.cells[key]:
                del self.cells[key]

    def read(self, row, select, max_ts, n) -> list:
        out = []
        for (r, fam, qual), versions in sorted(self.cells.items()):
            col = fam + b":" + qual
            if r != row or (select is not None and not select.wants(col, fam)):
                continue
            out.extend((col, ts, v)
                       for ts, v in [x for x in versions if x[0] < max_ts][:min(n, FAMS[fam])])
        return out

    def rows(self) -> list:
        return sorted({k[0] for k in self.cells})


def apply(store: Store, model: Model, t, op) -> None:
    if op[0] == "put":
        _, row, fam, qual, ts, value = op
        store.put(t, row, [(fam, qual, value)], ts)
        model.put(row, fam, qual, ts, value)
    else:
        _, row, fam, qual, ts = op
        if fam is None:
            qual = None
        store.delete(t, row, ts, fam, qual)
        model.delete(row, fam, qual, ts)


def selections():
    return [None, Selection(families=[b"f"]), Selection(columns=[b"f:q", b"g:"]),
            Selection(families=[b"g"], columns=[b"f:r"])]


def check_reads(store: Store, t, model: Model) -> None:
    assert list(t.rows.keys()) == model.rows()
    for row in ROWS:
        for select in selections():
            for max_ts in (LATEST, 0, 5, 13):
                for n in (1, 2, 5):
                    got = store.row_cells(t, row, select, max_ts, n, now=0, ordered=True)
                    assert got == model.read(row, select, max_ts, n), (row, max_ts, n)


def new_store() -> tuple:
    store = Store(clock=lambda: 0)
    t = store.create_table(b"t", [FamilySpec(f, max_versions=n) for f, n in FAMS.items()])
    return store, t


@settings(max_examples=300, deadline=None)
@given(ops)
def test_store_matches_model(operations):
    store, t = new_store()
    model = Model()
    for op in operations:
        apply(store, model, t, op)
    check_reads(store, t, model)


@settings(max_examples=150, deadline=None)
@given(ops, ops)
def test_snapshot_replay_preserves_reads_and_markers(before, after):
    store, t = new_store()
    model = Model()
    for op in before:
        apply(store, model, t, op)
    data = b"".join(wal.frame_record(r) for r in store.snapshot_records())
    replayed = Store(clock=lambda: 0)
    for rec, _end in wal.read_records(data):
        replayed.apply_record(rec)
    t2 = replayed.table(b"t")
    check_reads(replayed, t2, model)
    for op in after:  # markers survived: later puts are masked the same way
        apply(replayed, model, t2, op)
    check_reads(replayed, t2, model)


@settings(max_examples=100, deadline=None)
@given(ops)
def test_log_of_operations_replays_to_same_store(operations):
    store, t = new_store()
    log = []
    store.on_record = log.append
    model = Model()
    for op in operations:
        apply(store, model, t, op)
    replayed = Store(clock=lambda: 0)
    replayed.create_table(b"t", [FamilySpec(f, max_versions=n) for f, n in FAMS.items()])
    for rec in log:
        replayed.apply_record(wal.decode(wal.encode(rec)))
    check_reads(replayed, replayed.table(b"t"), model)


# ---- expiry: family TTL (seconds) and per-cell TTL deadlines -------------------

TTL_FAMS = {b"f": (3, None), b"g": (2, 5)}  # family -> (max_versions, ttl seconds)
ttl_put = s.tuples(s.sampled_from(ROWS[:2]), s.sampled_from(sorted(TTL_FAMS)),
                   s.sampled_from(QUALS[:2]), s.sampled_from([0, 10, 5_000, 9_000, 12_000]),
                   s.one_of(s.none(), s.integers(0, 8_000)))


@settings(max_examples=300, deadline=None)
@given(s.lists(ttl_put, max_size=30), s.integers(0, 25_000), s.sampled_from([1, 2, 3]))
def test_expiry_matches_model(puts, now, n):
    store = Store(clock=lambda: now)
    t = store.create_table(b"t", [FamilySpec(f, max_versions=mv, time_to_live=ttl or 0)
                                  for f, (mv, ttl) in TTL_FAMS.items()])
    cells: dict = {}
    for i, (row, fam, qual, ts, cell_ttl) in enumerate(puts):
        expiry = None if cell_ttl is None else ts + cell_ttl
        store.put(t, row, [(fam, qual, b"%d" % i)], ts, expiry)
        if expiry is not None and expiry < now:
            continue  # born expired: never visible, hides nothing
        versions = [v for v in cells.get((row, fam, qual), []) if v[0] != ts]
        versions.append((ts, b"%d" % i, expiry))
        versions.sort(key=lambda v: -v[0])
        cells[(row, fam, qual)] = versions[:max(TTL_FAMS[fam][0], RETAIN_VERSIONS)]

    def visible(fam, ts, expiry):
        ttl = TTL_FAMS[fam][1]
        return (expiry is None or expiry >= now) and (ttl is None or ts + ttl * 1000 >= now)

    for row in ROWS[:2]:
        want = []
        for (r, fam, qual), versions in sorted(cells.items()):
            if r == row:
                alive = [(fam + b":" + qual, ts, v) for ts, v, e in versions if visible(fam, ts, e)]
                want.extend(alive[:min(n, TTL_FAMS[fam][0])])
        assert store.row_cells(t, row, None, LATEST, n, now=now, ordered=True) == want
        latest = {c: (ts, v) for c, ts, v in store.row_cells(t, row, None, LATEST, 1, now=now)}
        from txhbase.server.results import fast_row_result

        cols = t.rows.get(row)
        fast = fast_row_result(store, t, row, cols, None, LATEST, now) if cols else None
        assert ({c: (x.timestamp, x.value) for c, x in fast.columns.items()} if fast else {}) \
            == latest
