"""Work on files and the state database without running a cycle:
`validate FILE` and the KPK export."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# Nothing heavy is imported here: openpyxl, the master and the state are imported by the
# export functions that use them (~0.5 s of a CLI run), and pandas by validate_file after
# it has started reading the file (read_ahead), so that the two overlap.
from sheets_sync.forms import Form, FormSet, load_forms
from sheets_sync.fileio import read_text


class TooLarge(ValueError):
    """A tab past the limits (limits.rows and friends); the message says which."""


def read_ahead(path: Path, limits=None):
    """Start reading an .xlsx or .csv in the background (None for anything else):
    calamine's parse of a 300,000-row tab, or Arrow's of a CSV, runs outside the GIL
    while the caller loads pandas and its settings. Errors surface in read_grids."""
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv") or not path.is_file():
        return None
    if suffix == ".xlsx":
        from sheets_sync.stores.xlsx_read import Parsing
        return Parsing(path, check=lambda: _check_package(path, limits))
    pool = ThreadPoolExecutor(1, thread_name_prefix="csv-read")
    try:
        return pool.submit(_read_csv, path)
    finally:
        pool.shutdown(wait=False)   # the thread ends with its task


def _check_package(path: Path, limits) -> None:
    """The limits before calamine parses (in read_ahead's thread: the imports are paid there)."""
    from sheets_sync.config import Limits
    from sheets_sync.stores.xlsx import check_package
    check_package(path, limits or Limits())


def read_grids(path: Path, merges: dict | None = None, limits=None, ahead=None) -> dict[str, list[list]]:
    """Tabs of a .xlsx, or the one table of a .csv (',' or ';' separated); `merges`
    receives the .xlsx tabs' merged ranges. `limits`: a deployment's (settings
    `limits:`), else the defaults; `ahead`: read_ahead's answer for this file."""
    if path.suffix.lower() == ".csv":
        columns, rows = ahead.result() if ahead else _read_csv(path)
        if columns is None:
            return {path.stem: rows}
        from sheets_sync.validate.layout import ColumnGrid
        return {path.stem: ColumnGrid(columns)}
    from sheets_sync.stores import StoreError
    from sheets_sync.stores.xlsx import read_grids as read_xlsx_grids
    try:
        return read_xlsx_grids(path, merges=merges, limits=limits, ahead=ahead, columnar=True)
    except StoreError as e:
        if e.problem.code == "SHEET_TOO_LARGE":
            raise TooLarge(e.problem.text()) from None
        raise ValueError(e.problem.text()) from None


def _read_csv(path: Path) -> tuple[list | None, list | None]:
    """(Arrow columns, None) for a plain CSV, else (None, the csv module's rows)."""
    text = read_text(path)
    dialect = _dialect(text)
    columns = _arrow_columns(text, dialect)
    if columns is not None:
        return columns, None
    # StringIO, not splitlines(): a quoted cell may hold line breaks (address + e-mail);
    # csv.reader yields a new list per row already
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        return None, list(reader)
    except csv.Error as e:   # a cell over the csv module's limit, a NUL...: say where
        why = (f"ada sel lebih panjang dari {csv.field_size_limit():,} karakter".replace(",", ".")
               if "field larger" in str(e) else f"isinya bukan CSV yang utuh; {SAVE_AS_CSV}")
        raise ValueError(f"baris {reader.line_num} berkas CSV tidak bisa dibaca: {why}.") from None


# What to do with a text file that does not read as a CSV (another encoding, a
# spreadsheet saved under a .csv name): Excel's own words for the right format.
SAVE_AS_CSV = "buka di Excel lalu simpan sebagai \"CSV UTF-8 (Comma delimited) (*.csv)\""

_LONE_CR = re.compile("\r(?!\n)")


def _arrow_columns(text: str, dialect) -> list | None:
    """The CSV's columns as Arrow string arrays, parsed by Arrow's C++ reader (several
    times faster than the csv module, and no Python object per cell): only for what it
    reads exactly as the csv module does (tests/test_csv_read.py compares them), i.e. a
    plain dialect and every line of the same number of cells; None otherwise (a title
    line above the header, a NUL, an old Mac line end, a cell past the csv module's
    size limit...), and the csv module reads it. A blank line is a row of '' here and
    [] there: blank either way."""
    plain = (dialect.delimiter in ",;\t" and dialect.quotechar == '"'
             and not dialect.escapechar and not dialect.skipinitialspace and dialect.quoting == csv.QUOTE_MINIMAL)
    if not plain or not text or "\x00" in text or _LONE_CR.search(text):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(
            pa.py_buffer(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True),
            parse_options=pacsv.ParseOptions(delimiter=dialect.delimiter, quote_char='"',
                                             double_quote=bool(dialect.doublequote),
                                             escape_char=False, newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types=_ALL_TEXT, strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError):   # ragged lines, an open quote...: the csv module says
        return None
    columns = [c.combine_chunks() for c in table.columns]
    if any(c.type != pa.string() for c in columns):
        return None
    longest = max((pc.max(pc.utf8_length(c)).as_py() or 0 for c in columns), default=0)
    return columns if longest <= csv.field_size_limit() else None


_ALL_TEXT = {f"f{i}": "string" for i in range(16_384)}   # Arrow's names for columns it names itself


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
    from sheets_sync.validate.layout import find_header
    best, score = None, (1, False)
    for form in forms:
        found = find_header(grid, form)
        s = (len(found[1]) if found else 0, form.matches_sheet(title))
        if s > score:
            best, score = form, s
    return best


def validate_file(path: Path, form_key: str | None, as_of: dt.date, forms: FormSet | None = None,
                  limits=None, ahead=None, problems: list | None = None):
    """[(tab title, FormResult)] for every tab holding a form. `limits`: a deployment's
    (its raised limits.rows lets a city's big files through, as in its cycle); `ahead`:
    read_ahead(path), started before the caller loaded its settings; `problems`: given a
    list, the checked tabs' own problems (a renamed No HP header) are added to it, for
    the caller to show: the cycle reports them in the Rekap."""
    ahead = ahead or read_ahead(path, limits)
    from sheets_sync.validate.layout import HEADER_SCAN_ROWS, Problem, locate_form   # pandas: while the parse runs
    from sheets_sync.validate.frame import MAX_CELL_CHARS, validate_frame

    forms = forms or load_forms()
    merges: dict = {}
    grids = read_grids(path, merges, limits, ahead)
    max_chars = limits.cell_chars if limits is not None else MAX_CELL_CHARS
    # headers not found in a CSV: maybe an encoding read wrongly (a UTF-16 file without its BOM...)
    csv_hint = f" Bila judulnya sudah benar, {SAVE_AS_CSV}." if path.suffix.lower() == ".csv" else ""
    out = []
    for title, grid in grids.items():
        form = forms[form_key] if form_key else guess_form(grid, forms, title)
        if form is None:
            continue
        found = locate_form(grid, form, forms, title, merges.get(title, ()), hashed=False)
        if isinstance(found, Problem):
            if form_key and len(grids) == 1:
                raise ValueError(found.text() + (csv_hint if found.code == "HEADER_MISSING" else ""))
            if problems is not None:   # a form's tab with a renamed header: said, not skipped in silence
                problems.append(found)
            continue
        if problems is not None:
            problems += found.problems
        out.append((title, validate_frame(found.frame, form, as_of, domains=forms.email_domains,
                                          max_chars=max_chars)))
    if not out:
        raise ValueError("tidak ada tab yang berisi formulir Lampiran III: baris judul kolomnya (mis. Nama Pegawai, "
                         f"No HP (W/A) aktif) tidak ditemukan di {HEADER_SCAN_ROWS} baris pertama. Pakai judul kolom "
                         f"dari templat Lampiran III, atau sebutkan formulirnya dengan --form.{csv_hint}")
    return out


def last_reports(settings, forms: FormSet) -> list:
    """The verdicts of the last cycle, from the state database."""
    from sheets_sync.cycle.state import State
    from sheets_sync.validate import opd_state as ostate
    from sheets_sync.validate.cross_opd import finalize
    from sheets_sync.validate.registry import Opd

    with State(settings.state_db, read_only=True) as state:
        opds = [Opd.from_dict(o) for o in state.get("registry") or []]
        mems = {o.code: state.opd(o.code) for o in opds}
    final, _ = finalize(forms, {o.code: mems[o.code].results for o in opds})   # as the cycle does
    return [ostate.OpdReport(o, final[o.code], mems[o.code].problems) for o in opds]


def export_layout(settings, forms: FormSet, template: Path | None = None):
    """The export's layout: --template, else settings' export_template, else Lampiran III."""
    from sheets_sync.config import CONFIG_DIR, ConfigError, read_yaml
    from sheets_sync.export_layout import parse_layout

    path = Path(template or settings.export_template or CONFIG_DIR / "export" / "lampiran3.yaml")
    if not path.is_file():
        raise ConfigError(f"Template ekspor {path} tidak ditemukan; contoh ada di config/export/.")
    return parse_layout(read_yaml(path, "Template ekspor"), forms, f"Template ekspor {path.name}")


def export_kpk(settings, out: Path, template: Path | None = None) -> int:
    from openpyxl import Workbook

    from sheets_sync import master as mst
    from sheets_sync.fileio import PRIVATE, atomic_write
    from sheets_sync.forms import forms_for
    from sheets_sync.progress import progress
    from sheets_sync.stores.xlsx import render_sheet

    forms = forms_for(settings)
    layout = export_layout(settings, forms, template)     # checked before the state is read
    sheets = mst.kpk_export(last_reports(settings, forms), forms, layout)
    book = Workbook()
    book.remove(book.active)
    for spec in progress(sheets, len(sheets), "menulis ekspor", unit="tab"):
        render_sheet(book.create_sheet(spec.title), spec)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, book.save, mode=PRIVATE)   # respondents' data: the Inspektorat's eyes only
    return sum(len(s.rows) for s in sheets)


__all__ = ["validate_file", "read_ahead", "export_kpk", "last_reports", "TooLarge"]
