"""Regression tests for the bugs the fault suite found (docs/reliability.md)."""
from __future__ import annotations

import openpyxl

from sheets_sync.fileio import atomic_save


def test_a_save_killed_halfway_leaves_no_temporary_file_for_good(tmp_path):
    """SIGKILL during atomic_save left '.master.<random>.tmp' in the data folder
    forever (found by test_kill on the .xlsx backend); the next save of the same
    workbook removes it, and nothing else."""
    target = tmp_path / "master.xlsx"
    leftover = tmp_path / ".master.9jclwuvd.tmp"
    leftover.write_bytes(b"PK\x03\x04 half a zip")
    others = [tmp_path / ".DINKES.abcd1234.tmp", tmp_path / ".master.catatan.tmp", tmp_path / "master.tmp"]
    for p in others:
        p.write_text("bukan milik kita")
    atomic_save(openpyxl.Workbook(), target)
    assert target.exists() and not leftover.exists()
    assert all(p.exists() for p in others)
    assert sorted(p.name for p in tmp_path.glob(".master.*.tmp")) == [".master.catatan.tmp"]


# ---------------------------------------------------------------------------
# Google faults (found by the fault season on the emulator)
import pytest  # noqa: E402

from sheets_sync.validate.layout import Problem  # noqa: E402
from sheets_sync.stores import StoreError  # noqa: E402
from sheets_sync.stores.google import GoogleStore, spreadsheet_id  # noqa: E402


@pytest.fixture
def gdep(tmp_path, monkeypatch):
    from sheets_sync.stores.google_http import GoogleSession
    from tests.backends import Deployment
    from tests.google_emulator import start_emulator
    with start_emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", f"127.0.0.1:{emu.port}")
        yield Deployment("google", tmp_path, emulator=emu, n_opds=3,
                         session_factory=lambda: GoogleSession(None, sleep=lambda s: None))


def _fail_once(monkeypatch, sid: str):
    """The next read of spreadsheet `sid` fails as Google does after the retries
    (429/5xx/timeout): StoreError WB_READ_FAILED. (OPD workbooks are read with
    grid_get, the registry with batch_get: either.)"""
    failed = []
    for name in ("batch_get", "grid_get"):
        real = getattr(GoogleStore, name)

        def read(self, s, titles, real=real):
            if s == sid and not failed:
                failed.append(s)
                raise StoreError(Problem("WB_READ_FAILED", {"alasan": "Google menjawab 503"}))
            return real(self, s, titles)

        monkeypatch.setattr(GoogleStore, name, read)
    return failed


def _memory(dep, code):
    from sheets_sync.cycle.state import State
    with State(dep.settings.state_db) as state:
        return state.opd(code)


def test_a_read_that_failed_on_a_network_error_is_tried_again_next_cycle(gdep, monkeypatch):
    """An OPD whose read failed after the retries (429/5xx/timeout) was marked
    'complete' and not read again until its spreadsheet changed: its rows stayed
    unvalidated (BELUM MENGISI in the Rekap, reminders as if empty)."""
    opd = max(gdep.opds(), key=lambda o: len(o.forms))
    failed = _fail_once(monkeypatch, spreadsheet_id(opd.location))
    gdep.cycle()
    assert failed and [p.code for p in _memory(gdep, opd.code).problems] == ["WB_READ_FAILED"]
    rep = gdep.cycle()                                    # nobody edited anything
    mem = _memory(gdep, opd.code)
    assert rep.read >= 1 and mem.results and not mem.problems
    assert sum(len(r.status) for r in mem.results.values()) > 0


def test_a_registry_read_that_failed_changes_nothing(gdep, monkeypatch):
    """The master's Daftar OPD failing to read (a 503 after the retries) gave an empty
    registry: the cycle forgot every OPD's memory, wrote an empty Rekap and sent no
    reminders; the next cycle started cold. Now such a cycle stops with the error and
    changes nothing."""
    from sheets_sync.cycle.state import State
    from sheets_sync.stores.google import spreadsheet_id as sid_of
    from tests.backends import rekap

    gdep.cycle()
    before = rekap(gdep)
    assert len(before) == 3
    master = sid_of(str(gdep.settings.google["master_id"]))
    failed = _fail_once(monkeypatch, master)
    rep = gdep.cycle()                   # our own master write moved its revision: registry re-read
    assert failed and rep.opds == 0 and rep.errors and "master" in rep.errors[0]
    assert rekap(gdep) == before
    with State(gdep.settings.state_db) as state:
        assert state.db.execute("SELECT COUNT(*) FROM workbooks").fetchone()[0] == 3
    rep = gdep.cycle()
    assert rep.opds == 3 and rep.validated == 0 and not rep.errors   # memory kept: nothing validated again


# ---------------------------------------------------------------------------
# The worker's schedule (found by the SMTP fault season)
def _first_cycle_hooks(monkeypatch, tmp_path, at):
    import datetime as dt

    import jobs
    from sheets_sync.config import WIB, load_settings
    from sheets_sync.demo.setup import make_demo

    settings = load_settings(make_demo(tmp_path / "spi" / "settings.yaml", n_opds=2, as_of=dt.date(2023, 10, 12)))
    seen, stop = [], {"flag": False}

    def one_cycle(s, as_of, hooks):
        seen.append([getattr(h, "__name__", h) for h in hooks])
        stop["flag"] = True

    monkeypatch.setattr(jobs, "one_cycle", one_cycle)
    monkeypatch.setattr(jobs, "_now", lambda: dt.datetime.combine(dt.date(2023, 10, 12), at, WIB))
    import schedule
    schedule.clear()
    try:
        jobs.run_loop(settings, stop)
    finally:
        schedule.clear()
    return seen


def test_sync_cycles_after_the_reminder_time_run_the_reminder_step(monkeypatch, tmp_path):
    """Reminders ran only in the one daily job at reminder_time: a slot refused at 08:00
    (SMTP down, 421) waited for the next day, and was skipped if that day had a slot of
    its own; a worker (re)started after 08:00 sent nothing that day. Now every sync cycle
    from reminder_time to midnight runs the (exactly-once) reminder step."""
    import datetime as dt
    assert _first_cycle_hooks(monkeypatch, tmp_path / "a", dt.time(7, 59)) == [[]]
    assert _first_cycle_hooks(monkeypatch, tmp_path / "b", dt.time(8, 10)) == [["hook"]]


class _Killed(BaseException):
    """Stands for SIGKILL: nothing catches it."""


def test_master_tabs_added_by_a_killed_run_do_not_block_the_master_for_good(gdep, monkeypatch):
    """A worker killed right after adding the master's tabs (Rekap, Masalah, ...) but
    before caching the new tab list left a cache saying the tabs did not exist: every
    later cycle asked Google to add them again, got 400 (already exists) and never wrote
    the master; the Rekap stayed empty. Found by test_kill on the emulator."""
    from sheets_sync.stores.google import spreadsheet_id as sid_of

    from .helpers import rekap as shown_rekap

    master = sid_of(str(gdep.settings.google["master_id"]))
    real = GoogleStore._tabs
    killed = []

    def tabs(self, sid, refresh):
        if sid == master and refresh and not killed:   # the refresh right after adding the tabs
            killed.append(True)
            raise _Killed()
        return real(self, sid, refresh)

    monkeypatch.setattr(GoogleStore, "_tabs", tabs)
    with pytest.raises(_Killed):
        gdep.cycle()
    monkeypatch.setattr(GoogleStore, "_tabs", real)
    rep = gdep.cycle()
    assert not rep.errors, rep.errors
    assert len(shown_rekap(gdep.settings)) == 3
