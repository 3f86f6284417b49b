"""`python jobs.py --check [--config PATH]`: is this installation ready to run?

Prints an Indonesian checklist, one line per check (✓ passed, ✗ failed, – not
needed here, ! worth a look), each failure followed by how to fix it, and returns
1 if anything failed. It never sends an e-mail and never writes to a workbook:

- the settings file (and the reminder/mail settings) are valid;
- the Google credentials file is readable and not readable by every user
  (Google backend, not with the emulator);
- Google (or the emulator) answers one Drive listing;
- the master and its Daftar OPD are readable (number of OPDs; missing workbooks);
- SMTP: connect, EHLO, STARTTLS/SSL, login, QUIT; or the outbox folder is writable;
- the data and state folders are writable; the state database is intact and every
  OPD's memory in it loads (one that does not is read again by the next cycle: a warning);
- the settings file, .env, the Google key/token and mail.oauth2_file are not readable
  by others (a warning: they hold secrets or point to them);
- the health file of the last cycle (shown, never a failure).

Run it as the service user (sudo -u sheets-sync ...): as root every folder looks
writable, and files it might create would belong to root.
"""
from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sheets_sync.logsafe import mask, mask_address
from sheets_sync.stores import StoreError

OK, FAIL, SKIP, WARN, INFO = "✓", "✗", "–", "!", "ℹ"


@dataclass
class Line:
    mark: str
    text: str
    fix: str = ""


class Checklist:
    def __init__(self, out=None):
        self.lines: list[Line] = []
        self.out = out

    def add(self, mark: str, text: str, fix: str = "") -> Line:
        line = Line(mark, text, fix)
        self.lines.append(line)
        if self.out is not None:
            print(f"{mark} {text}", file=self.out, flush=True)
            if fix and mark in (FAIL, WARN):
                print(f"    → {'Perbaiki' if mark == FAIL else 'Saran'}: {fix}", file=self.out, flush=True)
        return line

    @property
    def failed(self) -> list[Line]:
        return [x for x in self.lines if x.mark == FAIL]


# ====================================================================== checks
def run(config: str | os.PathLike, out=None) -> Checklist:
    from sheets_sync import mail, remind
    from sheets_sync.config import ConfigError, load_settings
    from sheets_sync.forms import forms_for

    c = Checklist(out)
    path = Path(config)
    try:
        settings = load_settings(path)
        forms = forms_for(settings)
        remind.check_settings(settings)
        mcfg = mail.mail_config(settings)
    except ConfigError as e:
        c.add(FAIL, f"Pengaturan tidak valid: {e}",
              f"sunting {path.resolve()} (contoh lengkap: config/settings.example.yaml), lalu jalankan lagi.")
        c.add(SKIP, "Pemeriksaan lain dilewati sampai pengaturan benar.")
        return c
    except Exception as e:  # noqa: BLE001 - forms.yaml broken, etc.
        c.add(FAIL, f"Pengaturan tidak dapat dimuat: {type(e).__name__}: {e}",
              f"periksa {path.resolve()} dan berkas formulir (forms_file).")
        return c
    _example_settings(c, settings, mcfg)
    deadline = f", batas {settings.deadline:%d/%m/%Y}" if settings.deadline else ""
    c.add(OK, f"Pengaturan valid: {settings.path} (backend {settings.backend}, sinkron tiap "
              f"{settings.sync_minutes} menit, pengingat {settings.reminder_time} WIB{deadline})")
    _season(c, settings, remind.reminder_config(settings))
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        c.add(WARN, "Dijalankan sebagai root: izin tulis folder selalu tampak benar. Untuk hasil yang "
                    "sebenarnya: sudo -u sheets-sync /opt/sheets-sync/.venv/bin/python jobs.py --check "
                    f"--config {settings.path}")

    # ---------------------------------------------------------------- folders
    if settings.backend == "xlsx":
        _folder(c, "Folder data", settings.data_dir, must_exist=True,
                fix=f"buat foldernya dan berikan ke pengguna layanan: sudo install -d -o sheets-sync -g "
                    f"sheets-sync {settings.data_dir}; letakkan master dan workbook OPD di sana.")
    else:   # on Google the data folder holds only the worker's records: reminders sent, the lock
        _folder(c, "Folder data (catatan pengingat terkirim dan kunci pekerja)", settings.data_dir,
                must_exist=False, fix=f"sudo install -d -o sheets-sync -g sheets-sync -m 700 {settings.data_dir} "
                                      f"(dan cantumkan di ReadWritePaths= layanan systemd).")
    _folder(c, "Folder state", settings.state_dir, must_exist=False,
            fix=f"sudo install -d -o sheets-sync -g sheets-sync {settings.state_dir} (dan cantumkan di "
                f"ReadWritePaths= layanan systemd).")
    _state_db(c, settings)
    _rollover(c, settings)
    _secret_files(c, settings)

    # ---------------------------------------------------------------- Google
    store = None
    if settings.backend == "google":
        if _credentials(c, settings):
            store = _google(c, settings, forms)
    else:
        c.add(SKIP, "Kredensial Google: tidak diperlukan (backend xlsx)")
        c.add(SKIP, "Google: tidak dipakai (backend xlsx)")
        from sheets_sync.stores.xlsx import XlsxStore
        store = XlsxStore(settings.data_dir, forms, settings.master)
        c.add(INFO, f"Alamat berkas untuk OPD: {settings.file_address} (disebut di e-mail, Rekap dan status)"
              if settings.file_address else
              "Alamat berkas untuk OPD: belum diisi (alamat_berkas), jadi e-mail dan Rekap hanya menyebut nama "
              "berkasnya; isi bila OPD membuka berkasnya dari folder bersama (README: Bagaimana OPD membuka "
              "workbooknya)")

    # ---------------------------------------------------------------- master
    if store is not None:
        _registry(c, settings, store)
    else:
        c.add(SKIP, "Master dan Daftar OPD: dilewati (Google belum dapat dihubungi)")

    # ---------------------------------------------------------------- mail
    if mcfg.transport == "smtp":
        _smtp(c, mcfg)
    else:
        _folder(c, "Folder outbox (pengingat ditulis sebagai .eml, transport outbox)", settings.outbox_dir,
                must_exist=False, fix=f"sudo install -d -o sheets-sync -g sheets-sync {settings.outbox_dir}")

    # ---------------------------------------------------------------- health
    _health(c, settings)
    return c


