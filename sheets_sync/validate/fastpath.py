"""Column-at-a-time accept-only checks on Arrow (RE2): texts, names, phones, e-mails.

`candidates` picks, from a column's distinct raw values, the texts that are
certainly *clean*: printable ASCII (spaces the only white space, so Python's
strip() and split() mean spaces only), stripped of the spaces around them, not
starting with '#' (a formula error), no longer than the cell cap, and not able to
be a placeholder ("-", "tidak ada"). Only those reach the checks below; every
other value goes to the per-value rules in fields.py, unchanged.

Each check takes such clean strings and returns, per string, the normalised
value when it is *certainly* fine, or null. Null only means "ask fields.py": the
per-value rules (phonenumbers, email-validator) still decide every value not
accepted here. The patterns are the ones in fields.py's fast paths, written for
RE2 (ASCII classes spelled out, no look-ahead), so an accepted value is one the
authority accepts with the same normalised form. Tests and
benchmarks/validate_bench.py compare against the per-row reference.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sheets_sync.validate import fields
from sheets_sync.validate.fields import MONTHS, ID_METADATA, SPECIAL_USE_DOMAINS

_M = ID_METADATA.mobile.national_number_pattern.replace(r"\d", "[0-9]")
_LOCAL = r"[A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
_EMAIL = rf"^{_LOCAL}@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}$"
_SPECIAL = r"(?i)\.(?:" + "|".join(sorted(SPECIAL_USE_DOMAINS)) + r")$"
# Printable ASCII: no white space but the space, no letter outside A-Z/a-z, no
# invisible mark.
def candidates(values: np.ndarray, max_chars: int, heads: frozenset, words: frozenset = frozenset(),
               numbers: bool = False) -> tuple[pa.Array, pa.Array]:
    """(The values as an Arrow string array, null where a value is not a clean text
    (see the module doc); the values that are texts, as they are, null elsewhere). `heads`,
    `words`: as in fields.is_placeholder and frame._one (a text is a placeholder when
    its first two characters, lower case, are in `heads` and it reads as one of
    `words` or a run of dashes/dots). numbers=True: whole numbers (ints, integral
    floats below 1e16) stand as their digits, as fields.as_text reads them (phones)."""
    kinds = fields.types_of(values)
    is_text = kinds == str
    texts = np.where(is_text, values, None)
    if numbers:
        _whole_numbers_as_digits(values, kinds, texts)
    raw = _strings(texts)
    a = pc.utf8_trim(raw, " ")                        # = str.strip() on printable ASCII
    size = pc.utf8_length(a)
    ok = pc.and_(pc.and_(pc.greater(size, 0), pc.less_equal(size, max_chars)), pc.invert(pc.starts_with(a, "#")))
    ok = pc.and_(ok, pa.array(_printable(raw)))
    if heads:
        ok = pc.and_(ok, pc.invert(_placeholders(a, heads, words)))
    typed = raw if is_text.all() else pc.if_else(pa.array(is_text), raw, pa.scalar(None, pa.string()))
    return pc.if_else(pc.fill_null(ok, False), a, pa.scalar(None, pa.string())), typed


def _whole_numbers_as_digits(values: np.ndarray, kinds: np.ndarray, texts: np.ndarray) -> None:
    """texts[i] = str(int(v)) for each int or float v that is whole and below 1e16 (as
    fields.as_text reads a number), column at a time."""
    for kind in (int, float):
        at = np.flatnonzero(kinds == kind)
        if not len(at):
            continue
        try:
            nums = values[at].astype(np.int64 if kind is int else np.float64)
        except OverflowError:     # an int past 64 bits: never below 1e16
            nums = np.array([v if abs(v) < 10 ** 16 else 10 ** 16 for v in values[at]], dtype=np.int64)
        bound = 10 ** 16 if kind is int else 1e16   # exact for ints, as Python compares them
        keep = (nums > -bound) & (nums < bound)     # not np.abs: it overflows on the lowest int64
        if kind is float:
            keep &= np.isfinite(nums) & (nums == np.floor(nums))
        texts[at[keep]] = nums[keep].astype(np.int64).astype(str).astype(object)


def _bytes(a: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets from 0, UTF-8 bytes) of a string array, as numpy views."""
    offsets = np.frombuffer(a.buffers()[1], dtype=np.int32)[a.offset:a.offset + len(a) + 1]
    data = a.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
    return offsets - offsets[0], raw[offsets[0]:offsets[-1]]


