"""One hostile or broken OPD never stops the regency (issue 10): a zip bomb, a row
bomb, merged status cells, a store that raises what nobody planned for, an OPD
that eats its time budget. Each time the other OPDs are validated and written, the
master is written, the reminders run, and the bad OPD's problem is in the Rekap.

The bombs are generated here (tests/reliability/hostile.py), never committed, and
run in a child process whose peak RSS is measured with getrusage."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import openpyxl
import pytest

from sheets_sync import codes, remind
from sheets_sync.config import WIB
from sheets_sync.cycle import run_cycle
from sheets_sync.cycle.state import State
from sheets_sync.stores import Workbook

from tests.conftest import AS_OF, Deployment, clean_row, status_by_row, table
from tests.doubles import ObservedStore
from tests.reliability import hostile

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2023, 10, 12, 9, 0, tzinfo=WIB)   # H-3: a reminder slot is due
MB = 1024 * 1024


def problem_codes(dep: Deployment, code: str) -> list[str]:
    with State(dep.settings().state_db) as state:
        return [p.code for p in state.opd(code).problems]


def catatan(dep: Deployment) -> dict[str, str]:
    return {r["Kode OPD"]: r["Catatan"] or "" for r in table(dep.master, "Rekap", "Kode OPD")}


def outbox(dep: Deployment) -> list[Path]:
    return sorted((dep.root / "outbox").rglob("*.eml"))


def cycle_with_reminders(dep: Deployment, store_wrap=None):
    with dep.context(AS_OF, now=NOW) as ctx:
        if store_wrap:
            ctx.store = store_wrap(ctx.store)
        ctx.hooks = [remind.hook]
        return run_cycle(ctx)


def good_opd(dep: Deployment, code: str, start: int):
    rows = [clean_row("pegawai", i) for i in range(start, start + 3)]
    rows[1]["no_hp"] = "021-5551234"           # one SALAH row: its status must be written
    return dep.add_opd(code, {"pegawai": rows})


def assert_the_others_went_on(dep: Deployment, forms, rep, goods: dict[str, Path]):
    for code, path in goods.items():
        statuses = status_by_row(path, "Pegawai", forms, "pegawai")
        assert [s[0] for s in statuses.values()] == ["OK", "SALAH", "OK"], code
        assert problem_codes(dep, code) == []
    assert rep.master_written
    assert not [e for e in rep.errors if e.startswith("hook")], rep.errors
    assert outbox(dep), "no reminder was written"


# ------------------------------------------------------------------ bombs
CHILD = textwrap.dedent("""
    import datetime as dt, json, resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))   # the old code must not take the machine down
    import pandas, pyarrow, openpyxl, openpyxl.chart, phonenumbers, email_validator   # noqa: F401
    import sheets_sync.stores.xlsx, sheets_sync.master   # noqa: F401
    from sheets_sync import remind
    from sheets_sync.config import WIB, load_settings
    from sheets_sync.cycle import open_cycle, run_cycle
    def status(key):
        return int(next(l for l in open("/proc/self/status") if l.startswith(key)).split()[1])
    settings = load_settings(sys.argv[1])
    try:        # reset the peak (VmHWM) to what the process holds now: the imports' peak is not the cycle's
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = status("VmRSS:")
    except OSError:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with open_cycle(settings, dt.date(2023, 10, 12), now=dt.datetime(2023, 10, 12, 9, 0, tzinfo=WIB),
                    hooks=[remind.hook]) as ctx:
        rep = run_cycle(ctx)
    seconds = time.perf_counter() - t0
    peak = status("VmHWM:")
    print(json.dumps({"seconds": seconds, "before_kb": before, "peak_kb": peak, "errors": rep.errors,
                      "master": rep.master_written}))
