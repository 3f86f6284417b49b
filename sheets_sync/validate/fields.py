"""Rules for single cell values: phone, e-mail, date, choice, text.

Each checker takes one raw cell value (str, int, float, datetime, None...) and
returns a `Check(value, code, params)`: the normalised value, or a problem code from
codes.py. frame.py applies them once per distinct value of a column, to the values
fastpath.py (column at a time, Arrow) did not already accept.

Phones and e-mails have two implementations that must agree on every input:
`*_reference` calls phonenumbers / email-validator on every value (the authority),
while `check_phone` / `check_email` first try a fast path that only *accepts*
values the authority provably accepts with the same normalised form, and hand
everything else to the reference. Tests (test_fast_equals_reference.py) and
benchmarks/validate_bench.py hold the fast paths to identical verdicts.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from typing import NamedTuple

import email_validator
import numpy as np
import pandas as pd
import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberType, ValidationResult

from sheets_sync.forms import norm_choice, norm_placeholder


class Check(NamedTuple):
    value: object = None          # normalised value, None when missing or invalid
    code: str | None = None       # problem code, None when fine
    params: dict | None = None    # placeholders for the message


MISSING = Check(None, "MISSING")
CELL_ERROR_RE = re.compile(r"^#(REF!|N/A|VALUE!|DIV/0!|NAME\?|NULL!|NUM!|ERROR!|SPILL!|CALC!|GETTING_DATA)$", re.I)
_LETTER = re.compile(r"[^\W\d_]")


_TYPE = np.frompyfunc(type, 1, 1)


def types_of(values: np.ndarray) -> np.ndarray:
    """The type of each value of an object array (a C loop, no Python call per value),
    for column-at-a-time code that treats text, numbers and dates apart."""
    return _TYPE(values) if len(values) else np.empty(0, dtype=object)


def is_blank(v) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return not v.strip()
    if isinstance(v, float):
        return math.isnan(v)
    return v is pd.NA or v is pd.NaT


# Zero-width space, word joiner, zero-width no-break space (a BOM pasted mid-text): they
# do not show in a sheet, and "Agus\u200b Salim" went to KPK as typed. Not ZWJ/ZWNJ:
# emoji sequences and some scripts need them. (The fast path takes printable ASCII only.)
_INVISIBLE = str.maketrans("", "", "\u200b\u2060\ufeff")


def as_text(v) -> str:
    """How a cell reads as text: 12.0 -> '12', datetimes as dd/mm/yyyy, spaces collapsed,
    invisible spaces (_INVISIBLE) dropped."""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e16:
        v = int(v)
    elif isinstance(v, (dt.datetime, dt.date)):
        v = v.strftime("%d/%m/%Y")
    return " ".join(str(v).translate(_INVISIBLE).split())


# A cell of only dashes, dots or underscores ("---", "…") says "none" as well.
_FILLER = re.compile("[\\-\u2010-\u2015\u2212_.\u2026]+")
PLACEHOLDER_MAX = 40   # longer texts are never a "none" word: no work for them


def is_placeholder(t: str, words: frozenset) -> bool:
    """A stripped text that staff typed to say "none" (forms.yaml `placeholders`)."""
    if not t or len(t) > PLACEHOLDER_MAX:
        return False
    return norm_placeholder(t) in words or _FILLER.fullmatch(t) is not None


_FILLER_STARTS = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212_.\u2026")


def placeholder_heads(words: frozenset) -> frozenset:
    """The first two characters (lower case) a placeholder may start with: a cheap
    filter so that phones and almost every name never get normalised."""
    return frozenset(w[:2] for w in words if w) | {a + b for a in _FILLER_STARTS for b in _FILLER_STARTS} \
        | _FILLER_STARTS


def cell_error(v) -> str | None:
    """Spreadsheet error values (#REF!, #N/A...) that a formula left in the cell."""
    if isinstance(v, str) and len(v) < 20 and CELL_ERROR_RE.match(v.strip()):
        return v.strip().upper()
    return None


# ---------------------------------------------------------------- text & names
def check_text(v, max_length: int = 300) -> Check:
    t = as_text(v)
    if len(t) > max_length:
        return Check(None, "TEXT_TOO_LONG", {"panjang": len(t), "maks": max_length})
    bad = control_char(t)
    if bad:
        return Check(None, "TEXT_CONTROL_CHARS", {"kode": bad})
    return Check(t)


# Control characters (Unicode Cc) that as_text's collapsing of white space leaves: NUL,
# backspace, escape, DEL, C1. Invisible in a sheet, they travel into KPK's files.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")


def control_char(t: str) -> str | None:
    """'U+0000' for the first control character of a text, or None."""
    m = _CONTROL.search(t)
    return f"U+{ord(m.group()):04X}" if m else None


# Bidirectional embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069):
# invisible, they make a name show differently from what it holds (issue 10).
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def has_bidi_controls(t: str) -> bool:
    return not t.isascii() and _BIDI.search(t) is not None


def check_name(v, max_length: int = 300) -> Check:
    # A number is never a name, whatever its float form: an 18-digit NIP that Excel
    # keeps as 1.99e+17 reads as text with a letter 'e' in it.
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return Check(None, "NAME_NO_LETTERS")
    c = check_text(v, max_length)
    if c.code is None and _scientific(c.value):
        return Check(None, "NAME_NO_LETTERS")
    if c.code is None and has_bidi_controls(c.value):
        return Check(None, "NAME_BIDI")
    if c.code is None and not _LETTER.search(c.value):
        return Check(None, "NAME_NO_LETTERS")
    return c


# ---------------------------------------------------------------------- phones
ID_METADATA = PhoneMetadata.metadata_for_region("ID")
# Indonesian mobile national numbers, straight from phonenumbers' metadata. No
# other ID number type (fixed line, toll free, premium, UAN...) can match it: they
# start with 1-7, 9 or 80x, and it starts with 8[1-35-9].
_MOBILE_NSN = re.compile(ID_METADATA.mobile.national_number_pattern, re.ASCII)
_PHONE_CHARS = re.compile(r"^\+?[\d\s.\-()/]*$")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()]")
# A digit, 5+ more number characters, a separator, then another number. Written to be
# linear in the cell's length: a try starts only where a run of number characters
# starts (look-behind) and never gives characters back (possessive), so a long run
# is scanned once, not once per starting digit (32,767 digits took 31 s).
_TWO_NUMBERS = re.compile(r"(?<![\d\s.\-()])[\s.\-()]*+\d[\d\s.\-()]{5,}+[/,;|&]\s*+[+(]?\d")


