"""Issue 12: a cycle's cost follows what changed. The cross-OPD duplicates are kept
in the state under a hash of their inputs (an idle cycle that runs the reminders does
not search them again, and turns no stored rows into DataFrames), and the vectorised
cross-OPD search, row notes and master tabs give the same texts as before."""
from __future__ import annotations

import pandas as pd
import pytest

from sheets_sync import master as mst
from sheets_sync.cycle import cross_cache, run as cycle_run
from sheets_sync.cycle.state import LazyFrames, OpdMemory, State, decode_memory, encode_memory
from sheets_sync.validate.cross_opd import contacts_from_json, contacts_json, cross_opd, cross_opd_of
from sheets_sync.validate.frame import MAX_NOTE, FormResult, validate_frame
from tests.conftest import AS_OF, clean_row, clean_rows, frame

SHARED = clean_row("pegawai", 1)["no_hp"]


def _counting(monkeypatch, module, name):
    calls, real = [], getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def _hooked_cycle(deployment, seen):
    from sheets_sync.cycle import run_cycle
    with deployment.context() as ctx:
        ctx.hooks = [lambda c, reports: seen.append({r.opd.code: {k: res.status.to_dict()
                                                                  for k, res in r.results.items()}
                                                     for r in reports})]
        return run_cycle(ctx)


def test_idle_cycle_with_reminders_reuses_cross_results_and_decodes_no_rows(deployment, monkeypatch):
    deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 3)})
    deployment.add_opd("DINSOS", {"pegawai": [clean_row("pegawai", 30, no_hp=SHARED)]})
    seen = []
    _hooked_cycle(deployment, seen)
    assert seen[0]["DINKES"]["pegawai"][3] == "PERIKSA" and seen[0]["DINSOS"]["pegawai"][3] == "PERIKSA"
    searches = _counting(monkeypatch, cycle_run, "cross_opd_of")
    decoded = []
    real_load = LazyFrames._load
    monkeypatch.setattr(LazyFrames, "_load", lambda self: decoded.append(not self.loaded) or real_load(self))
    rep = _hooked_cycle(deployment, seen)
    assert rep.read == 0 and searches == [] and not any(decoded)
    assert seen[1] == seen[0]                  # the same final verdicts, from the cache


def test_cross_cache_misses_when_an_opd_changes(deployment, monkeypatch):
    deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 3)})
    deployment.add_opd("DINSOS", {"pegawai": [clean_row("pegawai", 30, no_hp=SHARED)]})
    seen = []
    _hooked_cycle(deployment, seen)
    deployment.add_opd("DINSOS", {"pegawai": [clean_row("pegawai", 30)]})   # the shared phone is gone
    deployment.registry.pop()
    searches = _counting(monkeypatch, cycle_run, "cross_opd_of")
    _hooked_cycle(deployment, seen)
    assert len(searches) == 1
    assert seen[1]["DINKES"]["pegawai"][3] == "OK" and seen[1]["DINSOS"]["pegawai"][3] == "OK"


def test_cross_cache_key_follows_rules_dates_and_rows(tmp_path):
    class O:
        code = "A"
    mem = OpdMemory(content_hash="h1", as_of=AS_OF, results={"pegawai": None})
    base = cross_cache.inputs_key("r1", [O], {"A": mem})
    assert base == cross_cache.inputs_key("r1", [O], {"A": mem})
    assert base != cross_cache.inputs_key("r2", [O], {"A": mem})
    for change in ({"content_hash": "h2"}, {"as_of": None}, {"results": {}}):
        assert base != cross_cache.inputs_key("r1", [O], {"A": OpdMemory(**{**mem.__dict__, **change})})
    with State(tmp_path / "s.sqlite") as st:
        assert cross_cache.load(st, base) is None                     # nothing stored: a miss
        probs = pd.DataFrame({"row": [3], "column": ["no_hp"], "code": ["CROSS_OPD_DUPLICATE"],
                              "severity": ["PERIKSA"], "message": ["x"]})
        cross_cache.save(st, base, {("A", "pegawai"): probs}, pd.DataFrame({"opd": ["A"]}))
        got = cross_cache.load(st, base)
        assert list(got) == [("A", "pegawai")] and got[("A", "pegawai")].equals(probs)
        assert cross_cache.load(st, "another key") is None
        st.set(cross_cache.PROBLEMS, [["A", "pegawai", {"index": 1}]])   # damaged: a miss, no crash
        assert cross_cache.load(st, base) is None


