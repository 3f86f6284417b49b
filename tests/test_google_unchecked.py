"""No OPD silently unchecked, and no status on a row it was not computed for, on the
strict emulator: a spreadsheet moved out of the folder is still checked; one in a
shared drive is listed; a sort between the read and the write never leaves a
status on another row, even while Drive's version lags."""
from __future__ import annotations

import pytest

from sheets_sync.stores.google import FOLDER_MIME, create_file, spreadsheet_id
from sheets_sync.stores.google_http import GoogleSession
from tests.backends import Deployment, rekap
from tests.doubles import ObservedStore
from tests.google_emulator import start_emulator
from tests.reliability.helpers import verdicts_misaligned

DRIVE = "https://www.googleapis.com/drive/v3/files"


@pytest.fixture
def emu(monkeypatch):
    with start_emulator(strict=True) as e:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", e.url.replace("http://", ""))
        yield e


@pytest.fixture
def dep(tmp_path, emu):
    return Deployment("google", tmp_path, emulator=emu, n_opds=3,
                      session_factory=lambda: GoogleSession(None, sleep=lambda s: None))


def http(dep):
    """Requests of a person at the OPD (moving, sorting their spreadsheet)."""
    return dep._google_store(staff=True).http


def pegawai_opd(dep):
    return next(o for o in dep.opds() if "pegawai" in o.forms and len(dep.grids(o)["Pegawai"]) > 3)


def test_spreadsheet_moved_out_of_the_folder_is_still_checked(dep, emu):
    dep.cycle()
    dep.cycle()
    opd = pegawai_opd(dep)
    sid = spreadsheet_id(opd.location)
    elsewhere = create_file(http(dep), "Arsip pribadi staf", FOLDER_MIME, None)
    http(dep).request("patch", f"{DRIVE}/{sid}", params={
        "addParents": elsewhere, "removeParents": dep.settings.google["folder_id"], "supportsAllDrives": "true"})
    dep.set_cell(opd, "Pegawai", 3, 6, "0736-21234")            # a landline: SALAH
    dep.cycle()
    dep.cycle()
    assert dep.grids(opd)["Pegawai"][2][7] == "SALAH"
    by = emu.stats()["by_status"]
    assert set(by) <= {"200", "204"}, by                         # strict: nothing refused


def test_missing_spreadsheet_is_the_opds_problem_in_the_rekap(dep, emu):
    dep.cycle()
    opd = dep.opds()[1]
    http(dep).request("patch", f"{DRIVE}/{spreadsheet_id(opd.location)}", json={"trashed": True},
                      params={"supportsAllDrives": "true"})
    dep.cycle()
    assert "tidak ditemukan" in rekap(dep)[opd.code][11]


def test_listing_of_a_folder_in_a_shared_drive(tmp_path, emu, monkeypatch):
    emu.set_faults(strict=True, service_account=True)
    drive = http_raw().request("post", "https://www.googleapis.com/drive/v3/drives", params={"requestId": "r1"},
                               json={"name": "SPI"}).json()["id"]
    dep = Deployment("google", tmp_path, emulator=emu, n_opds=3, parent=drive,
                     session_factory=lambda: GoogleSession(None, sleep=lambda s: None))
    n = emu.stats()["by_endpoint"].get("drive.files.get", 0)
    rep = dep.cycle()
    assert rep.read == 3 and not rep.errors
    assert all("tidak ditemukan" not in r[11] for r in rekap(dep).values())
    # one files.get: the folder's driveId (cached); every OPD came from the listing itself
    assert emu.stats()["by_endpoint"].get("drive.files.get", 0) - n == 1
    n = emu.stats()["by_endpoint"].get("drive.files.get", 0)
    dep.cycle()
    dep.cycle()
    assert emu.stats()["by_endpoint"].get("drive.files.get", 0) == n       # nothing missing: no lookups
    assert set(emu.stats()["by_status"]) <= {"200", "204"}


def http_raw():
    from sheets_sync.stores.google import raw_http
    return raw_http()


def test_sort_between_read_and_write_under_drive_lag(dep, emu):
    """Drive's version shows nothing for 10 minutes; the sort is caught by content."""
    dep.cycle()
    dep.cycle()
    opd = pegawai_opd(dep)
    emu.set_faults(strict=True, drive_lag_s=600)
    dep.set_cell(opd, "Pegawai", 3, 6, "0736-21234")             # a status change is due on row 3

    def staff_sort(o):
        if o.code != opd.code:
            return
        g = dep.grids(o)["Pegawai"]
        width = max(len(r) for r in g)
        rows = [list(r) + [""] * (width - len(r)) for r in g[2:]]
        rows.reverse()                                            # whole rows, statuses move along
        from sheets_sync.stores.google import col_letter
        http(dep).values_batch_update(spreadsheet_id(o.location), {"valueInputOption": "RAW", "data": [
            {"range": f"'Pegawai'!A3:{col_letter(width)}{len(rows) + 2}", "values": rows}]})

    emu.advance_clock(700)                                        # the landline is visible in the listing
    from sheets_sync.cycle import run_cycle
    with dep.context() as ctx:
        ctx.store = ObservedStore(ctx.store, after_read=staff_sort)
        rep = run_cycle(ctx)
    assert any(p.code == "WB_CHANGED" for r in rep.reports if r.opd.code == opd.code for p in r.problems)
    # the listing still shows the version from before the sort (lag), yet the next cycle re-reads
    dep.cycle()
    assert verdicts_misaligned(dep.settings, dep_as_of()) == []


def dep_as_of():
    from tests.backends import AS_OF
    return AS_OF
