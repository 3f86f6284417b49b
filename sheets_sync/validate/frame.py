"""Validate one form's rows: DataFrame in, verdicts out. No I/O.

Input: a DataFrame whose columns are the form's column keys and whose index is
the sheet's own row numbers, holding raw cell values. Output: a FormResult with
one status per non-empty row (OK / PERIKSA / SALAH), every problem as data (row,
column, code, severity, message), and the normalised values.

Vectorised the pandas way: each column is factorised, each rule runs once per
*distinct* value (fields.py), and results are spread back with numpy take. Dates,
units and job titles repeat a lot; names, phones and e-mails rarely do, which is
why fastpath.py checks the plainly written ones column at a time first.
"""
from __future__ import annotations

import datetime as dt
import difflib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sheets_sync import codes
from sheets_sync.validate import fastpath, fields
from sheets_sync.codes import OK, PERIKSA, SALAH
from sheets_sync.validate.fields import Check
from sheets_sync.forms import Column, Form

PROBLEM_COLUMNS = ["row", "column", "code", "severity", "message"]
_STATUS_BY_RANK = np.array([OK, PERIKSA, SALAH], dtype=object)
MAX_NOTE = 1000  # a Keterangan cell stays readable
DISTINCT_TYPES = {"phone", "email", "name"}   # factorising these costs more than it saves
PARALLEL_ROWS = 20_000
_COST_RANK = {"phone": 0, "email": 1, "address_email": 1, "name": 2, "date": 3}
# Characters of one cell the rules look at; a longer cell is SALAH (CELL_TOO_LONG) without
# running any rule, so no rule ever sees more (settings: limits.cell_chars, same default).
MAX_CELL_CHARS = 1_000


@dataclass
class FormResult:
    form: str
    status: pd.Series                 # index: sheet row number
    problems: pd.DataFrame            # PROBLEM_COLUMNS
    normalized: pd.DataFrame          # index: sheet row number; columns: keys
    headers: dict = field(default_factory=dict)

    @property
    def rows(self) -> pd.Index:
        return self.status.index

    def counts(self) -> dict[str, int]:
        vc = self.status.value_counts()
        return {s: int(vc.get(s, 0)) for s in (OK, PERIKSA, SALAH)}

    def notes(self) -> pd.Series:
        """The Keterangan text per row ('' for OK rows)."""
        cached = self.__dict__.get("_notes")
        if cached is not None and cached[0] is self.problems:
            return cached[1]
        out = self._notes()
        self.__dict__["_notes"] = (self.problems, out)
        return out

    def _notes(self) -> pd.Series:
        """Messages joined per row in their order, without a Python-level groupby:
        a stable sort by row, then one object-array reduceat (C loop of str +)."""
        out = np.full(len(self.status), "", dtype=object)
        if len(self.problems):
            pos = self.status.index.get_indexer(self.problems["row"])
            order = np.argsort(pos, kind="stable")
            pos = pos[order]
            msgs = self.problems["message"].to_numpy(dtype=object)[order] + " "
            starts = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]])
            joined = np.add.reduceat(msgs, starts)
            out[pos[starts]] = [t[:-1][:MAX_NOTE] for t in joined.tolist()]
        return pd.Series(out, index=self.status.index, dtype=object)

    def records(self, start: int = 0, stop: int | None = None) -> list[dict]:
        """The JSON shape of `validate --json`: one object per non-empty row (those
        from position `start` to `stop`). Built column at a time: each normalised column
        is made JSON-ready once (by its value types), each problem becomes its message
        object once, then rows are zipped. (The CLI writes this shape's text without
        the dicts: validate/jsonout.py.)"""
        status = self.status.iloc[start:stop]
        keys = list(self.normalized.columns)
        cols = [self.json_column(k, start, stop) for k in keys]
        normalized = [dict(zip(keys, vals)) for vals in zip(*cols)] if keys else [{} for _ in status]
        return [{"row": row, "status": s, "messages": msgs, "normalized": norm}
                for row, s, msgs, norm in zip(status.index.astype("int64").tolist(), status.tolist(),
                                              self._messages()[start:stop], normalized)]

    def json_column(self, key: str, start: int = 0, stop: int | None = None) -> list:
        """One normalised column's values (positions `start` to `stop`) as JSON takes
        them: dates as ISO text, NaN as null..."""
        return _jsonable_column(self.normalized[key].iloc[start:stop].to_numpy(dtype=object))

    def _messages(self) -> list[list[dict]]:
        """Per row (status order): its problems as {code, column, message}, in order."""
        out: list[list[dict]] = [[] for _ in range(len(self.status))]
        if len(self.problems):
            p = self.problems
            pos = self.status.index.get_indexer(p["row"])
            objs = [{"code": c, "column": k, "message": m}
                    for c, k, m in zip(p["code"].tolist(), p["column"].tolist(), p["message"].tolist())]
            for i, obj in zip(pos.tolist(), objs):   # appends only: one per problem, in order
                if i >= 0:
                    out[i].append(obj)
        return out

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_notes"}

    def with_problems(self, extra: pd.DataFrame) -> "FormResult":
        """A copy with more problems (e.g. cross-OPD duplicates), statuses re-derived."""
        if extra is None or extra.empty:
            return self
        problems = pd.concat([self.problems, extra[PROBLEM_COLUMNS]], ignore_index=True)
        status = _statuses(self.status.index, problems)
        return FormResult(self.form, status, problems, self.normalized, self.headers)