EXAMPLE_SENDER = "spi.inspektorat@gmail.com"   # config/settings.example.yaml's


def is_example_address(address: str) -> bool:
    """An address of the examples (…@contoh.mukomukokab.go.id, …@example.com): copied
    from settings.example.yaml or left by provision's example Daftar OPD."""
    labels = str(address).rpartition("@")[2].casefold().split(".")
    return "contoh" in labels or "example" in labels or str(address).casefold() == EXAMPLE_SENDER


def _example_settings(c: Checklist, settings, mcfg) -> None:
    found = [a for a in (*settings.inspektorat_emails, mcfg.sender) if a and is_example_address(a)]
    if found:
        c.add(WARN, f"Pengaturan masih memakai alamat e-mail contoh: {', '.join(sorted(set(found)))}",
              f"ganti inspektorat.email dan mail.sender di {settings.path} dengan alamat Inspektorat yang "
              f"sebenarnya.")


def _rollover(c: Checklist, settings) -> None:
    """An unfinished `season new` holds every cycle (cycle/rollover.py)."""
    from sheets_sync.cycle.rollover import pending

    why = pending(settings)
    if why:
        c.add(FAIL, why, fix="jalankan lagi perintah season new di atas sampai selesai (aman diulang).")


def _season(c: Checklist, settings, rcfg) -> None:
    """The deadline and the circular: a deadline in the past (last season's settings),
    a deadline taken by default, a circular not named in the e-mails."""
    from sheets_sync import codes
    from sheets_sync.config import today_wib

    today = today_wib()
    deadline = settings.deadline
    late = (today - deadline).days
    if late > 0:
        from sheets_sync.remind.plan import season_over
        rest = (f"Semua jadwal pengingat sudah lewat: tidak ada pengingat yang akan dikirim. Untuk musim baru, "
                f"jalankan python -m sheets_sync season new --year {settings.year + 1} (README: Musim SPI dan "
                f"pergantian musim)."
                if season_over(rcfg, settings, today) else "Yang tersisa hanya eskalasi ke kepala OPD "
                f"({', '.join(f'H+{o}' for o in rcfg.escalation if o >= late) or 'yang digeser ke hari kerja'}).")
        c.add(WARN, f"Batas pengiriman {codes.long_date(deadline, weekday=True)} sudah lewat {late} hari. {rest}")
    if settings.deadline_default:
        c.add(INFO, f"deadline tidak diisi: dipakai {codes.long_date(deadline)} (bawaan). Bila Surat Edaran "
                    f"menetapkan tanggal lain, isi deadline di {settings.path.name}.")
    if not (settings.surat_edaran or {}).get("nomor"):
        c.add(INFO, "Nomor Surat Edaran belum diisi (surat_edaran.nomor): e-mail pengingat tidak mengutipnya.")


