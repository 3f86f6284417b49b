"""The registry ("Daftar OPD" tab of the master): which OPDs, whom to write to,
which forms apply, where each OPD's workbook is. Parsed from a grid of cells."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sheets_sync.validate.fields import as_text, is_blank
from sheets_sync.forms import FormSet, norm_header


@dataclass(frozen=True)
class Opd:
    code: str
    name: str
    contacts: tuple[str, ...] = ()
    heads: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()
    location: str = ""          # .xlsx file name or Google spreadsheet link/id
    row: int = 0                # row in Daftar OPD, to point the Inspektorat at it


def split_emails(text) -> tuple[str, ...]:
    if is_blank(text):
        return ()
    return tuple(p for p in re.split(r"[\s,;]+", as_text(text)) if p)


def parse_registry(grid: list[list], forms: FormSet) -> tuple[list[Opd], list[str]]:
    """OPDs in registry order, and Indonesian notes on rows that could not be used."""
    spec = forms.registry["columns"]
    header_at, cols = find_registry_header(grid, spec)
    if header_at is None:
        wanted = ", ".join(c["header"] for c in spec if c.get("required"))
        return [], [f"Tab {forms.registry['sheet']}: baris judul ({wanted}) tidak ditemukan."]
    opds, notes, seen = [], [], set()
    for r, row in enumerate(grid[header_at:], start=header_at + 1):
        get = lambda key: row[cols[key] - 1] if key in cols and cols[key] - 1 < len(row) else None  # noqa: E731
        if all(is_blank(get(c["key"])) for c in spec):
            continue
        code, name = as_text(get("kode") or ""), as_text(get("nama") or "")
        if not code or not name:
            notes.append(f"Daftar OPD baris {r}: Kode OPD dan Nama OPD wajib diisi; baris dilewati.")
            continue
        aktif = get("aktif")   # not `or ""`: an unticked checkbox (False) or 0 means inactive
        if not is_blank(aktif) and as_text(aktif).casefold() in ("tidak", "no", "n", "false", "0", "nonaktif"):
            continue
        if code in seen:
            notes.append(f"Daftar OPD baris {r}: Kode OPD {code} sudah dipakai di baris lain; baris dilewati.")
            continue
        form_keys, unknown = _forms(get("formulir"), forms)
        if unknown:
            notes.append(f"Daftar OPD baris {r}: formulir tidak dikenal: {', '.join(unknown)} "
                         f"(pilihan: {', '.join(f.key for f in forms)}).")
        seen.add(code)
        opds.append(Opd(code, name, split_emails(get("email_kontak")), split_emails(get("email_kepala")),
                        form_keys, as_text(get("berkas") or ""), r))
    return opds, notes


def find_registry_header(grid, spec):
    for r, row in enumerate(grid[:20], start=1):
        cols = {}
        for c, v in enumerate(row, start=1):
            for s in spec:
                if isinstance(v, str) and norm_header(v) == norm_header(s["header"]):
                    cols.setdefault(s["key"], c)
        if all(s["key"] in cols for s in spec if s.get("required")):
            return r, cols
    return None, {}


def _forms(text, forms: FormSet) -> tuple[tuple[str, ...], list[str]]:
    if is_blank(text):
        return tuple(f.key for f in forms), []
    keys, unknown = [], []
    for part in re.split(r"[,;\n]+", as_text(text)):
        if not part.strip():
            continue
        key = forms.resolve(part.strip())
        if key is None:
            unknown.append(part.strip())
        elif key not in keys:
            keys.append(key)
    return tuple(keys), unknown


def registry_header(forms: FormSet) -> list[str]:
    return [c["header"] for c in forms.registry["columns"]]
