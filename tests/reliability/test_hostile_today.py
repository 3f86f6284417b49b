"""Hostile and real-world input over what was built on one day (merges, the summary
cell, the master's rendering, settings rules and rounds, export templates, season
new): each attack is one small OPD, file or settings text. The rules checked: one
OPD's bad file never stops the others (the master is compiled, reminders sent),
sizes are bounded before work, and a person gets an Indonesian message, not a
traceback."""
from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest

from sheets_sync import remind
from sheets_sync.config import WIB, ConfigError, load_settings
from sheets_sync.cycle import run_cycle
from sheets_sync.cycle.state import State

from tests.conftest import AS_OF, Deployment, clean_row, status_by_row
from tests.reliability import hostile

NOW = dt.datetime(2023, 10, 12, 9, 0, tzinfo=WIB)   # H-3: a reminder slot is due


def rows(start: int, n: int = 2, **over) -> list[dict]:
    out = [clean_row("pegawai", i) for i in range(start, start + n)]
    out[0].update(over)
    return out


def tab_xml(path: Path, old: bytes, new: bytes) -> None:
    """Replace bytes in the Pegawai tab's XML (what openpyxl would refuse to write)."""
    part = hostile.tab_part(path, "Pegawai")
    parts = hostile.members(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts:
            if name == part:
                assert old in data
                data = data.replace(old, new, 1)
            z.writestr(name, data)


def edit(path: Path, change) -> None:
    book = openpyxl.load_workbook(path)
    change(book["Pegawai"], book)
    book.save(path)


def master_cells(dep: Deployment, title: str) -> dict[str, openpyxl.cell.Cell]:
    book = openpyxl.load_workbook(dep.master)
    return {c.coordinate: c for row in book[title].iter_rows() for c in row if c.value is not None}


def problem_codes(dep: Deployment, code: str) -> list[str]:
    with State(dep.settings().state_db) as state:
        return [p.code for p in state.opd(code).problems]


def _summary_by_hand(ws, _book) -> None:
    ws["H1"] = "Catatan pribadi: jangan dihapus"        # the cell above Status


def _repeat_header(ws, _book) -> None:
    for c in range(1, 11):
        ws.cell(4, c).value = ws.cell(2, c).value


def _many_merges(ws, _book) -> None:
    for r in range(200, 3200):
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=2)


@pytest.fixture(scope="module")
def regency(tmp_path_factory, forms):
    """One cycle (with reminders) over a good OPD and one OPD per attack."""
    dep = Deployment(tmp_path_factory.mktemp("hostile_today"), forms)
    dep.add_opd("BAIK", {"pegawai": rows(1, 3)})
    ctrl = dep.add_opd("KENDALI", {"pegawai": rows(10, nama="CTRLMARK")})
    tab_xml(ctrl, b"CTRLMARK", b"Budi_x0001_ _x001B_[31mSantoso")     # Excel's escapes for control characters
    dep.add_opd("RUMUS", {"pegawai": rows(20, nama='=HYPERLINK("http://evil.example","klik")', jabatan="+1+1")})
    dep.add_opd("PANJANG", {"pegawai": rows(30, nama="N" * 32767)})
    edit(dep.add_opd("CATATAN", {"pegawai": rows(40)}), _summary_by_hand)
    edit(dep.add_opd("JUDUL2", {"pegawai": rows(50, 3)}), _repeat_header)
    edit(dep.add_opd("GABUNG", {"pegawai": rows(60, 3)}), _many_merges)
    huge = dep.add_opd("RAKSASA", {"pegawai": rows(70, 3)})          # openpyxl would build 16 billion cells
    tab_xml(huge, b"</sheetData>", b'</sheetData><mergeCells count="1"><mergeCell ref="A20:XFD1048576"/></mergeCells>')
    wide = dep.add_opd("LUAS", {"pegawai": rows(90, 3)})               # over the status cells too
    tab_xml(wide, b"</sheetData>", b'</sheetData><mergeCells count="1"><mergeCell ref="A3:XFD1048576"/></mergeCells>')
    before = wide.read_bytes()
    edit(dep.add_opd("XMLTAB", {"pegawai": rows(80)}), lambda ws, b: b.create_sheet("<x> & 'y' \"z\""))
    with dep.context(AS_OF, now=NOW) as ctx:
        ctx.hooks = [remind.hook]
        rep = run_cycle(ctx)
    assert wide.read_bytes() == before
    return dep, rep


