"""Validate one form's rows: DataFrame in, verdicts out. No I/O.

Input: a DataFrame whose columns are the form's column keys and whose index is
the sheet's own row numbers, holding raw cell values. Output: a FormResult with
one status per non-empty row (OK / PERIKSA / SALAH), every problem as data (row,
column, code, severity, message), and the normalised values.

Vectorised the pandas way: each column is factorised, each rule runs once per
*distinct* value (fields.py), and results are spread back with numpy take. Dates,
units and job titles repeat a lot; phones and e-mails rarely do, which is why
fields.py has fast paths for them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd

from . import codes, fields
from .codes import OK, PERIKSA, SALAH
from .fields import Check
from .forms import Column, Form

PROBLEM_COLUMNS = ["row", "column", "code", "severity", "message"]
_RANK = {OK: 0, PERIKSA: 1, SALAH: 2}
_STATUS_BY_RANK = np.array([OK, PERIKSA, SALAH], dtype=object)
MAX_NOTE = 1000  # a Keterangan cell stays readable


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
        out = pd.Series("", index=self.status.index, dtype=object)
        if len(self.problems):
            joined = self.problems.groupby("row", sort=False)["message"].agg(" ".join)
            out.loc[joined.index] = joined.str.slice(0, MAX_NOTE).to_numpy()
        return out

    def records(self) -> list[dict]:
        """The JSON shape of `validate --json`: one object per non-empty row."""
        by_row: dict = {}
        for p in self.problems.itertuples(index=False):
            by_row.setdefault(p.row, []).append(
                {"code": p.code, "column": p.column, "message": p.message})
        norm = self.normalized.astype(object).where(self.normalized.notna(), None)
        out = []
        for row, status, values in zip(self.status.index, self.status.to_numpy(),
                                       norm.to_dict("records")):
            out.append({"row": int(row), "status": status, "messages": by_row.get(row, []),
                        "normalized": {k: _jsonable(v) for k, v in values.items()}})
        return out

    def with_problems(self, extra: pd.DataFrame) -> "FormResult":
        """A copy with more problems (e.g. cross-OPD duplicates), statuses re-derived."""
        if extra is None or extra.empty:
            return self
        problems = pd.concat([self.problems, extra[PROBLEM_COLUMNS]], ignore_index=True)
        status = _statuses(self.status.index, problems)
        return FormResult(self.form, status, problems, self.normalized, self.headers)


def _jsonable(v):
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, np.generic):
        return v.item()
    return v


# --------------------------------------------------------------------- helpers
def _per_value(series: pd.Series, fn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run fn once per distinct value; return (values, codes, params) per row."""
    ids, uniques = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=True)
    results = [fn(u) for u in uniques] + [fn(None)]  # id -1 (NA) takes the last
    vals = np.empty(len(results), dtype=object)
    cods = np.empty(len(results), dtype=object)
    pars = np.empty(len(results), dtype=object)
    for i, r in enumerate(results):
        vals[i], cods[i], pars[i] = r
    return vals.take(ids), cods.take(ids), pars.take(ids)


def _blank_or_error(v) -> Check:
    """First pass on any column: blank -> MISSING, #REF! and friends -> CELL_ERROR."""
    if fields.is_blank(v):
        return fields.MISSING
    err = fields.cell_error(v)
    if err:
        return Check(None, "CELL_ERROR", {"nilai": err})
    return Check(v)


def _date_rules(v, rules: dict, as_of: dt.date) -> Check:
    c = fields.parse_date(v)
    if c.code:
        return c
    d, shown = c.value, {"tanggal": c.value.strftime("%d/%m/%Y"), "laporan": as_of.strftime("%d/%m/%Y")}
    if rules.get("not_after_report") and d > as_of:
        return Check(None, "DATE_AFTER_REPORT", shown)
    if rules.get("min_date") and d < _as_date(rules["min_date"]):
        return Check(None, "DATE_TOO_EARLY", {**shown, "batas": _as_date(rules["min_date"]).strftime("%d/%m/%Y")})
    months = rules.get("max_age_months")
    if months and d < fields.months_before(as_of, int(months)):
        return Check(None, "DATE_TOO_OLD", shown)
    return c


def _as_date(v) -> dt.date:
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))


def checker(col: Column, as_of: dt.date):
    """The per-value rule for a column's type."""
    maxlen = int(col.rules.get("max_length", 300))
    if col.type == "phone":
        return fields.check_phone
    if col.type == "email":
        return fields.check_email
    if col.type == "date":
        return partial(_date_rules, rules=col.rules, as_of=as_of)
    if col.type == "choice":
        table = fields.choice_lookup(col.rules.get("choices", []), col.rules.get("choice_aliases"))
        return partial(fields.check_choice, table=table)
    if col.type == "address_email":
        return partial(fields.check_address_email, max_length=maxlen)
    if col.type == "name":
        return partial(fields.check_name, max_length=maxlen)
    return partial(fields.check_text, max_length=maxlen)


# ------------------------------------------------------------------ validation
def filled_rows(df: pd.DataFrame, form: Form) -> pd.Series:
    """Rows with something typed outside the pre-filled columns (No, Kriteria)."""
    cols = [c.key for c in form.columns if not c.prefilled and c.key in df.columns]
    if not cols or df.empty:
        return pd.Series(False, index=df.index)
    blank = np.column_stack([_per_value(df[k], _blank_check)[1] == "MISSING" for k in cols])
    return pd.Series(~blank.all(axis=1), index=df.index)


