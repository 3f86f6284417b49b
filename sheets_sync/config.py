"""Settings from a YAML file plus the environment, checked with clear messages.

Relative paths in a settings file resolve against the file's own folder, so a
settings file and its data can move together.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

WIB = ZoneInfo("Asia/Jakarta")
PROJECT_DIR = Path(__file__).resolve().parent.parent   # the checkout: config/, templates/
TEMPLATES_DIR = PROJECT_DIR / "templates"
CONFIG_DIR = PROJECT_DIR / "config"
BACKENDS = ("xlsx", "google")


class ConfigError(Exception):
    """Settings that cannot be used; the message says which key and how to fix it."""


@dataclass
class Settings:
    path: Path
    backend: str = "xlsx"
    year: int = 2023
    data_dir: Path = Path("data")
    master: str = "master.xlsx"
    state_dir: Path = Path("state")
    outbox_dir: Path = Path("outbox")
    forms_file: Path | None = None
    sync_minutes: int = 10
    reminder_time: str = "08:00"
    deadline: dt.date | None = None
    report_date: dt.date | None = None
    inspektorat: dict = field(default_factory=dict)
    mail: dict = field(default_factory=dict)
    reminders: dict = field(default_factory=dict)
    google: dict = field(default_factory=dict)

    @property
    def inspektorat_emails(self) -> list[str]:
        """inspektorat.email as a list (the settings allow one address or a list)."""
        emails = (self.inspektorat or {}).get("email") or []
        return [emails] if isinstance(emails, str) else [str(e) for e in emails]

    @property
    def state_db(self) -> Path:
        return self.state_dir / "state.sqlite"

    @property
    def lock_file(self) -> Path:
        """The lock of this state folder (one worker per state database)."""
        return self.state_dir / "worker.lock"

    @property
    def records_dir(self) -> Path:
        """The worker's own records beside the data (0700): the reminders sent, the
        installation tag, the data lock. They outlive the state folder."""
        return self.data_dir / ".sheets_sync"

    @property
    def data_lock_file(self) -> Path:
        """The lock of the data itself: of the data folder (xlsx), of the master
        spreadsheet (google), so that two settings files with different state
        folders never run on the same data."""
        if self.backend == "google":
            raw = str((self.google or {}).get("master_id") or "")
            m = re.search(r"/d/([A-Za-z0-9_-]{10,})", raw)
            master = m.group(1) if m else raw.strip()
            return self.records_dir / f"worker-{hashlib.sha256(master.encode()).hexdigest()[:16]}.lock"
        return self.records_dir / "worker.lock"

    @property
    def health_file(self) -> Path:
        return self.state_dir / "health.json"


def today_wib() -> dt.date:
    return dt.datetime.now(WIB).date()


def _date(value, key: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{key}: '{value}' bukan tanggal; tulis TTTT-BB-HH, contoh 2023-10-15.") from None


def _int(raw: dict, key: str, default: int, low: int, high: int) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"{key}: '{value}' harus bilangan bulat {low}–{high}.")
    return value


def load_settings(path) -> Settings:
    path = Path(path).resolve()
    _dotenv(path.parent)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"Berkas pengaturan {path} tidak ditemukan. Salin config/settings.example.yaml "
                          f"lalu sesuaikan.") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} adalah folder, bukan berkas pengaturan; tulis jalur berkas .yaml-nya.") from None
    except PermissionError:
        raise ConfigError(f"Berkas pengaturan {path} tidak dapat dibaca (izin ditolak). Berikan izin baca "
                          f"kepada pengguna layanan: sudo chown root:sheets-sync {path}; sudo chmod 640 {path}.") from None
    except OSError as e:
        raise ConfigError(f"Berkas pengaturan {path} tidak dapat dibaca ({e.strerror or type(e).__name__}).") from None
    except UnicodeDecodeError:
        raise ConfigError(f"Berkas pengaturan {path} bukan teks UTF-8; simpan ulang sebagai UTF-8.") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"Berkas pengaturan {path} tidak bisa dibaca (YAML): {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"Berkas pengaturan {path} harus berisi pasangan kunci: nilai.")
    return parse_settings(raw, path)


def parse_settings(raw: dict, path: Path) -> Settings:
    base = path.parent
    known = {"backend", "tahun", "data_dir", "master", "state_dir", "outbox_dir", "forms_file",
             "sync_interval_minutes", "reminder_time", "deadline", "tanggal_laporan", "inspektorat",
             "mail", "reminders", "google"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"Kunci tidak dikenal di {path.name}: {', '.join(unknown)}. "
                          f"Kunci yang dikenal: {', '.join(sorted(known))}.")
    backend = raw.get("backend", "xlsx")
    if backend not in BACKENDS:
        raise ConfigError(f"backend: '{backend}' tidak dikenal; pilihan: {', '.join(BACKENDS)}.")
    rtime = str(raw.get("reminder_time", "08:00"))
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", rtime):
        raise ConfigError(f"reminder_time: '{rtime}' harus JJ:MM (WIB), contoh 08:00.")
    resolve = lambda p: (base / p).resolve() if p else None  # noqa: E731
    return Settings(
        path=path, backend=backend, year=_int(raw, "tahun", 2023, 2000, 2100),
        data_dir=resolve(raw.get("data_dir", "data")), master=str(raw.get("master", "master.xlsx")),
        state_dir=resolve(raw.get("state_dir", "state")), outbox_dir=resolve(raw.get("outbox_dir", "outbox")),
        forms_file=resolve(raw.get("forms_file")),
        sync_minutes=_int(raw, "sync_interval_minutes", 10, 1, 1440), reminder_time=rtime,
        deadline=_date(raw.get("deadline"), "deadline"),
        report_date=_date(raw.get("tanggal_laporan"), "tanggal_laporan"),
        inspektorat=dict(raw.get("inspektorat") or {}), mail=_mail(raw.get("mail") or {}),
        reminders=dict(raw.get("reminders") or {}), google=dict(raw.get("google") or {}),
    )


def _dotenv(folder: Path) -> None:
    """SMTP secrets may sit in a .env file beside the settings (never in the settings)."""
    from dotenv import load_dotenv

    for candidate in (folder / ".env", Path.cwd() / ".env"):
        if candidate.is_file():
            try:
                load_dotenv(candidate, override=False)
            except (OSError, UnicodeDecodeError) as e:
                raise ConfigError(f"Berkas {candidate} tidak dapat dibaca ({type(e).__name__}); berikan izin baca "
                                  f"kepada pengguna layanan saja: chmod 600 {candidate}.") from None


def _mail(raw: dict) -> dict:
    """Mail settings; the environment (and a .env file) override the file."""
    mail = dict(raw)
    env = {"MAIL_TRANSPORT": "transport", "SMTP_HOST": "host", "SMTP_PORT": "port",
           "SMTP_SECURITY": "security", "SMTP_USER": "user", "SMTP_PASSWORD": "password"}
    for var, key in env.items():
        if os.environ.get(var):
            mail[key] = os.environ[var]
    mail.setdefault("transport", "outbox")
    if mail["transport"] not in ("outbox", "smtp"):
        raise ConfigError(f"mail.transport: '{mail['transport']}' tidak dikenal; pilihan: outbox, smtp.")
    if "password" in raw:
        raise ConfigError("mail.password tidak boleh ditulis di berkas pengaturan; pakai variabel "
                          "lingkungan SMTP_PASSWORD atau berkas .env.")
    return mail
