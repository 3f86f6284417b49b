"""sheets_sync.progress: a bar on a terminal, plain log lines otherwise."""
from __future__ import annotations

import io
import logging

import pytest

from sheets_sync import progress as prog
from sheets_sync.progress import progress


class Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(autouse=True)
def no_forced_mode(monkeypatch):
    monkeypatch.delenv("SHEETS_SYNC_PROGRESS", raising=False)


def test_terminal_shows_a_bar_and_logs_nothing(caplog):
    caplog.set_level(logging.DEBUG)
    stream = Tty()
    assert list(progress(range(5), 5, "membaca", stream=stream)) == [0, 1, 2, 3, 4]
    out = stream.getvalue()
    assert "membaca" in out and "0/5" in out and "OPD/s" in out   # tqdm bar (cleared at the end)
    assert not [r for r in caplog.records if r.name == "sheets_sync.progress"]


def test_not_a_terminal_logs_plain_lines(caplog):
    caplog.set_level(logging.INFO, logger="sheets_sync.progress")
    stream = io.StringIO()                                        # a pipe, journald, cron
    assert list(progress(range(4), 4, "menulis status", stream=stream, every=0)) == [0, 1, 2, 3]
    assert stream.getvalue() == ""                                # no bar
    lines = [r.getMessage() for r in caplog.records if r.name == "sheets_sync.progress"]
    assert lines[:3] == ["menulis status: 1/4", "menulis status: 2/4", "menulis status: 3/4"]
    assert lines[3].startswith("menulis status: 4/4 selesai (")


def test_short_loops_log_nothing_off_a_terminal(caplog):
    caplog.set_level(logging.INFO, logger="sheets_sync.progress")
    assert list(progress(iter("abc"), None, "x", stream=io.StringIO())) == ["a", "b", "c"]
    assert not caplog.records


def test_forced_modes(monkeypatch):
    assert prog.mode(Tty()) == "bar" and prog.mode(io.StringIO()) == "log"
    assert prog.mode(io.StringIO(), tty=True) == "bar" and prog.mode(Tty(), tty=False) == "log"
    monkeypatch.setenv("SHEETS_SYNC_PROGRESS", "off")
    stream = Tty()
    assert list(progress([1, 2], 2, "x", stream=stream)) == [1, 2] and stream.getvalue() == ""
    monkeypatch.setenv("SHEETS_SYNC_PROGRESS", "bar")
    assert prog.mode(io.StringIO()) == "bar"


def test_a_cold_cycle_reports_progress(tmp_path, monkeypatch, caplog):
    """The cycle's per-OPD loops go through progress(): forced log lines show them."""
    import datetime as dt

    from sheets_sync.config import load_settings
    from sheets_sync.demo.setup import make_demo
    from sheets_sync.cycle import open_cycle, run_cycle

    settings = load_settings(make_demo(tmp_path / "spi" / "settings.yaml", n_opds=3, as_of=dt.date(2023, 10, 12)))
    real = prog._lines
    monkeypatch.setattr(prog, "_lines", lambda it, total, label, every: real(it, total, label, 0))
    monkeypatch.setenv("SHEETS_SYNC_PROGRESS", "log")
    caplog.set_level(logging.INFO, logger="sheets_sync.progress")
    with open_cycle(settings, dt.date(2023, 10, 12)) as ctx:
        run_cycle(ctx)
    labels = {r.getMessage().split(":")[0] for r in caplog.records if r.name == "sheets_sync.progress"}
    assert {"membaca", "memeriksa", "menulis status"} <= labels


def test_a_cold_cycle_on_a_terminal_draws_bars(tmp_path, monkeypatch):
    import datetime as dt
    import sys

    from sheets_sync.config import load_settings
    from sheets_sync.demo.setup import make_demo
    from sheets_sync.cycle import open_cycle, run_cycle

    settings = load_settings(make_demo(tmp_path / "spi" / "settings.yaml", n_opds=2, as_of=dt.date(2023, 10, 12)))
    stream = Tty()
    monkeypatch.setattr(sys, "stderr", stream)
    with open_cycle(settings, dt.date(2023, 10, 12)) as ctx:
        run_cycle(ctx)
    out = stream.getvalue()
    assert all(f"{label}:" in out for label in ("membaca", "memeriksa", "menulis status")) and "0/2" in out