_PLAIN = {str, int, bool, type(None)}


def _jsonable_column(arr: np.ndarray) -> list:
    """A normalised column as JSON values: as it is when it holds only JSON's own
    types (the usual case, decided once per column); a date column (dates repeat a
    lot) each distinct date once; else value by value."""
    values = arr.tolist()
    types = set(map(type, values))
    if types <= _PLAIN:
        return values
    if types - {type(None)} == {dt.date}:   # the usual date column: plain dates
        return [None if v is None else v.isoformat() for v in values]
    if len(types - {type(None)}) == 1 and types & {dt.date, dt.datetime}:
        ids, uniq = pd.factorize(arr, use_na_sentinel=True)   # -1 (None) takes the last slot
        return np.array([_jsonable(v) for v in uniq.tolist()] + [None], dtype=object).take(ids).tolist()
    empty = pd.isna(arr)
    return [None if e else _jsonable(v) for v, e in zip(values, empty.tolist())]


def _jsonable(v):
    """Strict JSON whatever a cell held (NaN, infinity, times, durations...)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, (dt.date, dt.datetime, dt.time)):
        return v.isoformat()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


# --------------------------------------------------------------------- helpers
class ColumnCheck:
    """One column, checked once per distinct value: is it blank, a formula error,
    and what the type's rule says. Arrays are per row.

    The fast path runs first, column at a time: on the raw values (`fast.raw`,
    dates) or on the clean texts fastpath.candidates picks (Arrow). It only
    accepts; every value it leaves (about 10 %) is decided here one by one, by
    the same rules as the reference."""

    def __init__(self, series: pd.Series, fn, fast=None, reference: bool = False,
                 distinct: bool = False, max_chars: int = MAX_CELL_CHARS, empty: frozenset = frozenset(),
                 numbers: bool = False):
        arr = series.to_numpy(dtype=object)
        if reference or distinct:   # reference: every value through the rule; distinct:
            ids, uniq = None, arr   # phones/e-mails/names rarely repeat (no ids: no take)
        else:
            ids, uniq = _factorize(arr)
        n = len(uniq)
        heads = fields.placeholder_heads(empty)   # a cheap first look; few texts go further
        vals = np.full(n + 1, None, dtype=object)
        if fast is not None and n and not reference:
            if getattr(fast, "raw", False):
                vals[:n] = fast(uniq, heads)
            else:
                clean, raw = fastpath.candidates(uniq, max_chars, heads, empty, numbers=numbers)
                vals[:n] = _accepted(fast(clean), uniq, raw)
        cods = np.full(n + 1, None, dtype=object)
        pars = np.full(n + 1, None, dtype=object)
        cods[n] = "MISSING"   # factorize's NA sentinel (-1) takes the last slot
        slow = np.flatnonzero(pd.isna(vals[:n]))
        for i in slow.tolist():
            vals[i], cods[i], pars[i] = _one(uniq[i], fn, max_chars, heads, empty)
        masks = _masks(cods, slow)
        per_row = (lambda a: a[:n]) if ids is None else (lambda a: a.take(ids))  # noqa: E731
        self.values, self.codes, self.params = per_row(vals), per_row(cods), per_row(pars)
        self.blank, self.error, self.flagged = (per_row(masks[k]) for k in ("blank", "error", "flagged"))


def _masks(cods: np.ndarray, slow: np.ndarray) -> dict[str, np.ndarray]:
    """Per distinct value: blank (MISSING, and the NA slot at the end), formula error,
    or flagged by its rule. Only the few values the slow path saw can hold a code, so
    only those are compared (no comparison of object arrays per row)."""
    said = cods[slow]
    masks = {k: np.zeros(len(cods), dtype=bool) for k in ("blank", "error", "flagged")}
    masks["blank"][-1] = True
    masks["blank"][slow[said == "MISSING"]] = True
    masks["error"][slow[said == "CELL_ERROR"]] = True
    masks["flagged"][slow[pd.notna(said) & (said != "MISSING") & (said != "CELL_ERROR")]] = True
    return masks


def _accepted(result: pa.Array, values: np.ndarray, raw: pa.Array) -> np.ndarray:
    """An Arrow result of a fast check as objects (None where it did not accept). Where
    it is the text as typed (`raw`: most names and e-mails), the value's own str is
    taken: no second Python object per cell (memory is time on a VM)."""
    same = pc.fill_null(pc.equal(result, raw), False).to_numpy(zero_copy_only=False)
    if not same.any():
        return result.to_numpy(zero_copy_only=False)
    out = np.full(len(values), None, dtype=object)
    out[same] = values[same]
    rest = np.flatnonzero(~same & result.is_valid().to_numpy(zero_copy_only=False))
    if len(rest):
        out[rest] = result.take(pa.array(rest)).to_numpy(zero_copy_only=False)
    return out


def _factorize(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pd.factorize, except that TRUE/FALSE cells stay apart from 1 and 0 (Python
    holds True == 1, and a FALSE cell must not be read as a 0 typed above it)."""
    kinds = fields.types_of(arr)
    bools = np.flatnonzero(kinds == bool)
    if not len(bools):
        return pd.factorize(arr, use_na_sentinel=True)
    keys = arr.copy()
    keys[bools] = np.array([("bool", bool(v)) for v in arr[bools]] + [None], dtype=object)[:-1]
    ids, _ = pd.factorize(keys, use_na_sentinel=True)
    return ids, arr[_first_positions(ids)] if (ids >= 0).any() else np.empty(0, dtype=object)


