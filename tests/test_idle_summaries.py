"""Issue 12 point 4: an idle cycle that runs the reminder step loads no OPD's stored
verdicts or rows. What the Rekap, the reminders and the status writes need of each
OPD (counts per form, slots taken, the first problems, the cell a link opens, what
the status cells show) is kept in the state beside the cross-OPD results, under the
same key; each OPD's memory has a small head (revision bookkeeping, problems, form
keys) read instead of its payload. The reminders decided from those summaries are
the ones decided from the full verdicts: same decisions, recipients and texts."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
import yaml

from sheets_sync import demo, mail, remind
from sheets_sync.config import WIB, load_settings
from sheets_sync.cycle import open_cycle, run_cycle
from sheets_sync.cycle import state as state_mod
from sheets_sync.cycle.state import HeadOnly, OpdMemory, State, decode_head, encode_head
from sheets_sync.cycle.writes import first_problem
from sheets_sync.demo.setup import demo_settings
from sheets_sync.forms import forms_for
from sheets_sync.ops.offline import last_reports
from sheets_sync.remind import plan, text
from sheets_sync.stores.xlsx import XlsxStore
from sheets_sync.validate import opd_state as ostate
from sheets_sync.validate.layout import Problem
from tests.conftest import AS_OF

H3 = AS_OF                    # Thursday 12/10/2023: the H-3 slot of the fixtures' deadline (15/10)
NOW = dt.datetime.combine(H3, dt.time(8, 30), WIB)


@pytest.fixture(scope="module")
def varied(tmp_path_factory) -> Path:
    """12 demo OPDs (not started, clean, in progress: SALAH and PERIKSA rows, expert
    slots, short forms), a tab renamed in one (SHEET_MISSING) and a phone typed in
    two OPDs (cross-OPD duplicate); e-mails list at most 3 problems per form."""
    folder = tmp_path_factory.mktemp("varied")
    info = demo.generate_demo(folder, 12, as_of=AS_OF, seed=7)
    data = Path(info["data_dir"])
    started = [c for c in info["opds"] if info["progress"][c] != "not_started"]
    book = openpyxl.load_workbook(data / f"{started[0]}.xlsx")
    book.worksheets[0].title = "Tab Diganti"
    book.save(data / f"{started[0]}.xlsx")
    phone = None
    for code in started[1:3]:
        book = openpyxl.load_workbook(data / f"{code}.xlsx")
        ws = book["Pegawai"] if "Pegawai" in book.sheetnames else None
        if ws is None:
            continue
        col = next(c.column for c in ws[2] if c.value == "No HP (W/A) aktif")
        phone = phone or ws.cell(3, col).value
        ws.cell(3, col).value = phone
        book.save(data / f"{code}.xlsx")
    s = demo_settings("xlsx", AS_OF)
    s["reminders"] = {"max_problems": 3}
    (folder / "settings.yaml").write_text(yaml.safe_dump(s, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


def _copy(varied: Path, tmp_path: Path) -> Path:
    import shutil
    shutil.copytree(varied, tmp_path / "spi")
    return tmp_path / "spi" / "settings.yaml"


def _cycle(config: Path, hooks):
    with open_cycle(load_settings(config), H3, now=NOW, hooks=hooks) as ctx:
        rep = run_cycle(ctx)
    assert not rep.errors, rep.errors
    return rep


def _counting(monkeypatch, module, name) -> list:
    calls, real = [], getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a, **k: calls.append(a[:1]) or real(*a, **k))
    return calls


def test_an_idle_cycle_with_the_reminder_step_decodes_no_opd_memory(varied, tmp_path, monkeypatch):
    config = _copy(varied, tmp_path)
    first = _cycle(config, [remind.hook])                 # reads everything, sends today's H-3 reminders
    assert first.read == 12 and len(list((tmp_path / "spi" / "outbox").glob("*.eml"))) > 1
    payloads = _counting(monkeypatch, state_mod, "decode_memory")   # every load of a stored memory
    rows = _counting(monkeypatch, state_mod, "_unframe")            # every stored table made a DataFrame
    decided = _counting(monkeypatch, remind, "decide")
    seen = []
    idle = _cycle(config, [remind.hook, lambda ctx, reports: seen.append(reports)])
    assert idle.read == 0 and idle.validated == 0
    assert len(decided) == 1 and len(seen[0]) == 12       # the reminder step ran, for every OPD
    assert payloads == [] and rows == []
    with State(load_settings(config).state_db) as st:      # and it decided the day was done
        assert st.get("reminders_last")["sent"] == []


def test_the_reminders_from_summaries_are_the_reminders_from_full_verdicts(varied, tmp_path, monkeypatch):
    config = _copy(varied, tmp_path)
    _cycle(config, [])                                    # read and written; no reminder yet
    payloads = _counting(monkeypatch, state_mod, "decode_memory")
    seen = []
    _cycle(config, [lambda ctx, reports: seen.append(reports)])   # idle: reports from the summaries
    assert payloads == []
    monkeypatch.undo()
    settings = load_settings(config)
    forms = forms_for(settings)
    full = last_reports(settings, forms)                  # every OPD's final verdicts, loaded whole
    store = XlsxStore(settings.data_dir, forms)
    for r in full:
        r.link = store.link(r.opd, first_problem(r.results, r.opd.forms))
    assert all(r.summaries is None for r in full)
    summed = seen[0]
    states = [ostate.opd_state(r, forms) for r in full]
    assert [ostate.opd_state(r, forms) for r in summed] == states
    assert {ostate.LENGKAP, ostate.ADA_KESALAHAN, ostate.BELUM_MENGISI} <= set(states)   # varied indeed
    assert [r.link for r in summed] == [r.link for r in full]
    mine, theirs = _mails(summed, settings, forms), _mails(full, settings, forms)
    assert mine == theirs
    decisions, messages = mine
    assert sum(d.action == plan.SEND for d in decisions) >= 3 and len(messages) >= 4
    texts = [m.text for m in messages]
    assert any("belum bisa diperiksa" in t for t in texts)          # the renamed tab
    assert any("masalah lain" in t for t in texts)                  # more problems than an e-mail lists
    assert any(s.filled for r in summed for s in r.summaries.values())   # the expert slots (eksper)


def _mails(reports, settings, forms):
    """Today's decisions and every message they send (reminders and the digest), as
    the reminder step makes them, without sending."""
    rcfg, mcfg = plan.reminder_config(settings), mail.mail_config(settings)
    _, slots = plan.round_slots(rcfg, settings, H3)
    insp = tuple(settings.inspektorat_emails)
    decisions = plan.decide([(r.opd, ostate.opd_state(r, forms)) for r in reports], slots, H3, {}, insp,
                            stale_before=plan.stale_before(rcfg, H3), closed=rcfg.calendar.closed(H3))
    by = {r.opd.code: r for r in reports}
    messages = [text.opd_message(by[d.code], forms, settings, rcfg, mcfg, d.slot, H3, d.to, d.cc, "uji", NOW)
                for d in decisions if d.action == plan.SEND]
    messages.append(text.digest_message(reports, forms, settings, rcfg, mcfg, H3, {}, insp, "uji", NOW))
    return decisions, messages


# ------------------------------------------------------------------ the head
def test_a_head_holds_what_an_idle_cycle_needs_and_refuses_the_rest():
    mem = OpdMemory("rev", "hash", "a", "b", {"pegawai": object()}, "digest", {"pegawai": {"x"}},
                    [Problem("SHEET_MISSING", {"tab": "Pegawai"})], True, ("pegawai",), AS_OF, {"pegawai": object()})
    head = decode_head(encode_head(mem))
    assert head.partial and not mem.partial
    assert (head.shown, head.problems, head.complete, head.forms, head.as_of) == \
        ("digest", mem.problems, True, ("pegawai",), AS_OF)
    assert sorted(head.results) == ["pegawai"] and "pegawai" in head.frames and len(head.row_hashes) == 1
    with pytest.raises(KeyError, match="belum dimuat utuh"):
        head.results["pegawai"]
    with pytest.raises(AttributeError, match="belum dimuat utuh"):
        head.frames.items()
    for bad in ("{", '{"v": 9}', '{"v": 1}', "[]"):
        with pytest.raises(ValueError):
            decode_head(bad)
    assert isinstance(head.results, HeadOnly)


def test_a_payload_replaced_behind_the_heads_back_is_loaded_whole(deployment):
    from tests.conftest import clean_rows
    deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 2)})
    deployment.cycle()
    with State(deployment.settings().state_db) as st:
        assert st.opd_head("DINKES").partial
        st.db.execute("UPDATE workbooks SET payload=? WHERE opd=?", (b'{"v": 2, "results": {', "DINKES"))
        mem = st.opd_head("DINKES")                     # size differs: the whole memory, which does not load
        assert not mem.partial and not mem.complete and mem.revision is None
        assert st.db.execute("SELECT count(*) FROM heads").fetchone()[0] == 0   # read again next cycle
    assert deployment.cycle().read == 1


def test_a_state_from_before_heads_gets_them_on_its_first_idle_cycle(deployment, monkeypatch):
    from tests.conftest import clean_rows
    deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 2)})
    deployment.add_opd("DINSOS", {"pegawai": clean_rows("pegawai", 2, start=10)})
    deployment.cycle()
    with State(deployment.settings().state_db) as st:
        st.db.execute("DELETE FROM heads")
    assert deployment.cycle().read == 0                  # loaded whole once, heads written
    payloads = _counting(monkeypatch, state_mod, "decode_memory")
    assert deployment.cycle().read == 0 and payloads == []


# --------------------------------------------------------- a one-cell edit
def test_an_edit_summarises_only_the_opds_whose_final_verdicts_can_have_moved(deployment, forms, monkeypatch):
    from sheets_sync.cycle import cross_cache, run as cycle_run
    from tests.conftest import clean_row, clean_rows
    deployment.add_opd("DINKES", {"pegawai": clean_rows("pegawai", 3)})
    deployment.add_opd("DINSOS", {"pegawai": clean_rows("pegawai", 3, start=20)})
    deployment.add_opd("BAPPEDA", {"pegawai": clean_rows("pegawai", 3, start=40)})
    deployment.cycle()
    deployment.cycle()
    summarised = _counting(monkeypatch, cycle_run, "summarize_all")
    shown = _counting(monkeypatch, cycle_run, "shown")

    demo.write_opd_workbook(deployment.path("DINSOS"), ["pegawai"], {"pegawai": clean_rows("pegawai", 4, start=20)},
                            forms=forms)                  # a row added: DINSOS only
    assert deployment.cycle().read == 1
    assert len(summarised) == 1 and len(shown) == 2      # DINSOS's summary, and what its status cells show

    summarised.clear()
    phone = clean_row("pegawai", 1)["no_hp"]              # DINKES row 1's phone typed in DINSOS
    demo.write_opd_workbook(deployment.path("DINSOS"), ["pegawai"], {"pegawai": clean_rows("pegawai", 4, start=20) +
                            [clean_row("pegawai", 30, no_hp=phone)]}, forms=forms)
    deployment.cycle()
    assert len(summarised) == 2                           # DINSOS, and DINKES (its row 3 is PERIKSA now)

    with State(deployment.settings().state_db) as st:     # what is kept is what the full verdicts say
        kept = cross_cache.load_summaries(st)
    full = {r.opd.code: ostate.summarize_all(r.results, forms) for r in last_reports(deployment.settings(), forms)}
    assert {code: v["forms"] for code, v in kept.items()} == full
    assert kept["DINKES"]["forms"]["pegawai"].counts == {"OK": 2, "PERIKSA": 1, "SALAH": 0}


def test_problems_are_listed_in_e_mail_order(forms):
    import pandas as pd
    from sheets_sync.validate.frame import FormResult
    form = forms["pegawai"]
    cols = [c.key for c in form.columns]
    problems = pd.DataFrame({"row": [9, 4, 4, 7, 4, 9], "column": [cols[5], cols[6], cols[2], "zzz", cols[2], cols[1]],
                             "code": list("abcdef"), "severity": ["PERIKSA", "SALAH", "SALAH", "SALAH", "PERIKSA",
                                                                  "PERIKSA"], "message": ""})
    res = FormResult("pegawai", pd.Series(["SALAH"] * 3, index=[4, 7, 9]), problems, pd.DataFrame())
    rank = {"SALAH": 0, "PERIKSA": 1}
    expected = sorted(problems.itertuples(index=False), key=lambda p: (
        rank[p.severity], p.row, cols.index(p.column) if p.column in cols else len(cols)))
    assert ostate.ordered_problems(res, form, 100) == [[p.row, p.column, p.code, p.severity] for p in expected]
    assert ostate.ordered_problems(res, form, 2) == [[4, cols[2], "c", "SALAH"], [4, cols[6], "b", "SALAH"]]