# Dashes people and WhatsApp put between digit groups (non-breaking hyphen, en dash...).
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"), "-")
_FLOAT_TEXT = re.compile(r"\+?\d+\.0+")


def _scientific(s: str) -> bool:
    r"""Ends like 8,12E+10 (what a spreadsheet shows for a long number): the same as
    re.search(r"\d[.,]?\d*\s*[eE]\s*[+-]?\s*\d+$", s), in one pass. The exponent
    has no 'e', so the E is the last e/E of the text; before it, maybe after spaces,
    a digit or a digit and one '.' or ','."""
    k = max(s.rfind("e"), s.rfind("E"))
    if k < 1:
        return False
    tail = s[k + 1:]
    if tail.endswith("\n"):          # '$' also matches before a final line break
        tail = tail[:-1]
    tail = tail.lstrip()
    if tail[:1] in ("+", "-"):
        tail = tail[1:].lstrip()
    if not tail.isdecimal():
        return False
    head = s[:k].rstrip()
    return head[-1:].isdecimal() or (head[-1:] in (".", ",") and head[-2:-1].isdecimal())


def _no_format_marks(s: str) -> str:
    """Drop invisible format characters (Unicode Cf) that copy-paste brings along."""
    return "".join(ch for ch in s if unicodedata.category(ch) != "Cf") if not s.isascii() else s


