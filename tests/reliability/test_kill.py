"""The worker killed with SIGKILL at random moments of a cycle, on both backends.

Each trial: a fresh copy of the same demo data; `jobs.py --once` started (in a warm
forked child, see forker.py) and killed after a delay drawn uniformly over the
measured duration of an undisturbed cycle. Then:
- every workbook still opens (openpyxl) / every spreadsheet still reads;
- the SQLite state passes PRAGMA integrity_check;
- the next cycle completes (exit 0), and its result (all status cells of all OPDs
  and the Rekap counts) equals that of an undisturbed run on a copy of the data;
- no reminder is lost or doubled: one .eml per slot, the same slots as the
  undisturbed run, each 'sent' in the ledger; no temporary file is left behind.

30 landed kills per backend by default; SOAK=1 runs 200 per backend on more OPDs.
"""
from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import time
from collections import Counter
from pathlib import Path

import pytest

from sheets_sync.config import load_settings
from sheets_sync.demo.setup import make_demo

from .helpers import (Forker, integrity, kill_after, ledger, open_every_workbook, outbox_slots, result, scaled,
                      status_cells)

AS_OF = dt.date(2023, 10, 12)
KILLS = scaled(30, 200)
N_OPDS = scaled(3, 8)
SEED = int(os.environ.get("KILL_SEED", "2023"))


def argv(path: Path) -> list:
    return ["--once", "--config", path, "--as-of", AS_OF.isoformat()]


def measure(forker, make, logs: Path, n: int = 3) -> tuple[float, Path]:
    """Duration of an undisturbed cycle (the median of n), and one such deployment."""
    durations, path = [], None
    for i in range(n):
        path = make(f"ref{i}")
        t0 = time.monotonic()
        status = forker.run(argv(path), logs / f"ref{i}.log")
        durations.append(time.monotonic() - t0)
        assert status == {"pid": status["pid"], "exit": 0}, (logs / f"ref{i}.log").read_text()
    return sorted(durations)[n // 2], path


def kill_trials(forker, make, check_killed, logs: Path, reference: dict, ref_slots: Counter, duration: float):
    rng = random.Random(SEED)
    landed, attempts, seen = 0, 0, Counter()
    while landed < KILLS:
        attempts += 1
        assert attempts <= 4 * KILLS + 10, f"only {landed} of {attempts} kills landed inside a cycle"
        path = make(f"t{attempts}")
        log = logs / f"t{attempts}.log"
        delay = rng.uniform(0, duration)
        status, killed = kill_after(forker, argv(path), log, delay)
        landed += killed
        if not killed:            # the cycle ended first (the machine is faster now): aim earlier
            duration *= 0.9
        where = f"trial {attempts} (seed {SEED}, delay {delay:.3f}s of {duration:.3f}s, {status}); log {log}"
        settings = load_settings(path)
        state_db = settings.state_db
        assert integrity(state_db) == "ok", where
        seen[check_killed(settings, path)] += killed

        again = forker.run(argv(path), log)                        # the restarted worker
        assert again.get("exit") == 0, f"{where}\n{log.read_text()[-3000:]}"
        assert integrity(state_db) == "ok", where
        got = result(settings)
        assert got["rekap"] == reference["rekap"], where
        diff = {k: (v, got["cells"].get(k)) for k, v in reference["cells"].items() if got["cells"].get(k) != v}
        extra = set(got["cells"]) - set(reference["cells"])
        assert not diff and not extra, f"{where}: {len(diff)} cells differ, e.g. {list(diff.items())[:3]}; extra {extra}"
        slots = outbox_slots(settings.outbox_dir)
        assert slots == ref_slots, f"{where}: {slots} != {ref_slots}"
        led = ledger(state_db)
        assert not [k for k, s in led.items() if s not in ("sent", "skipped", "not_needed")], (where, led)
        leftovers = [p.name for p in Path(path).parent.rglob("*.tmp")]
        assert not leftovers, f"{where}: temporary files left behind: {leftovers}"
        shutil.rmtree(Path(path).parent)
    return landed, attempts, seen


# ====================================================================== .xlsx
@pytest.fixture(scope="module")
def xlsx_template(tmp_path_factory) -> Path:
    return make_demo(tmp_path_factory.mktemp("kill-xlsx") / "tpl" / "settings.yaml", n_opds=N_OPDS,
                     as_of=AS_OF).parent


def test_sigkill_during_cycles_xlsx(tmp_path, xlsx_template):
    def make(name: str) -> Path:
        shutil.copytree(xlsx_template, tmp_path / name)
        return tmp_path / name / "settings.yaml"

    def check_killed(settings, path) -> str:
        names = open_every_workbook(settings.data_dir)           # raises if any is broken
        assert "master.xlsx" in names and len(names) == N_OPDS + 1
        written = any(s for s, _, _ in status_cells(settings).values())
        return "status cells written" if written else "before the first write"

    logs = tmp_path / "logs"
    logs.mkdir()
    forker = Forker()
    try:
        duration, ref_path = measure(forker, make, logs)
        ref_settings = load_settings(ref_path)
        reference = result(ref_settings)
        ref_slots = outbox_slots(ref_settings.outbox_dir)
        assert ref_slots and set(ref_slots.values()) == {1}        # some OPDs are late: reminders due
        assert reference["cells"] and reference["rekap"]
        landed, attempts, seen = kill_trials(forker, make, check_killed, logs, reference, ref_slots, duration)
    finally:
        forker.close()
    print(f"\nxlsx: {landed} kills landed in {attempts} trials; cycle {duration:.2f}s; {dict(seen)}")
    assert landed >= KILLS


# ====================================================================== emulator
@pytest.fixture
def emulator(monkeypatch):
    from tests.google_emulator import start_emulator
    with start_emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", f"127.0.0.1:{emu.port}")
        yield emu


def test_sigkill_during_cycles_google_emulator(tmp_path, emulator):
    def make(name: str) -> Path:
        return make_demo(tmp_path / name / "settings.yaml", backend="google", n_opds=N_OPDS, as_of=AS_OF)

    def check_killed(settings, path) -> str:
        cells = status_cells(settings)           # the master's registry and every OPD spreadsheet still read
        return "status cells written" if any(s for s, _, _ in cells.values()) else "before the first write"

    logs = tmp_path / "logs"
    logs.mkdir()
    forker = Forker({"SHEETS_EMULATOR_HOST": f"127.0.0.1:{emulator.port}"})
    try:
        duration, ref_path = measure(forker, make, logs)
        ref_settings = load_settings(ref_path)
        reference = result(ref_settings)
        ref_slots = outbox_slots(ref_settings.outbox_dir)
        assert ref_slots and set(ref_slots.values()) == {1}
        landed, attempts, seen = kill_trials(forker, make, check_killed, logs, reference, ref_slots, duration)
    finally:
        forker.close()
    print(f"\nemulator: {landed} kills landed in {attempts} trials; cycle {duration:.2f}s; {dict(seen)}")
    assert landed >= KILLS