def _one(v, fn, max_chars: int, heads: frozenset, empty: frozenset) -> tuple:
    """(value, code, params) of one value the fast path left: over the cell cap, a
    placeholder or blank (MISSING: the column's missing rule decides, not its type
    rule), a formula error, or the type's rule."""
    t = v.strip() if type(v) is str else (str(v) if type(v) is int else None)
    if t is not None and len(t) > max_chars:   # no rule (fast or not) sees the text
        return None, "CELL_TOO_LONG", {"panjang": len(t), "maks": max_chars}
    if t and t[:2].lower() in heads and fields.is_placeholder(t, empty):
        return None, "MISSING", None
    if t == "" or (t is None and fields.is_blank(v)):
        return None, "MISSING", None
    if t and t[0] == "#" and fields.cell_error(t):
        return None, "CELL_ERROR", {"nilai": fields.cell_error(t)}
    return tuple(fn(v))


def _date_rules(v, rules: dict, as_of: dt.date) -> Check:
    c = fields.parse_date(v)
    if c.code:
        return c
    d = c.value
    shown = lambda **more: {"tanggal": f"{d:%d/%m/%Y}", "laporan": f"{as_of:%d/%m/%Y}", **more}  # noqa: E731
    if rules.get("not_after_report") and d > as_of:
        return Check(None, "DATE_AFTER_REPORT", shown())
    if rules.get("min_date") and d < _as_date(rules["min_date"]):
        return Check(None, "DATE_TOO_EARLY", shown(batas=f"{_as_date(rules['min_date']):%d/%m/%Y}"))
    months = rules.get("max_age_months")
    if months and d < fields.months_before(as_of, int(months)):
        return Check(None, "DATE_TOO_OLD", shown(bulan=int(months)))
    return c


