"""Small pieces of issue 13 (points 1 and 3), without cycles: the address OPDs open
their workbook at, the lock-file rule, and the line above the Status header."""
from __future__ import annotations

import os
import time

import pandas as pd
import pytest

from sheets_sync.config import ConfigError, parse_settings
from sheets_sync.cycle.writes import NOTICE_PREFIX, first_problem, notice_writes, ours, summary_write
from sheets_sync.stores import xlsx as xstore
from sheets_sync.stores.xlsx import XlsxStore, lock_fresh, shared_address
from sheets_sync.validate.frame import validate_frame
from sheets_sync.validate.layout import Problem, locate_form, notice_cell
from sheets_sync.validate.registry import Opd
from tests.conftest import AS_OF, clean_rows, frame


# ------------------------------------------------------------------ addresses
@pytest.mark.parametrize("base, parts, want", [
    ("", ("DINKES.xlsx",), "DINKES.xlsx"),
    (r"\\server\SPI", ("DINKES.xlsx",), r"\\server\SPI\DINKES.xlsx"),
    ("\\\\server\\SPI\\", ("dinas", "DINKES.xlsx"), r"\\server\SPI\dinas\DINKES.xlsx"),
    ("Z:\\SPI 2024", ("DINKES.xlsx",), r"Z:\SPI 2024\DINKES.xlsx"),
    ("/mnt/spi/", ("DINKES.xlsx",), "/mnt/spi/DINKES.xlsx"),
    ("https://awan.contoh.go.id/s/SPI/", ("Dinas Sosial.xlsx",), "https://awan.contoh.go.id/s/SPI/Dinas%20Sosial.xlsx"),
])
def test_shared_address_joins_the_way_the_address_is_written(base, parts, want):
    assert shared_address(base, parts) == want


def test_xlsx_link_never_shows_the_servers_path(tmp_path, forms):
    opd = Opd("DINKES", "Dinas Kesehatan", ("k@x.id",), (), ("pegawai",), location="DINKES.xlsx")
    bare = XlsxStore(tmp_path / "data", forms)
    shared = XlsxStore(tmp_path / "data", forms, address=r"\\inspektorat\SPI")
    assert bare.link(opd) == "DINKES.xlsx" and str(tmp_path) not in bare.link(opd)
    assert shared.link(opd) == r"\\inspektorat\SPI\DINKES.xlsx"


def test_settings_address_and_lock_age(tmp_path):
    s = parse_settings({"alamat_berkas": r"\\server\SPI", "kunci_kedaluwarsa_jam": 5}, tmp_path / "s.yaml")
    assert (s.file_address, s.lock_hours) == (r"\\server\SPI", 5)
    d = parse_settings({}, tmp_path / "s.yaml")
    assert (d.file_address, d.lock_hours) == ("", 2)
    with pytest.raises(ConfigError, match="kunci_kedaluwarsa_jam: '0'"):
        parse_settings({"kunci_kedaluwarsa_jam": 0}, tmp_path / "s.yaml")
    with pytest.raises(ConfigError, match="alamat_berkas"):
        parse_settings({"alamat_berkas": "a\nb"}, tmp_path / "s.yaml")


# ------------------------------------------------------------------ lock files
def _lock(path, text: str, age_hours: float):
    path.write_text(text, encoding="utf-8")
    t = time.time() - age_hours * 3600
    os.utime(path, (t, t))
    return path


def test_a_stale_lock_no_longer_blocks_a_fresh_one_does(tmp_path):
    now = time.time()
    excel = _lock(tmp_path / "~$DINKES.xlsx", "ahmad", 3)
    assert not lock_fresh(excel, now, 2 * 3600, "worker")          # a crash's leftover
    assert lock_fresh(excel, now, 4 * 3600, "worker")              # within a longer setting: still open
    lo = _lock(tmp_path / ".~lock.DINKES.xlsx#", ",ahmad,pc-ahmad,02.12.2026 09:00,file:///home/ahmad;", 0.1)
    assert lock_fresh(lo, now, 2 * 3600, "worker")                 # someone else's PC: trusted
    assert not lock_fresh(tmp_path / "~$GONE.xlsx", now, 7200, "worker")


def test_a_libreoffice_lock_of_this_host_without_libreoffice_running(tmp_path, monkeypatch):
    # LibreOffice writes "name,user,host,time,profile;" (no pid)
    lo = _lock(tmp_path / ".~lock.DINKES.xlsx#", "Ahmad,ahmad,pc-rina,02.12.2026 09:00,file:///x;", 0.1)
    monkeypatch.setattr(xstore, "_office_running", lambda: False)
    assert lock_fresh(lo, time.time(), 7200, "pc-ahmad")           # another host: it may well be open there
    lo.write_text("Ahmad,ahmad,pc-ahmad,02.12.2026 09:00,file:///x;", encoding="utf-8")
    assert not lock_fresh(lo, time.time(), 7200, "PC-Ahmad")       # our host, no LibreOffice: a leftover
    monkeypatch.setattr(xstore, "_office_running", lambda: True)
    assert lock_fresh(lo, time.time(), 7200, "PC-Ahmad")           # LibreOffice runs here: maybe open


def test_store_writes_past_a_stale_lock_only(tmp_path, forms):
    store = XlsxStore(tmp_path, forms, lock_hours=2)
    book = tmp_path / "DINKES.xlsx"
    _lock(tmp_path / "~$DINKES.xlsx", "x", 0.5)
    assert store.locked(book)
    _lock(tmp_path / "~$DINKES.xlsx", "x", 2.5)
    assert not store.locked(book)


