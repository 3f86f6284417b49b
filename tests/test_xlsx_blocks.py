"""The master's long tabs in blocks (stores/xlsx_blocks.py): a write copies the
compressed blocks whose rows did not change from the master on disk, and the file it
makes reads back exactly like one written from scratch (openpyxl, calamine, zip CRC)."""
from __future__ import annotations

import datetime as dt
import os
import zipfile
import zlib

import openpyxl
import pytest
from hypothesis import given, settings as hsettings, strategies as st
from python_calamine import CalamineWorkbook

from sheets_sync.forms import load_forms
from sheets_sync.stores import SheetSpec
from sheets_sync.stores import xlsx_blocks, xlsx_bulk, xlsx_master
from sheets_sync.stores.xlsx import XlsxStore
from tests.backends import Deployment

PER_OPD = 900   # with BLOCK_ROWS patched to 400: blocks of 50..1,600 rows, about 256


@given(st.binary(max_size=3000), st.binary(max_size=3000), st.integers(0, 2 ** 32 - 1))
@hsettings(max_examples=200, deadline=None)
def test_crc_combine_is_the_crc_of_the_two_joined(a, b, start):
    assert xlsx_blocks.crc_combine(zlib.crc32(a, start), zlib.crc32(b), len(b)) == zlib.crc32(a + b, start)


@given(st.lists(st.binary(max_size=5000), min_size=1, max_size=6))
@hsettings(max_examples=100, deadline=None)
def test_segments_one_after_another_are_one_deflate_stream(parts):
    segs = [xlsx_blocks.deflate(p, 1) for p in parts[:-1]] + [xlsx_blocks.deflate(parts[-1], 1, final=True)]
    assert zlib.decompress(b"".join(s.data for s in segs), -15) == b"".join(parts)


def _rows(n_opds: int, changed: dict | None = None, extra: dict | None = None) -> list[list]:
    rows = []
    for o in range(n_opds):
        for i in range(PER_OPD + (extra or {}).get(o, 0)):
            name = (changed or {}).get((o, i), f"Nama {o}-{i} & <x>")
            rows.append([f"OPD{o:02d}", name, i + 3, "OK" if i % 4 else "PERIKSA",
                         dt.date(2020, 1, 1) + dt.timedelta(days=i), "" if i % 3 else None, 1.5 * i,
                         "=1+1" if i == 7 else "", i % 2 == 0])
    return rows


def _spec(rows) -> SheetSpec:
    return SheetSpec("Pegawai", ["Kode", "Nama", "Baris", "Status", "Tanggal", "kosong", "x", "rumus", "b"],
                     rows, [10] * 9, colors={4: {"OK": ("C6EFCE", "006100")}}, fit_page="width")


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_blocks, "BLOCK_ROWS", 400)
    monkeypatch.setattr(xlsx_bulk, "BULK_ROWS", 500)
    monkeypatch.setattr(xlsx_master, "FILL_ROWS", 500)   # as in use: a long tab's colours are rules
    settings = Deployment("xlsx", tmp_path / "d", n_opds=1).settings
    return XlsxStore(settings.data_dir, load_forms(), settings.master)


@pytest.fixture
def rendered(monkeypatch):
    """The keys of the blocks rendered (not copied) by each write."""
    keys: list = []
    real = xlsx_bulk._block

    def spy(text, key):
        keys.append(key)
        return real(text, key)
    monkeypatch.setattr(xlsx_bulk, "_block", spy)
    return keys


def _values(path) -> list[tuple]:
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None          # every part's CRC and sizes hold
    ws = openpyxl.load_workbook(path)["Pegawai"]
    cells = [tuple((c.value, c.data_type, c.number_format, c.quotePrefix) for c in row) for row in ws.iter_rows()]
    cal = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Pegawai").to_python()
    assert len(cal) == len(cells) and [r[0] for r in cal] == [r[0][0] for r in cells]
    return cells


def _settled(store, rows) -> None:
    """The master as after its first cycles: a new workbook numbers its styles other than
    one loaded from disk, so the second write renders every block once more; then they hold."""
    store.write_master([_spec(rows)])
    store.write_master([_spec(rows)])


