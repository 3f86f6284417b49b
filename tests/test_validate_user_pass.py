"""`validate FILE` on what a user pass found: how cells arrive from a CSV (all text)
and an .xlsx (typed cells) decides what they may mean, and every message says what
to fix."""
from __future__ import annotations

import datetime as dt
import json
import zipfile

import pytest

from sheets_sync import cli, config

from tests.conftest import clean_row
from tests.test_cli import AS_OF_ARG, write_csv, write_xlsx


def _verdicts(capsys, path) -> dict[int, list[tuple[str, str]]]:
    code = cli.main(["validate", str(path), "--json", *AS_OF_ARG])
    out = capsys.readouterr().out
    assert code == 0
    return {r["row"]: [(m["code"], m["message"]) for m in r["messages"]] for r in json.loads(out)}


# ------------------------------------------------------------------ 1. dates
def test_a_year_typed_alone_in_a_csv_is_an_incomplete_date_not_a_serial(tmp_path, forms, capsys):
    rows = [clean_row("pegawai", 1, tanggal_mulai="2020"), clean_row("pegawai", 2, tanggal_mulai="12"),
            clean_row("pegawai", 3, tanggal_mulai="15 Oktober")]
    got = _verdicts(capsys, write_csv(tmp_path / "a.csv", forms, rows))
    (code3, msg3), = got[3]
    assert code3 == "DATE_INCOMPLETE" and "(2020)" in msg3 and "tanggal belum lengkap" in msg3
    assert "1905" not in msg3 and "periksa tahunnya" not in msg3
    assert [c for c, _ in got[4]] == ["DATE_INCOMPLETE"] and "1900" not in got[4][0][1]
    (code5, msg5), = got[5]
    assert code5 == "DATE_NO_YEAR" and "tahun" in msg5 and "bukan tanggal yang dikenali" not in msg5


def test_an_xlsx_text_cell_is_text_and_a_number_cell_a_serial(tmp_path, forms, capsys):
    """In an .xlsx the cell's type says it: the text '2020' is a year typed alone; the
    number 2020 is a serial number (12/07/1905, what a date-formatted cell shows)."""
    rows = [clean_row("pegawai", 1, tanggal_mulai="2020"), clean_row("pegawai", 2, tanggal_mulai=2020),
            clean_row("pegawai", 3, tanggal_mulai=42036)]
    got = _verdicts(capsys, write_xlsx(tmp_path / "a.xlsx", forms, rows))
    assert [c for c, _ in got[3]] == ["DATE_INCOMPLETE"]
    (code, msg), = got[4]
    assert code == "DATE_TOO_EARLY" and "12/07/1905" in msg and "periksa tahunnya" in msg
    assert got[5] == []       # 42036 = 01/02/2015


# ----------------------------------------------------------------- 2. e-mails
def test_email_messages_name_what_to_fix(tmp_path, forms, capsys):
    rows = [clean_row("pegawai", 1, email="a.empat@gmail.com,"), clean_row("pegawai", 2, email="mailto:a@gmail.com"),
            clean_row("pegawai", 3, email="a@gmail.com; b@gmail.com")]
    got = _verdicts(capsys, write_csv(tmp_path / "a.csv", forms, rows))
    assert got[3] == [("EMAIL_INVALID", "E-mail aktif tidak valid (karakter ',' tidak boleh); contoh nama@gmail.com.")]
    assert [c for c, _ in got[4]] == ["EMAIL_INVALID"] and "hapus 'mailto:'" in got[4][0][1]
    (code, msg), = got[5]
    assert code == "EMAIL_MULTIPLE" and "isi satu e-mail saja" in msg and "gmail.com;" not in msg


