"""`python -m sheets_sync provision`: create or repair every OPD's workbook from
config/forms.yaml and the registry (Daftar OPD), for both backends.

What a provisioned form tab looks like (same on both backends):
  row 1   the form's title (forms.yaml `title`)
  row 2   the form's headers exactly as forms.yaml, then Status | Keterangan | Diperiksa
  row 3…  data; phone columns formatted as text, date columns with a date validation
          and a dd/mm/yyyy input message, choice columns as a dropdown (not strict, so
          an OCR variant still reaches the validator), the status columns protected
          and coloured (OK green, PERIKSA yellow, SALAH red), rows 1-2 frozen.
Plus a "Petunjuk" tab rendered from templates/petunjuk.txt.j2.

Provisioning never writes a cell value except rows 1-2 of a tab it creates and the
Petunjuk tab it creates. Repairs (a deleted tab, a removed validation, a lost
protection or colouring) only add what is missing, at the columns where the tab's
headers actually are (found the way the worker finds them, sheets_sync/layout.py).

This module is backend-neutral: the workbook spec, the Petunjuk text, the registry
bootstrap and the report. xlsx.py and google.py do the work; run.py chooses one.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jinja2

from sheets_sync.codes import STATUS_COLORS, long_date   # STATUS_COLORS: re-exported for the backends
from sheets_sync.config import TEMPLATES_DIR
from sheets_sync.fileio import read_text
from sheets_sync.validate.fields import is_blank
from sheets_sync.forms import FORMS_YAML, Form, FormSet
from sheets_sync.validate.layout import Problem, STATUS_KEYS, locate_form
from sheets_sync.validate.registry import (Opd, find_registry_header, parse_registry, parse_registry_csv,
                                          registry_header,
                                          safe_file_name)

TEMPLATES = TEMPLATES_DIR
DEFAULT_REGISTRY_CSV = FORMS_YAML.parent / "opd.example.csv"
PETUNJUK = "Petunjuk"
PILIHAN = "Pilihan"           # .xlsx only: hidden tab holding long dropdown lists
HEADER_ROW = 2                # row 1 = title, row 2 = headers, data from row 3
LOCALE, TIME_ZONE = "id_ID", "Asia/Jakarta"
DATE_HINT = "Tulis tanggal sebagai dd/mm/yyyy, contoh 13/10/2023."
CHOICE_HINT = "Pilih dari daftar."
SPEC_VERSION = 2              # bump when what a provisioned workbook holds changes (2: the view)


class ProvisionError(Exception):
    """One OPD (or the master) could not be provisioned; the message is Indonesian."""


# ------------------------------------------------------------------ the spec
def status_headers(forms: FormSet) -> list[str]:
    return [forms.status_headers[k] for k in STATUS_KEYS]


def tab_headers(form: Form, forms: FormSet) -> list[str]:
    return [c.header for c in form.columns] + status_headers(forms)


def distinct_choices(column) -> list[str]:
    """A column's choices without repeats (Auditor BPK is two slots, one choice)."""
    out = []
    for c in column.rules.get("choices") or ():
        if c not in out:
            out.append(c)
    return out


def column_widths_px(form: Form) -> list[int]:
    """Pixel widths of the form's columns then the three status columns."""
    out = []
    for c in form.columns:
        if c.type == "row_number":
            out.append(50)
        elif c.type == "choice":   # as wide as its longest choice (Kriteria Ahli: 360)
            longest = max([len(c.header)] + [len(x) for x in distinct_choices(c)])
            out.append(max(110, min(360, 8 * longest + 16)))
        elif c.type in ("name", "address_email", "email"):   # what is typed, not the header, sets them
            out.append(240)
        elif c.type in ("date", "phone"):   # 13/10/2023, 0812-3456-7890: a long header wraps above them
            out.append(140)
        else:   # free text (Jabatan, Unit Kerja): room for a few words even under a short header
            out.append(max(180, min(260, 8 * len(c.header) + 16)))
    return out + [90, 380, 150]


def frozen_columns(form: Form) -> int:
    """Columns kept in view beside the frozen header rows: up to the form's first person
    (name) column, so that at the Status column staff still see whose row it is."""
    return next((i for i, c in enumerate(form.columns, start=1) if c.person or c.type == "name"), 0)


def wanted_aspects(form: Form) -> list[str]:
    """What a provisioned tab of this form has beyond its header rows."""
    out = []
    for c in form.columns:
        if c.type in ("phone", "date"):
            out.append(f"format:{c.key}")
        if c.type in ("date", "choice"):
            out.append(f"validation:{c.key}")
    return out + ["protect:status", "protect:header"] + [f"cf:{s}" for s in STATUS_COLORS]


def on_sheet(aspects: list[str], lay) -> list[str]:
    """The aspects a found tab can have: not those of an optional column it lacks (the
    circular's Lampiran III B has no phone or e-mail column; a season rule may add
    Status Kepegawaian). Staff's columns are never added to a tab that exists."""
    return [a for a in aspects if a.partition(":")[0] not in ("format", "validation")
            or a.partition(":")[2] in lay.columns]


