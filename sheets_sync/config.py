"""Settings from a YAML file plus the environment, checked with clear messages.

Relative paths in a settings file resolve against the file's own folder, so a
settings file and its data can move together.

The file is read the way a person means it, not the way YAML 1.1 would: `10:30`
and `8.00` stay text (YAML 1.1 reads unquoted 10:30 as the base-60 integer 630),
only true/false are booleans (not yes/no/on/off), a key written twice is an
error, and parser errors are given in Indonesian with line and column. Every
settings error names the key and the value as typed.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

WIB = ZoneInfo("Asia/Jakarta")
MONTHS = ("januari", "februari", "maret", "april", "mei", "juni", "juli", "agustus", "september",
          "oktober", "november", "desember")
DEFAULT_DEADLINE = (10, 15)     # 15 October: the circular's date, year from `tahun`
PROJECT_DIR = Path(__file__).resolve().parent.parent   # the checkout: config/, templates/
TEMPLATES_DIR = PROJECT_DIR / "templates"
CONFIG_DIR = PROJECT_DIR / "config"
BACKENDS = ("xlsx", "google")


class ConfigError(Exception):
    """Settings that cannot be used; the message says which key and how to fix it."""


@dataclass(frozen=True)
class Limits:
    """What one OPD may cost, checked before the work (settings `limits:`). An OPD past
    a limit is reported in the Rekap and skipped; the other OPDs go on. The defaults
    keep one OPD well inside a 1 GB worker (deploy/sheets-sync.service: MemoryMax)."""
    file_mb: int = 20                # an .xlsx file on disk (compressed)
    unpacked_mb: int = 100           # all parts of an .xlsx together, uncompressed
    part_mb: int = 50                # one part (a tab's XML, the shared strings), uncompressed
    compression_ratio: int = 100     # uncompressed / compressed, for a part over 1 MB
    rows: int = 100_000              # rows of one tab
    columns: int = 1_000             # columns of one tab (cells: the memory bound)
    cells: int = 1_000_000           # cells of one workbook (every tab)
    cell_chars: int = 1_000          # characters of one cell that the rules look at
    opd_seconds: int = 300           # wall-clock for one OPD (read + validate), checked between steps

    # key: (smallest, largest) a setting may take
    BOUNDS = {"file_mb": (1, 2_000), "unpacked_mb": (1, 20_000), "part_mb": (1, 20_000),
              "compression_ratio": (10, 10_000), "rows": (100, 1_048_576), "columns": (10, 16_384),
              "cells": (1_000, 100_000_000), "cell_chars": (100, 50_000), "opd_seconds": (10, 86_400)}


@dataclass
class Settings:
    path: Path
    backend: str = "xlsx"
    year: int = 2023                 # `tahun`; `auto` or missing: this year (WIB)
    data_dir: Path = Path("data")
    master: str = "master.xlsx"
    state_dir: Path = Path("state")
    outbox_dir: Path = Path("outbox")
    forms_file: Path | None = None
    sync_minutes: int = 10
    reminder_time: str = "08:00"
    deadline: dt.date | None = None  # missing: 15 October of `year` (deadline_default)
    report_date: dt.date | None = None
    deadline_default: bool = False
    year_auto: bool = False
    surat_edaran: dict = field(default_factory=dict)   # {penerbit, nomor, tanggal (date)}
    inspektorat: dict = field(default_factory=dict)
    mail: dict = field(default_factory=dict)
    reminders: dict = field(default_factory=dict)
    google: dict = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    export_template: Path | None = None   # KPK export layout (None: config/export/lampiran3.yaml)
    aturan: dict = field(default_factory=dict)         # season rules over forms.yaml's `aturan`
    putaran: tuple = ()                                # collection rounds: ((nama, batas date), ...)
    file_address: str = ""           # `alamat_berkas`: the data folder as OPDs reach it (xlsx)
    lock_hours: int = 2              # `kunci_kedaluwarsa_jam`: an older lock file no longer blocks
    reread_hours: int = 6            # `baca_ulang_jam` (Google): an OPD whose new revision was taken as
    #                                  the worker's own write, not read, is read anyway once this many hours
    #                                  passed since its last real read (0 = never)

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


# ================================================================== values as typed
def shown(value) -> str:
    """A value as the person typed it, for messages (true, 2023-10-15, 10:30)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None:
        return ""
    return str(value)


