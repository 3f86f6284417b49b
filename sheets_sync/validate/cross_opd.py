"""Cross-OPD rules: the same phone or e-mail in two OPDs is PERIKSA in both.

Pure: every OPD's own verdicts in, each OPD's final verdicts (own + cross-OPD
problems) and the listing for the master's Lintas OPD tab out. The cycle calls
`finalize` once per cycle; the master only compiles what it returns."""
from __future__ import annotations

import numpy as np
import orjson
import pandas as pd

from sheets_sync import codes
from sheets_sync.codes import PERIKSA
from sheets_sync.forms import FormSet
from sheets_sync.validate.frame import PROBLEM_COLUMNS, FormResult


_KEY_COLUMNS = ("opd", "form", "row", "column", "kind", "value")


def contact_parts(opd: str, res: FormResult, forms: FormSet) -> list[tuple]:
    """Per contact column of one result: (opd, form, row, column, kind, value) arrays
    of its non-empty values (e-mails casefolded), plain numpy, no DataFrame per part."""
    parts = []
    for col in forms[res.form].columns:
        key = {"phone": col.key, "email": col.key, "address_email": "email"}.get(col.type)
        if key is None or key not in res.normalized:
            continue
        v = res.normalized[key].dropna()
        values = v.to_numpy(dtype=object)
        if col.type != "phone":
            values = np.array([x.casefold() for x in values.tolist()], dtype=object)
        n = len(values)
        parts.append((np.full(n, opd, object), np.full(n, res.form, object), v.index.to_numpy(),
                      np.full(n, col.key, object), np.full(n, "phone" if col.type == "phone" else "email", object),
                      values))
    return parts


def contacts_json(results: dict[str, FormResult], forms: FormSet) -> str:
    """One OPD's contacts as the cross-OPD search reads them, as JSON kept in the state
    beside its memory (State.save_opd): the search then needs no OPD's whole memory."""
    return orjson.dumps([[str(form[0]), str(column[0]), str(kind[0]), rows.tolist(), values.tolist()]
                         for r in results.values()
                         for _, form, rows, column, kind, values in contact_parts("", r, forms) if len(rows)]).decode()


def contacts_from_json(opd: str, body: str) -> list[tuple] | None:
    """The parts of contacts_json for OPD `opd`, or None when `body` is not one."""
    try:
        parts = []
        for form, column, kind, rows, values in orjson.loads(body):
            if len(rows) != len(values) or not all(isinstance(v, str) for v in values):
                return None
            n = len(rows)
            parts.append((np.full(n, opd, object), np.full(n, str(form), object), np.array(rows, dtype=np.int64),
                          np.full(n, str(column), object), np.full(n, str(kind), object),
                          np.array(values, dtype=object)))
        return parts
    except (ValueError, TypeError, OverflowError):
        return None


def cross_opd(results: dict[str, dict[str, FormResult]], forms: FormSet):
    """Same phone or e-mail in two OPDs: PERIKSA in both. Returns
    ({(opd, form): problems}, listing DataFrame for the master)."""
    return cross_opd_of([p for o, per in results.items() for r in per.values()
                         for p in contact_parts(o, r, forms)], forms)


def cross_opd_of(parts: list[tuple], forms: FormSet):
    """cross_opd from the contact parts (contact_parts, contacts_from_json) of every OPD.

    Column at a time: values shared by more than one OPD are found with numpy on
    factorised keys; Python only touches the shared values (few), and each message
    is rendered once per (form, column). The text does not name the other OPDs: that a
    person is also on another OPD's list (a patient of the RSUD, a client of DINSOS) is
    that OPD's data; the Inspektorat sees who in the master's Lintas OPD tab."""
    parts = [p for p in parts if len(p[5])]
    if not parts:
        return {}, pd.DataFrame()
    cols = [np.concatenate([p[i] for p in parts]) for i in range(len(_KEY_COLUMNS))]
    keep = _shared(cols[4], cols[5], cols[0])
    k = pd.DataFrame({c: a[keep] for c, a in zip(_KEY_COLUMNS, cols)}, index=np.flatnonzero(keep))
    if k.empty:
        return {}, k
    pair = pd.MultiIndex.from_arrays([k["form"].to_numpy(), k["column"].to_numpy()])
    tid, uniq = pd.factorize(pair)
    texts = np.array([codes.render("CROSS_OPD_DUPLICATE", kolom=forms[f].column(c).header) for f, c in uniq],
                     dtype=object)
    probs = pd.DataFrame({"row": k["row"].to_numpy(), "column": k["column"].to_numpy(),
                          "code": "CROSS_OPD_DUPLICATE", "severity": PERIKSA, "message": texts[tid]},
                         columns=PROBLEM_COLUMNS)
    probs["_opd"], probs["_form"] = k["opd"].to_numpy(), k["form"].to_numpy()
    out = {key: g[PROBLEM_COLUMNS].reset_index(drop=True)
           for key, g in probs.groupby(["_opd", "_form"], sort=True)}
    return out, k.sort_values(["kind", "value", "opd"])


def _shared(kind: np.ndarray, value: np.ndarray, opd: np.ndarray) -> np.ndarray:
    """Per contact: whether another OPD holds the same (kind, value). The key is the
    value's code with its kind as the lowest bit (no string joined per contact); a key
    is shared when its smallest and largest OPD code differ (no sort of pairs)."""
    vid, _ = pd.factorize(value)
    gid = vid.astype(np.int64) * 2 + (kind == "email")
    oid, _ = pd.factorize(opd)
    lo = np.full(gid.max() + 1, np.iinfo(np.int64).max)
    hi = np.full(gid.max() + 1, -1, dtype=np.int64)
    np.minimum.at(lo, gid, oid)
    np.maximum.at(hi, gid, oid)
    return (hi > lo)[gid]


def finalize(forms: FormSet, own: dict[str, dict[str, FormResult]], known: dict | None = None):
    """Each OPD's verdicts with the cross-OPD duplicates added: ({code: {form: result}},
    listing). `own` maps OPD code -> form key -> that OPD's own result. `known`: the
    {(opd, form): problems} of cross_opd for these same results (a cache hit); the
    listing is then None (the caller has it)."""
    cross, listing = (known, None) if known is not None else cross_opd(own, forms)
    final = {code: {k: r.with_problems(cross.get((code, k))) for k, r in per.items()}
             for code, per in own.items()}
    return final, listing
