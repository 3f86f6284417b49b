"""A cycle does each thing once: every OPD workbook is read at most once, and the
final verdicts (own + cross-OPD) are computed once per OPD after one cross-OPD
search, also when a verdict moves without an edit (a phone typed in another OPD
makes this OPD's row PERIKSA)."""
from __future__ import annotations

from sheets_sync.cycle import run as cycle_run
from sheets_sync.stores.xlsx import XlsxStore
from tests.conftest import clean_row, clean_rows
from tests.doubles import ObservedStore


def test_each_opd_is_read_once_and_verdicts_are_final_once(deployment, forms, monkeypatch):
    deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 3)})
    deployment.add_opd("DINSOS", {"pegawai": clean_rows("pegawai", 3, start=20)})
    deployment.cycle()
    deployment.cycle()                                  # settled: the next cycle reads nothing
    shared = clean_row("pegawai", 1)["no_hp"]           # DINKES row 1's phone, typed again in DINSOS
    deployment.add_opd("DINSOS", {"pegawai": clean_rows("pegawai", 2, start=20) +
                                  [clean_row("pegawai", 30, no_hp=shared)]})
    calls, searches = [], []
    real, search = cycle_run.finalize, cycle_run.cross_opd_of
    monkeypatch.setattr(cycle_run, "finalize", lambda *a, **k: calls.extend(a[1]) or real(*a, **k))
    monkeypatch.setattr(cycle_run, "cross_opd_of", lambda *a, **k: searches.append(1) or search(*a, **k))
    store = ObservedStore(XlsxStore(deployment.data, forms))
    rep = deployment.cycle(store=store)
    assert sorted(store.reads) == ["DINKES", "DINSOS"]   # DINKES read once, to write its new PERIKSA
    assert sorted(calls) == ["DINKES", "DINSOS"] and searches == [1]
    assert rep.read == 2
    idle = ObservedStore(XlsxStore(deployment.data, forms))
    calls.clear()
    searches.clear()
    deployment.cycle(store=idle)
    assert idle.reads == [] and calls == [] and searches == []              # nothing moved: nothing read, nothing finalised