def describe(aspects, form: Form | None = None) -> list[str]:
    """Indonesian words for a list of aspects (what was created or repaired)."""
    out = []
    for a in aspects:
        kind, _, key = a.partition(":")
        if kind == "format":
            col = form.column(key)
            text = f"format {'teks' if col.type == 'phone' else 'tanggal'} kolom \"{col.header}\""
        elif kind == "validation":
            text = f"validasi kolom \"{form.column(key).header}\""
        elif a == "protect:status":
            text = "proteksi kolom status"
        elif a == "protect:header":
            text = "proteksi baris judul"
        elif kind == "cf":
            text = "warna status"
        elif a == "view:wrap":
            text = "kolom Keterangan dibungkus"
        elif a == "view:freeze":
            text = "baris judul dan kolom nama dibekukan"
        else:
            text = a
        if text not in out:
            out.append(text)
    return out


def workbook_file(opd: Opd) -> str:
    """The .xlsx file name of an OPD without one in the registry: <KODE>.xlsx, the
    code made a plain file name (no folder, no '..', whatever the code holds)."""
    return safe_file_name(opd.code)


def spreadsheet_name(settings, opd: Opd) -> str:
    return f"{opd.code} - SPI {settings.year} - {opd.name}"


def fingerprint(settings, forms: FormSet, opd: Opd) -> str:
    """What provisioning this OPD's spreadsheet depends on (not its data): when it is
    unchanged and the file's version did not move, there is nothing to look at."""
    spec = {"v": SPEC_VERSION, "name": spreadsheet_name(settings, opd), "status": status_headers(forms),
            "forms": [[k, tab_headers(forms[k], forms), wanted_aspects(forms[k]),
                       [distinct_choices(c) for c in forms[k].columns if c.type == "choice"]]
                      for k in opd.forms]}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


# -------------------------------------------------------------------- layout
@dataclass
class Layout:
    """Where a form sits in a tab: 1-based header row and columns."""
    header_row: int
    columns: dict[str, int]
    status: dict[str, int]

    @property
    def status_span(self) -> tuple[int, int]:
        return min(self.status.values()), max(self.status.values())

    @property
    def input_span(self) -> tuple[int, int]:
        return 1, max(self.columns.values())


def fresh_layout(form: Form) -> Layout:
    n = len(form.columns)
    return Layout(HEADER_ROW, {c.key: i for i, c in enumerate(form.columns, start=1)},
                  {k: n + i for i, k in enumerate(STATUS_KEYS, start=1)})


def found_layout(grid: list[list], form: Form, forms: FormSet, title: str) -> Layout | Problem:
    found = locate_form(grid, form, forms, title)
    if isinstance(found, Problem):
        return found
    return Layout(found.header_row, dict(found.columns), dict(found.status_columns))


# ------------------------------------------------------------------ texts
@lru_cache(maxsize=2)
def environment(folder: str = str(TEMPLATES)) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(folder), undefined=jinja2.StrictUndefined,
                              autoescape=False, trim_blocks=True, lstrip_blocks=True)


def _inspektorat(settings) -> dict:
    i = settings.inspektorat or {}
    emails = i.get("email") or []
    if isinstance(emails, str):
        emails = [emails]
    return {"nama": i.get("nama") or "Inspektorat Daerah", "kontak": i.get("kontak") or "",
            "email": ", ".join(emails)}



