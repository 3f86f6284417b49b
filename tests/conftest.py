"""Shared fixtures: the forms, a reporting date, clean rows, and a tiny xlsx
deployment (master with the registry + OPD workbooks + settings.yaml) that a test
can run real cycles on."""
from __future__ import annotations

import datetime as dt
import os
import sys
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Every emulator a test starts (in-process or as a subprocess) checks requests against
# Google's discovery documents unless the test asks otherwise (start_emulator(strict=False),
# or GOOGLE_EMULATOR_STRICT=0 for a whole run): the worker is proven against what Google accepts.
os.environ.setdefault("GOOGLE_EMULATOR_STRICT", "1")

from hypothesis import settings as hypothesis_settings  # noqa: E402

from sheets_sync import demo  # noqa: E402

# On CI (CI=true) the property tests draw the same examples every run, so a red run is
# reproducible and a green one is not luck; on a developer's machine they explore anew.
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")
from sheets_sync.config import load_settings  # noqa: E402
from sheets_sync.forms import load_forms  # noqa: E402

AS_OF = dt.date(2023, 10, 12)
PYTHON = sys.executable
REGRESSIONS = Path(__file__).resolve().parent / "regressions"


# ------------------------------------------------------------------ forms
@pytest.fixture(scope="session")
def forms():
    return load_forms()


@pytest.fixture
def as_of():
    return AS_OF


def kriteria_slots(forms=None) -> list[str]:
    return list((forms or load_forms())["eksper"].column("kriteria").rules["choices"])


def phone(i: int) -> str:
    """A distinct valid Telkomsel number per i, as people type it."""
    return f"0812-{3000 + i // 10000:04d}-{i % 10000:04d}"


def phone_e164(i: int) -> str:
    return "+62812" + f"{3000 + i // 10000:04d}{i % 10000:04d}"


def clean_row(form_key: str, i: int, **over) -> dict:
    """One row with no problem at AS_OF; i makes phone and e-mail distinct."""
    base = {
        "pegawai": {"no": i, "unit_kerja": "Dinas Kesehatan", "nama": f"Budi Santoso {chr(65 + i % 26)}",
                    "tanggal_mulai": "01/02/2015", "jabatan": "Analis Kebijakan",
                    "no_hp": phone(i), "email": f"budi.{i}@gmail.com"},
        "pengguna_layanan": {"no": i, "unit_kerja": "Puskesmas Mukomuko",
                             "nama_layanan": "Pelayanan KTP", "tanggal_layanan": "05/10/2023",
                             "nama": f"Siti Aminah {chr(65 + i % 26)}", "no_hp": phone(i),
                             "email": f"siti.{i}@yahoo.co.id"},
        "penyedia_pbj": {"no": i, "unit_kerja": "Bagian Pengadaan", "nama_usaha": f"CV Maju Jaya {i}",
                         "nama_cp": "Andi Wijaya",
                         "alamat_email": f"Jl. Sudirman No. {i}, Mukomuko; cv.maju{i}@gmail.com"},
        "eksper": {"no": i, "kriteria": kriteria_slots()[(i - 1) % 13], "nama": "Dr. Rahmat Hidayat",
                   "instansi": "Universitas Bengkulu", "jabatan": "Dosen",
                   "no_hp": phone(i), "email": f"ahli.{i}@unib.ac.id"},
    }[form_key]
    base.update(over)
    return base


def clean_rows(form_key: str, n: int, start: int = 1) -> list[dict]:
    return [clean_row(form_key, i) for i in range(start, start + n)]


def frame(rows: list[dict], form, first_row: int = 3) -> pd.DataFrame:
    """Rows as validate_frame takes them: columns = keys, index = sheet rows."""
    return pd.DataFrame(rows, columns=form.keys, dtype=object,
                        index=pd.Index(range(first_row, first_row + len(rows)), name="row"))