def test_the_cycle_compiles_the_master_and_reminds_past_every_attack(regency, forms):
    dep, rep = regency
    assert rep.master_written and not rep.errors, rep.errors
    assert sorted((dep.root / "outbox").rglob("*.eml"))
    assert [s[0] for s in status_by_row(dep.path("BAIK"), "Pegawai", forms, "pegawai").values()] == ["OK"] * 3


def test_control_characters_in_a_cell_do_not_fail_the_master(regency, forms):
    """'Budi\\x01 \\x1b[31mSantoso' (typed as _x0001_ in the file) failed the whole master
    write with openpyxl's IllegalCharacterError. The row is SALAH now (the characters
    would travel to KPK), and the master is written with its problem."""
    dep, rep = regency
    assert rep.master_written
    status, note, _ = next(iter(status_by_row(dep.path("KENDALI"), "Pegawai", forms, "pegawai").values()))
    assert status == "SALAH" and "karakter kendali" in note and "U+0001" in note, note
    masalah = [c.value for c in master_cells(dep, "Masalah").values()]
    assert any(isinstance(v, str) and "karakter kendali" in v for v in masalah)
    assert not any(isinstance(v, str) and "Santoso" in v for v in master_cells(dep, "Pegawai").values())


def test_formula_like_text_stays_text_in_the_master(regency):
    dep, _ = regency
    cells = {c.value: c for c in master_cells(dep, "Pegawai").values()}
    for text in ('=HYPERLINK("http://evil.example","klik")', "+1+1"):
        assert cells[text].data_type == "s" and cells[text].quotePrefix


def test_a_32k_character_name_is_told_not_checked(regency, forms):
    dep, _ = regency
    status, note, _ = status_by_row(dep.path("PANJANG"), "Pegawai", forms, "pegawai")[3]
    assert status == "SALAH" and "32767 karakter" in note


def test_a_summary_cell_typed_by_a_person_is_kept(regency, forms):
    dep, _ = regency
    book = openpyxl.load_workbook(dep.path("CATATAN"))
    assert book["Pegawai"]["H1"].value == "Catatan pribadi: jangan dihapus"
    assert [s[0] for s in status_by_row(dep.path("CATATAN"), "Pegawai", forms, "pegawai").values()] == ["OK"] * 2


def test_a_repeated_header_row_is_not_a_respondent(regency, forms):
    dep, _ = regency
    with State(dep.settings().state_db) as state:
        assert state.opd("JUDUL2").results["pegawai"].status.tolist() == ["OK", "OK"]
    assert problem_codes(dep, "JUDUL2") == []


@pytest.mark.parametrize("code", ["GABUNG", "XMLTAB"])
def test_merges_far_below_and_odd_tab_titles_are_harmless(regency, forms, code):
    dep, _ = regency
    assert problem_codes(dep, code) == []
    assert [s[0] for s in status_by_row(dep.path(code), "Pegawai", forms, "pegawai").values()][:2] == ["OK", "OK"]


def test_a_merge_of_sixteen_billion_cells_below_the_data_is_read_and_written(regency):
    """A20:XFD1048576 (never opened with openpyxl here: it builds one object per cell)."""
    dep, _ = regency
    assert problem_codes(dep, "RAKSASA") == []
    with State(dep.settings().state_db) as state:
        assert state.opd("RAKSASA").results["pegawai"].status.tolist() == ["OK"] * 3
    assert b"<v>OK</v>" in zipfile.ZipFile(dep.path("RAKSASA")).read(hostile.tab_part(dep.path("RAKSASA"), "Pegawai")) \
        or b">OK<" in zipfile.ZipFile(dep.path("RAKSASA")).read(hostile.tab_part(dep.path("RAKSASA"), "Pegawai"))


def test_a_merge_of_sixteen_billion_cells_over_the_status_column_is_reported_not_loaded(regency):
    """A3:XFD1048576 covers the status cells: the write fell back to openpyxl, which
    took gigabytes (the worker was killed by the kernel); now the merged area is
    counted from the XML first, the OPD told to unmerge, and its file left alone."""
    dep, _ = regency
    assert problem_codes(dep, "LUAS") == ["STATUS_MERGED"]
    with State(dep.settings().state_db) as state:
        assert "A3:XFD1048576" in state.opd("LUAS").problems[0].text()


