"""Compile the master: cross-OPD duplicates, each OPD's state, and the tabs the
Inspektorat reads (Rekap, Masalah, one per form, Slot Ahli, Lintas OPD), plus the
KPK export. Pure: results in, SheetSpecs out; a store renders them."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from . import codes
from .codes import OK, PERIKSA, SALAH
from .forms import FormSet
from .layout import Problem
from .registry import Opd
from .stores import SheetSpec
from .validate import PROBLEM_COLUMNS, FormResult

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


# ----------------------------------------------------------- cross-OPD dups
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


# ------------------------------------------------------------------- states
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


def problem_text(p: Problem) -> str:
    return codes.render(p.code, **p.params)


# ------------------------------------------------------------------- master
REKAP_HEADER = ["Kode OPD", "Nama OPD", "Formulir", "Baris", "OK", "PERIKSA", "SALAH", "Keadaan",
                "Slot Ahli", "Perubahan terakhir", "Diperiksa terakhir", "Catatan", "Berkas"]


def rekap(reports: list[OpdReport], forms: FormSet, as_of: dt.date, deadline) -> SheetSpec:
    rows = []
    for rep in reports:
        counts = {s: sum(int((r.status == s).sum()) for r in rep.results.values()) for s in (OK, PERIKSA, SALAH)}
        expert = _expert_slots(rep, forms)
        rows.append([rep.opd.code, rep.opd.name, ", ".join(forms[k].sheet for k in rep.opd.forms),
                     sum(counts.values()), counts[OK], counts[PERIKSA], counts[SALAH],
                     opd_state(rep, forms), expert, rep.changed_at or "", rep.checked_at or "",
                     " ".join(problem_text(p) for p in rep.problems), rep.link])
    note = f"Rekap calon responden SPI. Tanggal laporan: {as_of:%d/%m/%Y}."
    if deadline:
        note += f" Batas pengiriman: {deadline:%d/%m/%Y}."
    return SheetSpec("Rekap", REKAP_HEADER, rows, [12, 34, 28, 8, 8, 10, 8, 16, 10, 20, 20, 50, 30],
                     chart={"title": "Kemajuan pengisian per OPD", "categories_col": 1,
                            "series_cols": [5, 6, 7], "anchor": "O3"}, note=note)


def _expert_slots(rep: OpdReport, forms: FormSet) -> str:
    for key in rep.opd.forms:
        rule = forms[key].complete
        if "all_choices" in rule:
            filled = slots_filled(rep.results.get(key), forms, key, rule["all_choices"])
            return f"{sum(filled.values())}/{len(slots(forms, key, rule['all_choices']))}"
    return ""


def masalah(reports: list[OpdReport], forms: FormSet) -> SheetSpec:
    rows = []
    for rep in reports:
        for p in rep.problems:
            rows.append([rep.opd.code, rep.opd.name, "", "", "BERKAS", problem_text(p)])
        for key, res in rep.results.items():
            notes = res.notes()
            flagged = res.status[res.status != OK]
            for row, status in flagged.items():
                rows.append([rep.opd.code, rep.opd.name, forms[key].sheet, int(row), status, notes[row]])
    return SheetSpec("Masalah", ["Kode OPD", "Nama OPD", "Formulir", "Baris", "Status", "Keterangan"],
                     rows, [12, 34, 20, 8, 10, 100])


def form_sheet(form_key: str, reports: list[OpdReport], forms: FormSet) -> SheetSpec:
    form = forms[form_key]
    cols = [c for c in form.columns if c.type != "row_number"]
    header = ["Kode OPD", "Nama OPD", "Baris", "Status"] + [c.header for c in cols]
    extra = [c for c in cols if c.type == "address_email"]
    header += [f"E-mail ({c.header})" for c in extra] + ["Duplikat lintas OPD"]
    keys = [c.key for c in cols] + ["email" for _ in extra]
    rows = []
    for rep in reports:
        res = rep.results.get(form_key)
        if res is None:
            continue
        cross = set(res.problems.loc[res.problems["code"] == "CROSS_OPD_DUPLICATE", "row"])
        ok = res.status.isin(ACCEPTED).to_numpy()
        norm = res.normalized.reindex(columns=keys)[ok]
        values = norm.astype(object).where(norm.notna(), "").to_numpy().tolist()
        for row, status, vals in zip(norm.index.tolist(), res.status.to_numpy()[ok].tolist(), values):
            rows.append([rep.opd.code, rep.opd.name, row, status] + vals + ["YA" if row in cross else ""])
    return SheetSpec(form.sheet, header, rows, [12, 30, 7, 10] + [24] * (len(header) - 4))


def expert_sheet(reports: list[OpdReport], forms: FormSet) -> SheetSpec | None:
    key = next((f.key for f in forms if "all_choices" in f.complete), None)
    if key is None:
        return None
    col = forms[key].complete["all_choices"]
    need = pd.Series(slots(forms, key, col)).value_counts(sort=False)
    filled = {rep.opd.code: slots_filled(rep.results.get(key), forms, key, col)
              for rep in reports if key in rep.opd.forms}
    rows = []
    for i, (choice, n) in enumerate(need.items(), start=1):
        who = [code for code, f in filled.items() if f.get(choice)]
        rows.append([i, choice, int(n), sum(f.get(choice, 0) for f in filled.values()), ", ".join(who)])
    return SheetSpec("Slot Ahli", ["No", forms[key].column(col).header, "Slot", "Terisi", "OPD"],
                     rows, [5, 70, 7, 8, 40])


def cross_sheet(listing: pd.DataFrame, forms: FormSet) -> SheetSpec:
    rows = []
    if len(listing):
        for (kind, value), g in listing.groupby(["kind", "value"], sort=True):
            where = "; ".join(f"{o} {forms[f].sheet} baris {int(r)}" for o, f, r in zip(g["opd"], g["form"], g["row"]))
            rows.append(["No HP" if kind == "phone" else "E-mail", value, ", ".join(sorted(set(g["opd"]))), where])
    return SheetSpec("Lintas OPD", ["Jenis", "Nilai", "OPD", "Letak"], rows, [10, 30, 30, 80])


def compile_master(reports, forms: FormSet, listing, as_of, deadline) -> list[SheetSpec]:
    sheets = [rekap(reports, forms, as_of, deadline), masalah(reports, forms)]
    sheets += [form_sheet(f.key, reports, forms) for f in forms]
    extra = expert_sheet(reports, forms)
    sheets += ([extra] if extra else []) + [cross_sheet(listing, forms)]
    return sheets


def _cell(v):
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    return v


# ------------------------------------------------------------------- export
def kpk_export(reports: list[OpdReport], forms: FormSet) -> list[SheetSpec]:
    """The KPK update in the Lampiran III columns: accepted rows of every OPD."""
    out = []
    for form in forms:
        rows = []
        for rep in reports:
            res = rep.results.get(form.key)
            if res is None:
                continue
            norm = res.normalized.reindex(columns=[c.key for c in form.columns])[res.status.isin(ACCEPTED)]
            for values in norm.astype(object).where(norm.notna(), "").to_numpy().tolist():
                n = len(rows) + 1
                rows.append([n if c.type == "row_number" else v for c, v in zip(form.columns, values)])
        out.append(SheetSpec(form.sheet, [c.header for c in form.columns], rows,
                             [5] + [26] * (len(form.columns) - 1), note=form.title))
    return out