def _fresh(tmp_path, rows, name: str) -> list[tuple]:
    settings = Deployment("xlsx", tmp_path / name, n_opds=1).settings
    XlsxStore(settings.data_dir, load_forms(), settings.master).write_master([_spec(rows)])
    return _values(settings.data_dir / "master.xlsx")


def test_one_changed_row_renders_its_block_only_and_reads_back_as_a_fresh_write(store, rendered, tmp_path):
    store.write_master([_spec(_rows(4))])
    assert len(rendered) == len(xlsx_blocks.block_ranges(_rows(4))) > 4 * 2
    store.write_master([_spec(_rows(4))])
    rendered.clear()
    store.write_master([_spec(_rows(4))])
    assert rendered == []
    assert _values(store.master_path) == _fresh(tmp_path, _rows(4), "same")
    rows = _rows(4, changed={(2, 450): "Nama yang diubah"})
    rendered.clear()
    store.write_master([_spec(rows)])
    assert 1 <= len(rendered) <= 2     # its block (split in two if the row now ends one)
    assert _values(store.master_path) == _fresh(tmp_path, rows, "fresh")


def test_an_opd_that_gains_rows_moves_the_later_blocks_without_rendering_them(store, rendered, tmp_path):
    _settled(store, _rows(4))
    rendered.clear()
    rows = _rows(4, extra={1: 5})
    store.write_master([_spec(rows)])
    assert 1 <= len(rendered) <= 2     # OPD01's last block grew; OPD02 and OPD03 copied at new rows
    got = _values(store.master_path)
    assert got == _fresh(tmp_path, rows, "fresh")
    assert len(got) == len(rows) + 1
    assert [(r[0][0], r[1][0], r[2][0]) for r in got[1:]] == [(r[0], r[1], r[2]) for r in rows]   # each at its row


def test_a_master_saved_by_a_person_is_rendered_whole(store, rendered, tmp_path):
    _settled(store, _rows(3))
    book = openpyxl.load_workbook(store.master_path)
    book.save(store.master_path)       # as Excel would: same tabs, other bytes
    rendered.clear()
    rows = _rows(3, changed={(0, 5): "lain"})
    store.write_master([_spec(rows)])
    assert len(rendered) == len(xlsx_blocks.block_ranges(rows))
    assert _values(store.master_path) == _fresh(tmp_path, rows, "fresh")


def test_a_row_gone_from_the_middle_renders_its_block_only(store, rendered, tmp_path):
    """A phone fixed or broken moves a row into or out of a form tab: the blocks after
    it in the same OPD must not all change (content-defined boundaries)."""
    _settled(store, _rows(3))
    rows = _rows(3)
    del rows[PER_OPD + 300]            # OPD01's row 300
    rendered.clear()
    store.write_master([_spec(rows)])
    assert 1 <= len(rendered) <= 2
    assert _values(store.master_path) == _fresh(tmp_path, rows, "fresh")


@pytest.mark.parametrize("damage", ["garbage", "offsets", "huge", "other revision", "symlink"])
def test_a_damaged_or_foreign_manifest_means_a_whole_write_not_a_broken_one(store, rendered, tmp_path, damage):
    _settled(store, _rows(3))
    blocks = store.master_path.parent / ".sheets_sync" / "master-blocks.json"
    text = blocks.read_text()
    if damage == "garbage":
        blocks.write_bytes(b"\x00{not json")
    elif damage == "offsets":
        blocks.write_text(text.replace('"at": ', '"at": 7'))
    elif damage == "huge":
        with open(blocks, "ab") as f:
            f.truncate(xlsx_blocks.MANIFEST_BYTES + 1)
    elif damage == "symlink":          # a link out of the data folder is not followed
        outside = tmp_path / "outside.json"
        outside.write_text(text)
        blocks.unlink()
        blocks.symlink_to(outside)
    else:
        blocks.write_text(text.replace('"revision": "', '"revision": "1'))
    rendered.clear()
    rows = _rows(3, changed={(1, 1): "x"})
    store.write_master([_spec(rows)])
    assert len(rendered) == len(xlsx_blocks.block_ranges(rows))
    assert _values(store.master_path) == _fresh(tmp_path, rows, "fresh")


