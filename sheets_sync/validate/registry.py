"""The registry ("Daftar OPD" tab of the master): which OPDs, whom to write to,
which forms apply, where each OPD's workbook is. Parsed from a grid of cells.

The registry is typed by people, so nothing in it is trusted: an e-mail cell is a
list of addresses each checked with email-validator (an invalid one is reported on
the OPD and never mailed or shared with), and a *Berkas / Tautan* that could lead
outside the data folder is refused here already (the stores check what only the
file system or Drive can tell: symlinks, the master, two OPDs on one workbook)."""
from __future__ import annotations

import csv
import io

import re
from dataclasses import asdict, dataclass, replace

import email_validator

from sheets_sync.codes import REFUSED
from sheets_sync.logsafe import mask_address
from sheets_sync.validate.fields import as_text, is_blank
from sheets_sync.validate.layout import Problem
from sheets_sync.forms import FormSet, norm_header

MAX_CELL = 2000          # characters of a registry cell looked at (linear work, whatever is pasted)
# Addresses are separated by commas, semicolons or line breaks (never by a header
# such as "Bcc:" that a pasted cell may carry: such a part is simply not an address).
_SEPARATORS = re.compile(r"[,;\r\n\x0b\x0c\x85\u2028\u2029]+")
_NOT_A_PERSON = ("anyone", "everyone", "public", "publik", "umum", "semua", "semua orang", "siapa saja",
                 "domain", "anyonewithlink", "anyone with the link")


@dataclass(frozen=True)
class Opd:
    code: str
    name: str
    contacts: tuple[str, ...] = ()
    heads: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()
    location: str = ""          # .xlsx file name or Google spreadsheet link/id
    row: int = 0                # row in Daftar OPD, to point the Inspektorat at it
    problems: tuple = ()        # layout.Problem: mistakes in this registry row, shown in the Rekap
    # the circular's other duties the Inspektorat tracks here: ((key, done, evidence), ...),
    # only those whose column the registry has
    obligations: tuple = ()

    @property
    def refused(self) -> Problem | None:
        """The reason its workbook must not be touched at all (codes.REFUSED), if any."""
        return next((p for p in self.problems if p.code in REFUSED), None)

    def with_problem(self, problem: Problem) -> "Opd":
        return replace(self, problems=self.problems + (problem,))

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Opd":
        """The inverse of as_dict (the registry the state keeps as JSON)."""
        return cls(str(d["code"]), str(d["name"]), tuple(d.get("contacts") or ()), tuple(d.get("heads") or ()),
                   tuple(d.get("forms") or ()), str(d.get("location") or ""), int(d.get("row") or 0),
                   tuple(Problem(p["code"], dict(p.get("params") or {})) for p in d.get("problems") or ()),
                   tuple((str(k), bool(done), str(ev)) for k, done, ev in d.get("obligations") or ()))

    def obligations_due(self) -> list[str]:
        """Keys of the tracked duties not (yet) marked done."""
        return [k for k, done, _ in self.obligations if not done]


def check_address(text: str) -> tuple[str | None, str]:
    """(the address normalised, '') or (None, why not, in Indonesian)."""
    if text.casefold().strip(" .") in _NOT_A_PERSON or text.startswith("@") or (
            "@" not in text and "." in text and " " not in text):
        return None, "berbagi ke semua orang atau ke satu domain tidak diizinkan; tulis alamat e-mail orangnya"
    if any(ch.isspace() for ch in text):
        return None, "berisi spasi atau baris baru"
    if text.count("@") != 1:
        return None, "harus memuat tepat satu tanda @"
    try:
        return email_validator.validate_email(text, check_deliverability=False).normalized, ""
    except email_validator.EmailNotValidError:
        return None, "nama atau domain sesudah @ tidak valid"