def _printable(a: pa.Array) -> np.ndarray:
    """Per text: only printable ASCII (the regex ^[ -~]*$), in one numpy pass over
    the column's bytes rather than a regex per text; False for null."""
    offsets, raw = _bytes(a)
    out = np.ones(len(a), dtype=bool)
    bad = np.flatnonzero((raw < 0x20) | (raw > 0x7e))
    out[np.searchsorted(offsets, bad, side="right") - 1] = False
    return out & a.is_valid().to_numpy(zero_copy_only=False)


def _digits(a: pa.Array) -> pa.Array:
    """Each text with every character but 0-9 taken out (the regex [^0-9] replaced by
    ''), by one numpy selection over the column's bytes."""
    offsets, raw = _bytes(a)
    digit = (raw >= 0x30) & (raw <= 0x39)
    before = np.zeros(len(raw) + 1, dtype=np.int32)   # digits before each byte
    np.cumsum(digit, dtype=np.int32, out=before[1:])
    kept = before[offsets]
    valid = pc.is_valid(a).buffers()[1] if a.null_count else None   # a fresh bitmap, from 0
    return pa.StringArray.from_buffers(len(a), pa.py_buffer(kept), pa.py_buffer(raw[digit].tobytes()),
                                       valid, a.null_count)


def _strings(texts) -> pa.Array:
    """Texts (or None) as an Arrow string array; a text UTF-8 cannot hold (a lone
    surrogate) is left out (null), for the per-value rules to decide."""
    try:
        return pa.array(texts, type=pa.string())
    except UnicodeEncodeError:
        return pa.array([t if t is None or _utf8(t) else None for t in texts], type=pa.string())


def _utf8(t: str) -> bool:
    try:
        t.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _placeholders(a: pa.Array, heads: frozenset, words: frozenset) -> pa.Array:
    """fields.is_placeholder behind frame._one's first look, for printable ASCII
    (where casefold() is lower() and the only white space is the space). Only the
    few texts with a placeholder's first two characters are looked at closely."""
    low = pc.ascii_lower(a)
    head = pc.fill_null(pc.is_in(pc.utf8_slice_codeunits(low, 0, 2),
                                 value_set=pa.array(sorted(heads), type=pa.string())), False)
    at = np.flatnonzero(head.to_numpy(zero_copy_only=False))
    out = np.zeros(len(a), dtype=bool)
    if len(at):
        some, few = pc.take(a, at), pc.take(low, at)
        norm = pc.utf8_trim(pc.replace_substring_regex(few, "  +", " "), " .")
        said = pc.or_(pc.is_in(norm, value_set=pa.array(sorted(words), type=pa.string())),
                      pc.match_substring_regex(some, r"^[\-_.]+$"))
        said = pc.and_(said, pc.less_equal(pc.utf8_length(some), fields.PLACEHOLDER_MAX))
        out[at] = pc.fill_null(said, False).to_numpy(zero_copy_only=False)
    return pa.array(out)


def _arrow(texts) -> pa.Array:
    return texts if isinstance(texts, (pa.Array, pa.ChunkedArray)) else pa.array(texts, type=pa.string())


def _out(texts, result: pa.Array):
    """Lists in, list out (tests and small callers); Arrow in, Arrow out."""
    return result if isinstance(texts, (pa.Array, pa.ChunkedArray)) else result.to_pylist()


def texts(values, max_length: int = 300):
    """A clean text with its runs of spaces made one (fields.as_text)."""
    return _out(values, _texts(_arrow(values), max_length, None))


def names(values, max_length: int = 300):
    """texts() that also hold a letter, do not start with a digit and do not end like
    a number in scientific notation (a number is never a name; '1,99E+17' is a NIP
    as a spreadsheet shows it: fields.check_name decides those)."""
    a = _arrow(values)
    ok = pc.and_(pc.match_substring_regex(a, "[A-Za-z]"), pc.invert(pc.match_substring_regex(a, "^[0-9]")))
    # fields._scientific on printable ASCII: a digit (maybe then '.' or ','), spaces, the
    # last e/E, spaces, a sign, spaces, digits to the end
    ok = pc.and_(ok, pc.invert(pc.match_substring_regex(a, "[0-9][.,]? *[eE] *[+-]? *[0-9]+$")))
    return _out(values, _texts(a, max_length, ok))


def _texts(a: pa.Array, max_length: int, ok) -> pa.Array:
    """`a` with runs of spaces made one where that is at most max_length long (and
    `ok`, when given), else null."""
    squeezed = _squeeze(a)
    fits = pc.less_equal(pc.utf8_length(squeezed), max_length)
    keep = fits if ok is None else pc.and_(ok, fits)
    return pc.if_else(pc.fill_null(keep, False), squeezed, pa.scalar(None, pa.string()))


