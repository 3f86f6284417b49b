"""The service reads its settings again when the file changed (an admin moved the
deadline while it ran: `remind --dry-run` showed the new date, the worker kept the
old one until a restart)."""
from __future__ import annotations

import datetime as dt
import logging
import os

import pytest

import jobs
from sheets_sync.config import load_settings
from sheets_sync.demo.setup import make_demo


@pytest.fixture
def settings(tmp_path):
    return load_settings(make_demo(tmp_path / "spi" / "settings.yaml", n_opds=2, as_of=dt.date(2023, 10, 12)))


def _edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))   # a later edit, whatever the clock


def test_an_edited_deadline_reaches_the_next_cycle(settings):
    live, planned = jobs.Live(settings), []
    assert live.fresh(planned.append) is settings                   # unchanged: not read again
    _edit(settings.path, f"deadline: '{settings.deadline.isoformat()}'", "deadline: '2023-10-20'")
    assert live.fresh(planned.append).deadline == dt.date(2023, 10, 20)
    assert planned == []                                             # the schedule did not change
    _edit(settings.path, "reminder_time: 08:00", "reminder_time: '09:30'")
    assert live.fresh(planned.append).reminder_time == "09:30" and len(planned) == 1


def test_a_broken_edit_keeps_the_last_good_settings_and_says_why(settings, caplog):
    live = jobs.Live(settings)
    _edit(settings.path, "reminder_time: 08:00", "reminder_time: 25:00")
    with caplog.at_level(logging.ERROR):
        assert live.fresh(lambda s: None) is settings
    assert "pengaturan sebelumnya tetap dipakai" in caplog.text and "reminder_time" in caplog.text


def test_a_new_data_folder_waits_for_a_restart(settings, caplog):
    live = jobs.Live(settings)
    _edit(settings.path, "data_dir: data", "data_dir: data2")
    with caplog.at_level(logging.WARNING):
        assert live.fresh(lambda s: None) is settings
    assert "data_dir baru berlaku setelah layanan dijalankan ulang" in caplog.text


def test_a_home_folder_path_is_expanded(tmp_path, monkeypatch):
    """data_dir: ~/data became <settings folder>/~/data."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = make_demo(tmp_path / "spi" / "settings.yaml", n_opds=1, as_of=dt.date(2023, 10, 12))
    path.write_text(path.read_text(encoding="utf-8").replace("data_dir: data", "data_dir: ~/data", 1), encoding="utf-8")
    assert load_settings(path).data_dir == (tmp_path / "home" / "data").resolve()


def test_a_deadline_past_every_slot_is_said_at_start(settings, caplog):
    """deadline: 15-10 typed for 15-12 ran silently, closing the round in the state."""
    with caplog.at_level(logging.WARNING):
        jobs._warn_past_deadline(settings, settings.deadline + dt.timedelta(days=2))
    assert caplog.text == ""                                   # H+1, H+3 still to come
    with caplog.at_level(logging.WARNING):
        jobs._warn_past_deadline(settings, settings.deadline + dt.timedelta(days=30))
    assert "sudah lewat 30 hari" in caplog.text and "deadline" in caplog.text


def test_a_last_reminder_moved_to_monday_is_still_ahead(settings, caplog):
    """H+3 on a Saturday goes out on Monday: on the Sunday between, a reminder is still
    to come, and neither the service start nor the self-check says none will be sent."""
    from dataclasses import replace

    from sheets_sync import remind
    wednesday = replace(settings, deadline=dt.date(2023, 10, 11))   # H+3: Saturday 14/10
    cfg = remind.reminder_config(wednesday)
    assert [s.day for s in remind.season(cfg, wednesday.deadline)][-1] == dt.date(2023, 10, 16)
    with caplog.at_level(logging.WARNING):
        jobs._warn_past_deadline(wednesday, dt.date(2023, 10, 15))
    assert caplog.text == ""
    assert not remind.season_over(cfg, wednesday, dt.date(2023, 10, 16))
    with caplog.at_level(logging.WARNING):
        jobs._warn_past_deadline(wednesday, dt.date(2023, 10, 17))
    assert "sudah lewat 6 hari" in caplog.text