""")


@pytest.fixture(scope="module")
def bombed(tmp_path_factory, forms):
    """One cycle, in a child process, over a 1 GiB zip bomb, a 400,000-row bomb and two
    good OPDs."""
    dep = Deployment(tmp_path_factory.mktemp("bombs"), forms)
    goods = {"BAIK": good_opd(dep, "BAIK", 1), "BAIK2": good_opd(dep, "BAIK2", 10)}
    zb = dep.add_opd("ZIPBOM", {"pegawai": [clean_row("pegawai", 20)]})
    rb = dep.add_opd("BARISBOM", {"pegawai": [clean_row("pegawai", 21)]})
    hostile.zip_bomb(zb, "Pegawai", 1 << 30)
    hostile.row_bomb(rb, "Pegawai", 400_000)
    sizes = {"zip": zb.stat().st_size, "row": rb.stat().st_size}
    before = {p: p.read_bytes() for p in (zb, rb)}
    run = subprocess.run([sys.executable, "-c", CHILD, str(dep.config)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"bombs: {sizes}, cycle {result['seconds']:.2f} s, peak RSS +"
          f"{(result['peak_kb'] - result['before_kb']) / 1024:.0f} MiB (of {result['peak_kb'] / 1024:.0f} MiB)")
    return dep, goods, result, sizes, before


def test_the_bombs_are_small_files(bombed):
    _, _, _, sizes, _ = bombed
    assert sizes["zip"] < 2 * MB and sizes["row"] < 2 * MB


def test_a_cycle_over_the_bombs_costs_little_memory_and_time(bombed):
    _, _, result, _, _ = bombed
    assert (result["peak_kb"] - result["before_kb"]) * 1024 < 200 * MB, result
    assert result["seconds"] < 5, result


def test_the_bombs_are_reported_in_the_rekap(bombed):
    dep, _, _, _, before = bombed
    assert problem_codes(dep, "ZIPBOM") == ["WB_TOO_LARGE"]
    assert problem_codes(dep, "BARISBOM") == ["SHEET_TOO_LARGE"]
    notes = catatan(dep)
    assert notes["ZIPBOM"].startswith(codes.WORKBOOK_CODES["WB_TOO_LARGE"].split("{")[0])
    assert "Pegawai" in notes["BARISBOM"] and "100.000 baris" in notes["BARISBOM"]
    assert all(p.read_bytes() == data for p, data in before.items())   # never written


def test_the_other_opds_went_on_past_the_bombs(bombed, forms):
    dep, goods, result, _, _ = bombed
    assert result["master"] and not result["errors"], result
    for code, path in goods.items():
        assert [s[0] for s in status_by_row(path, "Pegawai", forms, "pegawai").values()] == ["OK", "SALAH", "OK"]
    assert outbox(dep)


# ---------------------------------------------------------- merged cells
def merge(path: Path, ref: str) -> None:
    book = openpyxl.load_workbook(path)
    book["Pegawai"].merge_cells(ref)
    book.save(path)


def inputs(path: Path) -> list[tuple]:
    book = openpyxl.load_workbook(path)
    try:
        return [tuple(c.value for c in row[:7]) for row in book["Pegawai"].iter_rows(min_row=1, max_row=8)]
    finally:
        book.close()


def test_merged_status_cells_are_unmerged_and_written(deployment, forms):
    """H4:J6 lies inside Status | Keterangan | Diperiksa: the worker's own cells (this
    merge killed every cycle with AttributeError: 'MergedCell' ... read-only)."""
    goods = {"BAIK": good_opd(deployment, "BAIK", 1)}
    bad = deployment.add_opd("GABUNG", {"pegawai": [clean_row("pegawai", i) for i in range(10, 15)]})
    merge(bad, "H4:J6")
    typed = inputs(bad)
    rep = cycle_with_reminders(deployment)
    assert_the_others_went_on(deployment, forms, rep, goods)
    assert not rep.errors, rep.errors
    assert inputs(bad) == typed
    book = openpyxl.load_workbook(bad)
    assert not book["Pegawai"].merged_cells.ranges
    assert [s[0] for s in status_by_row(bad, "Pegawai", forms, "pegawai").values()] == ["OK"] * 5


def test_a_merge_reaching_input_cells_is_reported_and_never_touched(deployment, forms):
    goods = {"BAIK": good_opd(deployment, "BAIK", 1)}
    bad = deployment.add_opd("GABUNG", {"pegawai": [clean_row("pegawai", i) for i in range(10, 15)]})
    merge(bad, "G4:I6")                       # E-mail (input) + Status + Keterangan
    data = bad.read_bytes()
    rep = cycle_with_reminders(deployment)
    assert_the_others_went_on(deployment, forms, rep, goods)
    assert problem_codes(deployment, "GABUNG") == ["STATUS_MERGED"]
    assert "G4:I6" in catatan(deployment)["GABUNG"]
    assert bad.read_bytes() == data


# --------------------------------------------------- faults nobody planned
@pytest.mark.parametrize("where", ["read", "write"])
def test_an_unexpected_exception_in_one_opd_does_not_stop_the_cycle(deployment, forms, where):
    goods = {"BAIK": good_opd(deployment, "BAIK", 1), "BAIK2": good_opd(deployment, "BAIK2", 10)}
    deployment.add_opd("ANEH", {"pegawai": [clean_row("pegawai", 20)]})
    fault = {"ANEH": AttributeError("'MergedCell' object attribute 'value' is read-only")}
    wrap = (lambda s: ObservedStore(s, fail_read=fault)) if where == "read" else \
        (lambda s: ObservedStore(s, fail_write=fault))
    rep = cycle_with_reminders(deployment, wrap)
    assert_the_others_went_on(deployment, forms, rep, goods)
    assert problem_codes(deployment, "ANEH") == ["OPD_ERROR"]
    assert "AttributeError" in catatan(deployment)["ANEH"]
    assert any(e.startswith("ANEH:") for e in rep.errors)
    rep = deployment.cycle(now=NOW)                  # tried again, and now it works
    assert problem_codes(deployment, "ANEH") == []


class Unprintable:
    def __str__(self):
        raise RuntimeError("a value no rule expected")


def test_a_fault_while_validating_one_opd_keeps_its_last_verdicts(deployment, forms):
    goods = {"BAIK": good_opd(deployment, "BAIK", 1)}
    odd = deployment.add_opd("ANEH", {"pegawai": [clean_row("pegawai", 20)]})
    deployment.cycle(now=NOW)
    with State(deployment.settings().state_db) as state:
        before = state.opd("ANEH").results["pegawai"].status.tolist()
    book = openpyxl.load_workbook(odd)
    book["Pegawai"]["E3"] = "Kepala Seksi"   # changed: validated again
    book.save(odd)

    def poison(opd, wb: Workbook):
        if opd.code == "ANEH":
            wb.sheets["pegawai"].frame.iloc[0, wb.sheets["pegawai"].frame.columns.get_loc("jabatan")] = Unprintable()
        return wb

    rep = cycle_with_reminders(deployment, lambda s: ObservedStore(s, transform_read=poison))
    assert_the_others_went_on(deployment, forms, rep, goods)
    assert problem_codes(deployment, "ANEH") == ["OPD_ERROR"]
    with State(deployment.settings().state_db) as state:
        assert state.opd("ANEH").results["pegawai"].status.tolist() == before


# ------------------------------------------------------------ time budget
class Clock:
    """A wall clock that jumps when the store reads one OPD (no sleeping)."""

    def __init__(self, start: dt.datetime):
        self.t = start

    def __call__(self) -> dt.datetime:
        return self.t

    def jump(self, seconds: float) -> None:
        self.t += dt.timedelta(seconds=seconds)


def test_an_opd_over_its_time_budget_is_reported_and_skipped(deployment, forms):
    goods = {"BAIK": good_opd(deployment, "BAIK", 1), "BAIK2": good_opd(deployment, "BAIK2", 10)}
    slow = deployment.add_opd("LAMBAT", {"pegawai": [clean_row("pegawai", 20), clean_row("pegawai", 21, nama="1")]})
    clock = Clock(NOW)
    store = None

    def wrap(inner):
        nonlocal store
        store = ObservedStore(inner, after_read=lambda o: clock.jump(1000 if o.code == "LAMBAT" else 1))
        return store

    with deployment.context(AS_OF, now=clock) as ctx:
        ctx.store, ctx.hooks = wrap(ctx.store), [remind.hook]
        rep = run_cycle(ctx)
    assert_the_others_went_on(deployment, forms, rep, goods)
    assert problem_codes(deployment, "LAMBAT") == ["OPD_TIME_BUDGET"]
    assert "300" in catatan(deployment)["LAMBAT"]
    assert status_by_row_or_none(slow, forms) is None      # skipped: nothing written
    rep = deployment.cycle(now=NOW)                         # unchanged: not read again
    assert rep.read == 0
    rep = deployment.cycle(AS_OF + dt.timedelta(days=1), now=NOW + dt.timedelta(days=1))
    assert rep.read == 0                                    # a new day neither
    assert problem_codes(deployment, "LAMBAT") == ["OPD_TIME_BUDGET"]
    book = openpyxl.load_workbook(slow)
    book["Pegawai"]["E3"] = "Kepala Seksi"
    book.save(slow)
    deployment.cycle(now=NOW)                               # changed, fast now: checked
    assert problem_codes(deployment, "LAMBAT") == []
    assert [s[0] for s in status_by_row(slow, "Pegawai", forms, "pegawai").values()] == ["OK", "SALAH"]


def status_by_row_or_none(path: Path, forms):
    try:
        return status_by_row(path, "Pegawai", forms, "pegawai") or None
    except AssertionError:   # no status headers at all
        return None


# ------------------------------------------------------------ both backends
@pytest.fixture(params=["xlsx", "google"])
def demo_dep(request, tmp_path, monkeypatch):
    from tests.backends import Deployment as Both
    if request.param == "xlsx":
        yield Both("xlsx", tmp_path, n_opds=3)
        return
    from tests.google_emulator import start_emulator
    with start_emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.url.replace("http://", ""))
        yield Both("google", tmp_path, emulator=emu, n_opds=3)


def test_faults_in_one_opd_are_contained_on_both_backends(demo_dep):
    """A read that raises KeyError for one OPD and a write that raises RuntimeError for
    another (in the Google store's write threads too): both are that OPD's problem,
    the rest of the regency is written, and so is the master."""
    from tests.backends import rekap
    codes_ = [o.code for o in demo_dep.opds()]
    bad_read, bad_write = codes_[0], codes_[1]
    with demo_dep.context() as ctx:
        store = ctx.store = ObservedStore(ctx.store, fail_read={bad_read: KeyError("sheetId")},
                                          fail_write={bad_write: RuntimeError("boom")})
        ctx.hooks = [remind.hook]
        rep = run_cycle(ctx)
    assert rep.master_written
    assert sorted(e.split(":")[0] for e in rep.errors) == sorted([bad_read, bad_write]), rep.errors
    assert set(rekap(demo_dep)) == set(codes_)
    with State(demo_dep.settings.state_db) as state:
        assert [p.code for p in state.opd(bad_read).problems] == ["OPD_ERROR"]
        assert "OPD_ERROR" in [p.code for p in state.opd(bad_write).problems]
    assert set(store.writes) - {bad_write}          # the others were written
    rep = demo_dep.cycle()                           # next cycle, no faults: both recover
    assert not rep.errors
    with State(demo_dep.settings.state_db) as state:
        assert all("OPD_ERROR" not in [p.code for p in state.opd(c).problems] for c in codes_)