def clipped(value, limit: int = 60) -> str:
    """shown(value) for an error message: a pasted page stays out of the log."""
    text = shown(value)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} karakter)"


def parse_time(value, key: str) -> str:
    """'08:00', '8:00', '8.00', 8, or 630 (how YAML 1.1 reads an unquoted 10:30:
    10 × 60 + 30) -> 'HH:MM'. An error shows the value as typed (10:30, not 630)."""
    typed = shown(value)
    hour = minute = -1
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value <= 23:
            hour, minute = value, 0
        elif value > 23:
            hour, minute = divmod(value, 60)
            typed = f"{hour}:{minute:02d}"
    else:
        m = re.fullmatch(r"\s*(\d{1,2})(?:\s*([:.])\s*(\d{1,2}))?\s*", typed)
        if m:
            hour, minute = int(m.group(1)), int(m.group(3) or 0)
            if m.group(2) == "." and len(m.group(3)) == 1:
                minute *= 10                      # 10.3 is 10.30, as in "pukul 10.30"
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ConfigError(f"{key}: '{typed}' bukan jam; tulis JJ:MM (WIB), contoh 08:00 atau 10:30.")
    return f"{hour:02d}:{minute:02d}"


# The forms a date may take in settings and on the command line (DATE_FORMS: for messages).
DATE_FORMS = "2023-10-15, 2023/10/15, 15/10/2023, 15-10-2023 atau 15 Oktober 2023"