def test_stored_rows_decode_on_first_use_and_pass_through_untouched(forms):
    f = frame(clean_rows("pegawai", 2), forms["pegawai"])
    payload = encode_memory(OpdMemory(frames={"pegawai": f}, complete=True))
    mem = decode_memory(payload)
    assert not mem.frames.loaded and len(mem.frames) == 1 and "pegawai" in mem.frames
    assert encode_memory(mem) == payload and not mem.frames.loaded   # saved again without decoding
    assert mem.frames["pegawai"].equals(f) and mem.frames.loaded
    broken = payload.replace(b'"index":{"name"', b'"index":{"nome"', 1)
    bad = decode_memory(broken)                                         # shape fine, rows broken
    with pytest.raises(ValueError):
        bad.frames.items()


def test_unreadable_stored_rows_are_reported_by_the_check(tmp_path, forms):
    f = frame(clean_rows("pegawai", 1), forms["pegawai"])
    payload = encode_memory(OpdMemory(frames={"pegawai": f}))
    with State(tmp_path / "s.sqlite") as st:
        st.db.execute("INSERT INTO workbooks VALUES (?,?,?,?,?,?)",
                      ("DINKES", None, None, None, None, payload.replace(b'"index":{"name"', b'"index":{"x"', 1)))
        assert st.unreadable_payloads() == ["DINKES"]


# --------------------------------------------------- same texts, column at a time
def test_notes_join_a_rows_messages_in_order_and_cap_them():
    status = pd.Series(["OK", "SALAH", "PERIKSA", "SALAH"], index=[5, 6, 7, 9])
    problems = pd.DataFrame({"row": [9, 6, 9, 7, 6], "column": "x", "code": "X", "severity": "SALAH",
                             "message": ["a", "b", "c", "d", "e" * 2000]})
    notes = FormResult("pegawai", status, problems, pd.DataFrame()).notes()
    assert notes.tolist() == ["", ("b " + "e" * 2000)[:MAX_NOTE], "d", "a c"]
    empty = FormResult("pegawai", status, problems.iloc[:0], pd.DataFrame()).notes()
    assert empty.tolist() == ["", "", "", ""]


def test_cross_opd_listing_and_lintas_tab_for_a_value_in_three_opds(forms):
    def res(rows, first):
        return validate_frame(frame(rows, forms["pegawai"], first), forms["pegawai"], AS_OF)
    own = {"DINSOS": {"pegawai": res([clean_row("pegawai", 9, no_hp=SHARED)], 3)},
           "BAPPEDA": {"pegawai": res([clean_row("pegawai", 8, no_hp=SHARED), clean_row("pegawai", 7)], 10)},
           "DINKES": {"pegawai": res(clean_rows("pegawai", 2), 3)}}
    cross, listing = cross_opd(own, forms)
    assert list(cross) == [("BAPPEDA", "pegawai"), ("DINKES", "pegawai"), ("DINSOS", "pegawai")]
    assert not any(c in cross[("DINKES", "pegawai")]["message"].iloc[0] for c in ("BAPPEDA", "DINSOS"))   # not named to DINKES
    assert cross[("BAPPEDA", "pegawai")]["row"].tolist() == [10]
    rows = mst.cross_sheet(listing, forms).rows
    assert rows == [["No HP", listing["value"].iloc[0], "BAPPEDA, DINKES, DINSOS",
                     "BAPPEDA Pegawai baris 10; DINKES Pegawai baris 3; DINSOS Pegawai baris 3"]]


def test_contacts_kept_beside_a_memory_give_the_same_cross_opd_results(forms, tmp_path):
    def res(rows, first):
        return validate_frame(frame(rows, forms["pegawai"], first), forms["pegawai"], AS_OF)
    own = {"DINSOS": {"pegawai": res([clean_row("pegawai", 9, no_hp=SHARED, email="A.B@Contoh.go.id")], 3)},
           "BAPPEDA": {"pegawai": res([clean_row("pegawai", 8, no_hp=SHARED, email="a.b@contoh.go.id")], 10)}}
    kept = [p for code, per in own.items()
            for p in contacts_from_json(code, contacts_json(per, forms))]
    (cross, listing), (cross2, listing2) = cross_opd(own, forms), cross_opd_of(kept, forms)
    assert list(cross) == list(cross2) and all(cross[k].equals(cross2[k]) for k in cross)
    assert listing.reset_index(drop=True).astype(str).equals(listing2.reset_index(drop=True).astype(str))
    assert len(cross[("DINSOS", "pegawai")]) == 2      # the phone and the e-mail (casefolded)
    for bad in ("[[1]]", "{", '[["pegawai","no_hp","phone",[3],[5]]]', '[["pegawai","no_hp","phone",[3,4],["x"]]]'):
        assert contacts_from_json("X", bad) is None
    with State(tmp_path / "s.sqlite") as st:
        st.save_opd("DINSOS", OpdMemory(results=own["DINSOS"]), contacts_json(own["DINSOS"], forms))
        assert st.opd_contacts("DINSOS") == contacts_json(own["DINSOS"], forms)
        st.db.execute("UPDATE workbooks SET payload = payload || 'x' WHERE opd='DINSOS'")
        assert st.opd_contacts("DINSOS") is None          # not of the payload now stored
        st.save_opd("DINSOS", OpdMemory(results=own["DINSOS"]))
        assert st.opd_contacts("DINSOS") is None