def _folder(c: Checklist, what: str, folder: Path, *, must_exist: bool, fix: str) -> bool:
    folder = Path(folder)
    if not folder.exists():
        if must_exist:
            c.add(FAIL, f"{what} tidak ada: {folder}", fix)
            return False
        parent = next((p for p in folder.parents if p.exists()), None)
        if parent is not None and parent.is_dir() and os.access(parent, os.W_OK | os.X_OK):
            c.add(OK, f"{what} belum ada, akan dibuat oleh pekerja: {folder}")
            return True
        c.add(FAIL, f"{what} belum ada dan tidak dapat dibuat: {folder}", fix)
        return False
    if not folder.is_dir():
        c.add(FAIL, f"{what} bukan folder: {folder}", fix)
        return False
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".periksa-", suffix=".tmp"):
            pass
    except OSError as e:
        c.add(FAIL, f"{what} tidak dapat ditulis: {folder} ({e.strerror or e})", fix)
        return False
    c.add(OK, f"{what} dapat ditulis: {folder}")
    return True


def _state_db(c: Checklist, settings) -> None:
    db = Path(settings.state_db)
    if not db.exists():
        c.add(SKIP, "Basis data state: belum ada (dibuat pada siklus pertama)")
        return
    if hasattr(os, "geteuid") and os.geteuid() != db.stat().st_uid:
        c.add(SKIP, "Basis data state: dilewati (milik pengguna lain; jalankan --check sebagai pemiliknya, "
                    "mis. sudo -u sheets-sync)")
        return
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            result = con.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error as e:
        result = f"{type(e).__name__}: {e}"
    if result == "ok":
        c.add(OK, f"Basis data state utuh (quick_check ok): {db}")
        _payloads(c, db)
    else:
        c.add(FAIL, f"Basis data state rusak: {db} ({result})",
              "hentikan layanan (systemctl stop sheets-sync), pulihkan cadangan terakhir "
              "(lihat README: Cadangan), atau pindahkan berkasnya: siklus berikutnya membaca ulang semua OPD "
              "(pengingat yang sudah terkirim tercatat di berkas lama).")


def _payloads(c: Checklist, db: Path) -> None:
    """Every OPD's memory must load (JSON of plain values; a pickle never does)."""
    from sheets_sync.cycle.state import State, StateError

    try:
        with State(db, read_only=True) as state:
            bad = state.unreadable_payloads()
            total = state.db.execute("SELECT count(*) FROM workbooks").fetchone()[0]
    except (StateError, sqlite3.Error) as e:
        c.add(WARN, f"Memori OPD di state tidak dapat diperiksa: {e}")
        return
    if bad:
        c.add(WARN, f"Memori {len(bad)} dari {total} OPD di state tidak terbaca (rusak atau format lama: "
                    f"{', '.join(bad[:10])}{' …' if len(bad) > 10 else ''}); siklus berikutnya membaca ulang OPD "
                    f"itu. Bila muncul lagi sesudah satu siklus, ada yang menulis ke {db}: periksa izinnya.")
    else:
        c.add(OK, f"Memori OPD di state terbaca: {total} OPD")


def _readable_by_others(path: Path) -> str | None:
    """'semua pengguna' / 'grup <name>' when someone besides the worker's user can read
    the file; None otherwise. A group that is the user's own private group (no other
    members, as the systemd set-up makes: sheets-sync) is fine."""
    import grp

    try:
        st = path.stat()
    except OSError:
        return None
    if st.st_mode & stat.S_IROTH:
        return "semua pengguna"
    if st.st_mode & stat.S_IRGRP:
        try:
            group = grp.getgrgid(st.st_gid)
        except KeyError:
            return f"grup {st.st_gid}"
        import pwd
        me = pwd.getpwuid(os.geteuid()).pw_name if hasattr(os, "geteuid") else ""
        members = set(group.gr_mem) - {me}
        own = st.st_gid == os.getegid() and not members
        if not own:
            return f"grup {group.gr_name}"
    return None


