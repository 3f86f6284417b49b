"""Cell values: USER_ENTERED parsing, number/date formats and value rendering.

Dates are stored the way Sheets stores them: as serial numbers (days since
1899-12-30) with a DATE / TIME / DATE_TIME number format on the cell.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any, Dict, Optional, Tuple

EPOCH = _dt.datetime(1899, 12, 30)

_MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July",
              "August", "September", "October", "November", "December"]
_DAYS_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTHS_ID = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli",
              "Agustus", "September", "Oktober", "November", "Desember"]
_MONTHS_ID_ABBR = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"]
_DAYS_ID = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]

_BASE = {
    "decimal": ".", "group": ",", "order": "MDY", "date": "M/d/yyyy",
    "time": "h:mm:ss am/pm", "datetime": "M/d/yyyy H:mm:ss",
    "months": _MONTHS_EN, "months_abbr": [m[:3] for m in _MONTHS_EN], "days": _DAYS_EN,
    "currency": '"$"#,##0.00',
}


def _loc(**kw):
    d = dict(_BASE)
    d.update(kw)
    return d


LOCALES: Dict[str, Dict[str, Any]] = {
    "en_US": _loc(),
    "en_GB": _loc(order="DMY", date="dd/MM/yyyy", time="HH:mm:ss", datetime="dd/MM/yyyy HH:mm:ss",
                  currency='"£"#,##0.00'),
    "en_AU": _loc(order="DMY", date="d/MM/yyyy", datetime="d/MM/yyyy H:mm:ss"),
    "id_ID": _loc(decimal=",", group=".", order="DMY", date="dd/MM/yyyy", time="HH.mm.ss",
                  datetime="dd/MM/yyyy HH.mm.ss", months=_MONTHS_ID, months_abbr=_MONTHS_ID_ABBR,
                  days=_DAYS_ID, currency='"Rp"#,##0.00'),
    "fr_FR": _loc(decimal=",", group="\u202f", order="DMY", date="dd/MM/yyyy", time="HH:mm:ss",
                  datetime="dd/MM/yyyy HH:mm:ss", currency='#,##0.00\u00a0"€"'),
    "de_DE": _loc(decimal=",", group=".", order="DMY", date="dd.MM.yyyy", time="HH:mm:ss",
                  datetime="dd.MM.yyyy HH:mm:ss", currency='#,##0.00\u00a0"€"'),
    "nl_NL": _loc(decimal=",", group=".", order="DMY", date="d-M-yyyy", time="HH:mm:ss",
                  datetime="d-M-yyyy HH:mm:ss"),
    "es_ES": _loc(decimal=",", group=".", order="DMY", date="d/MM/yyyy", time="H:mm:ss",
                  datetime="d/MM/yyyy H:mm:ss"),
    "pt_BR": _loc(decimal=",", group=".", order="DMY", date="dd/MM/yyyy", time="HH:mm:ss",
                  datetime="dd/MM/yyyy HH:mm:ss"),
    "ja_JP": _loc(order="YMD", date="yyyy/MM/dd", time="H:mm:ss", datetime="yyyy/MM/dd H:mm:ss"),
}


def locale_info(locale: Optional[str]) -> Dict[str, Any]:
    if locale in LOCALES:
        return LOCALES[locale]
    lang = (locale or "").split("_")[0]
    if lang == "en":
        return LOCALES["en_GB"] if locale not in ("en_US", "en") else LOCALES["en_US"]
    for key, info in LOCALES.items():
        if key.split("_")[0] == lang:
            return info
    return LOCALES["en_US"]


# --------------------------------------------------------------------------- serials

def datetime_to_serial(value: _dt.datetime) -> float:
    delta = value - EPOCH
    return delta.days + delta.seconds / 86400.0 + delta.microseconds / 86400e6


def date_to_serial(value: _dt.date) -> int:
    return (value - EPOCH.date()).days


def serial_to_datetime(serial: float) -> _dt.datetime:
    days = math.floor(serial)
    secs = round((serial - days) * 86400)
    return EPOCH + _dt.timedelta(days=days, seconds=secs)


def json_number(value: Any) -> Any:
    """Floats that are whole become ints, as Google's JSON does."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
        return int(value)
    return value


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# --------------------------------------------------------------------------- errors