class _DateFast:
    """Accept-only path for date cells, serial numbers (number cells only: digits in a
    text are never a serial, as in fields.parse_date) and the usual typed dates
    (13/10/2023, 13-10-2023, 13 Oktober 2023) inside the rule's bounds (the common
    case); any other text and anything out of bounds go to _date_rules."""
    raw = True

    def __init__(self, rules: dict, as_of: dt.date):
        lo = [dt.date(1, 1, 1)]
        if rules.get("min_date"):
            lo.append(_as_date(rules["min_date"]))
        if rules.get("max_age_months"):
            lo.append(fields.months_before(as_of, int(rules["max_age_months"])))
        self.lo, self.hi = max(lo), as_of if rules.get("not_after_report") else dt.date.max

    def __call__(self, values, heads: frozenset = frozenset()) -> list:
        """`heads` (the placeholders' first two characters, frame._one) is not needed:
        no text is accepted here that a placeholder could be (fastpath.dates takes only
        day, month and year together)."""
        lo, hi, out, typed = self.lo, self.hi, [], []
        for i, v in enumerate(values):
            t = type(v)
            d = v.date() if t is dt.datetime else v if t is dt.date else \
                fields.SHEETS_EPOCH + dt.timedelta(days=v) if t is int and 1 <= v <= fields.SERIAL_MAX else None
            out.append(d if d is not None and lo <= d <= hi else None)
            if t is str:
                typed.append(i)
        if typed:
            for i, d in zip(typed, fastpath.dates([values[i] for i in typed])):
                out[i] = d if d is not None and lo <= d <= hi else None
        return out


def _as_date(v) -> dt.date:
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))


def checker(col: Column, as_of: dt.date, reference: bool = False):
    """(rule per value, fast accept-only path or None) for a column's type."""
    maxlen = int(col.rules.get("max_length", 300))
    if col.type == "phone":
        return (fields.phone_reference, None) if reference else (fields.check_phone, fastpath.phones)
    if col.type == "email":
        return (fields.email_reference, None) if reference else (fields.check_email, fastpath.emails)
    if col.type == "date":
        return partial(_date_rules, rules=col.rules, as_of=as_of), _DateFast(col.rules, as_of)
    if col.type == "choice":
        choices = col.rules.get("choices", [])
        table = fields.choice_lookup(choices, col.rules.get("choice_aliases"))
        return partial(fields.check_choice, table=table, count=len(choices), slots=tuple(choices)), None
    if col.type == "address_email":
        email = fields.email_reference if reference else fields.check_email
        return partial(fields.check_address_email, max_length=maxlen, email_check=email), None
    if col.type == "name":
        return partial(fields.check_name, max_length=maxlen), partial(fastpath.names, max_length=maxlen)
    return partial(fields.check_text, max_length=maxlen), partial(fastpath.texts, max_length=maxlen)


