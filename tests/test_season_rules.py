"""Season rules as settings, not code (issue 14, point 2): the `aturan` of
config/forms.yaml (the circular's defaults) and a settings file's `aturan:` over it."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sheets_sync.config import ConfigError, parse_settings
from sheets_sync.forms import forms_for, load_forms
from sheets_sync.validate import opd_state as ostate
from sheets_sync.validate.frame import validate_frame
from sheets_sync.validate.layout import locate_form
from sheets_sync.validate.registry import Opd
from tests.conftest import AS_OF, clean_row, frame, table
from tests.test_validate import assert_consistent, codes_at

KPK = {"pengguna_layanan_bulan": 12, "status_kepegawaian": True, "masa_kerja_asn_bulan": 12,
       "minimal_baris": {"pengguna_layanan": 3}}


def forms_with(**aturan):
    return forms_for(parse_settings({"aturan": aturan}, Path("/tmp/settings.yaml")))


def run(forms, key, rows):
    return validate_frame(frame(rows, forms[key]), forms[key], AS_OF)


def test_defaults_are_the_circular(forms):
    plain = forms_for(parse_settings({}, Path("/tmp/settings.yaml")))
    assert plain.forms == load_forms().forms       # no aturan in the settings: the circular's forms
    for f in plain:
        assert [c.rules for c in f.columns] == [c.rules for c in load_forms()[f.key].columns]
    assert plain["pengguna_layanan"].column("tanggal_layanan").rules["max_age_months"] == 1
    assert "status_kepegawaian" not in plain["pegawai"].keys
    assert len(plain["eksper"].column("kriteria").rules["choices"]) == 13
    assert plain["pengguna_layanan"].complete == {"min_rows": 1}
    assert plain.rules["masa_kerja_asn_bulan"] == 0


# ------------------------------------------------------------ service-user window
def test_service_user_window_in_months():
    five_months = "12/05/2023"
    circular, kpk = load_forms(), forms_with(pengguna_layanan_bulan=12)
    res = run(circular, "pengguna_layanan", [clean_row("pengguna_layanan", 1, tanggal_layanan=five_months)])
    assert codes_at(res, 3) == {"DATE_TOO_OLD"}
    assert "1 bulan" in res.problems["message"].iloc[0]
    assert run(kpk, "pengguna_layanan", [clean_row("pengguna_layanan", 1, tanggal_layanan=five_months)]).status[3] == "OK"
    res = run(kpk, "pengguna_layanan", [clean_row("pengguna_layanan", 1, tanggal_layanan="11/10/2022")])
    assert codes_at(res, 3) == {"DATE_TOO_OLD"}
    assert "12 bulan" in res.problems["message"].iloc[0]


# ------------------------------------------------- Status Kepegawaian and tenure
def test_status_kepegawaian_column_is_offered_with_a_dropdown():
    from sheets_sync.provision.spec import distinct_choices, tab_headers, wanted_aspects
    forms = forms_with(status_kepegawaian=True)
    col = forms["pegawai"].column("status_kepegawaian")
    assert "Status Kepegawaian" in tab_headers(forms["pegawai"], forms)
    assert distinct_choices(col) == ["ASN", "Non-ASN"]
    assert "validation:status_kepegawaian" in wanted_aspects(forms["pegawai"])


@pytest.mark.parametrize("typed,want", [("ASN", "ASN"), ("PNS", "ASN"), ("pppk", "ASN"), ("Non ASN", "Non-ASN"),
                                        ("honorer", "Non-ASN"), ("Tenaga Kontrak", "Non-ASN")])
def test_status_kepegawaian_as_staff_write_it(typed, want):
    forms = forms_with(status_kepegawaian=True)
    res = run(forms, "pegawai", [clean_row("pegawai", 1, status_kepegawaian=typed)])
    assert res.status[3] == "OK" and res.normalized.at[3, "status_kepegawaian"] == want


def test_tenure_below_the_minimum_is_periksa_for_asn_only():
    forms = forms_with(**KPK)
    res = run(forms, "pegawai", [
        clean_row("pegawai", 1, status_kepegawaian="ASN", tanggal_mulai="01/07/2023"),       # 3 months
        clean_row("pegawai", 2, status_kepegawaian="Honorer", tanggal_mulai="01/07/2023"),   # non-ASN: fine
        clean_row("pegawai", 3, status_kepegawaian="PNS", tanggal_mulai="12/10/2022"),       # exactly 12 months
        clean_row("pegawai", 4, status_kepegawaian=None, tanggal_mulai="13/10/2022"),        # a day short, unknown
    ])
    assert_consistent(res)
    assert codes_at(res, 3) == {"TENURE_SHORT"} and res.status[3] == "PERIKSA"
    assert "baru 3 bulan" in res.problems.loc[res.problems["row"] == 3, "message"].iloc[0]
    assert res.status[4] == "OK" and res.status[5] == "OK"
    assert codes_at(res, 6) == {"TENURE_SHORT"}                    # empty status: taken for ASN


def test_tenure_rule_on_a_sheet_without_the_status_column():
    """The circular's Pegawai tab (no Status Kepegawaian): checked, everyone taken for ASN."""
    forms = forms_with(**KPK)
    form = forms["pegawai"]
    header = [c.header for c in form.columns if c.key != "status_kepegawaian"]
    grid = [header, [1, "Dinas", "Budi", "01/09/2023", "Staf", "0812-3000-0001", "b@gmail.com"],
            [2, "Dinas", "Sari", "01/09/2013", "Staf", "0812-3000-0002", "s@gmail.com"]]
    sheet = locate_form(grid, form, forms, "Pegawai")
    res = validate_frame(sheet.frame, form, AS_OF)
    assert codes_at(res, 2) == {"TENURE_SHORT"}      # no MISSING_EXPECTED for an absent column
    assert res.status[3] == "OK"


