"""The KPK export's layout comes from a template (config/export/*.yaml): Lampiran III
by default (the same workbook as before templates existed), another year's format by
a second file; personal data only in the export file, never in logs or output."""
from __future__ import annotations

import logging

import openpyxl
import pytest

from sheets_sync import cli, master
from sheets_sync.config import CONFIG_DIR, ConfigError, read_yaml
from sheets_sync.export_layout import parse_layout

from tests.conftest import clean_row

SECOND = CONFIG_DIR / "export" / "kpk_satu_tab.yaml"


@pytest.fixture
def exported(deployment):
    deployment.add_opd("DINKES", {"pegawai": [clean_row("pegawai", 1), clean_row("pegawai", 2, no_hp="123")],
                                  "pengguna_layanan": [clean_row("pengguna_layanan", 3)],
                                  "penyedia_pbj": [clean_row("penyedia_pbj", 4)]})
    deployment.add_opd("DINSOS", {"pengguna_layanan": [clean_row("pengguna_layanan", 5)]})
    deployment.cycle()
    return deployment


def _rows(path, title):
    return [list(r) for r in openpyxl.load_workbook(path)[title].iter_rows(values_only=True)]


@pytest.mark.unit
def test_bundled_lampiran3_template_is_the_default_layout(forms):
    bundled = parse_layout(read_yaml(CONFIG_DIR / "export" / "lampiran3.yaml"), forms)
    default = parse_layout({"sheets": [{"form": f.key} for f in forms]}, forms)
    assert bundled.sheets == default.sheets
    assert [s.title for s in bundled.sheets] == [f.sheet for f in forms]
    assert [c.header for c in bundled.sheets[0].columns] == [c.header for c in forms["pegawai"].columns]


@pytest.mark.unit
@pytest.mark.parametrize("raw, said", [
    ({}, "sheets"),
    ({"sheets": [{"form": "pegawaii"}]}, "pegawaii"),
    ({"sheets": [{"form": "pegawai", "columns": [{"header": "HP", "from": "hp"}]}]}, "'hp' tidak ada"),
    ({"sheets": [{"form": "pegawai", "columns": [{"header": "X", "from": "nama", "value": "1"}]}]}, "tepat satu"),
    ({"sheets": [{"form": "pegawai", "columns": [{"header": "X", "opd": "alamat"}]}]}, "code, name"),
    ({"sheets": [{"form": "pegawai", "sheet": "A/B"}]}, "tidak dapat dipakai"),
    ({"sheets": [{"form": "pegawai"}, {"form": "eksper", "sheet": "pegawai"}]}, "lebih dari sekali: Pegawai, pegawai\\.$"),
    ({"sheets": [{"form": "pegawai", "sheet": "A"}, {"form": "eksper", "sheet": "B"},
                 {"form": "pengguna_layanan", "sheet": "a"}]}, "lebih dari sekali: A, a\\.$"),
])
def test_a_wrong_template_is_told_in_indonesian(forms, raw, said):
    with pytest.raises(ConfigError, match=said):
        parse_layout(raw, forms)


def test_default_export_is_lampiran_iii(exported, forms, tmp_path):
    out = tmp_path / "kpk.xlsx"
    assert cli.main(["export", "--config", str(exported.config), "--out", str(out)]) == 0
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == [f.sheet for f in forms]
    peg = _rows(out, "Pegawai")
    assert peg[0][0] == forms["pegawai"].title and peg[2] == [c.header for c in forms["pegawai"].columns]
    assert [r[0] for r in peg[3:]] == [1]                   # the SALAH row (phone 123) is left out


def test_second_layout_names_orders_and_merges_forms(exported, tmp_path, caplog, capsys):
    out = tmp_path / "kpk2024.xlsx"
    caplog.set_level(logging.DEBUG)
    assert cli.main(["export", "--config", str(exported.config), "--out", str(out),
                     "--template", str(SECOND)]) == 0
    assert openpyxl.load_workbook(out).sheetnames == ["Responden Internal", "Responden Eksternal", "Eksper"]
    internal = _rows(out, "Responden Internal")
    assert internal[0] == ["NO", "NAMA", "NOMOR WA", "EMAIL", "UNIT KERJA", "JABATAN"]   # note: "" -> header first
    assert internal[1][:4] == [1, clean_row("pegawai", 1)["nama"], "+6281230000001", "budi.1@gmail.com"]
    ext = _rows(out, "Responden Eksternal")
    assert ext[0][:3] == ["NO", "JENIS RESPONDEN", "NAMA"]
    kinds = [(r[0], r[1], r[-1]) for r in ext[1:]]
    assert kinds == [(1, "Pengguna Layanan (Eksternal)", "Dinas Dinkes"),
                     (2, "Pengguna Layanan (Eksternal)", "Dinas Dinsos"),
                     (3, "Peserta Pengadaan Barang dan Jasa (tahap beauty contest)", "Dinas Dinkes")]
    assert ext[3][2] is None and ext[3][3] == "Andi Wijaya"            # a vendor has a CP, not a name
    assert ext[3][5] == "cv.maju4@gmail.com"                            # pulled out of Alamat & e-mail
    said = capsys.readouterr().out + caplog.text
    for personal in ("81230000001", "budi.1@gmail.com", "cv.maju4", clean_row("pegawai", 1)["nama"]):
        assert personal not in said


def test_settings_export_template_and_a_missing_template(exported, tmp_path, capsys):
    with open(exported.config, "a", encoding="utf-8") as f:
        f.write(f"export_template: {SECOND}\n")
    out = tmp_path / "kpk.xlsx"
    assert cli.main(["export", "--config", str(exported.config), "--out", str(out)]) == 0
    assert "Responden Eksternal" in openpyxl.load_workbook(out).sheetnames
    assert cli.main(["export", "--config", str(exported.config), "--out", str(out),
                     "--template", str(tmp_path / "tidak-ada.yaml")]) == 2
    assert "Template ekspor" in capsys.readouterr().err


@pytest.mark.unit
def test_master_export_without_layout_keeps_old_widths(forms):
    specs = master.kpk_export([], forms)
    assert [s.widths for s in specs] == [[5] + [26] * (len(f.columns) - 1) for f in forms]
    assert [s.note for s in specs] == [f.title for f in forms]


def test_a_broken_template_file_is_called_a_template_not_settings(exported, tmp_path, capsys):
    bad = tmp_path / "kpk.yaml"
    bad.write_text("sheets: [1\n", encoding="utf-8")
    assert cli.main(["export", "--config", str(exported.config), "--out", str(tmp_path / "k.xlsx"),
                     "--template", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"Template ekspor {bad} tidak bisa dibaca (YAML)" in err and "Berkas pengaturan" not in err, err