class FormulaError:
    """An error value (#DIV/0! ...) produced by a formula."""

    __slots__ = ("code", "type", "message")
    TYPES = {"#NULL!": "NULL_VALUE", "#DIV/0!": "DIVIDE_BY_ZERO", "#VALUE!": "VALUE",
             "#REF!": "REF", "#NAME?": "NAME", "#NUM!": "NUM", "#N/A": "N_A", "#ERROR!": "ERROR"}

    def __init__(self, code: str, message: str = ""):
        self.code = code
        self.type = self.TYPES.get(code, "ERROR")
        self.message = message or code

    def __repr__(self):
        return f"FormulaError({self.code!r})"


# --------------------------------------------------------------------------- formatting

def format_general(value: float, loc: Dict[str, Any]) -> str:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return "#NUM!"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        text = str(int(value))
    elif value != 0 and (abs(value) >= 1e15 or abs(value) < 1e-9):
        mant, exp = f"{value:.5E}".split("E")
        mant = mant.rstrip("0").rstrip(".")
        text = f"{mant}E{'+' if int(exp) >= 0 else '-'}{abs(int(exp)):02d}"
    else:
        text = f"{value:.10f}".rstrip("0").rstrip(".")
        if text in ("-0", ""):
            text = "0"
    if loc["decimal"] != ".":
        text = text.replace(".", loc["decimal"])
    return text


def _group(digits: str, sep: str) -> str:
    out = []
    while len(digits) > 3:
        out.insert(0, digits[-3:])
        digits = digits[:-3]
    out.insert(0, digits)
    return sep.join(out)


def _split_pattern(pattern: str):
    """Split a number pattern into literal/number tokens."""
    tokens = []
    i = 0
    lit = ""
    core = ""
    in_core = False
    while i < len(pattern):
        ch = pattern[i]
        if ch == '"':
            j = pattern.find('"', i + 1)
            j = len(pattern) if j < 0 else j
            lit += pattern[i + 1:j]
            i = j + 1
            continue
        if ch == "\\" and i + 1 < len(pattern):
            lit += pattern[i + 1]
            i += 2
            continue
        if ch == "[":
            j = pattern.find("]", i)
            j = len(pattern) - 1 if j < 0 else j
            inner = pattern[i + 1:j]
            if inner.startswith("$"):
                lit += inner[1:].split("-")[0]
            i = j + 1
            continue
        if ch in "0#?,." or (ch in "Ee" and core and i + 1 < len(pattern) and pattern[i + 1] in "+-"):
            if not in_core and core:
                # a second numeric run: treat as literal
                lit += ch
                i += 1
                continue
            if lit:
                tokens.append(("lit", lit))
                lit = ""
            in_core = True
            if ch in "Ee":
                core += pattern[i:i + 2]
                i += 2
                while i < len(pattern) and pattern[i] in "0#":
                    core += pattern[i]
                    i += 1
                continue
            core += ch
            i += 1
            continue
        if in_core:
            tokens.append(("num", core))
            in_core = False
        if ch == "_" and i + 1 < len(pattern):
            lit += " "
            i += 2
            continue
        if ch == "*" and i + 1 < len(pattern):
            i += 2
            continue
        lit += ch
        i += 1
    if in_core:
        tokens.append(("num", core))
    if lit:
        tokens.append(("lit", lit))
    return tokens


def format_with_pattern(value: float, pattern: str, loc: Dict[str, Any]) -> str:
    sections = pattern.split(";")
    section = sections[0]
    negative_section = False
    if value < 0 and len(sections) > 1 and sections[1]:
        section = sections[1]
        negative_section = True
        value = -value
    elif value == 0 and len(sections) > 2 and sections[2]:
        section = sections[2]
    tokens = _split_pattern(section)
    if "%" in "".join(t[1] for t in tokens if t[0] == "lit"):
        value = value * 100
    cores = [t for t in tokens if t[0] == "num"]
    if not cores:
        return "".join(t[1] for t in tokens)
    core = cores[0][1]
    sci = re.search(r"[Ee][+-]", core)
    if sci:
        mant_pat = core[:sci.start()]
        decimals = len(mant_pat.split(".")[1]) if "." in mant_pat else 0
        mant, exp = f"{abs(value):.{decimals}E}".split("E")
        exp_digits = len(core[sci.start() + 2:]) or 2
        number = f"{mant}E{'+' if int(exp) >= 0 else '-'}{abs(int(exp)):0{exp_digits}d}"
        number = number.replace(".", loc["decimal"])
    else:
        int_pat, _, frac_pat = core.partition(".")
        grouping = "," in int_pat
        while int_pat.endswith(","):  # trailing commas scale by 1000
            int_pat = int_pat[:-1]
            value = value / 1000.0
        int_pat = int_pat.replace(",", "")
        min_frac = frac_pat.count("0")
        max_frac = len(frac_pat.replace(",", ""))
        text = f"{abs(value):.{max_frac}f}"
        ipart, _, fpart = text.partition(".")
        while len(fpart) > min_frac and fpart.endswith("0"):
            fpart = fpart[:-1]
        min_int = int_pat.count("0")
        if ipart == "0" and min_int == 0:
            ipart = ""
        ipart = ipart.rjust(min_int, "0")
        if grouping and ipart:
            ipart = _group(ipart, loc["group"])
        number = ipart + (loc["decimal"] + fpart if fpart else "")
        if not number:
            number = "0"
    if value < 0 and not negative_section and float(re.sub(r"[^0-9]", "", number) or 0) != 0:
        number = "-" + number
    out = []
    placed = False
    for kind, text in tokens:
        if kind == "num":
            if not placed:
                out.append(number)
                placed = True
        else:
            out.append(text)
    return "".join(out)


