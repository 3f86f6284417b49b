"""Provisioning that survives Google, on the strict emulator: the master made and
its ID written into the settings (comments kept), locale with a fallback in its own
request, a share whose notification could not be sent counted as done, a create
that timed out never doubled, and a service account working in a shared drive."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests

from sheets_sync.config import load_settings
from sheets_sync.forms import load_forms
from sheets_sync.provision import provision
from sheets_sync.stores.google import FOLDER_MIME, SHEET_MIME, GoogleStore, create_file, raw_http
from sheets_sync.stores.google_http import GoogleSession
from tests.google_emulator import start_emulator
from tests.test_provision import INSPEKTORAT, registry_csv

DRIVE = "https://www.googleapis.com/drive/v3/files"


@pytest.fixture
def emu(monkeypatch):
    with start_emulator(strict=True) as e:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", e.url.replace("http://", ""))
        yield e


def settings_text(folder_id: str, master_id: str = "") -> str:
    return f"""# Pengaturan uji (komentar ini harus tetap ada)
backend: google
tahun: 2023
state_dir: state
deadline: 2023-10-15
inspektorat:
  nama: {INSPEKTORAT['nama']}
  email: [{', '.join(INSPEKTORAT['email'])}]
google:
  # ID spreadsheet master: diisi otomatis oleh provision
  master_id: {master_id}   # jangan dihapus
  folder_id: {folder_id}   # folder musim ini