def _blank_check(v) -> Check:
    return fields.MISSING if fields.is_blank(v) else Check(True)


def validate_frame(df: pd.DataFrame, form: Form, as_of: dt.date) -> FormResult:
    df = df.reindex(columns=form.keys)
    df = df[filled_rows(df, form)]
    index = df.index
    norm: dict[str, np.ndarray] = {}
    blanks: dict[str, np.ndarray] = {}
    found: list[tuple] = []  # (positions, column key, codes, params)
    contact_missing = _all_blank(df, form.at_least_one)

    for col in form.columns:
        if col.type == "row_number":
            norm[col.key] = df[col.key].to_numpy(dtype=object)
            continue
        first_vals, first_codes, first_params = _per_value(df[col.key], _blank_or_error)
        blank = first_codes == "MISSING"
        blanks[col.key] = blank
        errs = first_codes == "CELL_ERROR"
        found.append((np.flatnonzero(errs), col.key, first_codes[errs], first_params[errs]))
        if col.if_missing:
            miss = blank & ~contact_missing if col.key in form.at_least_one else blank
            code = "REQUIRED" if col.if_missing == SALAH else "MISSING_EXPECTED"
            found.append((np.flatnonzero(miss), col.key, np.full(miss.sum(), code, object), None))
        vals, cods, pars = _per_value(df[col.key], checker(col, as_of))
        bad = ~blank & ~errs & pd.notna(cods)
        found.append((np.flatnonzero(bad), col.key, cods[bad], pars[bad]))
        vals = np.where(blank | errs, None, vals)
        if col.type == "address_email":
            norm["email"] = np.array([v["email"] if v else None for v in vals], dtype=object)
            vals = np.array([v["text"] if v else None for v in vals], dtype=object)
        norm[col.key] = vals

    if form.at_least_one:
        names = " atau ".join(form.column(k).header for k in form.at_least_one)
        pos = np.flatnonzero(contact_missing)
        found.append((pos, form.at_least_one[0], np.full(len(pos), "CONTACT_MISSING", object),
                      np.full(len(pos), {"kolom": names}, object)))

    normalized = pd.DataFrame(norm, index=index)
    found += _duplicates(normalized, form)
    problems = _problem_frame(found, index, form)
    return FormResult(form.key, _statuses(index, problems), problems, normalized,
                      {c.key: c.header for c in form.columns})


def _all_blank(df: pd.DataFrame, keys) -> np.ndarray:
    if not keys:
        return np.zeros(len(df), dtype=bool)
    return np.column_stack(
        [_per_value(df[k], _blank_check)[1] == "MISSING" for k in keys]).all(axis=1)


def _duplicates(normalized: pd.DataFrame, form: Form) -> list[tuple]:
    """Later rows repeating a phone or e-mail of an earlier row are SALAH."""
    out = []
    for col in form.columns:
        if not col.rules.get("unique"):
            continue
        key = "email" if col.type == "address_email" else col.key
        values = normalized[key]
        if col.type in ("email", "address_email"):
            values = values.str.casefold() if values.notna().any() else values
        dup = values.duplicated(keep="first") & values.notna()
        if not dup.any():
            continue
        first_row = pd.Series(values.index, index=values.to_numpy()).groupby(level=0).first()
        rows = values[dup].map(first_row).to_numpy()
        code = "DUPLICATE_PHONE" if col.type == "phone" else "DUPLICATE_EMAIL"
        out.append((np.flatnonzero(dup.to_numpy()), col.key, np.full(len(rows), code, object),
                    np.array([{"baris": int(r)} for r in rows], dtype=object)))
    return out


def _problem_frame(found: list[tuple], index: pd.Index, form: Form) -> pd.DataFrame:
    order = {c.key: i for i, c in enumerate(form.columns)}
    parts = []
    for pos, key, cods, pars in found:
        if len(pos) == 0:
            continue
        if pars is None:
            pars = np.full(len(pos), None, object)
        parts.append(pd.DataFrame({"pos": pos, "order": order[key], "column": key,
                                   "code": cods, "params": pars}))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in PROBLEM_COLUMNS})
    p = pd.concat(parts, ignore_index=True).sort_values(["pos", "order"], kind="stable")
    headers = {c.key: c.header for c in form.columns}
    p["row"] = index.to_numpy()[p["pos"].to_numpy()]
    p["severity"] = [codes.severity(c) for c in p["code"]]
    p["message"] = [
        codes.render(c, kolom=headers[k], **(prm or {})) if not (prm and "kolom" in prm)
        else codes.render(c, **prm)
        for c, k, prm in zip(p["code"], p["column"], p["params"])]
    return p[PROBLEM_COLUMNS].reset_index(drop=True)


def _statuses(index: pd.Index, problems: pd.DataFrame) -> pd.Series:
    rank = np.zeros(len(index), dtype=np.int8)
    if len(problems):
        pos = index.get_indexer(problems["row"])
        np.maximum.at(rank, pos, problems["severity"].map(_RANK).to_numpy(dtype=np.int8))
    return pd.Series(_STATUS_BY_RANK[rank], index=index, name="status")