# ------------------------------------------------------------------ validation
def validate_frame(df: pd.DataFrame, form: Form, as_of: dt.date, reference: bool = False,
                   domains: dict | None = None, max_chars: int = MAX_CELL_CHARS) -> FormResult:
    """Verdicts for one form. reference=True checks every row with phonenumbers and
    email-validator directly (slow; the yardstick for the fast path). `domains` is
    forms.yaml's email_domains (common / real) for the typo check; default: the form's.
    A cell longer than `max_chars` characters is CELL_TOO_LONG and no rule reads it."""
    # Optional columns the sheet does not have (Lampiran III B has no phone or e-mail
    # column) are absent, not empty: no "missing" problem for each of their cells.
    absent = {c.key for c in form.columns if c.header_optional and c.key not in df.columns}
    df = df.reindex(columns=form.keys)
    cols = [c for c in form.columns if c.type != "row_number"]
    domains = form.email_domains if domains is None else domains
    typos = bool(domains.get("common"))
    run = lambda c: _contact_keys(ColumnCheck(  # noqa: E731
        df[c.key], *checker(c, as_of, reference), reference=reference, distinct=c.type in DISTINCT_TYPES,
        max_chars=max_chars, empty=form.placeholders, numbers=c.type == "phone"), c, typos)
    if len(df) >= PARALLEL_ROWS and not reference:
        # Arrow kernels release the GIL: use the 2nd core. The costly columns first, so
        # that the two threads end together (phones, e-mails, names rarely repeat).
        costly = sorted(cols, key=lambda c: _COST_RANK.get(c.type, len(_COST_RANK)))
        with ThreadPoolExecutor(2) as pool:
            checks = dict(zip([c.key for c in costly], pool.map(run, costly)))
    else:
        checks = {c.key: run(c) for c in cols}
    typed = [k for k, c in checks.items() if not form.column(k).prefilled]
    keep = ~np.column_stack([checks[k].blank for k in typed]).all(axis=1) if typed and len(df) \
        else np.zeros(len(df), dtype=bool)
    # Rows that are all blank are dropped; usually there are none, and then no
    # column is copied.
    rows = (lambda a: a) if keep.all() else (lambda a: a[keep])  # noqa: E731
    index = df.index[keep]
    norm: dict[str, np.ndarray] = {}
    found: list[tuple] = []  # (positions, column key, codes, params)
    contact_missing = np.column_stack([rows(checks[k].blank) for k in form.at_least_one]).all(axis=1) \
        if form.at_least_one and len(index) else np.zeros(len(index), dtype=bool)
    unreachable = bool(form.at_least_one) and all(k in absent for k in form.at_least_one)

    for col in form.columns:
        if col.type == "row_number":
            norm[col.key] = np.array(rows(df[col.key].to_numpy(dtype=object)), dtype=object)   # own copy
            continue
        ch = checks[col.key]
        blank, errs, bad = rows(ch.blank), rows(ch.error), rows(ch.flagged)
        vals, cods, pars = rows(ch.values), rows(ch.codes), rows(ch.params)
        found.append((np.flatnonzero(errs), col.key, cods[errs], pars[errs]))
        if col.if_missing and col.key not in absent:
            miss = blank & ~contact_missing if col.key in form.at_least_one else blank
            code = "REQUIRED" if col.if_missing == SALAH else "MISSING_EXPECTED"
            found.append((np.flatnonzero(miss), col.key, np.full(miss.sum(), code, object), None))
        found.append((np.flatnonzero(bad), col.key, cods[bad], pars[bad]))
        vals = np.where(blank | errs, None, vals)
        if col.type == "address_email":
            norm["email"] = np.array([v["email"] if v else None for v in vals], dtype=object)
            vals = np.array([v["text"] if v else None for v in vals], dtype=object)
        norm[col.key] = vals

    if form.at_least_one:
        names = " atau ".join(form.column(k).header for k in form.at_least_one)
        pos = np.flatnonzero(contact_missing)
        code = "CONTACT_UNREACHABLE" if unreachable else "CONTACT_MISSING"
        found.append((pos, form.at_least_one[0], np.full(len(pos), code, object),
                      np.full(len(pos), {"kolom": names}, object)))
    found += _short_tenure(norm, form, as_of)

    # keep None, no Arrow strings; the arrays are this call's own: no copy into one block
    normalized = pd.DataFrame(norm, index=index, dtype=object, copy=False)
    found += _duplicates(form, index, lambda c: rows(checks[c.key].ids) if checks[c.key].ids is not None
                         else _ids(norm["email"], fold=True))
    found += _domain_typos(form, domains, lambda c: (rows(checks[c.key].domains[0]), checks[c.key].domains[1])
                           if checks[c.key].domains is not None else _domains(norm["email"]))
    problems, pos = _problem_frame(found, index, form)
    return FormResult(form.key, _statuses(index, problems, pos), problems, normalized,
                      {c.key: c.header for c in form.columns})


def _short_tenure(norm: dict, form: Form, as_of: dt.date) -> list[tuple]:
    """Season rule masa_kerja_asn_bulan: a date column with min_tenure_months is
    PERIKSA when less than that many months before the report date, for rows whose
    tenure_column holds one of tenure_values (ASN) or is empty or absent (the
    circular's form has no such column: everyone is taken for ASN)."""
    out = []
    for col in form.of_type("date"):
        months = int(col.rules.get("min_tenure_months") or 0)
        if months <= 0:
            continue
        since = fields.months_before(as_of, months)
        dates = norm[col.key]
        kind = norm.get(col.rules.get("tenure_column"))
        wanted = set(col.rules.get("tenure_values") or ())
        pos = [i for i, d in enumerate(dates) if d is not None and d > since
               and (kind is None or kind[i] is None or kind[i] in wanted)]
        if not pos:
            continue
        params = [{"tanggal": f"{dates[i]:%d/%m/%Y}", "minimal": months,
                   "lama": _months_between(dates[i], as_of)} for i in pos]
        out.append((np.array(pos, dtype=np.int64), col.key, np.full(len(pos), "TENURE_SHORT", object),
                    np.array(params, dtype=object)))
    return out