# ------------------------------------------------------------ deployments
class Deployment:
    """data/master.xlsx (Daftar OPD) + data/<KODE>.xlsx + settings.yaml in a folder."""

    def __init__(self, root: Path, forms):
        self.root = Path(root)
        self.data = self.root / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.forms = forms
        self.registry: list[dict] = []
        self.config = self.root / "settings.yaml"
        self.config.write_text(yaml.safe_dump({
            "backend": "xlsx", "data_dir": "data", "master": "master.xlsx", "state_dir": "state",
            "outbox_dir": "outbox", "sync_interval_minutes": 10, "deadline": "2023-10-15",
            "inspektorat": {"nama": "Inspektorat Daerah (uji)", "email": ["inspektorat@contoh.go.id"]},
            "mail": {"transport": "outbox", "sender": "spi@contoh.go.id", "sender_name": "Inspektorat (uji)"},
        }), encoding="utf-8")

    @property
    def master(self) -> Path:
        return self.data / "master.xlsx"

    def path(self, code: str) -> Path:
        return self.data / f"{code}.xlsx"

    def add_opd(self, code: str, rows_by_form: dict | None = None, *, form_keys=None,
                name: str | None = None, write: bool = True) -> Path:
        """Register an OPD and write its workbook with demo.write_opd_workbook."""
        rows_by_form = rows_by_form or {}
        keys = list(form_keys or rows_by_form or ["pegawai"])
        self.registry.append({"kode": code, "nama": name or f"Dinas {code.title()}",
                              "email_kontak": f"{code.lower()}@contoh.go.id", "email_kepala": "",
                              "formulir": ", ".join(keys), "berkas": f"{code}.xlsx", "aktif": "Ya"})
        demo.write_master(self.master, self.registry)
        if write:
            demo.write_opd_workbook(self.path(code), keys, rows_by_form, forms=self.forms)
        return self.path(code)

    def settings(self):
        return load_settings(self.config)

    def context(self, as_of=AS_OF, *, now=None, store=None):
        from sheets_sync.cycle import open_cycle
        return open_cycle(self.settings(), as_of, store=store, now=now)

    def cycle(self, as_of=AS_OF, *, now=None, store=None):
        """One run_cycle on this deployment (no reminder hooks); the CycleReport."""
        from sheets_sync.cycle import run_cycle
        with self.context(as_of, now=now, store=store) as ctx:
            return run_cycle(ctx)


@pytest.fixture
def deployment(tmp_path, forms):
    return Deployment(tmp_path / "deploy", forms)


# ------------------------------------------------------------- reading back
def sheet_rows(path: Path, title: str) -> list[tuple]:
    wb = openpyxl.load_workbook(path)
    try:
        return [tuple(r) for r in wb[title].iter_rows(values_only=True)]
    finally:
        wb.close()


def status_by_row(path: Path, title: str, forms, form_key: str) -> dict[int, tuple]:
    """{sheet row: (Status, Keterangan, Diperiksa)} found by the status headers."""
    wb = openpyxl.load_workbook(path)
    ws = wb[title]
    want = {v: k for k, v in forms.status_headers.items()}
    header_row, cols = None, {}
    for row in ws.iter_rows(min_row=1, max_row=30):
        found = {want[c.value]: c.column for c in row if isinstance(c.value, str) and c.value in want}
        if len(found) == 3:
            header_row, cols = row[0].row, found
            break
    assert header_row, f"status headers not found in {path.name}/{title}"
    out = {}
    for r in range(header_row + 1, ws.max_row + 1):
        vals = tuple(ws.cell(r, cols[k]).value for k in ("status", "message", "checked"))
        if any(v not in (None, "") for v in vals):
            out[r] = vals
    wb.close()
    return out


def table(path: Path, title: str, header_text: str = None) -> list[dict]:
    """A master tab's rows as dicts, the header row being the first row holding header_text
    (or the first non-empty row with >1 cells), down to the first empty row."""
    rows = sheet_rows(path, title)
    for i, r in enumerate(rows):
        filled = [v for v in r if v not in (None, "")]
        if (header_text and header_text in r) or (not header_text and len(filled) > 1):
            header = r
            body = []
            for x in rows[i + 1:]:   # up to the first empty row: the Rekap's totals sit below it
                if not any(v not in (None, "") for v in x):
                    break
                body.append(dict(zip(header, x)))
            return body
    raise AssertionError(f"no table in {title}")


def zip_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


# ------------------------------------------------------------- test groups
# `make test-fast` runs the unit tests: the pure core and small pieces, no cycles,
# no servers, no subprocesses. Everything else is an integration test.
UNIT_MODULES = {"test_architecture", "test_fields", "test_layout", "test_pasted_contacts", "test_typed_dates",
                "test_validate", "test_logsafe", "test_emulator_strict", "test_deploy", "test_staff_rows",
                "test_master_look"}
UNIT_MODULES |= {"test_workbook_address"}


# The long tests (tens of seconds each) start first, so that with `-n 2 --dist load` they
# run side by side on different workers instead of meeting at the end of the run.
LONG_FIRST = ("test_sigkill_during_cycles_xlsx", "test_sigkill_during_cycles_google_emulator",
              "test_season_under_google_and_smtp_faults", "test_season_replayed_day_by_day")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.stem in UNIT_MODULES:
            item.add_marker(pytest.mark.unit)
    rank = {name: i for i, name in enumerate(LONG_FIRST)}
    items.sort(key=lambda it: rank.get(it.name, len(rank)))   # stable: the rest keep their order


@pytest.fixture
def emu(monkeypatch):
    """The Google emulator (strict, as Google), with the worker pointed at it."""
    from tests.google_emulator import start_emulator
    with start_emulator() as e:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", e.url.replace("http://", ""))
        yield e
