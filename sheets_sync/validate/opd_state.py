"""The state of one OPD's submission (BELUM MENGISI, BELUM LENGKAP, ADA KESALAHAN,
LENGKAP) from its final verdicts and workbook problems; the expert slots. Pure.

What the Rekap and the e-mails need of a form's verdicts is small (counts, slots
taken, the first problems, the cell a link opens): a FormSummary. Everything here
reads summaries, made from the verdicts on first use or, in the cycle, kept in the
state, so that a cycle in which nothing changed decides and writes its reminders
without loading any OPD's rows."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
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
# to the registry's or the network's. HEADER_UNKNOWN does not stop the tab's check, but
# its column's data is left out until the header is fixed: not LENGKAP meanwhile.
OPD_FAULTS = {"SHEET_MISSING", "SHEET_EXTRA", "HEADER_MISSING", "HEADER_ORDER", "HEADER_UNKNOWN", "WB_UNREADABLE"}
# A workbook not read this cycle for a passing reason (the network, Google's quota):
# tried again next cycle, and until then its state is not known.
READ_PENDING = {"WB_READ_FAILED"}


def unread_now(rep, codes=READ_PENDING) -> bool:
    """Whether the OPD's workbook could not be read this cycle for a passing reason
    (`codes`, or a fault while reading); codes.UNREADABLE: for any reason."""
    return any(p.code in codes or (p.code == "OPD_ERROR" and p.params.get("langkah") == "membaca")
               for p in rep.problems)


def unread_codes(reports) -> frozenset:
    """The codes of the OPDs whose reminder waits (remind.decide's `unread`)."""
    return frozenset(r.opd.code for r in reports if unread_now(r))


# Problems a summary lists, in e-mail order: the most an e-mail may show (remind.plan
# caps reminders.max_problems at this).
LISTED = 100


@dataclass
class FormSummary:
    """One form's final verdicts as the Rekap and the e-mails use them, as plain JSON
    values (kept in the state between cycles)."""
    counts: dict[str, int]                 # OK / PERIKSA / SALAH -> rows
    filled: dict[str, int] | None = None   # complete.all_choices: choice -> slots taken
    listed: list = field(default_factory=list)   # [row, column key, code, severity], e-mail order
    problems: int = 0                      # every problem, listed or not
    first: dict = field(default_factory=dict)    # SALAH / PERIKSA -> [row, column key or None]

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def accepted(self) -> int:
        return self.counts[OK] + self.counts[PERIKSA]

    def to_json(self) -> dict:
        return {"counts": self.counts, "filled": self.filled, "listed": self.listed, "problems": self.problems,
                "first": self.first}

    @classmethod
    def from_json(cls, d: dict) -> "FormSummary":
        """ValueError (or KeyError/TypeError) when d is not one."""
        counts = {s: int(d["counts"][s]) for s in (OK, PERIKSA, SALAH)}
        filled = None if d["filled"] is None else {str(k): int(v) for k, v in dict(d["filled"]).items()}
        listed = [[int(r), str(c), str(code), str(sev)] for r, c, code, sev in d["listed"]]
        first = {str(s): [int(r), None if c is None else str(c)] for s, (r, c) in dict(d["first"]).items()}
        return cls(counts, filled, listed, int(d["problems"]), first)


def summarize(res: FormResult, forms: FormSet, form_key: str) -> FormSummary:
    rule = forms[form_key].complete
    filled = slots_filled(res, forms, form_key, rule["all_choices"]) if "all_choices" in rule else None
    first = {s: cell for s in (SALAH, PERIKSA) if (cell := first_cell(res, s)) is not None}
    return FormSummary(res.counts(), filled, ordered_problems(res, forms[form_key], LISTED), len(res.problems), first)


def summarize_all(results: Mapping, forms: FormSet) -> dict[str, FormSummary]:
    return {k: summarize(r, forms, k) for k, r in results.items()}


@dataclass
class OpdReport:
    opd: Opd
    results: Mapping[str, FormResult]   # final (with cross-OPD problems); the cycle may load it on first use
    problems: list[Problem]
    changed_at: str | None = None
    checked_at: str | None = None
    link: str = ""
    summaries: dict[str, FormSummary] | None = None   # of `results`; made from them when not given
    inputs: str | None = None   # a hash of all `results` follow (cross_cache.opd_inputs), if known

    def summarized(self, forms: FormSet) -> dict[str, FormSummary]:
        if self.summaries is None:
            self.summaries = summarize_all(self.results, forms)
        return self.summaries

    def summary(self, forms: FormSet, form_key: str) -> FormSummary | None:
        return self.summarized(forms).get(form_key)


def ordered_problems(res: FormResult | None, form, limit: int) -> list[list]:
    """The first `limit` problems as an e-mail lists them: SALAH before PERIKSA, then by
    row, then in the form's column order; [row, column key, code, severity]. One stable
    numpy sort over the problem table's columns (a city OPD has thousands)."""
    if res is None or not len(res.problems):
        return []
    p = res.problems
    order = {c.key: i for i, c in enumerate(form.columns)}
    col_order = p["column"].map(order).fillna(len(order)).to_numpy(dtype=float)
    rank = (p["severity"].to_numpy() != SALAH).astype(int)
    rows = p["row"].to_numpy()
    top = np.lexsort((col_order, rows, rank))[:limit]      # last key first; stable
    return [[int(r), str(c), str(code), str(sev)] for r, c, code, sev in
            zip(rows[top].tolist(), p["column"].to_numpy()[top].tolist(), p["code"].to_numpy()[top].tolist(),
                p["severity"].to_numpy()[top].tolist())]


def first_cell(res: FormResult | None, wanted: str) -> list | None:
    """[sheet row, column key or None] of the first row with status `wanted` (the column
    of that row's first problem), or None."""
    if res is None or not len(res.status):
        return None
    rows = res.status.index[res.status.to_numpy() == wanted]
    if not len(rows):
        return None
    row = int(rows.min())
    if not len(res.problems):
        return [row, None]
    cols = res.problems.loc[res.problems["row"] == row, "column"]
    return [row, str(cols.iloc[0]) if len(cols) and cols.iloc[0] else None]


def first_problem_in(rep: OpdReport, forms: FormSet) -> tuple[str, int, str | None] | None:
    """(form key, sheet row, column key) of the cell a link should open: the first SALAH
    row of the first form that has one, else the first PERIKSA row; None when all is OK."""
    for wanted in (SALAH, PERIKSA):
        for key in rep.opd.forms:
            s = rep.summary(forms, key)
            if s is not None and wanted in s.first:
                row, col = s.first[wanted]
                return key, row, col
    return None


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


def filled_of(s: FormSummary | None, forms: FormSet, form_key: str) -> dict[str, int]:
    """Slots taken per choice of the form's all_choices column (none taken without rows)."""
    if s is not None and s.filled is not None:
        return s.filled
    return slots_filled(None, forms, form_key, forms[form_key].complete["all_choices"])


def form_complete(s: FormSummary | None, forms: FormSet, form_key: str) -> bool:
    rule = forms[form_key].complete
    if "all_choices" in rule:
        return sum(filled_of(s, forms, form_key).values()) == len(slots(forms, form_key, rule["all_choices"]))
    accepted = 0 if s is None else s.accepted
    return accepted >= int(rule.get("min_rows", 1))


def rows_short(rep: OpdReport, forms: FormSet) -> list[tuple[str, int, int]]:
    """[(form key, accepted rows, minimum)] of the OPD's forms below their minimum
    number of rows (complete.min_rows, raised by the season rule minimal_baris)."""
    out = []
    for key in rep.opd.forms:
        rule = forms[key].complete
        if "all_choices" in rule:
            continue
        s = rep.summary(forms, key)
        have = 0 if s is None else s.accepted
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


def counts_of(rep: OpdReport, forms: FormSet) -> dict[str, int]:
    """Rows per status over all the OPD's forms read."""
    summaries = rep.summarized(forms).values()
    return {st: sum(s.counts[st] for s in summaries) for st in (OK, PERIKSA, SALAH)}


def opd_state(rep: OpdReport, forms: FormSet) -> str:
    counts = counts_of(rep, forms)
    if counts[SALAH] or any(p.code in OPD_FAULTS for p in rep.problems):
        return ADA_KESALAHAN
    if sum(counts.values()) == 0:
        return BELUM_MENGISI
    if all(form_complete(rep.summary(forms, k), forms, k) for k in rep.opd.forms):
        return LENGKAP
    return BELUM_LENGKAP