# ------------------------------------------------- validate FILE: a deployment's limits
def test_validate_takes_the_limits_of_the_deployment_named_by_config(deployment, forms, capsys):
    import json

    import yaml

    from sheets_sync import cli, demo
    path = demo.write_opd_workbook(deployment.root / "besar.xlsx", ["pegawai"],
                                   {"pegawai": clean_rows("pegawai", 105)}, forms=forms)
    args = ["validate", str(path), "--form", "pegawai", "--as-of", "2023-10-12", "--json"]
    small = yaml.safe_load(deployment.config.read_text(encoding="utf-8")) | {"limits": {"rows": 100}}
    deployment.config.write_text(yaml.safe_dump(small), encoding="utf-8")
    assert cli.main(args + ["--config", str(deployment.config)]) == 2
    err = capsys.readouterr().err
    assert "melewati batas 100 baris" in err and "--config" not in err and "Traceback" not in err
    raised = small | {"limits": {"rows": 1000}}
    deployment.config.write_text(yaml.safe_dump(raised), encoding="utf-8")
    assert cli.main(args + ["--config", str(deployment.config)]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 105 and {r["status"] for r in records} == {"OK"}


def test_validate_without_config_names_the_setting_when_a_tab_is_too_large(tmp_path, forms, capsys, monkeypatch):
    from sheets_sync import cli, demo
    from sheets_sync.config import Limits
    from sheets_sync.stores import xlsx
    monkeypatch.setattr(xlsx, "Limits", lambda: Limits(rows=100))   # the default, scaled down
    path = demo.write_opd_workbook(tmp_path / "besar.xlsx", ["pegawai"], {"pegawai": clean_rows("pegawai", 105)},
                                   forms=forms)
    assert cli.main(["validate", str(path), "--as-of", "2023-10-12"]) == 2
    err = capsys.readouterr().err
    assert "melewati batas 100 baris" in err and "limits.rows" in err and "--config" in err


def test_master_digest_takes_every_cell_value_and_moves_with_them():
    import datetime as dt
    body = [("Rekap", ["Kode"], [["A", 1, dt.date(2023, 10, 12), None]], "")]
    assert cycle_run._digest(body) == cycle_run._digest(body)
    assert cycle_run._digest(body) != cycle_run._digest([("Rekap", ["Kode"], [["A", 2, dt.date(2023, 10, 12), None]], "")])
    assert cycle_run._digest([("T", [], [[2 ** 70]], "")]) != cycle_run._digest([("T", [], [[2 ** 70 + 1]], "")])


def test_validate_names_a_missing_file(tmp_path, capsys):
    from sheets_sync import cli
    assert cli.main(["validate", str(tmp_path / "tidak-ada.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "tidak-ada.xlsx tidak ditemukan" in err and "Traceback" not in err


def test_error_cells_are_found_where_t_e_stands_whatever_the_attribute_order():
    from sheets_sync.stores.xlsx_read import _errors_in
    xml = (b'<sheetData><row r="2"><c r="B2" t="e"><v>#N/A</v></c><c r="C2" t="s"><v>3</v></c></row>'
           b'<row r="3"><c t="e" s="1" r="AA3"><f>1/0</f><v>#DIV/0!</v></c>'
           b'<c\nr="AB3"\nt="e"><v>#REF!</v></c><c r="AC3" t="str"><v>t="e"</v></c></row></sheetData>')
    assert _errors_in(xml) == {(2, 2): "#N/A", (3, 27): "#DIV/0!", (3, 28): "#REF!"}
