"""`python -m sheets_sync pilot --config PATH`: the go-live self-test on the real
Google account, before the season. Through the worker's own store (same session,
quota and retries), in the configured folder:

  folder   files.get: the folder, its drive, may the account add files?
  create   files.create of a scratch spreadsheet (supportsAllDrives)
  write    values.update of one cell (RAW), then read it back (values.get)
  share    permissions.create for each Inspektorat address (no notification e-mail)
  list     the worker's own listing finds it (corpora as for the cycle)
  locale   locale id_ID / time zone Asia/Jakarta set and read back
  delete   files.delete

Prints ✓/✗ per step with the fix, in Indonesian; costs under 15 requests; exit code 1
on any ✗. It never touches the master or an OPD's spreadsheet.
"""
from __future__ import annotations

import sys

from sheets_sync.logsafe import mask
from sheets_sync.ops.selfcheck import FAIL, OK, SKIP, Checklist, account_kind
from sheets_sync.stores import StoreError

SHEET_MIME = "application/vnd.google-apps.spreadsheet"
DRIVE = "https://www.googleapis.com/drive/v3/files"
PROBE = "uji sheets_sync"
MAX_SHARES = 3


def run(settings, out=None, session=None) -> tuple[Checklist, int]:
    """(checklist, requests spent)."""
    from sheets_sync.forms import forms_for
    from sheets_sync.stores.google import GoogleStore, session_for

    c = Checklist(out)
    cfg = settings.google or {}
    if settings.backend != "google":
        c.add(FAIL, "pilot hanya untuk backend google", "isi backend: google di pengaturan.")
        return c, 0
    folder = cfg.get("folder_id")
    if not folder:
        c.add(FAIL, "google.folder_id belum diisi", "isi dengan ID folder musim ini (bagian URL sesudah /folders/).")
        return c, 0
    session = session or session_for(cfg, max_attempts=3, retry_budget=60)
    store = GoogleStore(settings, forms_for(settings), session=session, read_only=True, need_master=False)
    http = store.http
    start = session.total
    pilot = Pilot(c, store, http, folder, settings, account_kind(cfg))
    try:
        pilot.steps()
    finally:
        pilot.cleanup()
    return c, session.total - start