def test_the_manifest_is_private_and_names_the_master_on_disk(store):
    store.write_master([_spec(_rows(2))])
    blocks = store.master_path.parent / ".sheets_sync" / "master-blocks.json"
    assert blocks.stat().st_mode & 0o077 == 0
    st_ = os.stat(store.master_path)
    assert f"{st_.st_mtime_ns}-{st_.st_size}" in blocks.read_text()


@given(st.lists(st.tuples(st.sampled_from(["A", "B", None]), st.integers(0, 40)), max_size=400),
       st.integers(0, 399))
@hsettings(max_examples=200, deadline=None)
def test_blocks_partition_the_rows_per_opd_and_resync_after_a_row_goes(pairs, gone):
    rows = [[a, n] if a is not None else [] for a, n in pairs]
    old = xlsx_blocks.BLOCK_ROWS
    xlsx_blocks.BLOCK_ROWS = 16            # blocks of 2..64 rows, about 16
    try:
        ranges = xlsx_blocks.block_ranges(rows)
        assert [i for a, b in ranges for i in range(a, b)] == list(range(len(rows)))
        first = lambda r: r[0] if r else None   # noqa: E731
        for a, b in ranges:
            assert b - a <= 64 and len({first(r) for r in rows[a:b]}) == 1
        if rows:
            less = rows[: gone % len(rows)] + rows[gone % len(rows) + 1:]
            before = {tuple(map(tuple, rows[a:b])) for a, b in ranges}
            after = [tuple(map(tuple, less[a:b])) for a, b in xlsx_blocks.block_ranges(less)]
            # the block that lost the row, a neighbour it merged with or split from, and the
            # forced cuts of a long run without a boundary after it
            assert sum(b not in before for b in after) <= 2 + len(rows) // 64
    finally:
        xlsx_blocks.BLOCK_ROWS = old


def test_a_cycle_after_one_edit_makes_the_master_rows_of_that_opd_only(tmp_path, monkeypatch):
    """The cycle gives the long tabs as per-OPD RowGroups keyed by what the rows follow:
    an OPD nobody edited is copied from the master on disk, its rows never made."""
    from sheets_sync import master as mst
    monkeypatch.setattr(xlsx_bulk, "BULK_ROWS", 5)
    monkeypatch.setattr(xlsx_master, "FILL_ROWS", 5)
    dep = Deployment("xlsx", tmp_path / "d", n_opds=4)
    dep.cycle()
    opd = dep.opds()[1]
    title = "Pegawai"   # Lampiran III: title row, header row, people from row 3; name in column C
    made = []
    for name in ("_form_rows", "_masalah_rows"):
        real = getattr(mst, name)
        monkeypatch.setattr(mst, name, lambda *a, _real=real: made.append(a[-2] if len(a) == 3 else a[0]) or _real(*a))
    dep.set_cell(opd, title, 3, 3, "Nama Diubah Sekali")
    rep = dep.cycle()
    assert rep.master_written
    assert {r.opd.code for r in made} == {opd.code}
    master = dep.settings.data_dir / "master.xlsx"
    incremental = openpyxl.load_workbook(master)
    st_ = master.stat()
    os.utime(master, ns=(st_.st_atime_ns, st_.st_mtime_ns + 10 ** 9))   # a person touched it: whole again
    made.clear()
    dep.cycle()
    assert {r.opd.code for r in made} == {o.code for o in dep.opds()}
    whole = openpyxl.load_workbook(master)
    for tab in whole.sheetnames:
        if tab not in ("Rekap", "Riwayat"):
            assert [[c.value for c in r] for r in incremental[tab].iter_rows()] == \
                   [[c.value for c in r] for r in whole[tab].iter_rows()], tab
    assert any(c.value == "Nama Diubah Sekali" for r in whole["Pegawai"].iter_rows() for c in r)