def parse_date(value, key: str, year: int | None = None) -> dt.date | None:
    """2023-10-15, 2023/10/15, 15-10-2023, 15/10/2023, 15 Oktober 2023 (as date cells
    take them); with `year`, also 15 Oktober or 15/10 (that year)."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    found = _date_parts(text.casefold(), year)
    if found:
        try:
            return dt.date(*found)
        except ValueError:
            pass
    example = DATE_FORMS + (" (atau tanpa tahun: 15 Oktober)" if year else "")
    raise ConfigError(f"{key}: '{clipped(value)}' bukan tanggal; tulis {example}.")


def _date_parts(text: str, year: int | None):
    m = re.fullmatch(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})", text)   # year first: one separator throughout
    if m:
        return int(m.group(1)), int(m.group(3)), int(m.group(4))
    m = re.fullmatch(r"(\d{1,2})\s*[-/.]\s*(\d{1,2})(?:\s*[-/.]\s*(\d{4}))?", text)
    if m and (m.group(3) or year):
        return int(m.group(3) or year), int(m.group(2)), int(m.group(1))
    m = re.fullmatch(r"(?:[a-z]+,\s*)?(\d{1,2})\s+([a-z]+)\.?(?:\s+(\d{4}))?", text)
    if m and (m.group(3) or year):
        month = next((i + 1 for i, name in enumerate(MONTHS)
                      if len(m.group(2)) >= 3 and name.startswith(m.group(2))), None)
        if month:
            return int(m.group(3) or year), month, int(m.group(1))
    return None


def _int(raw: dict, key: str, default: int, low: int, high: int, name: str | None = None) -> int:
    value = raw.get(key, default)
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,18}\s*", value):   # longer: not a count, not int()ed
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"{name or key}: '{clipped(value)}' harus bilangan bulat {low}–{high}.")
    return value


# ================================================================== the YAML file
# A settings file or template is a page or two; a pasted dump is refused before parsing,
# and aliases (&a / *a) may not multiply a document past what a person writes: a
# "billion laughs" is cheap for the parser (shared objects) but str() or a walk over it
# would run for hours.
MAX_YAML_BYTES, MAX_YAML_NODES = 256 * 1024, 50_000
_BIG_ALIAS = "isi berkas lebih dari "


def _expanded(node, memo: dict) -> int:
    """How many nodes `node` stands for with every alias written out (linear: memoised)."""
    if id(node) not in memo:
        memo[id(node)] = 1          # a node reached again while counting it: a loop, counted once
        kids = node.value if isinstance(node, yaml.SequenceNode) else \
            [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else ()
        memo[id(node)] = 1 + sum(_expanded(k, memo) for k in kids)
    return memo[id(node)]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2's plain scalars for booleans and numbers (see the
    module's docstring), times kept as text, and duplicate keys refused."""

    def compose_document(self):
        node = super().compose_document()
        if node is not None and _expanded(node, {}) > MAX_YAML_NODES:
            raise yaml.MarkedYAMLError(
                problem=f"{_BIG_ALIAS}{MAX_YAML_NODES:,} nilai".replace(",", ".") +
                        " (nilai yang dirujuk dengan *nama dihitung setiap kali); tulis nilainya langsung", problem_mark=node.start_mark)
        return node

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue                    # "<<: *alias": merged by the base class
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (list, dict)):       # `[1, 2]: 3`: unhashable, a TypeError otherwise
                raise yaml.MarkedYAMLError(
                    problem=f"kunci '{shown(key)[:40]}' bukan nama kunci (daftar atau pasangan tidak bisa menjadi "
                            f"kunci); tulis nama kuncinya saja", problem_mark=key_node.start_mark)
            if isinstance(key, (str, int)) and key in seen:
                raise yaml.MarkedYAMLError(
                    problem=f"kunci '{key}' ditulis dua kali (juga di baris {seen[key] + 1}); hapus salah satunya",
                    problem_mark=key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)

    def construct_yaml_int(self, node):
        try:
            return super().construct_yaml_int(node)
        except ValueError:                  # thousands of digits (Python's int limit): text, told by the key
            return self.construct_scalar(node)

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:                  # 2023-02-30: left as text, the key's check says why
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_yaml_map)
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:str", re.compile(r"^\d{1,2}[:.]\d{1,2}$"), list("0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))

# PyYAML's problems, as staff can act on them (matched on the start of the text).
_YAML_PROBLEMS = (
    ("mapping values are not allowed", "titik dua (:) tidak boleh di sini: nilai yang memuat \": \" perlu diapit "
                                       "tanda kutip, atau baris ini menjorok (berspasi di depan) padahal tidak perlu"),
    ("could not find expected ':'", "tanda titik dua (:) sesudah nama kunci tidak ditemukan"),
    ("found character '\\t'", "karakter tab tidak boleh; pakai spasi untuk menjorokkan baris"),
    ("found character", "karakter ini tidak boleh di awal nilai; apit nilainya dengan tanda kutip"),
    ("expected <block end>", "jumlah spasi di awal baris (indentasi) tidak cocok dengan baris-baris di atasnya"),
    ("did not find expected key", "jumlah spasi di awal baris (indentasi) tidak cocok dengan baris-baris di atasnya"),
    ("did not find expected '-'", "baris daftar (diawali \"- \") tidak sejajar dengan baris daftar lainnya"),
    ("found unexpected end of stream", "tanda kutip tidak ditutup"),
    ("found unknown escape character", "garis miring terbalik (\\) di dalam tanda kutip ganda; pakai tanda kutip "
                                       "tunggal ('...')"),
    ("expected ',' or ']'", "daftar [ ... ] tidak ditutup dengan ] atau butirnya tidak dipisah koma"),
    ("expected ',' or '}'", "pasangan { ... } tidak ditutup dengan } atau butirnya tidak dipisah koma"),
    ("found undefined alias", "tanda * di awal nilai dibaca sebagai rujukan; apit nilainya dengan tanda kutip"),
    ("found a tab character", "karakter tab tidak boleh; pakai spasi untuk menjorokkan baris"),
    ("kunci '", None),       # ours (duplicate keys): already Indonesian
    (_BIG_ALIAS, None),      # ours (an alias bomb): already Indonesian
)