def _clean_phone(s: str) -> str:
    """What a person means, from what a copy-paste or an export left in the cell:
    invisible format marks (WhatsApp wraps numbers in U+202A/U+202C), Unicode
    dashes, Excel's text marker (one leading apostrophe, kept literally in a CSV:
    '081234567897), a '.0' a numeric export appended, a plus inside a bracket '(+62)',
    a trailing ';' or ','."""
    s = _no_format_marks(s).translate(_DASHES).strip()
    if s[:1] == "'":     # only the one: the marker is a single apostrophe
        s = s[1:]
    if _FLOAT_TEXT.fullmatch(s):
        s = s[:s.index(".")]
    s = s.rstrip(";,").strip()
    if re.match(r"\(\s*\+", s):
        s = "+" + s.replace("+", "", 1)
    return s


def _phone_text(v):
    """Common first step of both phone paths: a Check for early verdicts, or
    (text_for_parsing, nsn_guess) where text has only digits and maybe a '+'."""
    if is_blank(v):
        return MISSING
    if isinstance(v, bool) or isinstance(v, (dt.date, dt.datetime, dt.time)):
        return Check(None, "PHONE_INVALID")
    if isinstance(v, float):
        if not v.is_integer() or abs(v) >= 1e16:
            return Check(None, "PHONE_INVALID")
        v = int(v)
    s = _clean_phone(str(v))
    if _scientific(s):
        return Check(None, "PHONE_SCIENTIFIC")
    if _LETTER.search(s):
        return Check(None, "PHONE_HAS_LETTERS")
    if _TWO_NUMBERS.search(s):
        return Check(None, "PHONE_MULTIPLE")
    if not _PHONE_CHARS.match(s) or "/" in s:
        return Check(None, "PHONE_INVALID")
    digits = re.sub(r"\D", "", s)
    if not digits:
        return Check(None, "PHONE_INVALID")
    if not s.startswith("+") and digits.startswith("0062"):
        digits = digits[2:]   # 00 is the international dialling prefix: 0062 = +62
    if s.startswith("+") or digits.startswith("62"):
        # 62812... is +62 812...: people type the country code without the plus.
        return "+" + digits, digits[2:] if digits.startswith("62") else None
    return digits, digits[1:] if digits.startswith("0") else digits


def phone_reference(v) -> Check:
    """The authority: phonenumbers on every value."""
    pre = _phone_text(v)
    if isinstance(pre, Check):
        return pre
    text, _ = pre
    return _classify(text)


def check_phone(v) -> Check:
    """Same verdict as phone_reference, fast for well-formed mobiles."""
    pre = _phone_text(v)
    if isinstance(pre, Check):
        return pre
    text, nsn = pre
    if nsn is not None and _MOBILE_NSN.fullmatch(nsn):
        return Check("+62" + nsn)
    return _verdict(_id_number(text) or _parse(text))


_PARSE_ERRORS = {
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "PHONE_TOO_SHORT",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "PHONE_TOO_SHORT",
    phonenumbers.NumberParseException.TOO_LONG: "PHONE_TOO_LONG",
}


def _classify(text: str) -> Check:
    return _verdict(_parse(text))


def _parse(text: str):
    """phonenumbers.parse, or the Check its error means."""
    try:
        return phonenumbers.parse(text, "ID")
    except phonenumbers.NumberParseException as e:
        return Check(None, _PARSE_ERRORS.get(e.error_type, "PHONE_INVALID"))


# An Indonesian number written 0NSN or +62NSN, NSN not starting with 0, of a length
# the ID metadata calls possible (not local-only): phonenumbers.parse reads it as
# exactly (62, NSN). For "0..." the national prefix is always stripped (ID's general
# pattern matches nothing that starts 0[1-9], and the stripped length is possible);
# "+62" is the country code and NSN has no prefix to strip. Parsing is most of the
# cost of a landline, too short or too long number, so check_phone skips it there.
_NSN_LENGTHS = frozenset(ID_METADATA.general_desc.possible_length) \
    - frozenset(ID_METADATA.general_desc.possible_length_local_only or ())
