"""An OPD spreadsheet shared with the worker as Viewer: it is read (its counts are
today's), every status write answers 403. Reported as read-only with what to change
(WB_READ_ONLY), not as deleted or unshared; tried again when its revision moves (or
after baca_ulang_jam hours), so that an idle cycle still costs one Drive listing."""
from __future__ import annotations

import datetime as dt

import pytest

from sheets_sync.codes import TRANSIENT, UNREADABLE
from sheets_sync.config import WIB
from sheets_sync.stores.google_http import GoogleSession
from tests.backends import Deployment, rekap
from tests.google_answers import DENIED, answer_worker, problems, put, spent


@pytest.fixture
def dep(tmp_path, emu):
    return Deployment("google", tmp_path, emulator=emu, n_opds=3,
                      session_factory=lambda: GoogleSession(None, sleep=lambda s: None, max_attempts=3))


def _status_of_row(dep, opd, row: int) -> str:
    grid = dep.grids(opd)["Pegawai"]
    header = next(i for i, r in enumerate(grid) if "Status" in r)
    line = grid[row - 1] + [""] * 20
    return line[grid[header].index("Status")]


def test_a_read_only_share_is_reported_as_such_with_current_counts(dep, emu, monkeypatch):
    opd = dep.opds()[0]
    answer_worker(emu, monkeypatch, opd, DENIED, method="POST")
    dep.cycle()
    assert problems(dep, opd.code) == ["WB_READ_ONLY"]
    row = rekap(dep)[opd.code]
    assert "dihapus" not in row[11] and "tidak dibagikan" not in row[11], row[11]
    assert "sebagai Editor" in row[11]
    assert "data lama" not in row[7] and "tidak terbaca" not in row[7], row[7]   # read this very cycle
    assert row[3] > 0
    assert "WB_READ_ONLY" not in UNREADABLE | TRANSIENT


def test_a_read_only_share_costs_no_request_while_nobody_edits(dep, emu, monkeypatch):
    dep.cycle()
    dep.cycle()
    opd = dep.opds()[0]
    answer_worker(emu, monkeypatch, opd, DENIED, method="POST")
    put(dep, opd, "Pegawai", 4, 6, [["021-555123"]])            # a landline: a status change is due
    dep.cycle()                                                  # the write is refused (403)
    dep.cycle()
    idle = [spent(emu, dep.cycle) for _ in range(3)]
    assert all(sum(s.values()) <= 1 for s in idle), idle
    assert problems(dep, opd.code) == ["WB_READ_ONLY"]


def test_once_shared_as_editor_the_next_edit_gets_its_statuses(dep, emu, monkeypatch):
    opd = dep.opds()[0]
    with monkeypatch.context() as m:
        answer_worker(emu, m, opd, DENIED, method="POST")
        put(dep, opd, "Pegawai", 4, 6, [["021-555123"]])
        dep.cycle()
        assert _status_of_row(dep, opd, 4) != "SALAH"
    put(dep, opd, "Pegawai", 5, 6, [["021-555124"]])            # the share is fixed; someone edits
    rep = dep.cycle()
    assert rep.written_cells > 0 and problems(dep, opd.code) == []
    assert _status_of_row(dep, opd, 4) == "SALAH"


def test_a_read_only_share_is_tried_again_after_the_reread_hours(dep, emu, monkeypatch):
    opd = dep.opds()[0]
    now = dt.datetime.now(WIB)
    with monkeypatch.context() as m:
        answer_worker(emu, m, opd, DENIED, method="POST")
        dep.cycle(now=now)
    assert dep.cycle(now=now + dt.timedelta(minutes=10)).read == 0     # not every cycle
    hours = dep.settings.reread_hours
    rep = dep.cycle(now=now + dt.timedelta(hours=hours, minutes=1))    # a share fixed without an edit
    assert rep.written_cells > 0 and problems(dep, opd.code) == []