_DATE_TOKEN = re.compile(
    r'"[^"]*"|\\.|am/pm|AM/PM|a/p|A/P|yyyy|yy|y|mmmmm|mmmm|mmm|mm|m|MMMM|MMM|MM|M|dddd|ddd|dd|d|'
    r'hh|h|HH|H|ss|s|\.0+|.', re.S)


def format_datetime(serial: float, pattern: str, loc: Dict[str, Any]) -> str:
    try:
        value = serial_to_datetime(serial)
    except (OverflowError, ValueError):
        return format_general(serial, loc)
    tokens = _DATE_TOKEN.findall(pattern)
    ampm = any(t.lower() in ("am/pm", "a/p") for t in tokens)
    kinds = []
    for t in tokens:
        low = t.lower()
        if low.startswith("y"):
            kinds.append("y")
        elif low.startswith("m") and low not in ("am/pm",):
            kinds.append("m")
        elif low.startswith("d"):
            kinds.append("d")
        elif low.startswith("h"):
            kinds.append("h")
        elif low.startswith("s"):
            kinds.append("s")
        else:
            kinds.append(None)
    out = []
    for i, t in enumerate(tokens):
        low = t.lower()
        kind = kinds[i]
        if kind == "m":
            prev = next((k for k in reversed(kinds[:i]) if k), None)
            nxt = next((k for k in kinds[i + 1:] if k), None)
            if len(t) <= 2 and (prev == "h" or nxt == "s"):
                out.append(f"{value.minute:02d}" if len(t) == 2 else str(value.minute))
            elif len(t) == 1:
                out.append(str(value.month))
            elif len(t) == 2:
                out.append(f"{value.month:02d}")
            elif len(t) == 3:
                out.append(loc["months_abbr"][value.month - 1])
            elif len(t) == 4:
                out.append(loc["months"][value.month - 1])
            else:
                out.append(loc["months"][value.month - 1][0])
        elif kind == "y":
            out.append(f"{value.year % 100:02d}" if len(t) <= 2 else f"{value.year:04d}")
        elif kind == "d":
            if len(t) == 1:
                out.append(str(value.day))
            elif len(t) == 2:
                out.append(f"{value.day:02d}")
            elif len(t) == 3:
                out.append(loc["days"][value.weekday()][:3])
            else:
                out.append(loc["days"][value.weekday()])
        elif kind == "h":
            hour = value.hour
            if ampm:
                hour = hour % 12 or 12
            out.append(f"{hour:02d}" if len(t) == 2 else str(hour))
        elif kind == "s":
            out.append(f"{value.second:02d}" if len(t) == 2 else str(value.second))
        elif low == "am/pm":
            text = "AM" if value.hour < 12 else "PM"
            out.append(text if t == "AM/PM" else text.lower() if t == "am/pm" else text)
        elif low == "a/p":
            out.append("A" if value.hour < 12 else "P")
        elif t.startswith('"'):
            out.append(t[1:-1])
        elif t.startswith("\\"):
            out.append(t[1:])
        elif t.startswith(".0"):
            out.append("." + "0" * (len(t) - 1))
        else:
            out.append(t)
    return "".join(out)


DATE_TYPES = ("DATE", "TIME", "DATE_TIME")