_ID_TEXT = re.compile(r"(?:0|\+62)([1-9][0-9]*)", re.ASCII)


def _id_number(text: str):
    m = _ID_TEXT.fullmatch(text)
    if m is None or len(m[1]) not in _NSN_LENGTHS or len(m[1]) > 17:
        return None
    return phonenumbers.PhoneNumber(country_code=62, national_number=int(m[1]))


def _verdict(n) -> Check:
    """The verdict on a parsed number (or the Check a parse error gave)."""
    if isinstance(n, Check):
        return n
    if n.country_code != 62:
        return Check(None, "PHONE_FOREIGN")
    kind = phonenumbers.number_type(n)
    if kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return Check(phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164))
    if kind == PhoneNumberType.FIXED_LINE:
        return Check(None, "PHONE_LANDLINE")
    if str(n.national_number).startswith("8"):
        why = phonenumbers.is_possible_number_for_type_with_reason(n, PhoneNumberType.MOBILE)
        if why == ValidationResult.TOO_SHORT:
            return Check(None, "PHONE_TOO_SHORT")
        if why == ValidationResult.TOO_LONG:
            return Check(None, "PHONE_TOO_LONG")
    return Check(None, "PHONE_INVALID")


# ---------------------------------------------------------------------- e-mail
_ATEXT = r"[A-Za-z0-9_+\-]+"
_LABEL = r"(?!..--)[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
# Plain ASCII addresses that email-validator accepts unchanged except for the
# domain being lower-cased. Anything else goes to email-validator itself.
_SIMPLE_EMAIL = re.compile(
    rf"(?P<local>{_ATEXT}(?:\.{_ATEXT})*)@(?P<domain>(?:{_LABEL}\.)+(?P<tld>[A-Za-z]{{2,63}}))"
)
SPECIAL_USE_DOMAINS = set(email_validator.SPECIAL_USE_DOMAIN_NAMES)