def parse_addresses(text) -> tuple[tuple[str, ...], list[tuple[str, str]]]:
    """A contact cell as (valid addresses, [(rejected part, why)]). A part holding
    several addresses separated by spaces counts only when every one of them is valid."""
    if is_blank(text):
        return (), []
    good: list[str] = []
    bad: list[tuple[str, str]] = []
    raw = text if isinstance(text, str) else as_text(text)   # split first: as_text joins lines
    if len(raw) > MAX_CELL:
        # the cut would leave half an address, maybe a valid one of another domain
        # (kepala@mukomukokab.go.id -> kepala@mukomukokab.go): only whole parts are read
        total = len(raw)
        parts = _SEPARATORS.split(raw[:MAX_CELL + 1])
        raw = raw[:MAX_CELL + 1 - len(parts[-1])] if len(parts) > 1 else ""
        bad.append((f"isi sel {total:,} karakter".replace(",", "."),
                    f"terlalu panjang: hanya alamat utuh dalam {MAX_CELL:,} karakter pertama yang dibaca"
                    .replace(",", ".")))
    for part in _SEPARATORS.split(raw):
        part = as_text(part)
        if not part:
            continue
        addr, why = check_address(part)
        found = [addr] if addr else []
        if addr is None and len(part.split()) > 1:
            each = [check_address(t) for t in part.split()]
            if all(a for a, _ in each):
                found = [a for a, _ in each]
        if not found:
            bad.append((part, why))
        for a in found:
            if a.casefold() not in {g.casefold() for g in good}:
                good.append(a)
    return tuple(good), bad


def split_emails(text) -> tuple[str, ...]:
    """The valid addresses of a contact cell (see parse_addresses)."""
    return parse_addresses(text)[0]


def shown_value(text: str, limit: int = 60) -> str:
    """A value from the registry fit to quote in the Rekap: no control characters,
    short, an address masked (the Rekap and the logs never show a full address)."""
    clean = "".join(ch if ch.isprintable() else " " for ch in text)[:limit]
    return mask_address(clean) if "@" in clean else clean


def safe_file_name(code: str) -> str:
    """<KODE>.xlsx for an OPD without a file name in the registry; the code can hold
    anything (../, slashes, drive letters), the file name cannot."""
    stem = re.sub(r'[\\/:*?"<>|\s\x00-\x1f\x7f]+', "-", code).strip("-.")[:100].strip("-.")
    return (stem or "OPD") + ".xlsx"


def unsafe_location(text: str) -> bool:
    """True for a Berkas / Tautan that names something outside the data folder by its
    text alone: an absolute path, a drive letter, a home folder, a '..' step, control
    characters (symlinks are the store's to check: only the file system knows them)."""
    t = text.strip()
    if not t:
        return False
    if t[0] in "/\\~" or re.match(r"[A-Za-z]:", t) or any(not ch.isprintable() for ch in t):
        return True
    return any(part == ".." for part in re.split(r"[\\/]+", t))