def _squeeze(a: pa.Array) -> pa.Array:
    """Runs of spaces made one; the regex runs only on the few texts holding two
    spaces in a row."""
    two = pc.fill_null(pc.match_substring(a, "  "), False)
    at = np.flatnonzero(two.to_numpy(zero_copy_only=False))
    if not len(at):
        return a
    return pc.replace_with_mask(a, two, pc.replace_substring_regex(pc.take(a, at), "  +", " "))


def phones(values):
    """+62 form of each plainly written Indonesian mobile number, else null."""
    a = _arrow(values)
    # Excel's text marker kept by a CSV ('081234567897): fields._clean_phone drops one
    a = pc.replace_substring_regex(a, r"^'", "", max_replacements=1)
    # a number exported as text ('81234567890.0'): fields._clean_phone cuts at the '.'
    a = pc.replace_substring_regex(a, r"^(\+?[0-9]+)\.0+$", r"\1")
    shape = pc.match_substring_regex(a, r"^\+?[0-9 .\-()]+$")
    d = _digits(a)
    plus = pc.starts_with(a, "+")
    ok = pc.and_(shape, pc.if_else(plus, pc.match_substring_regex(d, f"^62(?:{_M})$"),
                                   pc.match_substring_regex(d, f"^(?:62|0)?(?:{_M})$")))
    nsn = pc.replace_substring_regex(d, r"^(?:62|0)", "", max_replacements=1)
    return _out(values, pc.if_else(pc.fill_null(ok, False), pc.binary_join_element_wise("+62", nsn, ""), None))


def emails(values):
    """local@domain-lower-cased for each plain ASCII address, else null."""
    a = _arrow(values)
    ok = pc.match_substring_regex(a, _EMAIL)
    ok = pc.and_(ok, pc.invert(pc.match_substring_regex(a, r"[@.][A-Za-z0-9\-]{2}--")))
    ok = pc.and_(ok, pc.less_equal(pc.find_substring(a, "@"), 64))   # the local part: ASCII, so bytes
    ok = pc.and_(ok, pc.less_equal(pc.utf8_length(a), 254))
    ok = pc.and_(ok, pc.invert(pc.match_substring_regex(a, _SPECIAL)))
    parts = pc.split_pattern(pc.if_else(pc.fill_null(ok, False), a, pa.scalar(None, pa.string())), "@")
    return _out(values, pc.binary_join_element_wise(pc.list_element(parts, 0),
                                                    pc.ascii_lower(pc.list_element(parts, 1)), "@"))


_DAY_FIRST = [rf"^(?P<d>[0-9]{{1,2}}){sep}(?P<m>[0-9]{{1,2}}){sep}(?P<y>[0-9]{{4}})$" for sep in ("/", "-")]
_DAY_MONTH = r"^(?P<d>[0-9]{1,2}) (?P<m>[A-Za-z]+) (?P<y>[0-9]{4})$"


def dates(values: list) -> list:
    """datetime.date of each text written as 13/10/2023, 13-10-2023 or 13 Oktober
    2023 (fields.parse_date's reading, four-digit years), else None. A day that
    does not exist (31/02/2023) is None: fields says why."""
    a = pc.utf8_trim(_strings([v if type(v) is str else None for v in values]), " ")
    a = pc.if_else(pa.array(_printable(a)), a, pa.scalar(None, pa.string()))
    day, month, year = (np.zeros(len(a), dtype=np.int64) for _ in range(3))
    for rx in _DAY_FIRST + [_DAY_MONTH]:
        parts = pc.extract_regex(a, rx)
        hit = pc.fill_null(pc.is_valid(parts), False).to_numpy(zero_copy_only=False) & (day == 0)
        if not hit.any():
            continue
        m = pc.struct_field(parts, "m")
        if rx == _DAY_MONTH:
            names = pc.ascii_lower(m).to_numpy(zero_copy_only=False)
            m = pa.array([MONTHS.get(n, 0) if h else 0 for n, h in zip(names, hit)], type=pa.int64())
        for arr, key in ((day, "d"), (year, "y")):
            arr[hit] = pc.cast(pc.struct_field(parts, key), pa.int64()).to_numpy(zero_copy_only=False)[hit]
        month[hit] = pc.cast(m, pa.int64()).to_numpy(zero_copy_only=False)[hit]
    ok = (day > 0) & (month > 0) & (year >= 1900)
    when = pd.to_datetime(pd.DataFrame({"year": np.where(ok, year, 2000), "month": np.where(ok, month, 1),
                                        "day": np.where(ok, day, 1)}), errors="coerce")
    real = ok & when.notna().to_numpy()
    found = when.dt.date.to_numpy(dtype=object)
    return np.where(real, found, None).tolist()