def petunjuk_lines(settings, forms: FormSet, form_keys) -> list[str]:
    """The Petunjuk tab, one string per row ("# " = heading)."""
    ctx = {
        "year": settings.year,
        "deadline": long_date(settings.deadline) if settings.deadline else "",
        "status": dict(forms.status_headers),
        "inspektorat": _inspektorat(settings),
        "backend": settings.backend, "minutes": settings.sync_minutes,
        "forms": [{"key": f.key, "title": f.title, "sheet": f.sheet, "at_least_one": f.at_least_one,
                   "complete": f.complete, "slots": len(_slots(f)),
                   "columns": [{"header": c.header, "type": c.type, "required": c.required,
                                "if_missing": c.if_missing, "rules": c.rules, "choices": distinct_choices(c)}
                               for c in f.columns]}
                  for f in (forms[k] for k in form_keys)],
    }
    text = environment().get_template("petunjuk.txt.j2").render(ctx)
    lines = text.rstrip("\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    return lines


def _slots(form: Form) -> list:
    key = form.complete.get("all_choices")
    return list(form.column(key).rules.get("choices") or []) if key else []


def share_message(settings, opd: Opd | None) -> str:
    ctx = {"year": settings.year, "opd": {"code": opd.code, "name": opd.name} if opd else None,
           "inspektorat": _inspektorat(settings)}
    return " ".join(environment().get_template("share_message.txt.j2").render(ctx).split())




# ------------------------------------------------------------------ registry
def read_registry_csv(path: Path, forms: FormSet) -> list[list]:
    """The CSV's rows in registry column order (header not included)."""
    try:
        return parse_registry_csv(read_text(path), forms)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


@dataclass
class RegistryEdit:
    """Cells to write into Daftar OPD: bootstrap rows and/or new links."""
    cells: dict[tuple[int, int], object] = field(default_factory=dict)   # (row, col) 1-based
    grid: list[list] = field(default_factory=list)                       # the registry after the edit
    bootstrapped: int = 0
    source: str = ""

    def set(self, row: int, col: int, value) -> None:
        self.cells[(row, col)] = value
        while len(self.grid) < row:
            self.grid.append([])
        r = list(self.grid[row - 1])
        r += [None] * (col - len(r))
        r[col - 1] = value
        self.grid[row - 1] = r


def load_registry(grid: list[list], forms: FormSet, csv_path, *, keep_links: bool, out, dry_run: bool = False):
    """OPDs of the registry, bootstrapped from a CSV when it has none.
    Returns (opds, notes, RegistryEdit)."""
    edit = RegistryEdit(grid=[list(r) for r in grid])
    opds, notes = parse_registry(grid, forms) if grid else ([], [])
    spec = forms.registry["columns"]
    has_rows = _registry_has_rows(grid, forms)
    if csv_path and has_rows:
        out(f"Daftar OPD sudah berisi {len(opds)} OPD aktif; --registry-csv {csv_path} tidak dipakai.")
    if has_rows:
        return opds, notes, edit
    source = Path(csv_path) if csv_path else DEFAULT_REGISTRY_CSV
    rows = read_registry_csv(source, forms)
    header_at, cols = find_registry_header(grid, spec) if grid else (None, {})
    if header_at is None:
        header_at, cols = 1, {c["key"]: i for i, c in enumerate(spec, start=1)}
        for c, h in enumerate(registry_header(forms), start=1):
            edit.set(1, c, h)
    berkas = next(i for i, c in enumerate(spec) if c["key"] == "berkas")
    for r, values in enumerate(rows, start=header_at + 1):
        if not keep_links:
            values = list(values)
            values[berkas] = ""      # .xlsx file names mean nothing to Google
        for c, v in zip(spec, values):
            if c["key"] in cols and v != "":
                edit.set(r, cols[c["key"]], v)
    edit.bootstrapped, edit.source = len(rows), str(source)
    how = "berkas --registry-csv" if csv_path else "contoh bawaan"
    out(f"Daftar OPD kosong: {'akan ' if dry_run else ''}diisi {len(rows)} OPD dari {how} {_short(source)}.")
    opds, notes = parse_registry(edit.grid, forms)
    return opds, notes, edit


def registry_notes(opds: list[Opd]) -> list[str]:
    """What provision says about registry rows it cannot use as they are (an invalid
    contact address is never shared with)."""
    return [p.text() for o in opds for p in o.problems if p.code == "REG_EMAIL_INVALID"]


def _registry_has_rows(grid, forms) -> bool:
    header_at, cols = find_registry_header(grid, forms.registry["columns"]) if grid else (None, {})
    if header_at is None:
        return False
    return any(not is_blank(v) for row in grid[header_at:] for v in row)


def link_cell(edit: RegistryEdit, forms: FormSet, opd: Opd, link: str) -> None:
    """Put an OPD's workbook link/file name into its "Berkas / Tautan" cell (adding
    the column's header when the registry lacks that column)."""
    spec = forms.registry["columns"]
    header_at, cols = find_registry_header(edit.grid, spec)
    if header_at is None:
        return
    col = cols.get("berkas")
    if col is None:
        header = edit.grid[header_at - 1]
        col = max([c for c, v in enumerate(header, start=1) if not is_blank(v)] + [0]) + 1
        edit.set(header_at, col, next(c["header"] for c in spec if c["key"] == "berkas"))
    edit.set(opd.row, col, link)


def _short(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# -------------------------------------------------------------------- report
ACTIONS = ("created", "repaired", "unchanged", "skipped", "failed")
WORDS = {"created": "dibuat", "repaired": "diperbaiki", "unchanged": "tidak diubah",
         "skipped": "dilewati", "failed": "gagal"}
DRY_WORDS = {"created": "akan dibuat", "repaired": "akan diperbaiki"}


@dataclass
class OpdResult:
    code: str
    action: str
    details: list[str] = field(default_factory=list)
    link: str = ""

    def line(self, dry_run: bool) -> str:
        word = (DRY_WORDS if dry_run else {}).get(self.action, WORDS[self.action])
        text = f"{self.code:<14} {word}"
        if self.details:
            text += ": " + "; ".join(self.details)
        return text


@dataclass
class Report:
    dry_run: bool = False
    results: list[OpdResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    requests: int | None = None

    def count(self, action: str) -> int:
        return sum(r.action == action for r in self.results)

    def summary(self) -> str:
        parts = [f"{self.count(a)} {(DRY_WORDS if self.dry_run else {}).get(a, WORDS[a])}" for a in ACTIONS]
        text = f"Ringkasan: {len(self.results)} OPD — " + ", ".join(parts)
        if self.requests is not None:
            text += f"; permintaan Google: {self.requests}"
        return text + (" (uji coba, tidak ada yang diubah)." if self.dry_run else ".")

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0


def emit(rep: Report, out) -> None:
    for note in rep.notes:
        out(note)
    out(rep.summary())