def format_number(value: float, number_format: Optional[Dict[str, Any]], loc: Dict[str, Any]) -> str:
    nf = number_format or {}
    ftype = nf.get("type")
    pattern = nf.get("pattern") or ""
    if ftype in DATE_TYPES:
        if not pattern:
            pattern = {"DATE": loc["date"], "TIME": loc["time"], "DATE_TIME": loc["datetime"]}[ftype]
        return format_datetime(value, pattern, loc)
    if ftype in (None, "NUMBER_FORMAT_TYPE_UNSPECIFIED", "TEXT") or (not pattern and ftype == "NUMBER"):
        if ftype == "NUMBER" and not pattern:
            pattern = "#,##0.00"
        else:
            return format_general(value, loc)
    if not pattern:
        pattern = {"PERCENT": "0.00%", "CURRENCY": loc["currency"], "SCIENTIFIC": "0.00E+00"}.get(ftype, "")
        if not pattern:
            return format_general(value, loc)
    try:
        return format_with_pattern(value, pattern, loc)
    except (ValueError, IndexError):
        return format_general(value, loc)


# --------------------------------------------------------------------------- parsing

def _number_regex(loc: Dict[str, Any]):
    g = re.escape(loc["group"])
    d = re.escape(loc["decimal"])
    return re.compile(
        rf"^(?P<sign>[+-]?)(?P<int>\d+|\d{{1,3}}(?:{g}\d{{3}})+)?(?:{d}(?P<frac>\d+))?"
        rf"(?:[eE](?P<exp>[+-]?\d+))?$")


_NUM_RE_CACHE: Dict[str, Any] = {}


def parse_number(text: str, loc: Dict[str, Any]) -> Optional[Tuple[float, Optional[Dict[str, str]]]]:
    """Parse a typed number; returns (value, auto number format or None)."""
    s = text.strip()
    if not s:
        return None
    fmt: Optional[Dict[str, str]] = None
    percent = False
    currency = None
    if s.endswith("%"):
        percent = True
        s = s[:-1].strip()
    for sym in ("$", "Rp", "€", "£"):
        if s.startswith(sym) or s.startswith("-" + sym):
            neg = s.startswith("-")
            s = ("-" if neg else "") + s[len(sym) + (1 if neg else 0):].strip()
            currency = sym
            break
    key = loc["decimal"] + loc["group"]
    rx = _NUM_RE_CACHE.get(key)
    if rx is None:
        rx = _NUM_RE_CACHE[key] = _number_regex(loc)
    m = rx.match(s)
    if not m or (m.group("int") is None and m.group("frac") is None):
        return None
    int_part = (m.group("int") or "0").replace(loc["group"], "")
    frac = m.group("frac") or ""
    value: float = float(f"{int_part}.{frac}" if frac else int_part)  # Sheets keeps doubles
    if m.group("exp"):
        value = value * (10 ** int(m.group("exp")))
        fmt = {"type": "SCIENTIFIC", "pattern": "0.00E+00"}
    if m.group("sign") == "-":
        value = -value
    grouped = m.group("int") is not None and loc["group"] in (m.group("int") or "")
    if percent:
        value = value / 100.0
        fmt = {"type": "PERCENT", "pattern": "0.00%" if frac else "0%"}
    elif currency:
        fmt = {"type": "CURRENCY", "pattern": f'"{currency}"#,##0.00'}
    elif grouped:
        fmt = {"type": "NUMBER", "pattern": "#,##0.00" if frac else "#,##0"}
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15 and not frac and not percent \
            and not m.group("exp"):
        value = int(value)
    return value, fmt


_ISO_DATE = re.compile(r"^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_LOCAL_DATE = re.compile(r"^(\d{1,2})([-/.])(\d{1,2})(?:\2(\d{2}|\d{4}))?(?:\s+(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?)?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?$")


def _mk_datetime(y, mo, d, hh=None, mi=None, ss=None):
    try:
        return _dt.datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0))
    except ValueError:
        return None


_NAMED_DAY_FIRST = re.compile(r"^(\d{1,2})[ \-/.]+([^\W\d_]{3,})\.?[ \-/.,]+(\d{4}|\d{2})$")
_NAMED_MONTH_FIRST = re.compile(r"^([^\W\d_]{3,})\.?[ \-/]+(\d{1,2}),?[ \-/]+(\d{4})$")
_EXTRA_ABBR = {"agt": 8, "ags": 8, "sept": 9}