def parse_registry(grid: list[list], forms: FormSet) -> tuple[list[Opd], list[str]]:
    """OPDs in registry order, and Indonesian notes on rows that could not be used."""
    spec = forms.registry["columns"]
    sheet = forms.registry["sheet"]
    header_at, cols = find_registry_header(grid, spec)
    if header_at is None:
        wanted = ", ".join(c["header"] for c in spec if c.get("required"))
        return [], [f"Tab {sheet}: baris judul ({wanted}) tidak ditemukan."]
    missing = [c["header"] for c in spec if c.get("needed") and c["key"] not in cols]
    if missing:   # a renamed header: going on would silently drop what the column holds
        return [], [f"Tab {sheet}: kolom {', '.join(missing)} tidak ditemukan pada baris judul (baris "
                    f"{header_at}); mungkin judulnya diganti. Kembalikan judul kolom persis seperti semula. "
                    f"Daftar OPD tidak dipakai sampai diperbaiki: siklus berhenti tanpa mengubah apa pun."]
    opds, notes, seen, rows = [], [], {}, 0
    headers = {c["key"]: c["header"] for c in spec}
    for r, row in enumerate(grid[header_at:], start=header_at + 1):
        get = lambda key: row[cols[key] - 1] if key in cols and cols[key] - 1 < len(row) else None  # noqa: E731
        if all(is_blank(get(c["key"])) for c in spec):
            continue
        rows += 1
        code, name = as_text(get("kode") or ""), as_text(get("nama") or "")
        if not code or not name:
            notes.append(f"Daftar OPD baris {r}: Kode OPD dan Nama OPD wajib diisi; baris dilewati.")
            continue
        aktif = get("aktif")   # not `or ""`: an unticked checkbox (False) or 0 means inactive
        if not is_blank(aktif) and as_text(aktif).casefold() in ("tidak", "no", "n", "false", "0", "nonaktif"):
            continue
        if code.casefold() in seen:   # dinsos beside DINSOS: one file name on Windows, one OPD to KPK
            first = seen[code.casefold()]
            same = "" if first == code else f" (ditulis {first}; huruf besar/kecil tidak membedakan kode)"
            notes.append(f"Daftar OPD baris {r}: Kode OPD {code} sudah dipakai di baris lain{same}; baris dilewati.")
            continue
        form_keys, unknown = _forms(get("formulir"), forms)
        if unknown:
            notes.append(f"Daftar OPD baris {r}: formulir tidak dikenal: {', '.join(unknown)} "
                         f"(pilihan: {', '.join(f.key for f in forms)}).")
        seen[code.casefold()] = code
        problems = []
        if unknown:   # in the OPD's own Rekap row too: the log alone is missed, and a tab goes unchecked
            problems.append(Problem("REG_FORM_UNKNOWN", {
                "baris": r, "formulir": shown_value(", ".join(unknown)),
                "dipakai": ", ".join(forms[k].sheet for k in form_keys) or "tidak ada",
                "pilihan": ", ".join(f.key for f in forms)}))
        addresses = {}
        for key in ("email_kontak", "email_kepala"):
            addresses[key], bad = parse_addresses(get(key))
            problems += [Problem("REG_EMAIL_INVALID", {"baris": r, "kolom": headers[key],
                                                       "alamat": shown_value(part), "alasan": why})
                         for part, why in bad]
        opds.append(Opd(code, name, addresses["email_kontak"], addresses["email_kepala"], form_keys,
                        as_text(get("berkas") or "")[:MAX_CELL], r, tuple(problems),
                        _obligations(forms, cols, get)))
    if not rows:
        notes.append(f"Tab {sheet} tidak berisi satu baris OPD pun (hanya judul kolom). Daftar OPD tidak "
                     f"dipakai: siklus berhenti tanpa mengubah apa pun (memori OPD dan Rekap tetap). Isi "
                     f"kembali Daftar OPD atau pulihkan master dari cadangan.")
    return opds, notes


# What the Inspektorat types for "done" (a ticked checkbox reads as True).
_DONE = ("sudah", "ya", "y", "yes", "true", "1", "selesai", "done", "ada", "✓", "✔", "v")
# ... and as the first word of a longer note ("Sdh, 12 titik", "Ya, sudah", "Telah dipasang");
# √ is the check mark many type from Excel's symbol list.
_DONE_FIRST = ("sudah", "sdh", "telah", "ya", "selesai", "ok", "√", "✓", "✔")


def _obligations(forms: FormSet, cols: dict, get) -> tuple:
    out = []
    for ob in forms.obligations:
        if ob["done"] not in cols:
            continue                      # a master without the column: not tracked
        value = get(ob["done"])
        done = "" if value is None else as_text(value).casefold().strip(" .")[:40]
        evidence = as_text(get(ob.get("evidence")) or "")[:MAX_CELL] if ob.get("evidence") else ""
        first = re.split(r"[\s,.;:/()-]+", done, maxsplit=1)[0]
        out.append((ob["key"], done in _DONE or done.startswith("sudah") or first in _DONE_FIRST, evidence))
    return tuple(out)


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


def parse_registry_csv(text: str, forms: FormSet) -> list[list]:
    """A registry typed as CSV (config/opd.example.csv): its rows in registry column
    order, header not included; the one CSV reader for provision and the demo. Excel in
    an Indonesian locale saves CSV with ';' (a comma is the decimal sign there), and
    a contact cell may hold "a@x.go.id, b@x.go.id": the separator is the one the header
    line uses most (header names hold none)."""
    head = next((line for line in text.splitlines() if line.strip()), "")
    sep = max(",;\t", key=head.count)
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=sep) if any(c.strip() for c in r)]
    if not rows:
        return []
    spec = forms.registry["columns"]
    where = {}
    for i, h in enumerate(rows[0]):
        for c in spec:
            if norm_header(h) == norm_header(c["header"]):
                where.setdefault(c["key"], i)
    missing = [c["header"] for c in spec if c.get("required") and c["key"] not in where]
    if missing:
        raise ValueError(f"kolom {', '.join(missing)} tidak ada di baris judul CSV.")
    return [[(r[where[c["key"]]].strip() if c["key"] in where and where[c["key"]] < len(r) else "")
             for c in spec] for r in rows[1:]]