def yaml_error_text(e: yaml.YAMLError, source: str) -> str:
    """A YAML error in Indonesian: line, column, what is wrong, and the line itself."""
    problem = _problem(e)
    said = next((ind if ind is not None else problem for eng, ind in _YAML_PROBLEMS if problem.startswith(eng)),
                "susunan YAML tidak dapat dibaca di sini (periksa indentasi, titik dua dan tanda kutip)")
    mark = e.problem_mark if isinstance(e, yaml.MarkedYAMLError) else None
    if mark is None:
        return said
    lines = source.splitlines()
    at_end = mark.line >= len(lines) or not lines[mark.line].strip()
    if at_end and e.context_mark is not None:
        mark = e.context_mark           # an unclosed quote or [ ... ]: where it was opened
    text = f"baris {mark.line + 1}, kolom {mark.column + 1}: {said}"
    if mark.line < len(lines):
        shown_line = lines[mark.line].replace("\t", " ")
        text += f"\n    {mark.line + 1:>3} | {shown_line}\n          {' ' * mark.column}^"
    return text


def _problem(e: yaml.YAMLError) -> str:
    return (e.problem or "") if isinstance(e, yaml.MarkedYAMLError) else str(e)


def read_yaml(path: Path, what: str = "Berkas pengaturan"):
    """The settings file's data (or another YAML file's, named by `what`), or
    ConfigError in Indonesian."""
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} tidak ditemukan. Sebutkan berkasnya dengan --config (di server: "
                          f"--config /etc/sheets-sync/settings.yaml), atau salin config/settings.example.yaml "
                          f"lalu sesuaikan.") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} adalah folder, bukan {what[0].lower() + what[1:]}; tulis jalur berkas .yaml-nya.") from None
    except PermissionError:
        raise ConfigError(f"{what} {path} tidak dapat dibaca (izin ditolak). Berikan izin baca "
                          f"kepada pengguna layanan: sudo chown root:sheets-sync {path}; sudo chmod 640 {path}.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {path} bukan teks UTF-8; simpan ulang sebagai UTF-8.") from None
    except OSError as e:
        raise ConfigError(f"{what} {path} tidak dapat dibaca ({e.strerror or type(e).__name__}).") from None
    if len(source) > MAX_YAML_BYTES:
        raise ConfigError(f"Berkas {path} terlalu besar ({len(source) // 1024} KB; paling besar "
                          f"{MAX_YAML_BYTES // 1024} KB); periksa apakah ada teks yang tertempel.")
    try:
        return yaml.load(source, Loader=_Loader)
    except yaml.YAMLError as e:
        raise ConfigError(f"{what} {path} tidak bisa dibaca (YAML), {yaml_error_text(e, source)}") \
            from None
    except RecursionError:          # [[[[... hundreds deep: PyYAML's composer recurses
        raise ConfigError(f"Berkas pengaturan {path} tidak bisa dibaca (YAML): kurung [ atau {{ bersarang "
                          f"terlalu dalam.") from None


def load_settings(path) -> Settings:
    path = Path(path).resolve()
    _dotenv(path.parent)
    raw = read_yaml(path) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"Berkas pengaturan {path} harus berisi pasangan kunci: nilai.")
    return parse_settings(raw, path)