def _month_number(name: str, loc: Dict[str, Any]) -> Tuple[Optional[int], bool]:
    """(month, full name?) for an English or locale month name or abbreviation."""
    low = name.lower()
    for names, abbrs in ((loc["months"], loc["months_abbr"]), (_MONTHS_EN, [m[:3] for m in _MONTHS_EN])):
        for i, (full, abbr) in enumerate(zip(names, abbrs)):
            if low == full.lower():
                return i + 1, True
            if low == abbr.lower():
                return i + 1, False
    return _EXTRA_ABBR.get(low), False


def _named_date(s: str, loc: Dict[str, Any]):
    m = _NAMED_DAY_FIRST.match(s)
    if m:
        month, full = _month_number(m.group(2), loc)
        if month is None:
            return None
        y = int(m.group(3))
        y = y if len(m.group(3)) == 4 else (2000 + y if y < 30 else 1900 + y)
        value = _mk_datetime(y, month, m.group(1))
        pattern = "d mmmm yyyy" if full else "d mmm yyyy"
    else:
        m = _NAMED_MONTH_FIRST.match(s)
        if not m:
            return None
        month, full = _month_number(m.group(1), loc)
        if month is None:
            return None
        value = _mk_datetime(m.group(3), month, m.group(2))
        pattern = "mmmm d, yyyy" if full else "mmm d, yyyy"
    if value is None:
        return None
    return date_to_serial(value.date()), {"type": "DATE", "pattern": pattern}


def parse_date(text: str, loc: Dict[str, Any], today: Optional[_dt.date] = None):
    """Parse a typed date/time; returns (serial, number format) or None."""
    s = text.strip()
    named = _named_date(s, loc)
    if named is not None:
        return named
    m = _ISO_DATE.match(s)
    if m:
        y, sep, mo, d, hh, mi, ss = m.groups()
        value = _mk_datetime(y, mo, d, hh, mi, ss)
        if value is None:
            return None
        sep_pat = {"-": "yyyy-mm-dd", "/": "yyyy/mm/dd", ".": "yyyy.mm.dd"}[sep]
        if hh is not None:
            return datetime_to_serial(value), {"type": "DATE_TIME", "pattern": sep_pat + " H:mm:ss"}
        return date_to_serial(value.date()), {"type": "DATE", "pattern": sep_pat}
    m = _LOCAL_DATE.match(s)
    if m and loc["order"] in ("MDY", "DMY"):
        a, sep, b, y, hh, mi, ss = m.groups()
        if sep == "." and y is None:
            return None  # "1.5" is a number-ish, not a date
        if loc["order"] == "MDY":
            mo, d = a, b
        else:
            d, mo = a, b
        if y is None:
            y = (today or _dt.date.today()).year
        elif len(y) == 2:
            y = 2000 + int(y) if int(y) < 30 else 1900 + int(y)
        value = _mk_datetime(y, mo, d, hh, mi, ss)
        if value is None:
            return None
        if hh is not None:
            return datetime_to_serial(value), {"type": "DATE_TIME", "pattern": loc["datetime"]}
        return date_to_serial(value.date()), {"type": "DATE", "pattern": loc["date"]}
    m = _TIME.match(s)
    if m:
        hh, mi, ss, ap = m.groups()
        hh, mi, ss = int(hh), int(mi), int(ss or 0)
        if ap:
            if not 1 <= hh <= 12:
                return None
            hh = hh % 12 + (12 if ap.lower() == "pm" else 0)
        if hh > 23 or mi > 59 or ss > 59:
            return None
        return (hh * 3600 + mi * 60 + ss) / 86400.0, {"type": "TIME", "pattern": loc["time"]}
    return None


def parse_user_entered(value: Any, loc: Dict[str, Any], text_format: bool):
    """Interpret one value written with valueInputOption=USER_ENTERED.

    Returns (kind, value, auto number format) with kind one of
    "empty", "string", "number", "bool", "formula".
    """
    if value is None:
        return "skip", None, None
    if isinstance(value, bool):
        return "bool", value, None
    if is_number(value):
        return "number", value, None
    s = str(value)
    if s == "":
        return "empty", None, None
    if text_format:
        return "string", s, None
    if s.startswith("'"):
        return "string", s[1:], None
    if s.startswith("=") and len(s) > 1:
        return "formula", s, None
    if s.upper() in ("TRUE", "FALSE"):
        return "bool", s.upper() == "TRUE", None
    num = parse_number(s, loc)
    if num is not None:
        return "number", num[0], num[1]
    date = parse_date(s, loc)
    if date is not None:
        return "number", date[0], date[1]
    return "string", s, None
