"""Rows as staff really type them (issue 14, point 1): the circular's Lampiran III B
without contact columns, "none" placeholders, numbers in name columns, combined
address & e-mail cells, Kriteria Ahli written loosely. Pure: validate_frame on
plain DataFrames, and locate_form on grids with merged ranges (the stores' merged
cells are tested with real files in tests/test_staff_merges.py)."""
from __future__ import annotations

import pytest

from sheets_sync.forms import load_forms
from sheets_sync.validate import fastpath, fields
from sheets_sync.validate.frame import validate_frame
from sheets_sync.validate.layout import locate_form
from tests.conftest import AS_OF, clean_row
from tests.test_validate import assert_consistent, codes_at, run

FORMS = load_forms()


# ------------------------------------------------ Lampiran III B as the circular has it
def test_service_users_without_contact_columns_are_checked_and_periksa(forms):
    form = forms["pengguna_layanan"]
    header = [c.header for c in form.columns if c.key not in ("no_hp", "email")]
    grid = [["Pengguna Layanan (Eksternal)"], header,
            [1, "Puskesmas Lubuk Pinang", "Pelayanan KIA", "02/10/2023", "Rina Marlina"],
            [2, "Dukcapil", "Perekaman KTP-el", "40/10/2023", "Joko Susilo"]]
    sheet = locate_form(grid, form, forms, "Pengguna Layanan")
    assert not hasattr(sheet, "code"), sheet            # checked, not refused (no HEADER_MISSING)
    assert set(sheet.columns) == {"no", "unit_kerja", "nama_layanan", "tanggal_layanan", "nama"}
    res = validate_frame(sheet.frame, form, AS_OF)
    assert_consistent(res)
    assert res.status[3] == "PERIKSA"
    assert codes_at(res, 3) == {"CONTACT_UNREACHABLE"}   # not CONTACT_MISSING nor one per column
    assert "KPK tidak dapat menghubungi" in res.problems.loc[res.problems["row"] == 3, "message"].iloc[0]
    assert codes_at(res, 4) == {"CONTACT_UNREACHABLE", "DATE_IMPOSSIBLE"}
    assert res.status[4] == "SALAH"


def test_one_contact_column_present_keeps_the_contact_rule(forms):
    form = forms["pengguna_layanan"]
    header = [c.header for c in form.columns if c.key != "email"]
    grid = [header, [1, "Puskesmas", "Imunisasi", "02/10/2023", "Rina", None],
            [2, "Puskesmas", "Imunisasi", "02/10/2023", "Dewi", "0813-1111-2222"]]
    res = validate_frame(locate_form(grid, form, forms, "B").frame, form, AS_OF)
    assert codes_at(res, 2) == {"CONTACT_MISSING"}      # a phone column to fill: SALAH as before
    assert res.status[3] == "OK"                          # e-mail column absent: no MISSING_EXPECTED


def test_provisioned_service_user_tab_keeps_offering_phone_and_email(forms):
    from sheets_sync.provision.spec import tab_headers
    headers = tab_headers(forms["pengguna_layanan"], forms)
    assert "No HP (WA)" in headers and "E-mail" in headers


# ------------------------------------------------------------------- placeholders
@pytest.mark.parametrize("none", ["-", "--", "----", " Tidak ada ", "TIDAK ADA.", "belum ada", "n/a", "N/A",
                                  "Nihil", "tdk ada", "\u2013", "..."])
def test_placeholders_count_as_empty_with_the_missing_codes(forms, none):
    res = run(forms, "pegawai", [clean_row("pegawai", 1, no_hp=none, email=none)])
    assert_consistent(res)
    assert codes_at(res, 3, "no_hp") == {"REQUIRED"}             # missing, not PHONE_INVALID
    assert codes_at(res, 3, "email") == {"MISSING_EXPECTED"}     # stays PERIKSA
    assert res.normalized.at[3, "no_hp"] is None and res.normalized.at[3, "email"] is None


def test_placeholder_contacts_of_a_service_user_are_contact_missing(forms):
    res = run(forms, "pengguna_layanan", [clean_row("pengguna_layanan", 1, no_hp="tidak ada", email="-")])
    assert codes_at(res, 3) == {"CONTACT_MISSING"}


def test_words_that_only_contain_a_placeholder_are_not_empty(forms):
    res = run(forms, "pegawai", [clean_row("pegawai", 1, jabatan="Tidak ada jabatan"),
                                 clean_row("pegawai", 2, email="nihil@gmail.com")])
    assert res.status[3] == "OK" and res.status[4] == "OK"


