"""Cross-OPD rules: the same phone or e-mail in two OPDs is PERIKSA in both.

Pure: every OPD's own verdicts in, each OPD's final verdicts (own + cross-OPD
problems) and the listing for the master's Lintas OPD tab out. The cycle calls
`finalize` once per cycle; the master only compiles what it returns."""
from __future__ import annotations

import pandas as pd

from sheets_sync import codes
from sheets_sync.codes import PERIKSA
from sheets_sync.forms import FormSet
from sheets_sync.validate.frame import PROBLEM_COLUMNS, FormResult


def contact_keys(opd: str, res: FormResult, forms: FormSet) -> pd.DataFrame:
    parts = []
    for col in forms[res.form].columns:
        key = {"phone": col.key, "email": col.key, "address_email": "email"}.get(col.type)
        if key is None or key not in res.normalized:
            continue
        v = res.normalized[key].dropna()
        if col.type != "phone":
            v = v.str.casefold()
        parts.append(pd.DataFrame({"opd": opd, "form": res.form, "row": v.index, "column": col.key,
                                   "kind": "phone" if col.type == "phone" else "email",
                                   "value": v.to_numpy()}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def cross_opd(results: dict[str, dict[str, FormResult]], forms: FormSet):
    """Same phone or e-mail in two OPDs: PERIKSA in both. Returns
    ({(opd, form): problems}, listing DataFrame for the master)."""
    keys = [contact_keys(o, r, forms) for o, per in results.items() for r in per.values()]
    keys = [k for k in keys if len(k)]
    if not keys:
        return {}, pd.DataFrame()
    k = pd.concat(keys, ignore_index=True)
    n_opd = k.groupby(["kind", "value"])["opd"].transform("nunique")
    k = k[n_opd > 1]
    if k.empty:
        return {}, k
    owners = k.groupby(["kind", "value"])["opd"].agg(lambda s: sorted(set(s)))
    out: dict = {}
    for (opd, form), g in k.groupby(["opd", "form"]):
        headers = {c.key: c.header for c in forms[form].columns}
        msgs = []
        for row, col, kind, value in zip(g["row"], g["column"], g["kind"], g["value"]):
            others = ", ".join(o for o in owners[(kind, value)] if o != opd)
            msgs.append({"row": row, "column": col, "code": "CROSS_OPD_DUPLICATE",
                         "severity": PERIKSA,
                         "message": codes.render("CROSS_OPD_DUPLICATE", kolom=headers[col], opd=others)})
        out[(opd, form)] = pd.DataFrame(msgs, columns=PROBLEM_COLUMNS)
    return out, k.sort_values(["kind", "value", "opd"])


def finalize(forms: FormSet, own: dict[str, dict[str, FormResult]]):
    """Each OPD's verdicts with the cross-OPD duplicates added: ({code: {form: result}},
    listing). `own` maps OPD code -> form key -> that OPD's own result."""
    cross, listing = cross_opd(own, forms)
    final = {code: {k: r.with_problems(cross.get((code, k))) for k, r in per.items()}
             for code, per in own.items()}
    return final, listing