def _secret_files(c: Checklist, settings) -> None:
    """Settings, .env, keys and tokens: warn when others can read them."""
    cfg = settings.google or {}
    found = [("berkas pengaturan", Path(settings.path))]
    for env in (Path(settings.path).parent / ".env", Path.cwd() / ".env"):
        if env.is_file() and env.resolve() not in [p.resolve() for _, p in found]:
            found.append((".env (SMTP_PASSWORD)", env))
    for what, key in (("kunci Google", cfg.get("credentials") or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")),
                      ("token OAuth Google", cfg.get("oauth_token")),
                      ("berkas OAuth2 SMTP", (settings.mail or {}).get("oauth2_file"))):
        if key:
            path = Path(key)
            found.append((what, path if path.is_absolute() else (Path(settings.path).parent / path).resolve()))
    loose = [(what, path, who) for what, path in found if (who := _readable_by_others(path))]
    for what, path, who in loose:
        c.add(WARN, f"{what.capitalize()} terbuka, bisa dibaca {who} (mode {stat.S_IMODE(path.stat().st_mode):03o}): {path}. "
                    f"Perbaiki: chmod 600 {path} (atau 640 dengan grup yang hanya berisi pengguna layanan, "
                    f"mis. sudo chown root:sheets-sync {path}; sudo chmod 640 {path}).")
    if not loose:
        c.add(OK, "Pengaturan, .env dan berkas kunci tidak dapat dibaca pengguna lain")


# ------------------------------------------------------------------ Google
def _credentials(c: Checklist, settings) -> bool:
    emulator = os.environ.get("SHEETS_EMULATOR_HOST")
    if emulator:
        c.add(SKIP, f"Kredensial Google: tidak dipakai (emulator SHEETS_EMULATOR_HOST={emulator})")
        return True
    cfg = settings.google or {}
    kind, key = ("token OAuth", cfg.get("oauth_token")) if cfg.get("oauth_token") else \
        ("kunci service account", cfg.get("credentials") or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"))
    if not key:
        c.add(FAIL, "Kredensial Google belum diisi",
              "isi google.credentials (berkas kunci JSON service account) atau google.oauth_token di "
              "pengaturan; lihat README bagian Pemasangan.")
        return False
    path = Path(key)
    if not path.is_absolute():
        path = (Path(settings.path).parent / path).resolve()
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        c.add(FAIL, f"Kredensial Google ({kind}) tidak ditemukan: {path}",
              f"salin berkasnya ke {path}, lalu: sudo chown root:sheets-sync {path}; sudo chmod 640 {path}")
        return False
    except OSError as e:
        c.add(FAIL, f"Kredensial Google ({kind}) tidak dapat dibaca: {path} ({e.strerror or e})",
              f"sudo chown root:sheets-sync {path}; sudo chmod 640 {path}")
        return False
    if mode & stat.S_IROTH or mode & stat.S_IWOTH:
        c.add(FAIL, f"Kredensial Google ({kind}) dapat dibaca semua pengguna (mode {stat.S_IMODE(mode):03o}): {path}",
              f"sudo chmod 640 {path}; sudo chown root:sheets-sync {path} (hanya pekerja yang boleh membacanya). "
              f"Bila berkas ini pernah terbuka untuk umum, buat kunci baru di Google Cloud dan hapus yang lama.")
        return False
    try:
        info = json.loads(text)
    except ValueError:
        c.add(FAIL, f"Kredensial Google ({kind}) bukan JSON: {path}",
              "unduh ulang berkas kunci JSON dari Google Cloud Console (IAM → Service accounts → Keys).")
        return False
    if kind == "kunci service account":
        if info.get("type") != "service_account" or not info.get("client_email") or not info.get("private_key"):
            c.add(FAIL, f"Berkas {path} bukan kunci service account (type/client_email/private_key tidak ada)",
                  "unduh kunci JSON service account (bukan client OAuth) dari Google Cloud Console, atau "
                  "pakai google.oauth_token untuk token OAuth.")
            return False
        who = f"service account {info['client_email']}"
    else:
        if not info.get("refresh_token"):
            c.add(FAIL, f"Token OAuth {path} tidak berisi refresh_token",
                  f"buat ulang token: python -m sheets_sync auth --config {settings.path} (lihat README bagian "
                  f"OAuth).")
            return False
        from sheets_sync.ops.auth import check_token
        ok, what, fix = check_token(path, cfg)
        if not ok:
            c.add(FAIL, f"Kredensial Google: {what}", fix.replace("PATH", str(settings.path)))
            return False
        who = f"token OAuth pengguna; {what}"
    c.add(OK, f"Kredensial Google terbaca: {path} ({who}, mode {stat.S_IMODE(mode):03o})")
    return True


def _google(c: Checklist, settings, forms):
    """One Drive listing through the store; returns the store, or None."""
    from sheets_sync.stores.google import GoogleStore
    from sheets_sync.stores.google_http import GoogleSession, load_credentials

    cfg = settings.google or {}
    emulator = os.environ.get("SHEETS_EMULATOR_HOST")
    where = f"emulator {emulator}" if emulator else "Google Drive"
    try:
        session = GoogleSession(load_credentials(cfg), max_attempts=2, timeout=15, backoff=0.2, max_backoff=1,
                                retry_budget=20)
        store = GoogleStore(settings, forms, session=session, read_only=True)
        folder = _drive_folder(c, settings, store)
        listing = store.list_files()
    except Exception as e:  # noqa: BLE001 - every cause becomes a line with a fix
        reason, fix = _google_failure(e, where)
        c.add(FAIL, f"{where} tidak dapat dihubungi: {reason}", fix)
        return None
    if folder is False:
        return None
    scope = " di folder google.folder_id" if cfg.get("folder_id") else ""
    c.add(OK, f"{where} terjangkau: satu daftar Drive, {len(listing)} spreadsheet terlihat{scope}")
    return store


def account_kind(cfg: dict) -> str | None:
    """'oauth', 'service_account', or None (no credentials named: the emulator)."""
    if cfg.get("oauth_token"):
        return "oauth"
    if cfg.get("credentials") or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        return "service_account"
    return None


def _drive_folder(c: Checklist, settings, store):
    """google.folder_id: does it exist for the worker's account, in which drive, and
    may the account add files there? (files.get with driveId and
    capabilities.canAddChildren, supportsAllDrives.) False: a failure was added."""
    cfg = settings.google or {}
    folder = cfg.get("folder_id")
    if not folder:
        c.add(SKIP, "Folder Drive: google.folder_id kosong (pekerja memantau semua drive; provision dan pilot "
                    "memerlukannya)")
        return None
    meta = store.file_meta(folder, "id,name,mimeType,driveId,capabilities(canAddChildren)")
    kind = account_kind(cfg)
    if meta is None:
        c.add(FAIL, f"Folder Drive google.folder_id ({folder}) tidak ditemukan oleh akun pekerja",
              "periksa ID folder (bagian URL sesudah /folders/) dan bagikan folder itu (atau Drive bersamanya) ke "
              "akun pekerja: service account sebagai Pengelola konten Drive bersama, akun OAuth sebagai Editor.")
        return False
    drive = meta.get("driveId") or ""
    store.cache.setdefault("folder_drive", {})[folder] = drive    # the listing below needs no second look
    can_add = (meta.get("capabilities") or {}).get("canAddChildren")
    if kind == "service_account" and not drive:
        c.add(FAIL, f"Folder Drive '{meta.get('name', folder)}' ada di Drive biasa, bukan di Drive bersama: "
                    f"service account tidak punya ruang Drive sejak 2024, jadi Google menolak membuat spreadsheet "
                    f"di sana (403 storageQuotaExceeded)",
              "Google Workspace: buat Drive bersama, tambahkan e-mail service account sebagai Pengelola konten, "
              "buat folder musim di dalamnya dan isi google.folder_id dengan ID folder itu. Tanpa Workspace: "
              "pakai akun Google biasa dengan OAuth (python -m sheets_sync auth; README: Akun Google biasa).")
        return False
    if can_add is False:
        c.add(FAIL, f"Akun pekerja tidak boleh menambah berkas di folder '{meta.get('name', folder)}' "
                    f"(capabilities.canAddChildren = false)",
              "beri akun pekerja peran Pengelola konten (Content manager) di Drive bersama, atau Editor pada "
              "folder; peran Komentator/Pelihat tidak cukup.")
        return False
    where = f"di Drive bersama {drive}" if drive else "di Drive akun pekerja"
    rights = ", akun pekerja boleh menambah berkas" if can_add else ""
    c.add(OK, f"Folder Drive '{meta.get('name', folder)}' {where}{rights}")
    return True


def _google_failure(e: Exception, where: str) -> tuple[str, str]:

    cause = e.__cause__ or e
    name = type(cause).__name__
    text = mask(str(cause))[:200]
    if "RefreshError" in name or "TransportError" in name and "oauth2" in text:
        return (f"kredensial ditolak ({name})",
                "kunci/token sudah dicabut atau salah proyek; buat kunci baru dan aktifkan Google Sheets API "
                "serta Google Drive API di proyek itu.")
    code = e.problem.code if isinstance(e, StoreError) else ""
    if code in ("WB_NO_ACCESS", "WB_NOT_FOUND"):
        return ("akses ditolak (403/404)",
                "aktifkan Google Drive API dan Google Sheets API di proyek Google Cloud, dan bagikan shared "
                "drive/folder musim ini ke alamat service account sebagai Editor.")
    if "ConnectionError" in name or "Timeout" in name or "jaringan" in text or isinstance(cause, OSError):
        hint = ("jalankan emulatornya (python -m tests.google_emulator --port PORT) atau kosongkan "
                "SHEETS_EMULATOR_HOST" if "emulator" in where else
                "pastikan VM bisa keluar ke https://www.googleapis.com (DNS, firewall, proxy).")
        return f"jaringan ({name})", hint
    return f"{name}: {text}", "lihat pesan di atas; jalankan lagi dengan -v untuk rincian."


def _registry(c: Checklist, settings, store) -> None:

    master = settings.master if settings.backend == "xlsx" else f"spreadsheet {store.master_id}"
    try:
        opds, notes = store.read_registry()
    except Exception as e:  # noqa: BLE001
        why = e.problem.text() if isinstance(e, StoreError) else f"{type(e).__name__}: {e}"
        c.add(FAIL, f"Master ({master}) tidak dapat dibaca: {why}",
              "perbaiki atau pulihkan workbook master (harus .xlsx tanpa kata sandi, dengan tab Daftar OPD).")
        return
    sheet = store.forms.registry["sheet"]
    if not opds:
        c.add(FAIL, f"Master ({master}): Daftar OPD kosong atau tidak terbaca"
                    + (f" ({'; '.join(notes[:3])})" if notes else ""),
              f"isi tab '{sheet}' di master (satu baris per OPD: kode, nama, e-mail kontak, berkas/tautan), "
              f"atau perbaiki master/data_dir di pengaturan. Untuk memulai dari nol: python -m sheets_sync "
              f"provision.")
        return
    c.add(OK, f"Master dan Daftar OPD terbaca ({master}): {len(opds)} OPD aktif")
    examples = [o.code for o in opds if any(is_example_address(a) for a in o.contacts)]
    if examples:
        c.add(WARN, f"Daftar OPD: {len(examples)} OPD masih memakai alamat e-mail contoh (…@contoh…): "
              f"{', '.join(examples[:8])}{' …' if len(examples) > 8 else ''}",
              f"ganti dengan alamat e-mail OPD yang sebenarnya di tab '{sheet}' sebelum pengingat dikirim.")
    for note in notes[:5]:
        c.add(WARN, f"Daftar OPD: {note}")
    for o in opds:    # refused rows and invalid addresses: the Rekap says so too, each cycle
        for p in o.problems[:3]:
            c.add(WARN, f"OPD {o.code}: {p.text()}")
    opds = [o for o in opds if not o.refused]
    try:
        revs = store.revisions(opds)
    except Exception:  # noqa: BLE001 - informative only
        return
    missing = [o.code for o in opds if revs.get(o.code) is None]
    if missing:
        c.add(WARN, f"Workbook OPD ditemukan: {len(opds) - len(missing)} dari {len(opds)} (belum ada: "
                    f"{', '.join(missing[:10])}{' …' if len(missing) > 10 else ''}); dilaporkan di Rekap")
    else:
        c.add(OK, f"Workbook OPD ditemukan: {len(opds)} dari {len(opds)}")


# ------------------------------------------------------------------ SMTP
def _smtp(c: Checklist, mcfg) -> None:
    from sheets_sync import mail

    cfg = dataclasses.replace(mcfg, timeout_seconds=min(mcfg.timeout_seconds, 15))
    where = f"SMTP {cfg.host}:{cfg.port} ({cfg.security})"
    transport = mail.SmtpTransport(cfg)
    try:
        transport._connect()
    except mail.SendError as e:
        c.add(FAIL, f"{where}: {e.reason}", _smtp_fix(cfg, e))
        return
    except Exception as e:  # noqa: BLE001
        c.add(FAIL, f"{where}: {type(e).__name__}: {mask(e)}", _smtp_fix(cfg, None))
        return
    finally:
        transport.close()   # QUIT; nothing was sent
    tls = {"ssl": "TLS (SSL)", "starttls": "STARTTLS", "none": "tanpa TLS"}[cfg.security]
    login = f"login sebagai {mask_address(cfg.user)} diterima" if cfg.user or cfg.oauth2_file else \
        "tanpa login (SMTP_USER kosong)"
    c.add(OK, f"{where}: terhubung, {tls}, {login}; tidak ada e-mail yang dikirim")


def _smtp_fix(cfg, e) -> str:
    reason = (e.reason if e is not None else "").lower()
    if e is not None and e.code in (530, 534, 535, 454) or "login" in reason:
        return ("periksa SMTP_USER dan SMTP_PASSWORD di /etc/sheets-sync/env (atau .env di sebelah pengaturan). "
                "Gmail: pakai sandi aplikasi 16 huruf (Akun Google → Keamanan → Verifikasi 2 Langkah → "
                "Sandi aplikasi), bukan sandi akun.")
    if "certificate" in reason or "sertifikat" in reason or "ssl" in reason:
        return ("sertifikat server tidak dipercaya atau SMTP_SECURITY tidak cocok dengan port (465 = ssl, "
                "587 = starttls); untuk relay dengan sertifikat sendiri isi mail.ca_file.")
    return (f"periksa SMTP_HOST ({cfg.host}), SMTP_PORT ({cfg.port}) dan SMTP_SECURITY ({cfg.security}); "
            f"Gmail: smtp.gmail.com 587 starttls atau 465 ssl. Pastikan VM boleh keluar ke port itu "
            f"(firewall/penyedia cloud sering menutup port 25).")


# ------------------------------------------------------------------ health
def _health(c: Checklist, settings) -> None:
    from sheets_sync.ops import health

    _worker(c, settings)
    data = health.read(settings)
    if data is None:
        c.add(SKIP, "Kesehatan: belum ada siklus pekerja (state/health.json belum ada)")
        return
    for line in health.lines(data, settings):
        warn = line.startswith("PERINGATAN") or line.startswith("Kegagalan") or "galat" in line
        c.add(WARN if warn else INFO, line.strip())


def _worker(c: Checklist, settings) -> None:
    """Is a worker holding the lock right now? (Never creates the lock file.)"""
    import fcntl

    lock = Path(settings.data_lock_file)
    if not lock.exists():
        lock = Path(settings.lock_file)
    if not lock.exists():
        c.add(SKIP, "Pekerja: belum pernah berjalan dengan pengaturan ini")
        return
    try:
        with open(lock) as f:
            try:
                fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                c.add(INFO, f"Pekerja sedang berjalan (kunci {lock} dipegang)")
                return
            fcntl.flock(f, fcntl.LOCK_UN)
    except OSError:
        return
    c.add(INFO, "Pekerja tidak sedang berjalan (systemctl start sheets-sync untuk menjalankannya)")


# ====================================================================== main
def main(config, out=None) -> int:
    out = out if out is not None else sys.stdout
    print(f"Pemeriksaan sheets_sync ({Path(config)})", file=out)
    c = run(config, out)
    bad = c.failed
    if bad:
        print(f"Hasil: {len(bad)} pemeriksaan gagal. Perbaiki baris bertanda {FAIL} lalu jalankan lagi: "
              f"python jobs.py --check --config {config}", file=out)
        return 1
    warned = [x for x in c.lines if x.mark == WARN]
    print(f"Hasil: semua pemeriksaan lulus, dengan {len(warned)} peringatan (baris bertanda {WARN}: bacalah)."
          if warned else "Hasil: semua pemeriksaan lulus.", file=out)
    return 0
