"""`season new` killed with SIGKILL at random moments (issue 14), not only at the
journal's step boundaries (tests/test_season.py does those).

Each trial: a fresh copy of the same season-2023 deployment (after a cycle that sent
reminders); `python -m sheets_sync season new --year 2024` started in a warm forked
child (forker.py, as in test_kill.py) and killed after a delay drawn uniformly over
the measured duration of an undisturbed rollover. Then the same command again, as
the admin would, and:
- the result equals an undisturbed rollover's: every input cell of every workbook
  (carried rows kept, time-bound forms emptied), the archives (no duplicate, none
  missing: .xlsx files, or Drive copies), the journal's steps, the settings file, the
  old season's sent-reminder records;
- the old state is kept read-only, the new one passes PRAGMA integrity_check, its
  ledger holds nothing of 2023;
- the worker runs its next cycle (not refused as an unfinished rollover), after which
  no temporary file is left behind.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import shutil
import stat
import time
from pathlib import Path

import pytest

from sheets_sync import remind
from sheets_sync.config import load_settings
from sheets_sync.cycle.rollover import pending

from .helpers import Forker, integrity, kill_after, ledger, scaled

KILLS = scaled(8, 60)
GOOGLE_KILLS = scaled(3, 20)
SEED = int(os.environ.get("KILL_SEED", "2024"))
ROLL_DAY = "2024-01-08"


def season_argv(path: Path) -> list:
    return ["season", "new", "--year", "2024", "--as-of", ROLL_DAY, "--config", path]


def fingerprint(settings_path: Path, store_view) -> dict:
    """What an undisturbed rollover leaves, as the Inspektorat can see it."""
    settings = load_settings(settings_path)
    journal = json.loads((settings.records_dir / "musim" / "2024.json").read_text(encoding="utf-8"))
    inputs, archives = store_view(settings_path)
    old_state = settings.state_dir / "arsip" / "state-2023.sqlite"
    return {"inputs": inputs, "archives": archives, "done": journal["done"], "finished": bool(journal.get("finished")),
            "settings": hashlib.sha256(settings_path.read_bytes()).hexdigest(),
            "sent-2023": sorted(p.name for p in (settings.records_dir / "sent-2023").glob("*.json")),
            "old state": stat.S_IMODE(old_state.stat().st_mode),
            "ledger": sorted(ledger(settings.state_db))}


def measure(forker, make, logs: Path, n: int = 3) -> tuple[float, Path]:
    durations, path = [], None
    for i in range(n):
        path = make(f"ref{i}")
        t0 = time.monotonic()
        status = forker.run(season_argv(path), logs / f"ref{i}.log", entry="cli")
        durations.append(time.monotonic() - t0)
        assert status.get("exit") == 0, (logs / f"ref{i}.log").read_text()
    return sorted(durations)[n // 2], path


def kill_trials(forker, make, store_view, logs: Path, want: dict, duration: float, kills: int) -> dict:
    rng = random.Random(SEED)
    landed, attempts, where_seen = 0, 0, {"left unfinished": 0, "nothing pending": 0}
    while landed < kills:
        attempts += 1
        assert attempts <= 4 * kills + 10, f"only {landed} of {attempts} kills landed inside a rollover"
        path = make(f"t{attempts}")
        log = logs / f"t{attempts}.log"
        delay = rng.uniform(0, duration)
        status, killed = kill_after(forker, season_argv(path), log, delay, entry="cli")
        landed += killed
        if not killed:
            duration *= 0.9
        where = f"trial {attempts} (seed {SEED}, delay {delay:.3f}s of {duration:.3f}s, {status}); log {log}"
        settings = load_settings(path)
        assert integrity(settings.state_db) == "ok", where
        if killed:
            where_seen["left unfinished" if pending(settings) else "nothing pending"] += 1

        again = forker.run(season_argv(path), log, entry="cli")          # the admin runs it again
        said = log.read_text(encoding="utf-8")
        assert again.get("exit") == 0 or (again.get("exit") == 1 and "sudah dimulai" in said), f"{where}\n{said}"
        assert "Traceback" not in said, where
        assert pending(load_settings(path)) is None, where
        got = fingerprint(path, store_view)
        diff = {k: (v, got[k]) for k, v in want.items() if got[k] != v}
        assert not diff, f"{where}: {diff}"
        cycle = forker.run(["--once", "--config", path, "--as-of", ROLL_DAY], log)       # the worker resumes
        assert cycle.get("exit") == 0, f"{where}\n{log.read_text(encoding='utf-8')[-2000:]}"
        # a first cycle killed while saving the master leaves its .tmp until the master is saved again
        leftovers = [p.name for p in path.parent.rglob("*.tmp")]
        assert not leftovers, f"{where}: temporary files left behind: {leftovers}"
        assert not [k for k in ledger(load_settings(path).state_db) if k[2].startswith("2023")], where
        shutil.rmtree(path.parent)
    return {"landed": landed, "attempts": attempts, **where_seen}


def xlsx_view(settings_path: Path):
    """(inputs of every workbook and of every archived one, archive names)."""
    from tests.backends import Deployment
    from tests.test_season import _archives, _inputs, archived_inputs
    dep = Deployment.at(settings_path)
    return {"now": _inputs(_Observer(dep)), "archived": archived_inputs(dep)}, _archives(dep)


class _Observer:
    """A deployment looked at without a cycle's store (which refuses while a rollover is
    unfinished): the registry read by the store directly."""

    def __init__(self, dep):
        self.dep = dep

    def opds(self):
        from sheets_sync.cycle.context import make_store
        from sheets_sync.forms import forms_for
        return make_store(self.dep.settings, forms_for(self.dep.settings)).read_registry()[0]

    def grids(self, opd):
        return self.dep.grids(opd)


@pytest.fixture(scope="module")
def season_2023(tmp_path_factory) -> Path:
    """A 2-OPD demo after a cycle at H-3 that sent reminders (the state and records to roll)."""
    from tests.backends import AS_OF, Deployment
    from tests.test_season_replay import _trim
    folder = tmp_path_factory.mktemp("kill-season") / "tpl"
    dep = Deployment("xlsx", folder, n_opds=2)
    _trim(dep)                                    # a few rows: the kills, not the data, are under test
    dep.cycle(hooks=[remind.hook])
    assert list((dep.settings.records_dir / "sent").glob("*.json")) and AS_OF.year == 2023
    return folder


def test_sigkill_during_season_new_xlsx(tmp_path, season_2023):
    def make(name: str) -> Path:
        shutil.copytree(season_2023, tmp_path / name)
        return tmp_path / name / "settings.yaml"

    logs = tmp_path / "logs"
    logs.mkdir()
    forker = Forker()
    try:
        duration, ref = measure(forker, make, logs, n=1)
        want = fingerprint(ref, xlsx_view)
        assert want["finished"] and want["inputs"] and want["old state"] == 0o400
        assert len(want["archives"]) == 3 and want["sent-2023"]
        archived = want["inputs"]["archived"]
        assert any(rows for (_, title), rows in archived.items() if title == "Pengguna Layanan")
        seen = kill_trials(forker, make, xlsx_view, logs, want, duration, KILLS)
    finally:
        forker.close()
    print(f"\nseason new (xlsx): {seen}; rollover {duration:.2f}s")
    assert seen["landed"] >= KILLS


# ====================================================================== emulator
def test_sigkill_during_season_new_google(tmp_path, monkeypatch):
    from tests.backends import Deployment
    from tests.google_emulator import start_emulator
    from tests.test_season import _archives, _inputs
    from tests.test_season_replay import _trim

    with start_emulator(strict=True) as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.url.replace("http://", ""))

        def make(name: str) -> Path:
            dep = Deployment("google", tmp_path / name, emulator=emu, n_opds=1)
            _trim(dep)
            dep.cycle(hooks=[remind.hook])
            return dep.settings_path

        def view(settings_path: Path):
            dep = Deployment.at(settings_path)
            dep.kind = "google"
            return _inputs(_Observer(dep)), _archives(dep)

        logs = tmp_path / "logs"
        logs.mkdir()
        forker = Forker({"SHEETS_EMULATOR_HOST": f"127.0.0.1:{emu.port}"})
        try:
            duration, ref = measure(forker, make, logs, n=1)
            want = fingerprint(ref, view)
            assert want["finished"] and len(want["archives"]) == 2
            want = {k: v for k, v in want.items() if k != "settings"}     # each copy has its own ids
            seen = kill_trials(forker, make, lambda p: view(p), logs, want, duration, GOOGLE_KILLS)
        finally:
            forker.close()
    print(f"\nseason new (google): {seen}; rollover {duration:.2f}s")
    assert seen["landed"] >= GOOGLE_KILLS