class Pilot:
    def __init__(self, c: Checklist, store, http, folder: str, settings, kind):
        self.c, self.store, self.http, self.folder, self.settings, self.kind = c, store, http, folder, settings, kind
        self.sid: str | None = None
        self.deleted = False

    def call(self, fn):
        return self.store.call(fn)

    def steps(self) -> None:
        if not self.check_folder():
            return
        if not self.create():
            return
        self.write_read()
        self.share()
        self.listed()
        self.locale()

    # ------------------------------------------------------------------ steps
    def check_folder(self) -> bool:
        try:
            meta = self.store.file_meta(self.folder, "id,name,driveId,capabilities(canAddChildren)")
        except StoreError as e:
            self.c.add(FAIL, f"Folder: tidak dapat dibuka ({e.problem.text()})", "periksa jaringan dan kredensial "
                       "(python jobs.py --check).")
            return False
        if meta is None:
            self.c.add(FAIL, "Folder google.folder_id tidak ditemukan oleh akun pekerja",
                       "periksa ID-nya dan bagikan folder (atau Drive bersamanya) ke akun pekerja sebagai "
                       "Pengelola konten/Editor.")
            return False
        drive = meta.get("driveId") or ""
        self.store.cache.setdefault("folder_drive", {})[self.folder] = drive
        where = f"Drive bersama {drive}" if drive else "Drive akun pekerja"
        if self.kind == "service_account" and not drive:
            self.c.add(FAIL, f"Folder '{meta.get('name')}' di Drive biasa: service account tidak dapat membuat "
                             f"berkas di sana (storageQuotaExceeded)",
                       "pindahkan folder ke Drive bersama dengan service account sebagai Pengelola konten, atau "
                       "pakai akun Google biasa (python -m sheets_sync auth). Lihat README.")
            return False
        if (meta.get("capabilities") or {}).get("canAddChildren") is False:
            self.c.add(FAIL, f"Folder '{meta.get('name')}': akun pekerja tidak boleh menambah berkas",
                       "beri peran Pengelola konten (Drive bersama) atau Editor (folder).")
            return False
        self.c.add(OK, f"Folder '{meta.get('name')}' di {where}")
        return True

    def create(self) -> bool:
        body = {"name": "sheets_sync pilot (boleh dihapus)", "mimeType": SHEET_MIME, "parents": [self.folder],
                "appProperties": {"sheets_sync_pilot": "1"}}
        try:
            self.sid = self.call(lambda: self.http.request("post", DRIVE, json=body, params={
                "supportsAllDrives": True, "fields": "id"}).json()["id"])
        except StoreError as e:
            self.c.add(FAIL, f"Membuat spreadsheet uji di folder: gagal ({e.problem.text()})",
                       "service account: folder harus di Drive bersama; akun OAuth: harus Editor folder. "
                       "Lalu jalankan pilot lagi.")
            return False
        self.c.add(OK, "Spreadsheet uji dibuat di folder")
        return True

    def write_read(self) -> None:
        try:
            self.call(lambda: self.http.values_update(self.sid, "A1", params={"valueInputOption": "RAW"},
                                                      body={"values": [[PROBE]]}))
            got = self.call(lambda: self.http.values_get(self.sid, "A1")).get("values", [[None]])[0][0]
        except StoreError as e:
            self.c.add(FAIL, f"Menulis dan membaca satu sel: gagal ({e.problem.text()})",
                       "aktifkan Google Sheets API di proyek Google Cloud; token OAuth harus memuat izin "
                       "spreadsheets (jalankan auth lagi).")
            return
        if got != PROBE:
            self.c.add(FAIL, f"Sel yang dibaca kembali berbeda ('{got}')", "laporkan ke pengembang.")
            return
        self.c.add(OK, "Satu sel ditulis lalu dibaca kembali sama")

    def share(self) -> None:
        emails = [e.strip() for e in self.settings.inspektorat_emails if "@" in str(e)][:MAX_SHARES]
        if not emails:
            self.c.add(SKIP, "Berbagi: inspektorat.email kosong, dilewati")
            return
        bad = []
        for email in emails:
            try:
                self.call(lambda: self.http.request("post", f"{DRIVE}/{self.sid}/permissions", params={
                    "supportsAllDrives": True, "sendNotificationEmail": False, "fields": "id"},
                    json={"role": "reader", "type": "user", "emailAddress": email}))
            except StoreError as e:
                bad.append(f"{mask(email)} ({e.problem.code})")
        if bad:
            self.c.add(FAIL, f"Berbagi ke alamat Inspektorat gagal: {', '.join(bad)}",
                       "alamat harus akun Google (Gmail atau Workspace); Workspace dapat melarang berbagi ke luar "
                       "domain (Admin console → Apps → Drive → Sharing settings).")
            return
        self.c.add(OK, f"Dibagikan ke {len(emails)} alamat Inspektorat (tanpa e-mail pemberitahuan)")

    def listed(self) -> None:
        try:
            listing = self.store.list_files()
        except StoreError as e:
            self.c.add(FAIL, f"Daftar Drive pekerja: gagal ({e.problem.text()})",
                       "aktifkan Google Drive API; token OAuth harus memuat drive.metadata.readonly.")
            return
        if self.sid not in listing:
            self.c.add(FAIL, "Spreadsheet uji tidak muncul di daftar Drive pekerja",
                       "pekerja tidak akan melihat perubahan OPD: periksa bahwa google.folder_id adalah folder "
                       "tempat spreadsheet OPD berada (di Drive bersama: folder di dalam Drive bersama itu).")
            return
        self.c.add(OK, f"Spreadsheet uji terlihat di daftar Drive pekerja ({len(listing)} spreadsheet di folder)")

    def locale(self) -> None:
        from sheets_sync.provision.spec import LOCALE, TIME_ZONE
        try:
            self.call(lambda: self.http.batch_update(self.sid, {"requests": [{"updateSpreadsheetProperties": {
                "properties": {"locale": LOCALE, "timeZone": TIME_ZONE}, "fields": "locale,timeZone"}}]}))
            props = self.call(lambda: self.http.spreadsheets_get(self.sid, params={
                "fields": "properties(locale,timeZone)"})).get("properties", {})
        except StoreError as e:
            self.c.add(FAIL, f"Lokal/zona waktu: ditolak ({e.problem.text()})",
                       "provision akan mencoba in_ID lalu membiarkannya; pekerja tetap membaca tanggal dengan benar.")
            return
        if props.get("locale") in (LOCALE, "in_ID") and props.get("timeZone") == TIME_ZONE:
            self.c.add(OK, f"Lokal {props.get('locale')}, zona waktu {props.get('timeZone')}")
        else:
            self.c.add(FAIL, f"Lokal/zona waktu tidak sesuai ({props.get('locale')}, {props.get('timeZone')})",
                       "atur manual: File → Setelan → Lokal Indonesia, Zona waktu (GMT+07:00) Jakarta.")

    def cleanup(self) -> None:
        if self.sid is None:
            return
        try:
            self.call(lambda: self.http.request("delete", f"{DRIVE}/{self.sid}", params={"supportsAllDrives": True}))
        except StoreError as e:
            self.c.add(FAIL, f"Menghapus spreadsheet uji: gagal ({e.problem.text()})",
                       "hapus sendiri 'sheets_sync pilot (boleh dihapus)' dari folder; di Drive bersama akun pekerja "
                       "perlu peran Pengelola konten.")
            return
        self.c.add(OK, "Spreadsheet uji dihapus")


def main(settings, out=None) -> int:
    out = out if out is not None else sys.stdout
    print(f"Uji coba Google sheets_sync ({settings.path})", file=out)
    c, spent = run(settings, out)
    bad = c.failed
    print(f"{spent} permintaan ke Google.", file=out)
    if bad:
        print(f"Hasil: {len(bad)} langkah gagal. Perbaiki baris bertanda {FAIL} lalu jalankan lagi: "
              f"python -m sheets_sync pilot --config {settings.path}", file=out)
        return 1
    print("Hasil: semua langkah lulus; akun dan folder siap untuk musim ini.", file=out)
    return 0