def _months_between(start: dt.date, end: dt.date) -> int:
    """Whole calendar months from start to end (3 Jan -> 2 Feb is 0)."""
    return (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)


def _contact_keys(ch: ColumnCheck, col: Column, typos: bool) -> ColumnCheck:
    """A phone or e-mail column's duplicate ids (rule `unique`) and e-mail domains, per
    row, found in the column's own thread (hashing in Arrow runs beside the other
    columns). An address+e-mail column's e-mails are known later: None here."""
    ch.ids = ch.domains = None
    if col.type != "address_email" and (col.rules.get("unique") or (col.type == "email" and typos)):
        values = np.where(ch.blank | ch.error, None, ch.values)
        if col.rules.get("unique"):
            ch.ids = _ids(values, fold=col.type == "email")
        if col.type == "email" and typos:
            ch.domains = _domains(values)
    return ch


def _duplicates(form: Form, index: pd.Index, ids_of) -> list[tuple]:
    """Later rows repeating a phone or e-mail of an earlier row are SALAH. `ids_of`:
    per column, an id per row (_ids)."""
    out = []
    for col in form.columns:
        if not col.rules.get("unique"):
            continue
        ids = ids_of(col)
        first = _first_positions(ids)
        dup = (ids >= 0) & (first[np.maximum(ids, 0)] != np.arange(len(ids)))
        if not dup.any():
            continue
        rows = index.to_numpy()[first[ids[dup]]]
        code = "DUPLICATE_PHONE" if col.type == "phone" else "DUPLICATE_EMAIL"
        out.append((np.flatnonzero(dup), col.key, np.full(len(rows), code, object),
                    np.array([{"baris": int(r)} for r in rows], dtype=object)))
    return out


def _ids(values: np.ndarray, fold: bool = False) -> np.ndarray:
    """Per value (str or None) an id, numbered in order of first appearance, -1 for
    None; fold=True compares texts case-folded. Hashed in Arrow (C, no Python str
    per row); a text UTF-8 cannot hold (a lone surrogate) falls back to pandas."""
    a = _utf8_or_none(values)
    if a is None:
        keys = np.array([v.casefold() if fold and type(v) is str else v for v in values], dtype=object)
        return pd.factorize(keys, use_na_sentinel=True)[0]
    if fold:
        a = _casefold(a)
    return pc.fill_null(pc.dictionary_encode(a).indices, -1).to_numpy().astype(np.int64)


def _utf8_or_none(values: np.ndarray) -> pa.Array | None:
    try:
        return pa.array(values, type=pa.string())
    except UnicodeEncodeError:
        return None


def _casefold(a: pa.Array) -> pa.Array:
    """str.casefold() of each text: ASCII lower-casing in Arrow (the same on ASCII),
    Python's casefold for the few non-ASCII texts."""
    other = pc.invert(pc.fill_null(pc.string_is_ascii(a), True))
    low = pc.ascii_lower(a)
    at = np.flatnonzero(other.to_numpy(zero_copy_only=False))
    if not len(at):
        return low
    folded = pa.array([t.casefold() for t in pc.take(a, at).to_pylist()], type=pa.string())
    return pc.replace_with_mask(low, other, folded)


def _first_positions(ids: np.ndarray) -> np.ndarray:
    """Per distinct id (-1: none), the position of its first occurrence; no order of
    the ids assumed (rows may have been dropped after they were numbered)."""
    present = np.flatnonzero(ids >= 0)
    first = np.zeros(ids.max() + 1 if len(present) else 1, dtype=np.int64)
    uniq, at = np.unique(ids[present], return_index=True)   # return_index: the first occurrence
    first[uniq] = present[at]
    return first


