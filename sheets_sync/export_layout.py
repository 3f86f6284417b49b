"""The KPK export's column layout, as data (config/export/*.yaml): which tabs, in which
order, each taking the accepted rows of one or more forms, with which output columns.
KPK changes its template from year to year; next year's format is a new YAML file,
not a code change. Pure: a parsed YAML mapping in, a checked ExportLayout out.

A column of a tab takes one of:
  from: <column key>   the row's value (normalised; `email` is the address pulled out
                       of an `address_email` column); blank for a form without it
  row_number: true     1, 2, 3 ... per tab
  value: <text>        the same text on every row
  form: title          the form's title (which kind of respondent the row is)
  opd: code | name     the OPD the row comes from
Without `columns`, a tab holds its form's columns as forms.yaml names them (Lampiran
III), so header texts stay in forms.yaml for the default layout."""
from __future__ import annotations

from dataclasses import dataclass

from sheets_sync.config import ConfigError
from sheets_sync.forms import FormSet

SOURCES = ("from", "row_number", "value", "form", "opd")
MAX_SHEETS, MAX_COLUMNS = 50, 200          # a template is small; a pasted monster is refused


@dataclass(frozen=True)
class OutColumn:
    header: str
    source: str          # one of SOURCES
    arg: str = ""        # column key, constant text, "title", "code" or "name"
    width: int = 26


@dataclass(frozen=True)
class OutSheet:
    title: str
    forms: tuple[str, ...]
    columns: tuple[OutColumn, ...]
    note: str = ""


@dataclass(frozen=True)
class ExportLayout:
    name: str
    sheets: tuple[OutSheet, ...]


def parse_layout(raw, forms: FormSet, where: str = "template ekspor") -> ExportLayout:
    """A template's data, checked against the forms; ConfigError in Indonesian."""
    if not isinstance(raw, dict) or not isinstance(raw.get("sheets"), list) or not raw["sheets"]:
        raise ConfigError(f"{where}: harus berisi 'sheets:' berupa daftar tab (minimal satu).")
    if len(raw["sheets"]) > MAX_SHEETS:
        raise ConfigError(f"{where}: paling banyak {MAX_SHEETS} tab.")
    sheets = tuple(_sheet(s, forms, f"{where}, tab ke-{i}") for i, s in enumerate(raw["sheets"], start=1))
    titles = [s.title.casefold() for s in sheets]
    if len(set(titles)) != len(titles):
        twice = sorted({s.title for s in sheets if titles.count(s.title.casefold()) > 1})
        raise ConfigError(f"{where}: nama tab ditulis lebih dari sekali: {', '.join(twice)}.")
    return ExportLayout(str(raw.get("name") or where), sheets)


def _sheet(raw, forms: FormSet, where: str) -> OutSheet:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: tulis pasangan kunci: nilai (form/forms, sheet, columns).")
    keys = raw.get("forms") or ([raw["form"]] if raw.get("form") else [])
    if isinstance(keys, str):
        keys = [keys]
    if not isinstance(keys, list):     # `forms: 5` or a pair: a message, not a TypeError
        raise ConfigError(f"{where}: forms: tulis nama formulir atau daftarnya, contoh forms: [pegawai].")
    known = [f.key for f in forms]
    unknown = [str(k) for k in keys if k not in known]
    if not keys or unknown:
        raise ConfigError(f"{where}: formulir {', '.join(unknown) or '(kosong)'} tidak dikenal; "
                          f"pilihan: {', '.join(known)}.")
    first = forms[keys[0]]
    title = str(raw.get("sheet") or first.sheet).strip()
    if not title or len(title) > 31 or any(ch in title for ch in "[]:*?/\\"):
        raise ConfigError(f"{where}: nama tab '{title}' tidak dapat dipakai (maks. 31 karakter, tanpa [ ] : * ? / \\).")
    if raw.get("columns") is None:
        cols = tuple(OutColumn(c.header, "row_number", width=5) if c.type == "row_number"
                     else OutColumn(c.header, "from", c.key) for c in first.columns)
    else:
        if not isinstance(raw["columns"], list) or not 0 < len(raw["columns"]) <= MAX_COLUMNS:
            raise ConfigError(f"{where}: 'columns:' harus daftar 1–{MAX_COLUMNS} kolom.")
        cols = tuple(_column(c, forms, keys, f"{where} ({title}), kolom ke-{i}")
                     for i, c in enumerate(raw["columns"], start=1))
    return OutSheet(title, tuple(keys), cols, str(raw.get("note", first.title) or ""))


def _column(raw, forms: FormSet, form_keys, where: str) -> OutColumn:
    if not isinstance(raw, dict) or not str(raw.get("header") or "").strip():
        raise ConfigError(f"{where}: tulis header: <judul kolom> dan satu sumber ({', '.join(SOURCES)}).")
    given = [s for s in SOURCES if s in raw]
    if len(given) != 1:
        raise ConfigError(f"{where} ({raw['header']}): tulis tepat satu sumber: {', '.join(SOURCES)}.")
    source, arg = given[0], raw[given[0]]
    if isinstance(arg, (list, dict)):  # unhashable: a TypeError in the checks below
        raise ConfigError(f"{where} ({raw['header']}): {source}: tulis satu nilai, bukan daftar.")
    width = raw.get("width", 5 if source == "row_number" else 26)
    if not isinstance(width, int) or isinstance(width, bool) or not 2 <= width <= 200:
        raise ConfigError(f"{where} ({raw['header']}): width '{width}' harus bilangan bulat 2–200.")
    if source == "from":
        available = {k for f in form_keys for k in forms[f].keys}
        available |= {"email" for f in form_keys if forms[f].of_type("address_email")}
        if arg not in available:
            raise ConfigError(f"{where} ({raw['header']}): kolom '{arg}' tidak ada di formulir "
                              f"{', '.join(form_keys)}; pilihan: {', '.join(sorted(available))}.")
    elif source == "form" and arg != "title" or source == "opd" and arg not in ("code", "name"):
        raise ConfigError(f"{where} ({raw['header']}): {source}: '{arg}' tidak dikenal; pilihan: "
                          f"{'title' if source == 'form' else 'code, name'}.")
    elif source == "row_number" and arg is not True:
        raise ConfigError(f"{where} ({raw['header']}): tulis row_number: true.")
    return OutColumn(str(raw["header"]).strip(), source, "" if arg is True else str(arg), width)
