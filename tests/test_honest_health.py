"""Honest health (issue 13, point 5): a cycle that cannot do its job exits non-zero,
is not recorded as a success, and `status` says why; an OPD whose workbook is gone
is flagged in `status` and in the Rekap, its last good counts marked as old."""
from __future__ import annotations

import datetime as dt
import logging

import openpyxl
import pytest

import jobs
from sheets_sync import cli
from sheets_sync.ops import health
from sheets_sync.stores.google_http import GoogleSession
from tests.backends import AS_OF, Deployment, rekap


def _once(dep, as_of=AS_OF) -> int:
    return jobs.main(["--once", "--config", str(dep.settings_path), "--as-of", as_of.isoformat()])


@pytest.fixture
def dep(tmp_path):
    return Deployment("xlsx", tmp_path, n_opds=4)


def test_missing_master_fails_the_cycle_and_status_says_why(dep, capsys, caplog):
    assert _once(dep) == 0
    good = health.read(dep.settings)["last_success"]
    master = dep.settings.data_dir / "master.xlsx"
    master.rename(master.with_suffix(".bak"))
    with caplog.at_level(logging.ERROR):
        assert _once(dep) == 1                                         # not 0: the alarm can fire
    assert "master" in caplog.text and "Traceback" not in caplog.text
    data = health.read(dep.settings)
    assert data["last_success"] == good                                # not recorded as a success
    assert data["last_cycle"]["failed"] is True and data["consecutive_failures"] == 1
    assert "master.xlsx tidak ditemukan" in data["last_failure"]["message"]
    capsys.readouterr()
    assert cli.main(["status", "--config", str(dep.settings_path)]) == 1   # `status || alarm` fires
    out = capsys.readouterr().out
    assert "SIKLUS TERAKHIR GAGAL" in out.splitlines()[0] and "master.xlsx tidak ditemukan" in out
    assert out.count("SIKLUS TERAKHIR GAGAL") == 1                     # first, above the old counts
    master.with_suffix(".bak").rename(master)
    assert _once(dep) == 0
    assert health.read(dep.settings)["consecutive_failures"] == 0


def test_deleted_opd_workbook_is_flagged_with_its_old_counts(dep, capsys):
    assert _once(dep) == 0
    before = rekap(dep)["DINKES"]
    (dep.settings.data_dir / "DINKES.xlsx").unlink()
    assert _once(dep, AS_OF + dt.timedelta(days=1)) == 0               # the others are checked: a success
    row = rekap(dep)["DINKES"]
    assert row[3:7] == before[3:7]                                     # last good counts kept ...
    assert row[7] == f"{before[7]} (data lama, {before[9][:5]})"       # ... and marked as old
    assert "tidak ditemukan" in row[11]
    book = openpyxl.load_workbook(dep.settings.data_dir / "master.xlsx")
    shown = [r for r in book["Rekap"].iter_rows(values_only=True) if r[0] == "DINKES"][0]
    assert "data lama" in shown[7]
    assert health.read(dep.settings)["opd_states"][before[7]] >= 1    # still counted in its state
    capsys.readouterr()
    cli.main(["status", "--config", str(dep.settings_path)])
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("DINKES"))
    assert "data lama" in line
    assert "! berkas tidak terbaca: Berkas/spreadsheet OPD tidak ditemukan (DINKES.xlsx)" in out
    assert next(x for x in out.splitlines() if x.startswith("JUMLAH")).endswith("dari 4 (25%)")


# ------------------------------------------------------------------ Google
def test_unreachable_google_is_a_failed_cycle(tmp_path, emu):
    gdep = Deployment("google", tmp_path, emulator=emu, n_opds=2,
                      session_factory=lambda: GoogleSession(None, sleep=lambda s: None, max_attempts=2))
    assert not gdep.cycle().fatal
    emu.set_faults(rate_500=1.0, seed=1)
    rep = gdep.cycle()
    emu.clear_faults()
    assert rep.fatal.startswith("Daftar OPD di master tidak dapat dibaca")
    assert not gdep.cycle().fatal


def test_status_after_only_failed_cycles_has_no_empty_table(dep, capsys):
    """A first install whose master is missing: status says the cycle failed and why,
    without a table head over no rows."""
    master = dep.settings.data_dir / "master.xlsx"
    master.unlink()
    assert _once(dep) == 1
    capsys.readouterr()
    assert cli.main(["status", "--config", str(dep.settings_path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("SIKLUS TERAKHIR GAGAL") and "master.xlsx tidak ditemukan" in out
    assert not any(line.startswith("Kode ") for line in out.splitlines()), out