# ------------------------------------------------------------ minimum rows
def test_minimum_rows_keep_an_opd_belum_lengkap():
    forms = forms_with(minimal_baris={"pengguna_layanan": 3})
    opd = Opd("DINKES", "Dinas Kesehatan", forms=("pengguna_layanan",))
    two = run(forms, "pengguna_layanan", [clean_row("pengguna_layanan", i) for i in (1, 2)])
    rep = ostate.OpdReport(opd, {"pengguna_layanan": two}, [])
    assert ostate.opd_state(rep, forms) == ostate.BELUM_LENGKAP
    assert ostate.rows_short_text(rep, forms) == "Pengguna Layanan: baru 2 dari minimal 3 baris."
    three = run(forms, "pengguna_layanan", [clean_row("pengguna_layanan", i) for i in (1, 2, 3)])
    rep = ostate.OpdReport(opd, {"pengguna_layanan": three}, [])
    assert ostate.opd_state(rep, forms) == ostate.LENGKAP and ostate.rows_short_text(rep, forms) == ""
    assert ostate.opd_state(rep, load_forms()) == ostate.LENGKAP


def test_the_rekap_says_how_many_rows_are_missing(deployment):
    cfg = yaml.safe_load(deployment.config.read_text(encoding="utf-8"))
    cfg["aturan"] = {"minimal_baris": {"pengguna_layanan": 5}}
    deployment.config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    deployment.add_opd("DINKES", {"pengguna_layanan": [clean_row("pengguna_layanan", i) for i in (1, 2)]})
    deployment.cycle()
    row = table(deployment.master, "Rekap", "Kode OPD")[0]
    assert row["Keadaan"] == "BELUM LENGKAP"
    assert "baru 2 dari minimal 5 baris" in row["Catatan"]


# ------------------------------------------------------------ expert slots
def test_expert_slots_from_the_settings():
    slots = ["Akademisi", "Auditor BPK", "Tokoh masyarakat (adat/agama)"]
    forms = forms_with(slot_ahli=slots)
    assert forms["eksper"].column("kriteria").rules["choices"] == slots
    res = run(forms, "eksper", [clean_row("eksper", 1, kriteria="1. akademisi"),
                                clean_row("eksper", 2, kriteria="Tokoh Masyarakat"),
                                clean_row("eksper", 3, kriteria="Aktivis")])
    assert res.normalized.loc[[3, 4], "kriteria"].tolist() == ["Akademisi", "Tokoh masyarakat (adat/agama)"]
    assert codes_at(res, 5) == {"CHOICE_INVALID"}
    assert "3. Tokoh masyarakat" in res.problems["message"].iloc[0]
    assert ostate.slots(forms, "eksper", "kriteria") == slots