def test_a_row_of_placeholders_only_is_no_row(forms):
    row = {k: "-" for k in forms["pegawai"].keys}
    res = run(forms, "pegawai", [row, clean_row("pegawai", 2)])
    assert list(res.status.index) == [4]


def test_placeholder_list_lives_in_forms_yaml(forms):
    assert {"-", "tidak ada", "n/a", "nihil"} <= forms["pegawai"].placeholders


# -------------------------------------------------------------- numbers as names
@pytest.mark.parametrize("nip", [199001012015031001.0, 1.99e17, 1.9900101201503101e17, 199001012015031001,
                                 "1.99E+17", "1,99001E+17", "1.99e+17"])
@pytest.mark.parametrize("form_key,key", [("pegawai", "nama"), ("eksper", "nama"), ("penyedia_pbj", "nama_cp")])
def test_a_long_number_in_a_name_column_is_salah(forms, nip, form_key, key):
    res = run(forms, form_key, [clean_row(form_key, 1, **{key: nip})])
    assert res.status[3] == "SALAH"
    assert codes_at(res, 3, key) == {"NAME_NO_LETTERS"}


def test_names_with_an_e_are_still_names():
    for name in ("Eko Prasetyo", "Dr. Ir. H. Edi, M.E.", "Ade E 2"):
        assert fields.check_name(name).code is None
        assert fastpath.names([name]) == [name]


# ------------------------------------------------------- combined address & e-mail
@pytest.mark.parametrize("cell", [
    "Jl. Sudirman No. 5 Mukomuko/cv.maju@gmail.com",
    "Jl. Sudirman No. 5|cv.maju@gmail.com",
    "Jl. Sudirman No. 5 / cv.maju@gmail.com",
    "Jl. Sudirman No. 5, Mukomuko\ncv.maju@gmail.com",
    "cv.maju@gmail.com; Jl. Sudirman No. 5",
    "Jl. Sudirman No.5 Email:cv.maju@gmail.com",
])
def test_the_email_in_an_address_cell_is_exactly_the_address(forms, cell):
    res = run(forms, "penyedia_pbj", [clean_row("penyedia_pbj", 1, alamat_email=cell)])
    assert res.status[3] == "OK", res.problems
    assert res.normalized.at[3, "email"] == "cv.maju@gmail.com"


def test_the_same_email_behind_different_addresses_is_a_duplicate(forms):
    res = run(forms, "penyedia_pbj", [
        clean_row("penyedia_pbj", 1, alamat_email="Jl. Sudirman 5/cv.maju@gmail.com"),
        clean_row("penyedia_pbj", 2, alamat_email="Jl. Ahmad Yani 9 | CV.Maju@gmail.com")])
    assert codes_at(res, 4, "alamat_email") == {"DUPLICATE_EMAIL"}


# -------------------------------------------------------------------- Kriteria Ahli
SLOTS = FORMS["eksper"].column("kriteria").rules["choices"]
TABLE = fields.choice_lookup(SLOTS, FORMS["eksper"].column("kriteria").rules["choice_aliases"])


@pytest.mark.parametrize("typed,slot", [
    ("8. Saber Pungli Kepolisian", 7),
    ("a. Auditor BPK", 1),
    ("- Perwakilan Ombudsman", 3),
    ("\u2022 Aktivis", 6),
    ("(4) Perwakilan Ombudsman", 3),
    ("Saber Pungli Kejaksaan", 8),
    ("DPRD", 5),
    ("Advisor dan lembaga donor yang bekerja sama dengan Pemda", 11),
    ("Perwakilan LSM/NGO antikorupsi terbesar yang bekerja sama dengan Pemda", 12),
    ("12. Advisor dan lembaga donor yang bekerjasama dengan Pemda.", 11),
    ("Asosiasi Pengusaha", 4),
    ("Jurnalis / Wartawan media lokal terbesar", 10),
    ("Agenzia pengusaha (KADIN, HIPMI, APINDO) atau pengusaha yang berpengaruh", 4),
    # rows copied from the scanned circular's table, its number in front
    ("1 Pensiunan maksimal 5 tahun terakhir (Prajabat minimal eselon II untuk KA./Provinsi atau eselon III "
     "untuk Kabupaten/Kota)", 0),
    ("13 Perwakilan Lembaga Swadaya Masyarakat (LSM/ NGO antikorupsi terbesar yang bekerjasama dengan Pemda)", 12),
    ("9 Saber Pungli Kejaksaan (Kejari untuk Kab/Kota, Kejari untuk Provinsi)", 8),
])
def test_kriteria_as_staff_write_it(typed, slot):
    assert fields.check_choice(typed, TABLE) == fields.Check(SLOTS[slot])