def parse_settings(raw: dict, path: Path, today: dt.date | None = None) -> Settings:
    base = path.parent
    known = {"backend", "tahun", "data_dir", "master", "state_dir", "outbox_dir", "forms_file",
             "sync_interval_minutes", "reminder_time", "deadline", "tanggal_laporan", "inspektorat",
             "mail", "reminders", "google", "surat_edaran", "limits", "aturan", "putaran"}
    known |= {"export_template", "baca_ulang_jam"}
    known |= XLSX_KEYS
    unknown = sorted(set(raw) - known, key=str)
    if unknown:
        raise ConfigError(f"Kunci tidak dikenal di {path.name}: {', '.join(map(str, unknown))}. "
                          f"Kunci yang dikenal: {', '.join(sorted(known))}.")
    backend = raw.get("backend", "xlsx")
    if backend not in BACKENDS:
        raise ConfigError(f"backend: '{shown(backend)}' tidak dikenal; pilihan: {', '.join(BACKENDS)}.")
    rtime = parse_time(raw.get("reminder_time", "08:00"), "reminder_time")
    year_raw = raw.get("tahun", "auto")
    year_auto = year_raw in (None, "") or str(year_raw).strip().casefold() in ("auto", "otomatis")
    if year_auto:              # the season of a deadline written with its year, else this year
        try:
            written = parse_date(raw.get("deadline"), "deadline")
        except ConfigError:
            written = None         # "15 Oktober": this year's; a wrong date is told below
        if written is None and not raw.get("deadline"):
            written = _last_round_year(raw.get("putaran"))
        year = written.year if written else (today or today_wib()).year
    else:
        try:
            year = _int(raw, "tahun", 0, 2000, 2100)
        except ConfigError:
            raise ConfigError(f"tahun: '{clipped(year_raw)}' bukan tahun; tulis auto (tahun berjalan) atau "
                              f"tahunnya, contoh 2024.") from None
    deadline = parse_date(raw.get("deadline"), "deadline", year)
    putaran = _putaran(raw.get("putaran"), year)
    if deadline is None and putaran:
        deadline = putaran[-1][1]      # the season ends with its last round
    elif putaran and deadline != putaran[-1][1]:    # the Petunjuk and the reminders would disagree
        raise ConfigError(f"deadline ({deadline:%d/%m/%Y}) berbeda dengan batas putaran terakhir "
                          f"({putaran[-1][1]:%d/%m/%Y}); dengan putaran, hapus baris deadline (batas musim = batas "
                          f"putaran terakhir) atau samakan keduanya.")
    _paths_are_text(raw)
    resolve = lambda p: (base / Path(p).expanduser()).resolve() if p else None  # noqa: E731 - ~/data too
    return Settings(
        path=path, backend=backend, year=year, year_auto=year_auto,
        data_dir=resolve(raw.get("data_dir", "data")), master=str(raw.get("master", "master.xlsx")),
        state_dir=resolve(raw.get("state_dir", "state")), outbox_dir=resolve(raw.get("outbox_dir", "outbox")),
        forms_file=resolve(raw.get("forms_file")),
        sync_minutes=_int(raw, "sync_interval_minutes", 10, 1, 1440), reminder_time=rtime,
        deadline=deadline or dt.date(year, *DEFAULT_DEADLINE), deadline_default=deadline is None,
        report_date=parse_date(raw.get("tanggal_laporan"), "tanggal_laporan", year),
        inspektorat=_section(raw, "inspektorat"), mail=_mail(_section(raw, "mail")),
        reminders=_section(raw, "reminders"), google=_section(raw, "google"),
        surat_edaran=_surat_edaran(_section(raw, "surat_edaran"), year),
        limits=_limits(raw.get("limits")), aturan=_aturan(raw.get("aturan")), putaran=putaran,
        export_template=resolve(raw.get("export_template")),
        file_address=_file_address(raw.get("alamat_berkas")),
        lock_hours=_int(raw, "kunci_kedaluwarsa_jam", 2, 1, 720),
        reread_hours=_int(raw, "baca_ulang_jam", 6, 0, 720),
    )


PATH_KEYS = ("data_dir", "master", "state_dir", "outbox_dir", "forms_file", "export_template")