def test_an_opd_without_rows_in_a_tab_is_not_decoded_for_it(tmp_path, monkeypatch):
    """Penyedia PBJ or Eksper with no OPD holding the form: the summaries say so, no
    OPD's verdicts are made for an empty tab."""
    from sheets_sync import master as mst
    dep = Deployment("xlsx", tmp_path / "d", n_opds=3)
    dep.cycle()
    made = []
    real = mst._form_rows
    monkeypatch.setattr(mst, "_form_rows", lambda key, rep, keys: made.append((key, rep.opd.code)) or real(key, rep, keys))
    opd = dep.opds()[0]
    dep.set_cell(opd, "Pegawai", 3, 3, "Nama Lain")
    assert dep.cycle().master_written
    holds = {(k, o.code) for o in dep.opds() for k in o.forms}
    assert made and set(made) <= holds


@pytest.mark.parametrize("long_tabs", ["all", "Masalah only"])
def test_after_one_edit_the_cycle_decodes_that_opds_memory_only(tmp_path, monkeypatch, long_tabs):
    """The cross-OPD search reads the contacts kept beside each memory, and the master
    copies the other OPDs' rows (long tabs: their blocks; short tabs: their rows kept
    in the manifest): nobody else's verdicts are decoded, and the tabs read back as a
    whole rewrite makes them."""
    from sheets_sync.cycle.state import State
    monkeypatch.setattr(xlsx_bulk, "BULK_ROWS", 0)
    monkeypatch.setattr(xlsx_master, "FILL_ROWS", 0)
    if long_tabs != "all":
        plan = xlsx_bulk.plan
        monkeypatch.setattr(xlsx_bulk, "plan", lambda spec, prev: plan(spec, prev) if spec.title == "Masalah" else None)
    dep = Deployment("xlsx", tmp_path / "d", n_opds=4)
    dep.cycle()
    opd = dep.opds()[2]
    dep.set_cell(opd, "Pegawai", 3, 3, "Nama Lain")
    dep.cycle()                        # the master's first write from a loaded workbook (style ids settle)
    dep.set_cell(opd, "Pegawai", 4, 3, "Nama Lain Lagi")
    decoded = []
    real = State.opd
    monkeypatch.setattr(State, "opd", lambda self, code: decoded.append(code) or real(self, code))
    rep = dep.cycle()
    assert rep.master_written and rep.read == 1
    assert set(decoded) == {opd.code}
    master = dep.settings.data_dir / "master.xlsx"
    incremental = openpyxl.load_workbook(master)
    (master.parent / ".sheets_sync" / "master-blocks.json").unlink()
    st_ = master.stat()
    os.utime(master, ns=(st_.st_atime_ns, st_.st_mtime_ns + 10 ** 9))
    dep.cycle()
    whole = openpyxl.load_workbook(master)
    for tab in ("Masalah", "Pegawai", "Pengguna Layanan", "Penyedia PBJ", "Eksper"):
        if tab in whole.sheetnames:
            assert [[(c.value, c.number_format) for c in r] for r in incremental[tab].iter_rows()] == \
                   [[(c.value, c.number_format) for c in r] for r in whole[tab].iter_rows()], tab


@given(st.lists(st.lists(st.one_of(st.text(max_size=5), st.integers(-2 ** 70, 2 ** 70), st.booleans(), st.none(),
                                   st.floats(allow_nan=False, allow_infinity=False), st.dates(),
                                   st.datetimes()), max_size=4), max_size=5))
@hsettings(max_examples=200, deadline=None)
def test_short_tab_rows_kept_as_json_come_back_the_same(rows):
    import json
    body = xlsx_blocks.rows_to_json(rows)
    back = xlsx_blocks.rows_from_json(json.loads(json.dumps(body)))
    assert back == rows and [[type(v) for v in r] for r in back] == [[type(v) for v in r] for r in rows]
    nan = xlsx_blocks.rows_from_json(json.loads(json.dumps(xlsx_blocks.rows_to_json([[float("nan")]]))))
    assert nan[0][0] != nan[0][0]                      # NaN comes back as NaN (jsonvalue's "$f")
    assert xlsx_blocks.rows_to_json([[object()]]) is None   # kept only as text: made again instead
    assert xlsx_blocks.rows_from_json([[{"x": 1}]]) is None and xlsx_blocks.rows_from_json([[["z", "1"]]]) is None