# ------------------------------------------------------------ settings and templates
HEAD = ("backend: xlsx\ndata_dir: data\nmaster: master.xlsx\nstate_dir: state\n"
        "inspektorat: {nama: X, email: [a@b.go.id]}\nmail: {transport: outbox, sender: a@b.go.id}\n")
LAUGHS = "[" + ", ".join(['&a ["x","x","x","x","x","x","x","x","x"]'] + [
    f"&{c} [" + ",".join([f"*{p}"] * 9) + "]" for p, c in zip("abcdefgh", "bcdefghi")]) + "]"


@pytest.mark.parametrize("text, said", [
    # a billion laughs under a key whose check shows the value: str() ran for hours
    (HEAD + f"aturan: {{minimal_baris: {{pegawai: {LAUGHS}}}}}\n", "lebih dari 50.000 nilai"),
    (HEAD + f"putaran: [{{nama: a, batas: {LAUGHS}}}]\n", "lebih dari 50.000 nilai"),
    (HEAD + f"sync_interval_minutes: {LAUGHS}\n", "lebih dari 50.000 nilai"),
    (HEAD + "putaran: [" + ",".join(["{nama: a, batas: 1 Mei}"] * 20_000) + "]\n", "terlalu besar"),
    (HEAD + "aturan: " + "[" * 2000 + "]" * 2000 + "\n", "terlalu dalam"),
    (HEAD.replace("data_dir: data", "data_dir: [data, lain]"), "data_dir: '['data', 'lain']' harus satu jalur"),
    (HEAD + "aturan:\n\tpengguna_layanan_bulan: 3\n", "karakter tab tidak boleh"),
    (HEAD + "aturan: {pengguna_layanan_bulan: .nan}\n", "harus bilangan bulat"),
    (HEAD + "putaran: {nama: a}\n", "putaran: tulis daftar"),
])
def test_hostile_settings_are_told_in_indonesian_at_once(tmp_path, text, said):
    path = tmp_path / "settings.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_settings(path)
    assert said in str(e.value)


@pytest.mark.parametrize("raw, said", [
    ({"sheets": [{"forms": 5}]}, "forms: tulis nama formulir"),
    ({"sheets": [{"forms": {"pegawai": 1}}]}, "forms: tulis nama formulir"),
    ({"sheets": [{"form": "pegawai", "columns": [{"header": "a", "from": ["nama"]}]}]}, "bukan daftar"),
    ({"sheets": [{"form": "pegawai", "columns": [{"header": "a", "value": "x"}] * 10_000}]}, "1–200 kolom"),
    ({"sheets": [{"form": "pegawai", "sheet": "../../etc/passwd"}]}, "tidak dapat dipakai"),
])
def test_hostile_export_templates_are_told_in_indonesian(forms, raw, said):
    from sheets_sync.export_layout import parse_layout
    with pytest.raises(ConfigError) as e:
        parse_layout(raw, forms)
    assert said in str(e.value)


def test_a_cell_written_to_the_master_holds_what_excel_can_open():
    """A 40,000-character OPD name or evidence link from the registry, a lone surrogate
    from Google's JSON, control characters: openpyxl refused or wrote them as is."""
    from sheets_sync.stores.xlsxio import set_value
    ws = openpyxl.Workbook().active
    assert len(set_value(ws, 1, 1, "N" * 40_000).value) == 32_767
    assert set_value(ws, 2, 1, "Budi\ud800\x00 S").value == "Budi? S"


def test_season_archive_never_follows_a_symlink_out_of_the_data_folder(deployment, tmp_path):
    """`season new` copies every workbook (respondents' data) into <data>/arsip: an
    arsip that is a symlink to another folder wrote them there."""
    from sheets_sync.stores import StoreError
    from sheets_sync.stores.xlsx import XlsxStore
    deployment.add_opd("BAIK", {"pegawai": rows(1)})
    outside = tmp_path / "luar"
    outside.mkdir()
    (deployment.data / "arsip").symlink_to(outside)
    store = XlsxStore(deployment.data, deployment.forms)
    with pytest.raises(StoreError) as e:
        store.archive_copy(None, "master-2023.xlsx")
    assert "luar folder data" in e.value.problem.text()
    assert list(outside.iterdir()) == []
