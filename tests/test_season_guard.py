"""The worker refuses every cycle while a season rollover is unfinished (issue 14):
a half-rolled deployment has its service-user forms emptied while the old season's
state, ledger and settings still hold, so a cycle would re-send the old season's
reminders. The refusal is said in Indonesian (log, health file, `status`), `jobs.py
--once` exits non-zero, and cycles resume once `season new` has been run again."""
from __future__ import annotations

import datetime as dt
import logging

import pytest

import jobs
from sheets_sync import cli
from sheets_sync.config import load_settings
from sheets_sync.cycle.rollover import pending
from sheets_sync.ops import health
from sheets_sync.ops.season import new_season
from tests.backends import Deployment

NEW_DAY = dt.date(2024, 1, 8)


def _crash_after(point: str):
    def on_step(name):
        if name == point:
            raise KeyboardInterrupt(point)       # as Ctrl-C or a lost SSH session
    return on_step


def test_worker_refuses_cycles_until_the_rollover_is_finished(tmp_path, caplog, capsys):
    dep = Deployment("xlsx", tmp_path, n_opds=2)
    cfg = str(dep.settings_path)
    once = ["--once", "--config", cfg, "--as-of", NEW_DAY.isoformat()]
    assert jobs.main(once) == 0
    first, other = dep.opds()            # before: the helpers read the registry through a cycle's store
    with pytest.raises(KeyboardInterrupt):
        new_season(cfg, 2024, today=NEW_DAY, out=lambda s: None, on_step=_crash_after(f"opd:{first.code}:selesai"),
                   first_cycle=False)
    cells = dep.grids(other)
    outbox = sorted(p.name for p in dep.settings.outbox_dir.glob("*.eml"))

    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert jobs.main(once) == 1
    said = caplog.text
    assert "Pergantian musim 2023 → 2024 belum selesai" in said and "season new --year 2024" in said, said
    assert "Traceback" not in said
    assert dep.grids(other) == cells                         # nothing written
    assert sorted(p.name for p in dep.settings.outbox_dir.glob("*.eml")) == outbox
    assert "belum selesai" in health.read(dep.settings)["last_failure"]["message"]
    capsys.readouterr()
    assert cli.main(["status", "--config", cfg]) == 1                 # monitors see it too
    assert "PERINGATAN: Pergantian musim 2023 → 2024 belum selesai" in capsys.readouterr().out

    from sheets_sync.ops import selfcheck
    failed = [x.text for x in selfcheck.run(cfg).failed]                # jobs.py --check names it too
    assert any("belum selesai" in t and "season new --year 2024" in t for t in failed), failed

    new_season(cfg, 2024, today=NEW_DAY, out=lambda s: None, first_cycle=False)   # run again: finishes
    assert not [t for t in (x.text for x in selfcheck.run(cfg).failed) if "musim" in t]
    assert pending(load_settings(cfg)) is None
    assert jobs.main(once) == 0
    assert cli.main(["status", "--config", cfg]) == 0
    assert "PERINGATAN" not in capsys.readouterr().out


def test_an_unreadable_journal_also_holds_the_cycles(tmp_path):
    dep = Deployment("xlsx", tmp_path, n_opds=1)
    folder = dep.settings.records_dir / "musim"
    folder.mkdir(parents=True)
    (folder / "2024.json").write_text("{bukan json", encoding="utf-8")
    assert "tidak dapat dibaca" in pending(dep.settings) and "--year 2024" in pending(dep.settings)
    (folder / "2024.json").write_text('{"from": 2023, "to": 2024, "finished": "08/01/2024 09:00 WIB"}',
                                      encoding="utf-8")
    assert pending(dep.settings) is None