# ------------------------------------------------------------ mistakes in the settings
@pytest.mark.parametrize("aturan,words", [
    ({"pengguna_layanan_bulanan": 12}, "tidak dikenal"),
    ({"pengguna_layanan_bulan": 0}, "1–36"),
    ({"pengguna_layanan_bulan": "dua belas"}, "1–36"),
    ({"status_kepegawaian": "ya"}, "true atau false"),
    ({"minimal_baris": 30}, "per formulir"),
    ({"minimal_baris": {"pengguna_layanan": -1}}, "1–100000"),
    ({"slot_ahli": "Akademisi"}, "daftar kriteria"),
    ("12", "pasangan kunci"),
])
def test_bad_season_rules_are_told_in_indonesian(aturan, words):
    with pytest.raises(ConfigError, match=words):
        parse_settings({"aturan": aturan}, Path("/tmp/settings.yaml"))


def test_minimum_rows_for_an_unknown_form_is_told():
    with pytest.raises(ConfigError, match="pengguna tidak dikenal"):
        forms_with(minimal_baris={"pengguna": 3})


def test_example_settings_document_every_rule():
    text = (Path(__file__).resolve().parent.parent / "config" / "settings.example.yaml").read_text(encoding="utf-8")
    from sheets_sync.config import ATURAN
    for key in ATURAN:
        assert f"#   {key}:" in text, key


def test_cli_validate_uses_the_settings_rules(tmp_path, capsys):
    import json
    from sheets_sync import cli, demo
    path = demo.write_opd_workbook(tmp_path / "x.xlsx", ["pengguna_layanan"], {"pengguna_layanan": [
        clean_row("pengguna_layanan", 1, tanggal_layanan="12/05/2023")]})
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("aturan:\n  pengguna_layanan_bulan: 12\n", encoding="utf-8")
    base = ["validate", str(path), "--as-of", str(AS_OF), "--json"]
    assert cli.main(base) == 0
    assert json.loads(capsys.readouterr().out)[0]["status"] == "SALAH"
    assert cli.main(base + ["--config", str(cfg)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["status"] == "OK"
    cfg.write_text("aturan:\n  pengguna_layanan_bulan: nol\n", encoding="utf-8")
    assert cli.main(base + ["--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "aturan.pengguna_layanan_bulan" in err and "Traceback" not in err


def test_changing_a_season_rule_rechecks_unedited_workbooks(deployment, forms):
    from tests.conftest import status_by_row
    deployment.add_opd("DUKCAPIL", {"pengguna_layanan": [
        clean_row("pengguna_layanan", 1, tanggal_layanan="12/05/2023")]})
    deployment.cycle()
    status = status_by_row(deployment.path("DUKCAPIL"), "Pengguna Layanan", forms, "pengguna_layanan")
    assert status[3][0] == "SALAH"
    cfg = yaml.safe_load(deployment.config.read_text(encoding="utf-8"))
    cfg["aturan"] = {"pengguna_layanan_bulan": 12}
    deployment.config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    rep = deployment.cycle()                     # no edit to the workbook, same reporting date
    assert rep.validated == 1
    status = status_by_row(deployment.path("DUKCAPIL"), "Pengguna Layanan", forms, "pengguna_layanan")
    assert status[3][0] == "OK"
    assert deployment.cycle().validated == 0     # and then idle again


def test_petunjuk_tells_the_season_rules(tmp_path):
    from sheets_sync.provision.spec import petunjuk_lines
    s = parse_settings({"aturan": KPK}, tmp_path / "settings.yaml")
    text = "\n".join(petunjuk_lines(s, forms_for(s), ["pegawai", "pengguna_layanan"]))
    assert "dalam 12 bulan terakhir" in text and "responden ASN minimal 12 bulan" in text
    assert "paling sedikit 3 baris" in text and "Status Kepegawaian: pilih dari daftar" in text
    plain = parse_settings({}, tmp_path / "settings.yaml")
    text = "\n".join(petunjuk_lines(plain, forms_for(plain), ["pegawai", "pengguna_layanan"]))
    assert "dalam 1 bulan terakhir" in text and "ASN minimal" not in text and "lengkap bila paling" not in text