def email_reference(v) -> Check:
    if is_blank(v):
        return MISSING
    if not isinstance(v, str):
        return Check(None, "EMAIL_INVALID", {"alasan": "bukan alamat e-mail"})
    s = _no_format_marks(v).strip()
    try:
        r = email_validator.validate_email(s, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return email_problem(s)
    return Check(r.normalized)


_SPECIAL_SUFFIXES = tuple("." + d for d in SPECIAL_USE_DOMAINS)
# The same names in a fixed order (a set's order changes between runs), the longest
# first: a message names 'home.arpa', not 'arpa'.
_SPECIAL_LONGEST_FIRST = tuple(sorted(SPECIAL_USE_DOMAINS, key=lambda d: (-len(d), d)))


def fast_email(s: str) -> str | None:
    """Normalised form of a plain ASCII address (a stripped str) that
    email-validator accepts unchanged but for the lower-cased domain, else None."""
    m = _SIMPLE_EMAIL.fullmatch(s)
    if m is None or len(m["local"]) > 64 or len(s) > 254:
        return None
    domain = m["domain"].lower()
    if domain.endswith(_SPECIAL_SUFFIXES):
        return None
    return m["local"] + "@" + domain


def check_email(v) -> Check:
    if isinstance(v, str):
        s = _no_format_marks(v).strip()
        hit = fast_email(s)
        if hit:
            return Check(hit)
        if s and surely_invalid_email(s):
            return email_problem(s)
    return email_reference(v)


_NOT_PLAIN = frozenset('"<>[]\\')   # quoting, display names, domain literals, escapes


def surely_invalid_email(s: str) -> bool:
    """A stripped printable ASCII text that email-validator rejects whatever its
    options' details: no '@' or more than one (no quoting), two dots in a row, a dot
    at either end of the local part or the domain, or a domain without a dot (not
    deliverable). Saves email-validator's work on the usual typing slips; every other
    text is still decided by email-validator."""
    if not (s.isascii() and s.isprintable()) or not _NOT_PLAIN.isdisjoint(s):
        return False
    if s.count("@") != 1:
        return True
    local, domain = s.split("@")
    return ".." in s or "." not in domain or local[:1] == "." or local[-1:] == "." \
        or domain[:1] == "." or domain[-1:] == "."


# Between two addresses typed in one cell: ; , / | or white space.
_ADDRESS_GAPS = re.compile(r"[\s;,/|]+")


def email_problem(s: str) -> Check:
    """The verdict on a stripped text email-validator rejects (or surely would): two
    addresses in one cell are EMAIL_MULTIPLE ("isi satu e-mail saja", as PHONE_MULTIPLE
    for two numbers), anything else EMAIL_INVALID with the reason."""
    if s.count("@") > 1 and sum("@" in w[1:-1] for w in _ADDRESS_GAPS.split(s)) > 1:
        return Check(None, "EMAIL_MULTIPLE")
    return Check(None, "EMAIL_INVALID", {"alasan": _email_reason(s)})


# What email-validator takes in an address, ASCII: the local part's atext and dots
# (no quoting), the domain's letters, digits, hyphens and dots.
_LOCAL_ASCII = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~.")
_DOMAIN_ASCII = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")


def _bad_char(local: str, domain: str) -> str | None:
    """The first character of an address that email-validator never takes: outside
    the ASCII sets above, or (not ASCII) invisible in the local part and anything but
    a letter, digit or mark in the domain (IDNA)."""
    for part, ascii_ok, other_ok in ((local, _LOCAL_ASCII, "LNMPS"), (domain, _DOMAIN_ASCII, "LNM")):
        for ch in part:
            if ch in ascii_ok:
                continue
            if ch.isascii() or unicodedata.category(ch)[0] not in other_ok:
                return ch
    return None


def _shown(ch: str) -> str:
    """One character quoted for a message: ',' or "'"; an invisible one by its code."""
    if not ch.isprintable() or ch.isspace():
        return f"tak terlihat U+{ord(ch):04X}"
    return f'"{ch}"' if ch == "'" else f"'{ch}'"


def _email_reason(s: str) -> str:
    """A short Indonesian reason staff can act on: what to change, never the address
    (a single character at most, quoted)."""
    if s[:7].casefold() == "mailto:":
        return "hapus 'mailto:' di depan alamat"
    if "@" not in s:
        return "tidak ada tanda @"
    if s.count("@") > 1:
        return "tanda @ lebih dari satu"
    if re.search(r"\s", s):
        return "ada spasi"
    local, _, domain = s.partition("@")
    if not local:
        return "tidak ada nama sebelum @"
    bad = _bad_char(local, domain)   # first: "gmail,com" is a comma typed for a dot, not a short domain
    if bad is not None:
        return f"karakter {_shown(bad)} tidak boleh"
    if "." not in domain:
        return "alamat setelah @ tidak lengkap, mis. gmail.com"
    if domain.endswith(".") and ".." not in s:
        return "hapus titik di akhir alamat"
    if ".." in s or local.startswith(".") or local.endswith(".") or domain.startswith("."):
        return "ada titik di tempat yang salah"
    labels = domain.casefold().split(".")
    if any(label.startswith("-") or label.endswith("-") for label in labels):
        return "tanda - tidak boleh di awal atau akhir bagian domain"
    special = next((d for d in _SPECIAL_LONGEST_FIRST if domain.casefold().endswith("." + d)
                    or domain.casefold() == d), None)
    if special:
        return f"domain .{special} tidak dapat menerima e-mail"
    if not labels[-1].isalpha() and not labels[-1].startswith("xn--"):
        return "akhiran domain salah, mis. .com atau .id"
    return "ada karakter yang tidak boleh"


# "/" and "|" are legal in an address's local part, but in a cell that holds an
# address and an e-mail they separate the two ("Jl. Merdeka 1/budi@gmail.com").
_EMAIL_DELIMITERS = re.compile(r"[\s;,<>()\[\]\"':/|]+")


def email_candidates(text: str) -> list[str]:
    """The words of a text that may be an e-mail: an '@' with something on both sides.
    Split, then test each word (linear); the same as findall of
    [^D]+@[^D]+, which tried every start of a long word (quadratic)."""
    return [w for w in _EMAIL_DELIMITERS.split(text) if "@" in w[1:-1]]


def check_address_email(v, max_length: int = 300, email_check=None) -> Check:
    """'Alamat & e-mail' share one cell in the circular: find exactly one e-mail."""
    t = check_text(v, max_length)
    if t.code:
        return t
    found = []
    for cand in email_candidates(t.value):
        c = (email_check or check_email)(cand.rstrip("."))
        if c.code is None and c.value not in found:
            found.append(c.value)
    if not found:
        return Check(None, "ADDRESS_EMAIL_NONE")
    extra = {"email": found[0], "text": t.value}
    return Check(extra, "ADDRESS_EMAIL_MULTIPLE" if len(found) > 1 else None)


# ----------------------------------------------------------------------- dates
SHEETS_EPOCH = dt.date(1899, 12, 30)
MONTHS = {
    "januari": 1, "jan": 1, "january": 1, "februari": 2, "feb": 2, "pebruari": 2, "peb": 2,
    "february": 2, "maret": 3, "mar": 3, "march": 3, "april": 4, "apr": 4, "mei": 5,
    "may": 5, "juni": 6, "jun": 6, "june": 6, "juli": 7, "jul": 7, "july": 7,
    "agustus": 8, "agu": 8, "agt": 8, "ags": 8, "aug": 8, "august": 8, "september": 9,
    "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "oct": 10, "october": 10,
    "november": 11, "nov": 11, "nopember": 11, "nop": 11, "desember": 12, "des": 12,
    "dec": 12, "december": 12,
}
# A time after the date ("10:00", "pukul 10.00 WIB") is allowed and ignored.
_TIME = r"(?:(?:[ T]+|\s*,?\s*(?:pukul|pkl\.?|jam)\s*)\d{1,2}[:.]\d{2}(?:[:.]\d{2}(?:\.\d+)?)?(?:\s*wib)?)?"
_DMY = re.compile(r"(\d{1,2})\s*([/\-. ])\s*(\d{1,2})\s*\2\s*(\d{4}|\d{2})" + _TIME)
_YMD = re.compile(r"(\d{4})\s*([/\-.])\s*(\d{1,2})\s*\2\s*(\d{1,2})" + _TIME)
_D_MONTH_Y = re.compile(r"(\d{1,2})[\s\-/.]*([a-z]+)\.?[\s\-/.,]*(\d{4}|\d{2})" + _TIME)
_MONTH_D_Y = re.compile(r"([a-z]+)\.?\s*(\d{1,2}),?\s*(\d{4})" + _TIME)
# "Senin, 13 Oktober 2023": a weekday in front says nothing the date does not.
_WEEKDAY = re.compile(r"^(?:senin|selasa|rabu|kamis|jumat|jum'at|sabtu|minggu|ahad|monday|tuesday|"
                      r"wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|sat|sun)\.?,?\s*")
SERIAL_MAX = 2958465  # 31/12/9999


def parse_date(v) -> Check:
    """Any date a person or a spreadsheet puts in a cell -> datetime.date."""
    if is_blank(v):
        return MISSING
    if isinstance(v, dt.datetime):
        return Check(v.date())
    if isinstance(v, dt.date):
        return Check(v)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return _from_serial(v)
    s = as_text(_no_format_marks(v) if isinstance(v, str) else v)
    # Only a number cell is a serial number. Text never is: digits typed as text (a
    # cell formatted as Teks, any CSV cell) are what a person wrote, and "2020" is a
    # year, not 12/07/1905. (Other number types, e.g. numpy's, still read as numbers.)
    if not isinstance(v, str) and re.fullmatch(r"\d{1,7}(?:[.,]\d+)?", s):
        return _from_serial(float(s.replace(",", ".")))
    s = _WEEKDAY.sub("", s.casefold())
    for rx, order in ((_DMY, "dmy"), (_YMD, "ymd"), (_D_MONTH_Y, "dMy"), (_MONTH_D_Y, "Mdy")):
        m = rx.fullmatch(s)
        if m:
            return _build(m, order, v)
    return _incomplete(s, v)


# Parts of a date without the rest: a day and a month without the year ("15/10",
# "15 Oktober"), or no day ("2020", "10/2023", "Oktober 2023", "2023-10", "12").
# Separators are bounded and quantifiers possessive: linear in the text's length.
_SEP = r"\s{0,2}+[/\-.]\s{0,2}+|\s{1,2}+"
_NO_YEAR_DM = re.compile(rf"(\d{{1,2}})(?:{_SEP})(\d{{1,2}})")
_NO_YEAR_DMONTH = re.compile(r"(\d{1,2})[\s\-/.]{0,3}+([a-z]{3,9}+)\.?")
_NO_DAY = re.compile(rf"(?:(\d{{1,2}})(?:{_SEP})|([a-z]{{3,9}}+)\.?[\s\-/.,]{{0,3}}+)?(\d{{4}})")
_NO_DAY_YM = re.compile(rf"(\d{{4}})(?:{_SEP})(\d{{1,2}})")
_ALONE = re.compile(r"(\d{1,2})|([a-z]{3,9}+)\.?")


def _incomplete(s: str, raw) -> Check:
    """The verdict on a text no date pattern took (`s`: casefolded, weekday gone):
    DATE_NO_YEAR for a day and a month, DATE_INCOMPLETE for a year, a month or a day
    alone, else DATE_INVALID. Only real days, months and years count: '45/99' or
    'Foo 2023' stay not a date."""
    said = {"nilai": as_text(raw)}
    m = _NO_YEAR_DM.fullmatch(s)
    if m and 1 <= int(m[1]) <= 31 and 1 <= int(m[2]) <= 12:
        return Check(None, "DATE_NO_YEAR", said)
    m = _NO_YEAR_DMONTH.fullmatch(s)
    if m and 1 <= int(m[1]) <= 31 and m[2] in MONTHS:
        return Check(None, "DATE_NO_YEAR", said)
    m = _NO_DAY.fullmatch(s)
    if m and 1900 <= int(m[3]) <= 2100 and (m[1] is None or 1 <= int(m[1]) <= 12) \
            and (m[2] is None or m[2] in MONTHS):
        return Check(None, "DATE_INCOMPLETE", said)
    m = _NO_DAY_YM.fullmatch(s)
    if m and 1900 <= int(m[1]) <= 2100 and 1 <= int(m[2]) <= 12:
        return Check(None, "DATE_INCOMPLETE", said)
    m = _ALONE.fullmatch(s)
    if m and (m[2] in MONTHS if m[2] else 1 <= int(m[1]) <= 31):
        return Check(None, "DATE_INCOMPLETE", said)
    return Check(None, "DATE_INVALID")


def _from_serial(x: float) -> Check:
    if not (1 <= x <= SERIAL_MAX) or math.isnan(x):
        return Check(None, "DATE_INVALID")
    return Check(SHEETS_EPOCH + dt.timedelta(days=int(x)))


def _build(m, order: str, raw) -> Check:
    if order == "dmy":
        d, mo, y = int(m[1]), int(m[3]), m[4]
    elif order == "ymd":
        y, mo, d = m[1], int(m[3]), int(m[4])
    else:
        name, d, y = (m[2], int(m[1]), m[3]) if order == "dMy" else (m[1], int(m[2]), m[3])
        mo = MONTHS.get(name)
        if mo is None:
            return Check(None, "DATE_INVALID")
    if len(y) == 2:  # 13/10/23: two-digit years are this century ('0023' is not)
        y = "20" + y
    y = int(y)
    if y < 1900:
        return Check(None, "DATE_INVALID")
    try:
        return Check(dt.date(y, mo, d))
    except ValueError:
        return Check(None, "DATE_IMPOSSIBLE", {"nilai": as_text(raw)})


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months earlier (31 March -> 28/29 February)."""
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    m += 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(y, m, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


# --------------------------------------------------------------------- choices
# Numbering staff put before a choice: "1.", "12)", "(3)", "a.", "iv.", "-", "•", or "1 "
# as in the circular's table.
_LEADING_NUMBER = re.compile(r"^\s*(?:\(?(?:\d{1,2}|[a-z]|[ivx]{1,4})\s*[.)]|\d{1,2}\s|"
                             r"[-\u2010-\u2015*\u2022\u00b7\u25cf\u25aa>]+)\s*", re.I)
AMBIGUOUS = ""   # a key that names more than one choice


def choice_key(text: str) -> str:
    """Choices compare ignoring case, every space ("bekerja sama" = "bekerjasama")
    and a trailing full stop."""
    return norm_choice(text).replace(" ", "")


def choice_lookup(choices, aliases=None) -> dict[str, str]:
    """key -> choice: each choice, its short form before the bracket ("Saber Pungli
    Kepolisian") and the aliases (OCR slips). A short form shared by two different
    choices maps to AMBIGUOUS; a full text always wins over a short form."""
    table: dict[str, str] = {choice_key(c): c for c in choices}
    full = set(table)
    for c in choices:
        short = str(c).split("(", 1)[0]
        k = choice_key(short)
        if short != c and k and k not in full:
            table[k] = c if table.get(k, c) == c else AMBIGUOUS
    targets = set(table.values())
    for alias, target in (aliases or {}).items():
        if target in targets:       # a season's own slot list (aturan.slot_ahli) may lack it
            table[choice_key(alias)] = target
    return table


def slot_list(slots) -> str:
    """The slots for a message: numbered as in the circular, each in its short form."""
    return "; ".join(f"{i}. {str(c).split('(', 1)[0].strip()}" for i, c in enumerate(slots, 1))


def check_choice(v, table: dict[str, str], count: int = 0, slots=()) -> Check:
    """A choice written loosely: numbering before it, any spacing, the short form,
    an alias. No match, or a text pointing at two slots, is SALAH with the list
    (`slots`: the choices in order; default the table's)."""
    text = as_text(v)
    hit = table.get(choice_key(text))       # as written first: a choice may start with a number
    key = choice_key(_LEADING_NUMBER.sub("", text, count=1))
    hit = hit or table.get(key)
    if hit:
        return Check(hit)
    slots = slots or list(dict.fromkeys(c for c in table.values() if c))
    params = {"jumlah": count or len(set(v for v in table.values() if v)), "pilihan": slot_list(slots)}
    two = hit == AMBIGUOUS or len(_partly(key, table)) > 1
    return Check(None, "CHOICE_AMBIGUOUS" if two else "CHOICE_INVALID", params)


def _partly(key: str, table: dict[str, str]) -> set[str]:
    """Choices a text that matched none points at: it starts one's short form
    ("Saber Pungli") or holds one's short form ("DPRD / Aktivis"). Never a match
    by itself (that would not be safe), only to tell "two slots" from "no slot"."""
    if len(key) < 4:
        return set()
    out = set()
    for c in dict.fromkeys(v for v in table.values() if v):
        short = choice_key(str(c).split("(", 1)[0])
        if len(short) >= 4 and (short.startswith(key) or short in key):
            out.add(c)
    return out
