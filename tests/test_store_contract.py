"""One behaviour suite, two backends: the .xlsx folder and Google Sheets on the
local emulator must behave the same for the same rows."""
from __future__ import annotations

import pytest

from sheets_sync.forms import load_forms
from tests.backends import Deployment, rekap
from tests.google_emulator import start_emulator

STATUS_KEYS = ("status", "message", "checked")


@pytest.fixture(params=["xlsx", "google"])
def dep(request, tmp_path, monkeypatch):
    if request.param == "xlsx":
        yield Deployment("xlsx", tmp_path)
        return
    with start_emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.url.replace("http://", ""))
        yield Deployment("google", tmp_path, emulator=emu)


def _status_cols(grid, forms, form):
    header = next(r for r in grid[:5] if any(isinstance(v, str) and v.strip() == form.columns[1].header for v in r))
    return [i for i, v in enumerate(header) if v in [forms.status_headers[k] for k in STATUS_KEYS]]


def _inputs(dep, opd) -> dict:
    """Every cell outside the status columns, blank-insensitive."""
    forms = load_forms()
    out = {}
    for title, grid in dep.grids(opd).items():
        form = next((f for f in forms if f.matches_sheet(title)), None)
        skip = set(_status_cols(grid, forms, form)) if form else set()
        for r, row in enumerate(grid):
            for c, v in enumerate(row):
                if c not in skip and v not in (None, ""):
                    out[(title, r, c)] = v
    return out


def test_cycle_writes_only_status_cells(dep):
    opds = dep.opds()
    before = {o.code: _inputs(dep, o) for o in opds}
    rep = dep.cycle()
    assert rep.written_cells > 0 and not rep.errors
    for o in opds:
        assert _inputs(dep, o) == before[o.code], o.code


def test_every_data_row_gets_a_status(dep):
    dep.cycle()
    forms = load_forms()
    for o in dep.opds():
        for title, grid in dep.grids(o).items():
            form = next((f for f in forms if f.matches_sheet(title)), None)
            if form is None:   # Petunjuk, the hidden Pilihan of a provisioned workbook
                continue
            cols = _status_cols(grid, forms, form)
            header_row = next(i for i, r in enumerate(grid[:5]) if forms.status_headers["status"] in r)
            for row in grid[header_row + 1:]:
                typed = [v for i, v in enumerate(row[:len(form.columns)]) if i > 0 and v not in (None, "")]
                if form.key == "eksper":
                    typed = typed[1:]   # Kriteria comes pre-filled
                status = row[cols[0]] if len(row) > cols[0] else None
                assert (status in ("OK", "PERIKSA", "SALAH")) == bool(typed), (o.code, title, row)


def test_second_cycle_settles_and_then_costs_nothing(dep):
    dep.cycle()
    dep.cycle()           # Google: the revision of its own write is taken as such, not read
    n = dep.requests()
    rep = dep.cycle()
    assert (rep.read, rep.validated, rep.written_cells, rep.master_written) == (0, 0, 0, False)
    assert dep.requests() - n <= 1


def test_settles_even_when_cycles_fall_in_different_minutes(dep):
    import datetime as dt
    from sheets_sync.config import WIB
    t = dt.datetime(2023, 10, 12, 8, 0, 30, tzinfo=WIB)
    dep.cycle(now=t)
    dep.cycle(now=t + dt.timedelta(minutes=10))   # our own write: not read, not a new check
    n = dep.requests()
    rep = dep.cycle(now=t + dt.timedelta(minutes=20))
    assert (rep.read, rep.master_written) == (0, False)
    assert dep.requests() - n <= 1


def test_an_edit_is_validated_and_only_that_opd_is_read(dep):
    dep.cycle()
    dep.cycle()
    opd = next(o for o in dep.opds() if "pegawai" in o.forms and rekap(dep)[o.code][3] > 0)
    dep.set_cell(opd, "Pegawai", 3, 6, "021-5551234")     # first data row's phone: a landline
    rep = dep.cycle()
    assert rep.read == 1
    grid = dep.grids(opd)["Pegawai"]
    forms = load_forms()
    cols = _status_cols(grid, forms, forms["pegawai"])
    assert grid[2][cols[0]] == "SALAH"
    assert "telepon kantor" in grid[2][cols[1]]


def test_renamed_tab_is_reported_not_recreated(dep):
    dep.cycle()
    opd = next(o for o in dep.opds() if "pengguna_layanan" in o.forms and len(dep.grids(o)["Pengguna Layanan"]) > 30)
    before = rekap(dep)[opd.code]
    dep.rename_tab(opd, "Pengguna Layanan", "Layanan Okt")
    dep.cycle()
    assert "Pengguna Layanan" in rekap(dep)[opd.code][11]          # Catatan names the tab
    assert rekap(dep)[opd.code][3] == before[3] > 0                 # its rows as last read still count
    assert "Pengguna Layanan" not in dep.grids(opd)                  # not recreated
    assert "Layanan Okt" in dep.grids(opd)


def test_deleted_workbook_is_reported_and_others_go_on(dep):
    dep.cycle()
    opds = dep.opds()
    gone = opds[1]
    dep.delete(gone)
    other = next(o for o in opds if o.code != gone.code and "pegawai" in o.forms)
    dep.set_cell(other, "Pegawai", 3, 6, "0736-21234")
    rep = dep.cycle()
    rows = rekap(dep)
    assert "tidak ditemukan" in rows[gone.code][11] or "tidak dapat diakses" in rows[gone.code][11]
    assert rep.read >= 1 and rows[other.code][6] >= 1


def test_same_rows_same_verdicts_on_both_backends(tmp_path, monkeypatch):
    x = Deployment("xlsx", tmp_path / "x")
    x.cycle()
    with start_emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.url.replace("http://", ""))
        g = Deployment("google", tmp_path / "g", emulator=emu)
        g.cycle()
        counts = lambda d: {k: v[3:8] for k, v in rekap(d).items()}  # noqa: E731
        assert counts(x) == counts(g)
