"""The limits (settings `limits:`) on the Google backend: a tab past them is refused
(SHEET_TOO_LARGE) for that OPD only, from its grid size, in the read it costs anyway;
no more than the limits' worth of cells is downloaded, and a normal or provisioned
sheet (more rows than data) is read as before."""
from __future__ import annotations

import dataclasses
import json

import pytest

from sheets_sync.stores.google import spreadsheet_id
from sheets_sync.stores.google_http import GoogleSession
from tests.backends import Deployment, rekap
from tests.google_answers import grow, problems, put, spent


@pytest.fixture
def dep(tmp_path, emu):
    return Deployment("google", tmp_path, emulator=emu, n_opds=3,
                      session_factory=lambda: GoogleSession(None, sleep=lambda s: None, max_attempts=3))


def _answers_to_worker(emu, monkeypatch, opd) -> list[int]:
    """Sizes (bytes) of the answers the worker got for its reads of `opd`'s spreadsheet."""
    em, sid, sizes = emu.emulator, spreadsheet_id(opd.location), []
    real = em.handle

    def handle(method, raw_path, query, body, headers=None):
        out = real(method, raw_path, query, body, headers)
        worker = not any(k.lower() == "x-emulator-user" for k in (headers or {}))
        if worker and method == "GET" and raw_path.startswith("/v4/") and sid in raw_path:
            sizes.append(len(json.dumps(out[1])))
        return out
    monkeypatch.setattr(em, "handle", handle)
    return sizes


def test_a_tab_past_the_row_limit_is_refused_and_the_others_go_on(dep, emu, monkeypatch):
    assert dep.settings.limits.rows == 100_000
    opd, *others = dep.opds()
    grow(dep, opd, "Pegawai", rowCount=200_010)
    put(dep, opd, "Pegawai", 200_000, 3, [["Nama di baris jauh"]])
    sizes = _answers_to_worker(emu, monkeypatch, opd)
    rep = dep.cycle()
    assert problems(dep, opd.code) == ["SHEET_TOO_LARGE"]
    assert rep.master_written
    assert all(problems(dep, o.code) == [] for o in others)
    assert "100.000 baris" in rekap(dep)[opd.code][11]
    assert sizes and max(sizes) < 200_000            # rows 100,001+ never asked for


def test_a_tab_past_the_column_limit_is_refused_without_downloading_it(dep, emu, monkeypatch):
    assert dep.settings.limits.columns == 1_000
    opd = dep.opds()[0]
    grow(dep, opd, "Pegawai", columnCount=18_000)
    put(dep, opd, "Pegawai", 4, 1_001, [["x" * 20] * 17_000])   # 17,000 cells right of column 1,000
    sizes = _answers_to_worker(emu, monkeypatch, opd)
    dep.cycle()
    assert problems(dep, opd.code) == ["SHEET_TOO_LARGE"]
    assert sizes and max(sizes) < 100_000            # not the 17,000 cells (>340 kB)


def test_a_big_grid_within_rows_and_columns_is_refused_by_its_area(dep):
    opd = dep.opds()[0]
    grow(dep, opd, "Pegawai", rowCount=100_000, columnCount=50)    # 5,000,000 cells: past 4 x limits.cells
    dep.cycle()
    assert problems(dep, opd.code) == ["SHEET_TOO_LARGE"]


def test_provisioned_rows_beyond_the_data_are_read_as_usual(dep, emu):
    dep.cycle()
    opd = dep.opds()[0]
    before = rekap(dep)[opd.code][3:8]
    grow(dep, opd, "Pegawai", rowCount=20_000, columnCount=60)
    dep.cycle()
    assert problems(dep, opd.code) == []
    assert rekap(dep)[opd.code][3:8] == before


def test_too_many_cells_in_the_tabs_read_is_refused(dep):
    opd = dep.opds()[0]
    grow(dep, opd, "Pegawai", rowCount=2_000)
    put(dep, opd, "Pegawai", 200, 1, [["isi"] * 26] * 1_800)    # 46,800 cells; the grid is 52,000
    dep.settings.limits = dataclasses.replace(dep.settings.limits, cells=40_000)   # area rule: 160,000
    dep.cycle()
    assert problems(dep, opd.code) == ["SHEET_TOO_LARGE"]


def test_a_refused_tab_costs_no_request_while_nobody_edits(dep, emu):
    opd = dep.opds()[0]
    grow(dep, opd, "Pegawai", rowCount=200_010)
    later = [spent(emu, dep.cycle) for _ in range(4)]   # the master settles (registry re-read once)
    assert not any("sheets.spreadsheets.get" in s for s in later[1:]), later   # never read again
    assert sum(later[-1].values()) <= 1                          # the Drive listing only
    assert problems(dep, opd.code) == ["SHEET_TOO_LARGE"]
