"""An OPD spreadsheet that cannot be read this cycle (Google 503/timeout after the
retries, or a 200 whose body is not what was asked) is reported as a read that failed
(WB_READ_FAILED): its counts marked as not read this cycle, read again next cycle,
never blamed on a status write that was not attempted, never an OPD_ERROR traceback."""
from __future__ import annotations

import logging

import pytest

from sheets_sync import codes
from sheets_sync.stores.google_http import GoogleSession
from tests.backends import Deployment, rekap
from tests.google_answers import UNAVAILABLE, answer_worker, problems


@pytest.fixture
def dep(tmp_path, emu):
    return Deployment("google", tmp_path, emulator=emu, n_opds=3,
                      session_factory=lambda: GoogleSession(None, sleep=lambda s: None, max_attempts=3))


def test_a_read_that_failed_is_reported_as_such_and_tried_again(dep, emu, monkeypatch):
    opd = dep.opds()[0]
    with monkeypatch.context() as m:
        answer_worker(emu, m, opd, UNAVAILABLE)
        rep = dep.cycle()
        assert rep.master_written
        assert problems(dep, opd.code) == ["WB_READ_FAILED"]
        row = rekap(dep)[opd.code]
        assert "tidak terbaca" in row[7], row[7]                 # nothing read: not today's counts
        assert "tidak dapat dibaca" in row[11] and "Status tidak dapat ditulis" not in row[11], row[11]
    rep = dep.cycle()                                            # Google answers again, nobody edited
    assert rep.read == 1 and problems(dep, opd.code) == []


def test_the_read_failure_code_is_transient_and_leaves_counts_old():
    assert "WB_READ_FAILED" in codes.TRANSIENT and "WB_READ_FAILED" in codes.UNREADABLE
    assert "{alasan}" in codes.WORKBOOK_CODES["WB_READ_FAILED"]


@pytest.mark.parametrize("payload", [[], "ok", {"sheets": "bukan daftar"}, {"sheets": [{"data": 3}]}])
def test_an_answer_that_is_not_what_was_asked_is_a_read_failure(dep, emu, monkeypatch, caplog, payload):
    opd = dep.opds()[0]
    answer_worker(emu, monkeypatch, opd, (200, payload), method="GET")
    with caplog.at_level(logging.WARNING):
        rep = dep.cycle()
    assert problems(dep, opd.code) == ["WB_READ_FAILED"]
    assert "tidak dikenali" in rekap(dep)[opd.code][11]
    assert not rep.errors and "Traceback" not in caplog.text