# ------------------------------------------------------------------- 3. phones
def test_a_phone_with_excels_text_marker_in_a_csv_is_accepted(tmp_path, forms, capsys):
    rows = [clean_row("pegawai", 1, no_hp="'081234567897"), clean_row("pegawai", 2, no_hp="'0812-3456-7898")]
    path = write_csv(tmp_path / "a.csv", forms, rows)
    assert _verdicts(capsys, path) == {3: [], 4: []}
    assert cli.main(["validate", str(path), "--json", *AS_OF_ARG]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert [r["normalized"]["no_hp"] for r in recs] == ["+6281234567897", "+6281234567898"]


# --------------------------------------------------------- 4. files validate reads
def _unicode_text(path, forms, rows, encoding: str, bom: bytes):
    """What Excel's "Unicode Text" save writes: UTF-16 with a BOM, tab separated."""
    plain = write_csv(path.with_suffix(".utf8"), forms, rows, delimiter="\t")
    path.write_bytes(bom + plain.read_text(encoding="utf-8").encode(encoding))
    return path


@pytest.mark.parametrize("encoding,bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-16-le", b""),
                                          ("utf-32-le", b"\xff\xfe\x00\x00")])
def test_a_utf16_csv_is_read_like_a_utf8_one(tmp_path, forms, capsys, encoding, bom):
    rows = [clean_row("pegawai", 1, nama="Budi Sántoso"), clean_row("pegawai", 2, email="a@gmail.com; b@gmail.com")]
    want = _verdicts(capsys, write_csv(tmp_path / "a.csv", forms, rows))
    got = _verdicts(capsys, _unicode_text(tmp_path / "u.csv", forms, rows, encoding, bom))
    assert got == want and [c for c, _ in got[4]] == ["EMAIL_MULTIPLE"]


def test_a_csv_whose_headers_are_not_found_is_told_to_be_saved_as_csv_utf8(tmp_path, forms, capsys):
    path = tmp_path / "a.csv"
    path.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    for form in ([], ["--form", "pegawai"]):
        assert cli.main(["validate", str(path), *form, *AS_OF_ARG]) == 2
        assert "CSV UTF-8" in capsys.readouterr().err


def _zip(path, parts: dict):
    with zipfile.ZipFile(path, "w") as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return path


@pytest.mark.parametrize("name,parts,said", [
    ("a.ods", {"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": "<x/>"}, "OpenDocument .ods"),
    ("a.xlsx", {"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": "<x/>"},
     "OpenDocument .ods"),                           # renamed: the content tells
    ("a.ods", {"content.xml": "<x/>", "META-INF/manifest.xml": "<m/>"}, "OpenDocument"),
    ("a.xlsx", {"word/document.xml": "<w/>"}, "dokumen Word .docx"),
    ("a.xlsx", {"x.txt": "x"}, "bukan workbook Excel .xlsx"),
])
def test_a_file_that_is_not_an_xlsx_says_plainly_what_it_is(tmp_path, capsys, name, parts, said):
    assert cli.main(["validate", str(_zip(tmp_path / name, parts)), *AS_OF_ARG]) == 2
    err = capsys.readouterr().err
    assert said in err and "simpan ulang sebagai Buku Kerja Excel (.xlsx)" in err
    assert "xl/workbook.xml" not in err and "bagian" not in err


# ------------------------------------------------------------------ 5. --as-of
@pytest.mark.parametrize("typed", ["2026-10-15", "2026/10/15", "2026.10.15", "15/10/2026", "15-10-2026",
                                   "15 Oktober 2026"])
def test_as_of_takes_the_forms_date_cells_take(typed):
    from sheets_sync.validate.fields import parse_date as cell_date
    assert cli.build_parser().parse_args(["validate", "x.csv", "--as-of", typed]).as_of == dt.date(2026, 10, 15)
    assert config.parse_date(typed, "tanggal_laporan") == dt.date(2026, 10, 15) == cell_date(typed).value


def test_a_bad_as_of_names_the_forms_it_takes(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["validate", "x.csv", "--as-of", "2026/10-15"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "bukan tanggal" in err and "2023/10/15" in err and "15 Oktober 2023" in err
    with pytest.raises(config.ConfigError, match="2023/10/15"):
        config.parse_date("2026/13/15", "tanggal_laporan")
