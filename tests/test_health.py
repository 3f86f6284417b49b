"""The health file after every worker cycle, and `status` reading it."""
from __future__ import annotations

import datetime as dt
import json

import pytest

import jobs
from sheets_sync import cli
from sheets_sync.ops import health
from sheets_sync.config import WIB, load_settings
from sheets_sync.demo.setup import make_demo

AS_OF = dt.date(2023, 10, 12)


@pytest.fixture
def demo(tmp_path):
    return load_settings(make_demo(tmp_path / "spi" / "settings.yaml", n_opds=3, as_of=AS_OF))


def test_a_cycle_writes_the_health_file(demo):
    assert health.read(demo) is None
    jobs.one_cycle(demo, AS_OF, [])
    data = json.loads(demo.health_file.read_text())
    assert data["version"] == 1 and data["sync_interval_minutes"] == 10
    last, ok = data["last_cycle"], data["last_success"]
    assert last["ok"] is True and last["errors"] == []
    assert ok["opds"] == 3 and ok["read"] == 3 and ok["validated"] == 3 and ok["written_cells"] > 0
    assert last["master_written"] is True
    assert set(data["opd_states"]) >= set(health.STATES) and sum(data["opd_states"].values()) == 3
    at = dt.datetime.fromisoformat(ok["at"])
    assert at.utcoffset() == dt.timedelta(hours=7)                     # WIB
    assert abs((dt.datetime.now(WIB) - at).total_seconds()) < 60       # the wall clock, not --as-of
    assert data["last_failure"] is None and data["consecutive_failures"] == 0
    assert [p.name for p in demo.health_file.parent.glob("*.tmp")] == []

    jobs.one_cycle(demo, AS_OF, [])                                     # nothing changed
    again = health.read(demo)
    assert again["last_success"]["read"] == 0 and again["last_success"]["written_cells"] == 0
    assert again["opd_states"] == data["opd_states"]                   # still known without a compile


def test_a_failing_cycle_keeps_the_last_success_and_masks_the_message(demo, monkeypatch):
    jobs.one_cycle(demo, AS_OF, [])
    ok_at = health.read(demo)["last_success"]["at"]

    def broken(ctx):
        raise RuntimeError("tidak bisa menghubungi budi.santoso@gmail.com / 081234567890 password=rahasia")

    monkeypatch.setattr("sheets_sync.cycle.run_cycle", broken)
    for n in (1, 2):
        with pytest.raises(RuntimeError):
            jobs.one_cycle(demo, AS_OF, [])
        data = health.read(demo)
        assert data["consecutive_failures"] == n
    assert data["last_success"]["at"] == ok_at
    assert data["last_cycle"]["ok"] is False and data["last_cycle"]["failed"] is True
    text = json.dumps(data, ensure_ascii=False)
    for secret in ("budi.santoso@gmail.com", "081234567890", "rahasia"):
        assert secret not in text
    assert "b***@gmail.com" in data["last_failure"]["message"]
    monkeypatch.undo()
    jobs.one_cycle(demo, AS_OF, [])
    assert health.read(demo)["consecutive_failures"] == 0


def test_the_health_file_never_stops_a_cycle(demo, tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    demo.state_dir = blocker / "state"             # health_file below a regular file: cannot be written
    health.write(demo, {"x": 1})
    assert "tidak dapat ditulis" in caplog.text


def _health_at(settings, when: dt.datetime, **extra):
    data = {"version": 1, "updated_at": when.isoformat(), "sync_interval_minutes": settings.sync_minutes,
            "last_cycle": {"ok": True, "errors": []},
            "last_success": {"at": when.isoformat(), "seconds": 1.5, "opds": 3, "read": 1, "validated": 1,
                             "written_cells": 4},
            "opd_states": {"LENGKAP": 1, "ADA KESALAHAN": 2}, "last_failure": None, "consecutive_failures": 0}
    data.update(extra)
    health.write(settings, data)


def test_status_shows_health_and_warns_when_stale(demo, capsys):
    jobs.one_cycle(demo, AS_OF, [])
    assert cli.main(["status", "--config", str(demo.path)]) == 0
    out = capsys.readouterr().out
    assert "Siklus berhasil terakhir" in out and "PERINGATAN" not in out

    now = dt.datetime.now(WIB)
    _health_at(demo, now - dt.timedelta(minutes=29))            # < 3 × 10 minutes
    assert cli.main(["status", "--config", str(demo.path)]) == 0
    assert "PERINGATAN" not in capsys.readouterr().out

    _health_at(demo, now - dt.timedelta(minutes=95), last_failure={"at": now.isoformat(), "message": "Master: galat"},
               consecutive_failures=9)
    assert cli.main(["status", "--config", str(demo.path)]) == 1
    out = capsys.readouterr().out
    assert "PERINGATAN: siklus terakhir yang berhasil 95 menit lalu" in out
    assert "3 × interval sinkron (30 menit)" in out and "journalctl -u sheets-sync" in out
    assert "Kegagalan terakhir" in out and "9 kali berturut-turut" in out


def test_stale_rules():
    class S:
        sync_minutes = 5
    now = dt.datetime(2023, 10, 12, 10, 0, tzinfo=WIB)
    fresh = {"last_success": {"at": (now - dt.timedelta(minutes=14)).isoformat()}}
    old = {"last_success": {"at": (now - dt.timedelta(hours=30)).isoformat()}}
    assert health.stale(None, S, now) is None
    assert health.stale(fresh, S, now) is None
    assert "30 jam" in health.stale(old, S, now)
    assert "belum pernah" in health.stale({"last_success": None, "last_failure": {"at": now.isoformat()}}, S, now)