# ------------------------------------------------------------- the line above the header
def _sheet(forms, above=None, n=3, salah_row=None):
    form = forms["pegawai"]
    grid = [[form.title] + [None] * (len(form.columns) + 2), [c.header for c in form.columns] +
            ["Status", "Keterangan", "Diperiksa"]]
    if above is not None:
        grid[0][len(form.columns)] = above
    rows = clean_rows("pegawai", n)
    if salah_row:
        rows[salah_row - 3]["email"] = "bukan-email"
    for r in rows:
        grid.append([r.get(c.key) for c in form.columns])
    sheet = locate_form(grid, form, forms, "Pegawai")
    res = validate_frame(frame(rows, form), form, AS_OF)
    return sheet, res


def test_summary_goes_above_the_status_header(forms):
    sheet, res = _sheet(forms, salah_row=4)
    [w] = summary_write(sheet, res, "14/10/2023 09:10 WIB", others=True)
    assert (w.row, w.col, w.optional) == (1, 8, True)
    assert w.value == "3 baris: 2 OK, 0 PERIKSA, 1 SALAH — diperiksa 14/10/2023 09:10 WIB"


def test_summary_never_over_what_a_person_typed(forms):
    sheet, res = _sheet(forms, above="Diisi oleh Bu Rina, jangan diubah")
    assert summary_write(sheet, res, "14/10/2023 09:10 WIB", others=True) == []
    assert not ours("Catatan: 3 baris: 3 OK, 0 PERIKSA, 0 SALAH")   # anchored: a person's sentence is theirs


def test_summary_rewritten_only_when_it_has_news(forms):
    old = "3 baris: 3 OK, 0 PERIKSA, 0 SALAH — diperiksa 13/10/2023 08:00 WIB"
    sheet, res = _sheet(forms, above=old)
    assert summary_write(sheet, res, "14/10/2023 09:10 WIB", others=False) == []   # same counts, nothing else
    assert summary_write(sheet, res, "14/10/2023 09:10 WIB", others=True)          # beside status writes
    sheet, res = _sheet(forms, above=old, salah_row=3)
    assert summary_write(sheet, res, "14/10/2023 09:10 WIB", others=False)         # counts moved
    sheet, res = _sheet(forms, above=NOTICE_PREFIX + " Tab 'Pegawai': …")
    assert summary_write(sheet, res, "14/10/2023 09:10 WIB", others=False)         # the header is back
    sheet, res = _sheet(forms)
    assert summary_write(sheet, res, "14/10/2023 09:10 WIB", others=False) == []   # empty, nothing written


def test_a_header_in_the_first_row_has_no_summary(forms):
    form = forms["pegawai"]
    grid = [[c.header for c in form.columns], [r for r in clean_rows("pegawai", 1)[0].values()]]
    sheet = locate_form(grid, form, forms, "Pegawai")
    res = validate_frame(frame(clean_rows("pegawai", 1), form, first_row=2), form, AS_OF)
    assert summary_write(sheet, res, "x", others=True) == []


def test_renamed_header_gets_a_notice_in_its_own_tab(forms):
    form = forms["pegawai"]
    header = [c.header for c in form.columns] + ["Status", "Keterangan", "Diperiksa"]
    header[6] = "Email pribadi"          # E-mail aktif renamed
    grid = [[form.title], header, [1, "Dinas", "Budi", "01/02/2015", "Staf", "0812-3456-7890", "b@x.id", "OK"]]
    problem = locate_form(grid, form, forms, "Pegawai")
    assert isinstance(problem, Problem) and problem.code == "HEADER_MISSING"
    at = notice_cell(grid, form, forms)
    assert at == (1, 8, None)
    [w] = notice_writes({"Pegawai": (*at, problem)})
    assert w.value.startswith(NOTICE_PREFIX) and "E-mail aktif" in w.value and "Kembalikan" in w.value
    assert notice_writes({"Pegawai": (1, 8, w.value, problem)}) == []          # already says so
    assert notice_writes({"Pegawai": (1, 8, "Tulisan orang", problem)}) == []  # a person's cell


def test_first_problem_prefers_salah_then_the_first_row(forms):
    form = forms["pegawai"]
    rows = clean_rows("pegawai", 4)
    rows[0]["email"] = ""                      # row 3: PERIKSA at most
    rows[2]["no_hp"] = "021-555"               # row 5: SALAH
    res = validate_frame(frame(rows, form), form, AS_OF)
    key, row, col = first_problem({"pegawai": res}, ["pegawai"])
    assert (key, row) == ("pegawai", 5) and col == "no_hp"
    ok = validate_frame(frame(clean_rows("pegawai", 2), form), form, AS_OF)
    assert first_problem({"pegawai": ok}, ["pegawai"]) is None
    assert isinstance(res.status, pd.Series)


def test_petunjuk_says_when_statuses_appear_on_each_backend(tmp_path, forms):
    from sheets_sync.provision.spec import petunjuk_lines
    for backend, says, never in (("xlsx", "HANYA bila berkas ini sedang tertutup", "tidak perlu ditutup"),
                                 ("google", "Spreadsheet tidak perlu ditutup", "tertutup")):
        settings = parse_settings({"backend": backend, "sync_interval_minutes": 5}, tmp_path / "s.yaml")
        text = "\n".join(petunjuk_lines(settings, forms, ["pegawai"]))
        assert says in text and never not in text and "setiap 5 menit" in text
        assert "beberapa menit setelah Anda mengetik." not in text or backend == "google"
