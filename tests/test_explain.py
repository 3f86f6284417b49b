"""codes.explain and state_error: the library errors an admin met in English (disk
full, an empty state database, the network down, a malformed key, TLS on the wrong
port) come out as Indonesian sentences that say what to do."""
from __future__ import annotations

import sqlite3
import ssl
import smtplib
from pathlib import Path

import pytest
import requests

from sheets_sync.codes import explain
from sheets_sync.cycle.state import state_error

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("error,words", [
    (sqlite3.OperationalError("database or disk is full"), "disk penuh"),
    (sqlite3.OperationalError("no such table: kv"), "kosong atau rusak"),
    (requests.exceptions.ConnectionError("Max retries exceeded"), "jaringan tidak dapat dihubungi"),
    (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)"), "port dan security"),
    (smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."), "tidak menawarkan STARTTLS"),
])
def test_library_errors_in_indonesian(error, words):
    text = explain(error)
    assert words in text and "galat tak terduga" not in text


def test_a_malformed_service_account_key():
    from google.auth.exceptions import MalformedError
    text = explain(MalformedError("Service account info was not in the expected format, missing fields client_email."))
    assert "kredensial Google" in text and "--check" in text


def test_a_state_database_not_made_yet_says_run_a_cycle_first(tmp_path):
    path = tmp_path / "state.sqlite"
    try:
        open(path)
    except FileNotFoundError as e:
        text = str(state_error(e, path))
    assert "belum ada" in text and "jobs.py --once" in text and "FileNotFoundError" not in text
    assert "kosong atau tidak lengkap" in str(state_error(sqlite3.OperationalError("no such table: kv"), Path(path)))
