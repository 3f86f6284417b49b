"""Work on files and the state database without running a cycle:
`validate FILE` and the KPK export."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import csv
import io

from openpyxl import Workbook

from . import master as mst
from .forms import Form, FormSet, load_forms
from .layout import Problem, find_header, locate_form
from .progress import progress
from .registry import Opd
from .state import State
from .stores import StoreError
from .stores.xlsx import _grids, render_sheet
from .validate import FormResult, validate_frame
from .xlsxio import atomic_save


def read_grids(path: Path) -> dict[str, list[list]]:
    """Tabs of a .xlsx, or the one table of a .csv (',' or ';' separated)."""
    if path.suffix.lower() == ".csv":
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:   # saved by Excel on Windows
            text = raw.decode("cp1252", errors="replace")
        # StringIO, not splitlines(): a quoted cell may hold line breaks (address + e-mail)
        return {path.stem: [list(r) for r in csv.reader(io.StringIO(text), _dialect(text))]}
    try:
        return _grids(path)
    except StoreError as e:
        from .codes import render
        raise ValueError(render(e.problem.code, **e.problem.params)) from None


def _dialect(text: str):
    """The CSV dialect; a title line above the header (one cell, no delimiter) makes
    csv.Sniffer give up, so then the most frequent delimiter of the first lines wins."""
    if not text.strip():
        return csv.excel
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        lines = text.splitlines()[:50]
        counts = {d: sum(line.count(d) for line in lines) for d in (",", ";", "\t")}
        best = max(counts, key=counts.get)

        class Found(csv.excel):
            delimiter = best if counts[best] else ","
        return Found


def guess_form(grid: list[list], forms: FormSet, title: str) -> Form | None:
    """The form whose headers this tab matches best (the tab name breaks ties)."""
    best, score = None, (1, False)
    for form in forms:
        found = find_header(grid, form)
        s = (len(found[1]) if found else 0, form.matches_sheet(title))
        if s > score:
            best, score = form, s
    return best


def validate_file(path: Path, form_key: str | None, as_of: dt.date, forms: FormSet | None = None):
    """[(tab title, FormResult)] for every tab holding a form."""
    forms = forms or load_forms()
    grids = read_grids(path)
    out = []
    for title, grid in grids.items():
        form = forms[form_key] if form_key else guess_form(grid, forms, title)
        if form is None:
            continue
        found = locate_form(grid, form, forms, title)
        if isinstance(found, Problem):
            if form_key and len(grids) == 1:
                from .codes import render
                raise ValueError(render(found.code, **found.params))
            continue
        out.append((title, validate_frame(found.frame, form, as_of, domains=forms.email_domains)))
    if not out:
        raise ValueError("tidak ada tab yang berisi formulir Lampiran III (baris judul kolom tidak ditemukan)")
    return out


def last_reports(settings, forms: FormSet) -> list[mst.OpdReport]:
    """The verdicts of the last cycle, from the state database."""
    from .sync import _final  # the same cross-OPD step as the cycle

    state = State(settings.state_db)
    opds = [Opd(**{**o, "contacts": tuple(o["contacts"]), "heads": tuple(o["heads"]),
                   "forms": tuple(o["forms"])}) for o in state.get("registry") or []]
    mems = {o.code: state.opd(o.code) for o in opds}
    final, _ = _final(forms, opds, mems)
    return [mst.OpdReport(o, final[o.code], mems[o.code].problems) for o in opds]


def export_kpk(settings, out: Path) -> int:
    forms = load_forms(str(settings.forms_file) if settings.forms_file else None)
    sheets = mst.kpk_export(last_reports(settings, forms), forms)
    book = Workbook()
    book.remove(book.active)
    for spec in progress(sheets, len(sheets), "menulis ekspor", unit="tab"):
        render_sheet(book.create_sheet(spec.title), spec)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_save(book, out)
    return sum(len(s.rows) for s in sheets)


__all__ = ["validate_file", "export_kpk", "last_reports", "FormResult"]