def _domain_typos(form: Form, domains: dict, domains_of) -> list[tuple]:
    """Valid addresses at a near miss of a common domain (gmail.con): PERIKSA with a
    suggestion. Decided once per distinct domain. `domains_of`: per column, _domains."""
    common, real = tuple(domains.get("common") or ()), frozenset(domains.get("real") or ())
    out = []
    for col in form.columns:
        if col.type not in ("email", "address_email") or not common:
            continue
        ids, doms = domains_of(col)
        hints = np.array([_near_miss(d, common, real) for d in doms] + [None], dtype=object).take(ids)
        pos = np.flatnonzero(pd.notna(hints))
        out.append((pos, col.key, np.full(len(pos), "EMAIL_DOMAIN_TYPO", object),
                    np.array([{"domain": doms[ids[p]], "saran": hints[p]} for p in pos], dtype=object)))
    return out


def _domains(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(id per value, -1 for None; the distinct domains, lower case): the domain is
    what follows the last '@' (str.rsplit), taken and hashed in Arrow."""
    a = _utf8_or_none(values)
    if a is None:
        ids, uniq = pd.factorize(np.array([v.rsplit("@", 1)[1] if type(v) is str else None for v in values],
                                          dtype=object), use_na_sentinel=True)
        return ids, [d.lower() for d in uniq]
    enc = pc.dictionary_encode(pc.list_element(pc.split_pattern(a, "@", max_splits=1, reverse=True), 1))
    ids = pc.fill_null(enc.indices, -1).to_numpy().astype(np.int64)
    return ids, [d.lower() for d in enc.dictionary.to_pylist()]


def _near_miss(domain: str, common: tuple, real: frozenset) -> str | None:
    if domain in common or domain in real:
        return None
    hit = difflib.get_close_matches(domain, common, n=1, cutoff=0.85)
    return hit[0] if hit else None


def _problem_frame(found: list[tuple], index: pd.Index, form: Form) -> tuple[pd.DataFrame, np.ndarray]:
    """(the problems in row order, then column order; their row positions). Built from
    plain arrays and made a DataFrame once."""
    order = {c.key: i for i, c in enumerate(form.columns)}
    found = [(pos, key, cods, pars) for pos, key, cods, pars in found if len(pos)]
    if not found:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in PROBLEM_COLUMNS}), np.zeros(0, dtype=np.int64)
    pos = np.concatenate([f[0] for f in found]).astype(np.int64)
    rank = np.concatenate([np.full(len(f[0]), order[f[1]]) for f in found])
    keys = np.concatenate([np.full(len(f[0]), f[1], object) for f in found])
    found_codes = np.concatenate([np.asarray(f[2], dtype=object) for f in found])
    params = np.concatenate([np.full(len(f[0]), None, object) if f[3] is None else np.asarray(f[3], dtype=object)
                             for f in found])
    sort = np.lexsort((rank, pos))   # stable: ties keep the order they were found in
    pos, keys, found_codes, params = pos[sort], keys[sort].tolist(), found_codes[sort].tolist(), params[sort].tolist()
    headers = {c.key: c.header for c in form.columns}
    severity = {c: codes.severity(c) for c in set(found_codes)}
    plain: dict[tuple, str] = {}   # a message without parameters is rendered once per code and column
    messages = [
        (plain.get((c, k)) or plain.setdefault((c, k), codes.render(c, kolom=headers[k]))) if not prm
        else codes.render(c, kolom=headers[k], **prm) if "kolom" not in prm else codes.render(c, **prm)
        for c, k, prm in zip(found_codes, keys, params)]
    frame = pd.DataFrame({"row": index.to_numpy()[pos], "column": keys, "code": found_codes,
                          "severity": [severity[c] for c in found_codes], "message": messages})
    return frame, pos


def _statuses(index: pd.Index, problems: pd.DataFrame, pos: np.ndarray | None = None) -> pd.Series:
    """Per row the worst severity of its problems (`pos`: their row positions, when
    known; else looked up by row number)."""
    rank = np.zeros(len(index), dtype=np.int8)
    if len(problems):
        pos = index.get_indexer(problems["row"]) if pos is None else pos
        severity = problems["severity"].to_numpy(dtype=object)
        np.maximum.at(rank, pos, np.select([severity == SALAH, severity == PERIKSA], [2, 1], 0).astype(np.int8))
    return pd.Series(_STATUS_BY_RANK[rank], index=index, name="status")