"""


def files(http, folder: str, drive: str | None = None) -> dict[str, str]:
    scope = {"corpora": "drive", "driveId": drive} if drive else {}
    r = http.request("get", DRIVE, params={"q": f"'{folder}' in parents and mimeType='{SHEET_MIME}' and trashed=false",
                                           "fields": "files(id,name)", "supportsAllDrives": "true",
                                           "includeItemsFromAllDrives": "true", **scope}).json()
    return {f["id"]: f["name"] for f in r["files"]}


def test_provision_makes_the_master_and_writes_its_id_keeping_comments(tmp_path, emu):
    http = raw_http()
    folder = create_file(http, "SPI 2023", FOLDER_MIME, None)
    cfg = tmp_path / "settings.yaml"
    cfg.write_text(settings_text(folder), encoding="utf-8")
    lines = []
    rep = provision(load_settings(cfg), registry_csv=registry_csv(tmp_path / "opd.csv", 2), out=lines.append)
    assert rep.ok and rep.count("created") == 2, lines
    text = cfg.read_text(encoding="utf-8")
    master = load_settings(cfg).google["master_id"]
    assert master and master in files(http, folder)
    assert "# Pengaturan uji (komentar ini harus tetap ada)" in text
    assert re.search(rf"\n  master_id: {master} +# jangan dihapus\n", text) and "# folder musim ini" in text
    assert any("Master dibuat" in x for x in lines)
    # the registry landed in the new master, and a second run finds everything as it is
    n = emu.stats()["requests"]
    rep = provision(load_settings(cfg), out=lines.append)
    assert rep.count("unchanged") == 2 and emu.stats()["requests"] - n == 1
    assert set(emu.stats()["by_status"]) <= {"200", "204"}


def test_empty_master_id_found_again_not_made_twice(tmp_path, emu):
    """State lost after the master was made but before its ID was written: found by its tag."""
    http = raw_http()
    folder = create_file(http, "SPI 2023", FOLDER_MIME, None)
    cfg = tmp_path / "settings.yaml"
    cfg.write_text(settings_text(folder), encoding="utf-8")
    from sheets_sync.provision.google import ensure_master
    first = ensure_master(load_settings(cfg), out=lambda *_: None)
    cfg.write_text(settings_text(folder), encoding="utf-8")           # the ID was lost
    assert ensure_master(load_settings(cfg), out=lambda *_: None) == first
    assert len(files(http, folder)) == 1


class Faulty(GoogleSession):
    """A session that lets a test answer for Google at chosen requests: `hook(method,
    url, kw)` returns a requests.Response to answer with, or None to pass."""

    def __init__(self, hook):
        super().__init__(None)
        self.hook = hook

    def request(self, method, url, **kw):
        got = self.hook(self, method, self._url(url), kw)
        return got if got is not None else super().request(method, url, **kw)


def answer(status: int, body: dict) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = json.dumps(body).encode()
    r.headers["Content-Type"] = "application/json"
    return r


class Dep:
    def __init__(self, tmp_path, drive: str | None = None):
        self.http = raw_http()
        self.drive = drive
        self.folder = create_file(self.http, "SPI 2023", FOLDER_MIME, drive)
        self.master = create_file(self.http, "MASTER", SHEET_MIME, self.folder)
        self.cfg = tmp_path / "settings.yaml"
        self.cfg.write_text(settings_text(self.folder, self.master), encoding="utf-8")
        self.csv = registry_csv(tmp_path / "opd.csv", 2)

    def run(self, session=None, lines=None):
        settings = load_settings(self.cfg)
        store = GoogleStore(settings, load_forms(), session=session) if session else None
        return provision(settings, registry_csv=self.csv, out=(lines if lines is not None else []).append,
                         store=store)

    def locale(self, sid: str) -> str:
        return self.http.spreadsheets_get(sid, params={"fields": "properties(locale,timeZone)"})["properties"]

    def sids(self) -> list[str]:
        return [i for i in files(self.http, self.folder, self.drive) if i != self.master]


def refuse_locales(*codes):
    def hook(session, method, url, kw):
        body = json.dumps(kw.get("json") or {})
        if url.endswith(":batchUpdate") and any(f'"locale": "{c}"' in body for c in codes):
            return answer(400, {"error": {"code": 400, "status": "INVALID_ARGUMENT",
                                          "message": "Invalid requests[0].updateSpreadsheetProperties: locale"}})
        return None
    return hook


def test_locale_falls_back_to_in_ID_then_is_left_and_said(tmp_path, emu):
    dep = Dep(tmp_path)
    lines = []
    rep = dep.run(Faulty(refuse_locales("id_ID")), lines)
    assert rep.ok and rep.count("created") == 2, lines
    assert all(dep.locale(s) == {"locale": "in_ID", "timeZone": "Asia/Jakarta"} for s in dep.sids())
    tmp2 = tmp_path / "b"
    tmp2.mkdir()
    dep2 = Dep(tmp2)
    lines = []
    rep = dep2.run(Faulty(refuse_locales("id_ID", "in_ID")), lines)
    assert rep.ok and rep.count("created") == 2, lines
    assert any("lokal dibiarkan" in x for x in lines)
    assert all(dep2.locale(s)["timeZone"] == "Asia/Jakarta" for s in dep2.sids())


def test_share_whose_notification_could_not_be_sent_counts_as_shared(tmp_path, emu):
    def hook(session, method, url, kw):
        if method.upper() == "POST" and url.split("?")[0].endswith("/permissions"):
            GoogleSession.request(session, method, url, **kw)          # Google made the share...
            return answer(400, {"error": {"code": 400, "message": "Bad Request. User message: \"Sorry, the "
                                          "notification e-mail could not be sent.\"",
                                          "errors": [{"reason": "invalidSharingRequest", "domain": "global"}]}})
        return None
    dep = Dep(tmp_path)
    lines = []
    rep = dep.run(Faulty(hook), lines)
    assert rep.ok and rep.count("created") == 2, lines
    lines = []
    rep = dep.run(None, lines)
    assert rep.count("unchanged") == 2, lines      # nothing to share again: every share was recorded


def test_create_that_timed_out_is_not_made_twice(tmp_path, emu):
    done = []

    def hook(session, method, url, kw):
        if method.upper() == "POST" and url.split("?")[0].endswith("/drive/v3/files") and not done:
            done.append(GoogleSession.request(session, method, url, **kw))   # made, but the answer is lost
            raise requests.ReadTimeout("read timed out")
        return None
    dep = Dep(tmp_path)
    before = set(files(dep.http, dep.folder))
    lines = []
    rep = dep.run(Faulty(hook), lines)
    assert rep.ok and rep.count("created") == 2, lines
    assert len(set(files(dep.http, dep.folder)) - before) == 2          # not 3


def test_service_account_provisions_in_a_shared_drive(tmp_path, emu):
    emu.set_faults(strict=True, service_account=True)
    http = raw_http()
    drive = http.request("post", "https://www.googleapis.com/drive/v3/drives", params={"requestId": "spi"},
                         json={"name": "SPI"}).json()["id"]
    dep = Dep(tmp_path, drive=drive)
    lines = []
    rep = dep.run(None, lines)
    assert rep.ok and rep.count("created") == 2, lines
    assert len(dep.sids()) == 2
    by = emu.stats()["by_status"]
    # no storage refusal; the one 400 is the test's bare master without a Daftar OPD tab (then added)
    assert "403" not in by and by.get("400", 0) <= 1, by


def test_service_account_outside_a_shared_drive_is_told_what_to_do(tmp_path, emu):
    dep = Dep(tmp_path)
    emu.set_faults(strict=True, service_account=True)
    lines = []
    rep = dep.run(None, lines)
    assert not rep.ok
    assert any("storageQuotaExceeded" in x and "Drive bersama" in x for x in lines), lines
