"""Cross-OPD duplicates (validate/cross_opd.py) are found column at a time; they must
be exactly what the per-contact rule gives: a phone or e-mail (e-mails casefolded)
held by more than one OPD is a CROSS_OPD_DUPLICATE problem on each of its rows (its text
never names the other OPDs), in the same order of rows and columns. OPD
codes are hostile (commas, spaces, letters beyond ASCII), and the same text may be a
phone in one OPD and an e-mail in another (not a duplicate)."""
from __future__ import annotations

import pandas as pd
from hypothesis import given, settings, strategies as st

from sheets_sync import codes
from sheets_sync.codes import PERIKSA
from sheets_sync.validate.cross_opd import cross_opd
from sheets_sync.validate.frame import PROBLEM_COLUMNS, FormResult
from tests.conftest import load_forms

FORMS = load_forms()
CODES = ["DINKES", "KEC-ARM", "A, B", "Dinas Ä", "B", "A"]
VALUES = ["+6281230000001", "+6281230000002", "a@x.id", "A@X.ID", "b@x.id", "+6281230000003"]
KIND = {"phone": "phone", "email": "email", "address_email": "email"}


def contacts(opd: str, res: FormResult) -> list[tuple]:
    out = []
    for col in FORMS[res.form].columns:
        key = {"phone": col.key, "email": col.key, "address_email": "email"}.get(col.type)
        if key is None or key not in res.normalized:
            continue
        for row, v in res.normalized[key].dropna().items():
            out.append((opd, res.form, row, col.key, KIND[col.type], v if col.type == "phone" else v.casefold()))
    return out


def reference(results: dict) -> dict:
    found = [c for o, per in results.items() for r in per.values() for c in contacts(o, r)]
    owners: dict = {}
    for opd, _, _, _, kind, value in found:
        owners.setdefault((kind, value), set()).add(opd)
    out: dict = {}
    for opd, form, row, col, kind, value in found:
        others = sorted(owners[(kind, value)] - {opd})
        if others:
            text = codes.render("CROSS_OPD_DUPLICATE", kolom=FORMS[form].column(col).header)
            out.setdefault((opd, form), []).append((row, col, "CROSS_OPD_DUPLICATE", PERIKSA, text))
    return {k: v for k, v in sorted(out.items())}


form_rows = st.lists(st.tuples(st.sampled_from(VALUES + [None]), st.sampled_from(VALUES + [None])), max_size=6)
opd_forms = st.dictionaries(st.sampled_from(["pegawai", "pengguna_layanan", "penyedia_pbj"]), form_rows,
                            min_size=1, max_size=2)


def result(form: str, rows: list[tuple]) -> FormResult:
    index = pd.Index([5 + 3 * i for i in range(len(rows))])
    if form == "penyedia_pbj":
        normalized = pd.DataFrame({"email": [e for e, _ in rows]}, index=index, dtype=object)
    else:
        normalized = pd.DataFrame({"no_hp": [p for p, _ in rows], "email": [e for _, e in rows]}, index=index,
                                  dtype=object)
    status = pd.Series("OK", index=index, dtype=object)
    return FormResult(form, status, pd.DataFrame(columns=PROBLEM_COLUMNS), normalized)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(CODES), opd_forms, max_size=5))
def test_cross_opd_equals_the_per_contact_rule(drawn):
    results = {o: {f: result(f, rows) for f, rows in per.items()} for o, per in drawn.items()}
    got, listing = cross_opd(results, FORMS)
    want = reference(results)
    assert list(got) == list(want)
    for key, rows in want.items():
        assert [tuple(r) for r in got[key][PROBLEM_COLUMNS].itertuples(index=False)] == rows
    assert len(listing) == sum(map(len, want.values()))
