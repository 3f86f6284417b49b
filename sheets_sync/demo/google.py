"""Demo OPD spreadsheets and a master on Google (the emulator when
SHEETS_EMULATOR_HOST is set): demo data, written through the Google store's raw
primitives (only stores/google.py talks to Google)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from sheets_sync.demo import demo_plan
from sheets_sync.forms import load_forms
from sheets_sync.stores.google import FOLDER_MIME, SHEET_MIME, create_file, fill_tabs, raw_http
from sheets_sync.validate.fields import SHEETS_EPOCH
from sheets_sync.validate.registry import registry_header


def create_demo(folder: Path, *, n_opds: int, as_of: dt.date, seed: int = 2023, parent: str | None = None) -> dict:
    """Returns the `google:` settings for the demo spreadsheets. Every file is made
    through Drive in `parent` (a shared drive's folder for a service account, which
    has no storage of its own), with supportsAllDrives."""
    forms = load_forms()
    http = raw_http()
    folder_id = create_file(http, "SPI demo", FOLDER_MIME, parent)
    regs, rows, _ = demo_plan(n_opds, as_of=as_of, seed=seed)
    for reg in regs:
        sid = create_file(http, f"{reg['kode']} - SPI {as_of.year} - {reg['nama']}", SHEET_MIME, folder_id)
        tabs = {forms[k].sheet: form_grid(forms, k, r) for k, r in rows[reg["kode"]].items()}
        fill_tabs(http, sid, tabs)
        reg["berkas"] = f"https://docs.google.com/spreadsheets/d/{sid}/edit"
    master = create_file(http, f"MASTER - SPI {as_of.year}", SHEET_MIME, folder_id)
    keys = [c["key"] for c in forms.registry["columns"]]
    fill_tabs(http, master, {forms.registry["sheet"]: [registry_header(forms)] +
                             [[r.get(k, "") for k in keys] for r in regs]})
    return {"master_id": master, "folder_id": folder_id}


def form_grid(forms, key: str, rows: list[dict]) -> list[list]:
    form = forms[key]
    header = [c.header for c in form.columns] + [forms.status_headers[k] for k in ("status", "message", "checked")]
    grid = [[form.title], header]
    for r in rows:
        grid.append([_cell(r.get(c.key)) for c in form.columns])
    return grid


def _cell(v):
    """Demo values as a Sheets cell holds them: dates as serial numbers."""
    if isinstance(v, dt.datetime):
        v = v.date()
    if isinstance(v, dt.date):
        return (v - SHEETS_EPOCH).days
    return "" if v is None else v