def _paths_are_text(raw: dict) -> None:
    """A folder or file written as a list or a pair is a message, not a TypeError."""
    for key in PATH_KEYS:
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise ConfigError(f"{key}: '{clipped(raw[key])}' harus satu jalur berkas/folder (teks), contoh "
                              f"{key}: data")


# Season rules a settings file may set (`aturan:`), with what each value must be.
ATURAN = {"pengguna_layanan_bulan": ("int", 1, 36), "masa_kerja_asn_bulan": ("int", 0, 120),
          "status_kepegawaian": ("bool",), "minimal_baris": ("rows",), "slot_ahli": ("list",)}


def _aturan(raw) -> dict:
    """The `aturan:` block: season rules over forms.yaml's (see config/forms.yaml)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError("aturan: harus berisi pasangan kunci: nilai, contoh 'pengguna_layanan_bulan: 12'.")
    unknown = sorted(set(raw) - set(ATURAN), key=str)
    if unknown:
        raise ConfigError(f"Kunci tidak dikenal di aturan: {', '.join(map(str, unknown))}. "
                          f"Kunci yang dikenal: {', '.join(ATURAN)}.")
    return {key: _rule(key, value) for key, value in raw.items()}


def _rule(key: str, value):
    kind = ATURAN[key]
    name = f"aturan.{key}"
    if kind[0] == "int":
        return _int({key: value}, key, 0, kind[1], kind[2], name)
    if kind[0] == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{name}: '{clipped(value)}' harus true atau false.")
        return value
    if kind[0] == "rows":
        if not isinstance(value, dict):
            raise ConfigError(f"{name}: tulis per formulir, contoh {{pengguna_layanan: 30}}.")
        return {str(k): _int(value, k, 0, 1, 100_000, f"{name}.{k}") for k in value}
    if not isinstance(value, list) or not value or len(value) > 100 or \
            not all(isinstance(v, str) and v.strip() and len(v) <= 300 for v in value):
        raise ConfigError(f"{name}: tulis daftar kriteria (1–100 baris teks), satu per baris diawali \"- \".")
    slots = [" ".join(v.split()) for v in value]
    twice = sorted({v for v in slots if [w.casefold() for w in slots].count(v.casefold()) > 1})
    if twice:       # a row naming it would match two slots: always SALAH
        raise ConfigError(f"{name}: kriteria ditulis dua kali: {'; '.join(twice)[:200]}; hapus salah satunya.")
    return slots


def _last_round_year(raw):
    """The last round's deadline if it is written with its year (the season's year)."""
    try:
        return parse_date(raw[-1].get("batas"), "putaran") if isinstance(raw, list) and raw and \
            isinstance(raw[-1], dict) else None
    except ConfigError:
        return None


def _putaran(raw, year: int) -> tuple:
    """`putaran:` [{nama, batas}, ...]: the season's collection rounds, in date order."""
    if raw in (None, [], ""):
        return ()
    if not isinstance(raw, list) or len(raw) > 24:
        raise ConfigError("putaran: tulis daftar (paling banyak 24), tiap butir dengan nama dan batas, contoh\n"
                          "  putaran:\n    - {nama: Pemutakhiran Mei, batas: 31 Mei}\n"
                          "    - {nama: Pengguna layanan 1 bulan terakhir, batas: 15 Oktober}")
    out = []
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or set(item) - {"nama", "batas"} or not item.get("batas"):
            raise ConfigError(f"putaran butir {i}: tulis {{nama: ..., batas: ...}} (kunci yang dikenal: nama, batas).")
        if isinstance(item.get("nama"), (list, dict)):
            raise ConfigError(f"putaran butir {i}: nama ditulis sebagai teks satu baris, contoh 'Pemutakhiran Mei'.")
        name = " ".join(shown(item.get("nama")).split())[:100] or f"Putaran {i}"
        day = parse_date(item["batas"], f"putaran butir {i} ({name}).batas", year)
        if day.year != year:     # a round left in last year's date after `tahun` moved on
            raise ConfigError(f"putaran butir {i} ({name}).batas: {day:%d/%m/%Y} tidak di tahun musim ({year}); "
                              f"tulis tanpa tahun (mis. '15 Oktober') agar mengikuti tahun musim.")
        out.append((name, day))
    for (n1, d1), (n2, d2) in zip(out, out[1:]):
        if d2 <= d1:
            raise ConfigError(f"putaran: batas '{n2}' ({d2:%d/%m/%Y}) harus sesudah batas '{n1}' "
                              f"({d1:%d/%m/%Y}); urutkan putaran menurut tanggal.")
    if len({n for n, _ in out}) != len(out):
        raise ConfigError("putaran: nama putaran harus berbeda satu sama lain.")
    return tuple(out)