@pytest.mark.parametrize("typed", ["Saber Pungli", "1. Saber Pungli", "DPRD / Aktivis", "Auditor BPK, Aktivis"])
def test_kriteria_matching_two_slots_is_ambiguous(typed):
    c = fields.check_choice(typed, TABLE, len(SLOTS), SLOTS)
    assert c.code == "CHOICE_AMBIGUOUS"
    assert "Saber Pungli Kepolisian" in c.params["pilihan"] and "13." in c.params["pilihan"]


@pytest.mark.parametrize("typed", ["Wartawan", "Akademisi", "Tokoh masyarakat", "-  Kejaksaan Agung", "a."])
def test_kriteria_matching_no_slot_lists_the_slots(typed):
    c = fields.check_choice(typed, TABLE, len(SLOTS), SLOTS)
    assert c.code == "CHOICE_INVALID"
    assert c.params["jumlah"] == 13 and "1. Pensiunan" in c.params["pilihan"]
    assert "2. Auditor BPK; 3. Auditor BPK" in c.params["pilihan"]        # numbered as the circular


def test_a_choice_that_starts_with_a_number_keeps_it():
    table = fields.choice_lookup(["5 tahun terakhir", "Aktivis"])
    assert fields.check_choice("5 tahun terakhir", table).value == "5 tahun terakhir"
    assert fields.check_choice("2. 5 tahun terakhir", table).value == "5 tahun terakhir"


def test_a_short_form_two_slots_share_matches_neither():
    table = fields.choice_lookup(["Saber Pungli (Polres)", "Saber Pungli (Kejari)", "Aktivis"])
    assert fields.check_choice("Saber Pungli", table).code == "CHOICE_AMBIGUOUS"
    assert fields.check_choice("Saber Pungli (Kejari)", table).value == "Saber Pungli (Kejari)"


def test_kriteria_messages_in_the_sheet_list_the_slots(forms):
    res = run(forms, "eksper", [clean_row("eksper", 1, kriteria="Saber Pungli"),
                                clean_row("eksper", 2, kriteria="Wartawan")])
    assert_consistent(res)
    msgs = res.problems.set_index("row")["message"]
    assert "Saber Pungli Pengadilan" in msgs[3] and "Aktivis" in msgs[4]
    assert len(msgs[3]) < 1000


# ------------------------------------------------------------------ merged cells
def test_a_merged_unit_kerja_fills_every_row_it_covers(forms):
    form = forms["pegawai"]
    header = [c.header for c in form.columns]
    grid = [["Pegawai (Internal)"], header,
            [1, "Dinas Kesehatan", "Budi", "01/02/2015", "Analis", "0812-3000-0001", "b1@gmail.com"],
            [2, None, "Sari", "01/02/2016", "Perawat", "0812-3000-0002", "b2@gmail.com"],
            [3, None, "Tono", "01/02/2017", "Bidan", "0812-3000-0003", "b3@gmail.com"],
            [4],                                  # numbered, nothing typed: stays no row
            [5, None, "Rudi", "01/02/2017", "Sopir", "0812-3000-0005", "b5@gmail.com"]]
    merges = [(3, 2, 6, 2), (1, 1, 1, 7)]        # B3:B6 and the title row
    sheet = locate_form(grid, form, forms, "Pegawai", merges)
    assert sheet.frame.loc[[3, 4, 5], "unit_kerja"].tolist() == ["Dinas Kesehatan"] * 3
    assert sheet.frame.at[7, "unit_kerja"] is None     # below the merge: still empty
    assert sheet.filled == {(4, 2): "Dinas Kesehatan", (5, 2): "Dinas Kesehatan"}
    res = validate_frame(sheet.frame, form, AS_OF)
    assert list(res.status.index) == [3, 4, 5, 7]
    assert res.status[[3, 4, 5]].tolist() == ["OK"] * 3
    assert codes_at(res, 7) == {"REQUIRED"}
    again = locate_form(grid, form, forms, "Pegawai", filled=sheet.filled)   # a write's answer
    assert again.content_hash == sheet.content_hash


def test_merges_outside_the_data_are_ignored(forms):
    form = forms["pegawai"]
    header = [c.header for c in form.columns]
    grid = [header, [1, "Dinas", "Budi", "01/02/2015", "Analis", "0812-3000-0001", None, "OK"],
            [2, "Dinas", "Sari", "01/02/2016", "Perawat", "0812-3000-0002", None, None]]
    # a merge in the status column, and one starting on the header row
    sheet = locate_form(grid, form, forms, "Pegawai", [(2, 8, 3, 8), (1, 3, 3, 3)])
    assert sheet.filled == {}
    assert sheet.current.at[3, "status"] is None
