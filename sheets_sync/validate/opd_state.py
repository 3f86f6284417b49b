"""The state of one OPD's submission (BELUM MENGISI, BELUM LENGKAP, ADA KESALAHAN,
LENGKAP) from its final verdicts and workbook problems; the expert slots. Pure."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sheets_sync.codes import OK, PERIKSA, SALAH
from sheets_sync.forms import FormSet
from sheets_sync.validate.frame import FormResult
from sheets_sync.validate.layout import Problem
from sheets_sync.validate.registry import Opd

BELUM_MENGISI, BELUM_LENGKAP, ADA_KESALAHAN, LENGKAP = (
    "BELUM MENGISI", "BELUM LENGKAP", "ADA KESALAHAN", "LENGKAP")
ACCEPTED = (OK, PERIKSA)
# Workbook problems that are the OPD's to fix (its tabs or headers), as opposed
# to the registry's or the network's.
OPD_FAULTS = {"SHEET_MISSING", "HEADER_MISSING", "HEADER_ORDER", "WB_UNREADABLE"}


@dataclass
class OpdReport:
    opd: Opd
    results: dict[str, FormResult]      # final (with cross-OPD problems)
    problems: list[Problem]
    changed_at: str | None = None
    checked_at: str | None = None
    link: str = ""


def slots(forms: FormSet, form_key: str, key: str) -> list[str]:
    return list(forms[form_key].column(key).rules.get("choices", []))


def slots_filled(res: FormResult | None, forms: FormSet, form_key: str, key: str) -> dict[str, int]:
    """How many slots of each choice are taken by accepted rows."""
    need = pd.Series(slots(forms, form_key, key)).value_counts()
    have = pd.Series(dtype=int)
    if res is not None and len(res.status):
        ok = res.status.isin(ACCEPTED)
        have = res.normalized.loc[ok, key].value_counts()
    return {c: int(min(have.get(c, 0), n)) for c, n in need.items()}


def form_complete(res: FormResult | None, forms: FormSet, form_key: str) -> bool:
    rule = forms[form_key].complete
    if "all_choices" in rule:
        key = rule["all_choices"]
        return sum(slots_filled(res, forms, form_key, key).values()) == len(slots(forms, form_key, key))
    accepted = 0 if res is None else int(res.status.isin(ACCEPTED).sum())
    return accepted >= int(rule.get("min_rows", 1))


def rows_short(rep: OpdReport, forms: FormSet) -> list[tuple[str, int, int]]:
    """[(form key, accepted rows, minimum)] of the OPD's forms below their minimum
    number of rows (complete.min_rows, raised by the season rule minimal_baris)."""
    out = []
    for key in rep.opd.forms:
        rule = forms[key].complete
        if "all_choices" in rule:
            continue
        res = rep.results.get(key)
        have = 0 if res is None else int(res.status.isin(ACCEPTED).sum())
        need = int(rule.get("min_rows", 1))
        if have < need:
            out.append((key, have, need))
    return out


def rows_short_text(rep: OpdReport, forms: FormSet) -> str:
    """'Pengguna Layanan: baru 3 dari minimal 30 baris.' for the Rekap (forms that
    ask for more than one row; one row missing is what BELUM MENGISI already says)."""
    parts = [f"{forms[k].sheet}: baru {have} dari minimal {need} baris" for k, have, need in rows_short(rep, forms)
             if need > 1]
    return "; ".join(parts) + "." if parts else ""


def opd_state(rep: OpdReport, forms: FormSet) -> str:
    rows = sum(len(r.status) for r in rep.results.values())
    salah = sum(int((r.status == SALAH).sum()) for r in rep.results.values())
    if salah or any(p.code in OPD_FAULTS for p in rep.problems):
        return ADA_KESALAHAN
    if rows == 0:
        return BELUM_MENGISI
    if all(form_complete(rep.results.get(k), forms, k) for k in rep.opd.forms):
        return LENGKAP
    return BELUM_LENGKAP