XLSX_KEYS = {"alamat_berkas", "kunci_kedaluwarsa_jam"}


def _file_address(value) -> str:
    """`alamat_berkas`: where OPDs open the data folder (\\\\server\\SPI, a synced
    folder's URL). Shown to them instead of any path on this server."""
    text = shown(value).strip()
    if len(text) > 500 or any(ord(ch) < 32 for ch in text):
        raise ConfigError(f"alamat_berkas: '{text[:80]}' bukan alamat folder; tulis mis. \\\\server\\SPI "
                          f"atau https://drive.contoh.go.id/spi/ (paling banyak 500 karakter, satu baris).")
    return text


def _section(raw: dict, key: str) -> dict:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: '{shown(value)}' harus berisi pasangan kunci: nilai di baris-baris "
                          f"berikutnya (menjorok dua spasi).")
    return dict(value)


def _surat_edaran(raw: dict, year: int) -> dict:
    """surat_edaran: {penerbit: Bupati Mukomuko, nomor: 700/654/ITDA/X/2023, tanggal: 2023-10-13}."""
    known = {"penerbit", "nomor", "tanggal"}
    unknown = sorted(set(raw) - known, key=str)
    if unknown:
        raise ConfigError(f"surat_edaran: kunci tidak dikenal: {', '.join(map(str, unknown))}. "
                          f"Kunci yang dikenal: {', '.join(sorted(known))}.")
    if not raw:
        return {}
    nomor = shown(raw.get("nomor")).strip()
    if not nomor or nomor.upper().startswith("ISI"):
        raise ConfigError(f"surat_edaran.nomor: '{nomor}' belum diisi; tulis nomor Surat Edaran, "
                          f"contoh 700/654/ITDA/X/2023 (atau hapus bagian surat_edaran).")
    return {"penerbit": shown(raw.get("penerbit")).strip(), "nomor": nomor,
            "tanggal": parse_date(raw.get("tanggal"), "surat_edaran.tanggal", year)}


def _limits(raw) -> Limits:
    """The `limits:` block; every key optional (safe defaults), each an integer in range."""
    if raw is None:
        return Limits()
    if not isinstance(raw, dict):
        raise ConfigError("limits: harus berisi pasangan kunci: nilai, contoh 'rows: 100000'.")
    unknown = sorted(set(raw) - set(Limits.BOUNDS))
    if unknown:
        raise ConfigError(f"Kunci tidak dikenal di limits: {', '.join(map(str, unknown))}. "
                          f"Kunci yang dikenal: {', '.join(Limits.BOUNDS)}.")
    values = {}
    for key, value in raw.items():
        low, high = Limits.BOUNDS[key]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ConfigError(f"limits.{key}: '{value}' harus bilangan bulat {low}–{high}.")
        values[key] = value
    return Limits(**values)


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
        raise ConfigError(f"mail.transport: '{shown(mail['transport'])}' tidak dikenal; pilihan: outbox, smtp.")
    if "password" in raw:
        raise ConfigError("mail.password tidak boleh ditulis di berkas pengaturan; pakai variabel "
                          "lingkungan SMTP_PASSWORD atau berkas .env.")
    return mail


def set_setting(path, section: str | None, key: str, value: str) -> None:
    """Write `section.key: value` into a settings file by editing that one line (or
    adding it under `section:`), so that comments and layout stay as the admin left
    them. The result is parsed again; if it does not say what we meant, the file is
    left unchanged and a ConfigError says what to write by hand."""
    from sheets_sync.fileio import atomic_write_text

    if section is None:
        return _set_top_setting(Path(path), key, value)
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    scalar = value if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.:/-]*", value) else '"' + value.replace('"', '\\"') + '"'
    head = next((i for i, line in enumerate(lines) if re.match(rf"{re.escape(section)}:\s*(#.*)?$", line)), None)
    if head is None:
        if any(re.match(rf"{re.escape(section)}:", line) for line in lines):
            raise ConfigError(f"{section}: di {path.name} tidak dapat disunting otomatis; tulis sendiri "
                              f"{section}.{key}: {value}")
        lines += ["\n" if lines and lines[-1].strip() else "", f"{section}:\n", f"  {key}: {scalar}\n"]
    else:
        end, indent = head + 1, None
        while end < len(lines) and (not lines[end].strip() or lines[end].lstrip().startswith("#")
                                    or lines[end][0] in " \t"):
            if indent is None and lines[end].strip() and not lines[end].lstrip().startswith("#"):
                indent = lines[end][: len(lines[end]) - len(lines[end].lstrip())]
            end += 1
        indent = indent or "  "
        for i in range(head + 1, end):
            m = re.match(rf"{re.escape(indent)}{re.escape(key)}:(\s*)([^#\n]*?)(\s*)(#.*)?(\n?)$", lines[i])
            if m:
                gap = (m.group(3) if m.group(2) else m.group(1)) or " "
                lines[i] = f"{indent}{key}: {scalar}{gap + m.group(4) if m.group(4) else ''}{m.group(5)}"
                break
        else:
            lines.insert(head + 1, f"{indent}{key}: {scalar}\n")
    new = "".join(lines)
    try:
        ok = str(((yaml.safe_load(new) or {}).get(section) or {}).get(key)) == value
    except yaml.YAMLError:
        ok = False
    if not ok:
        raise ConfigError(f"{path.name} tidak dapat disunting otomatis; tulis sendiri di bagian {section}: "
                          f"{key}: {value}")
    atomic_write_text(path, new, mode=stat.S_IMODE(path.stat().st_mode))


def _set_top_setting(path: Path, key: str, value: str) -> None:
    """set_setting for a top-level key (tahun, deadline): its one line edited, the
    comment after the value kept in its column; a missing key is appended."""
    from sheets_sync.fileio import atomic_write_text

    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    scalar = value if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.:/-]*", value) else '"' + value.replace('"', '\\"') + '"'
    for i, line in enumerate(lines):
        m = re.match(rf"{re.escape(key)}:([ \t]*)([^#\n]*?)([ \t]*)(#.*)?(\n?)$", line)
        if m:
            width = len(m.group(2)) + len(m.group(3))
            gap = " " * max(1, width - len(scalar)) if m.group(4) else ""
            lines[i] = f"{key}:{m.group(1) or ' '}{scalar}{gap}{m.group(4) or ''}{m.group(5)}"
            break
    else:
        lines.append(f"{key}: {scalar}\n")
    new = "".join(lines)
    try:
        ok = str((yaml.load(new, Loader=_Loader) or {}).get(key)) == value
    except yaml.YAMLError:
        ok = False
    if not ok:
        raise ConfigError(f"{path.name} tidak dapat disunting otomatis; tulis sendiri {key}: {value}")
    atomic_write_text(path, new, mode=stat.S_IMODE(path.stat().st_mode))
