"""validate_frame: one verdict per non-empty row (OK / PERIKSA / SALAH), every
problem as a catalogue code, normalised values, the JSON shape of records()."""
from __future__ import annotations

import datetime as dt
import inspect
import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheets_sync import codes
from sheets_sync.validate import fields
from sheets_sync.validate import frame as frame_module
from sheets_sync.forms import load_forms
from sheets_sync.validate.cross_opd import cross_opd
from sheets_sync.validate.frame import PROBLEM_COLUMNS, validate_frame

from tests.conftest import AS_OF, clean_row, clean_rows, frame, kriteria_slots, phone, phone_e164
from tests.test_fields import ANY_VALUE, email_like, phone_like

FORMS = load_forms()
HYP = dict(database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(forms, form_key, rows, as_of=AS_OF, first_row=3):
    return validate_frame(frame(rows, forms[form_key], first_row), forms[form_key], as_of)


def codes_at(res, row, column=None) -> set:
    p = res.problems
    p = p[p["row"] == row]
    if column:
        p = p[p["column"] == column]
    return set(p["code"])


def assert_consistent(res, messages: bool = True):
    """Invariants of every FormResult: catalogue codes, severities, worst status,
    and (messages=True) texts with every placeholder filled in."""
    assert list(res.problems.columns) == PROBLEM_COLUMNS
    for p in res.problems.itertuples(index=False):
        assert p.code in codes.ROW_CODES, p.code
        assert p.severity == codes.severity(p.code)
        assert p.row in res.status.index
        assert isinstance(p.message, str) and p.message
        if messages:
            assert "{" not in p.message, p.message
    for row, status in res.status.items():
        sev = res.problems.loc[res.problems["row"] == row, "severity"]
        assert status == codes.worst(sev), (row, status, list(sev))
    assert set(res.status.unique()) <= {"OK", "PERIKSA", "SALAH"}
    assert list(res.normalized.index) == list(res.status.index)


# ------------------------------------------------------------------ clean rows
@pytest.mark.parametrize("form_key", ["pegawai", "pengguna_layanan", "penyedia_pbj", "eksper"])
def test_clean_rows_are_ok(forms, form_key):
    res = run(forms, form_key, clean_rows(form_key, 13))
    assert_consistent(res)
    assert list(res.status) == ["OK"] * 13
    assert res.problems.empty
    assert list(res.status.index) == list(range(3, 16))
    assert res.counts() == {"OK": 13, "PERIKSA": 0, "SALAH": 0}
    assert (res.notes() == "").all()


def test_row_numbers_are_the_sheets_own(forms):
    rows = clean_rows("pegawai", 3)
    df = frame(rows, forms["pegawai"]).set_axis(pd.Index([7, 12, 40], name="row"))
    df.loc[12, "no_hp"] = "021-5551234"
    res = validate_frame(df, forms["pegawai"], AS_OF)
    assert list(res.status.index) == [7, 12, 40]
    assert res.status[12] == "SALAH" and codes_at(res, 12) == {"PHONE_LANDLINE"}
    assert [r["row"] for r in res.records()] == [7, 12, 40]


# ------------------------------------------------------ rows that are ignored
def test_blank_rows_and_rows_with_only_no_are_ignored(forms):
    rows = [clean_row("pegawai", 1), {"no": 2}, {}, {"no": 4, "nama": "  "},
            {"no": 5, "unit_kerja": None, "email": float("nan")}, clean_row("pegawai", 6)]
    res = run(forms, "pegawai", rows)
    assert list(res.status.index) == [3, 8]
    assert len(res.records()) == 2


def test_eksper_rows_with_only_no_and_kriteria_are_ignored(forms):
    slots = kriteria_slots(forms)
    rows = [clean_row("eksper", 1)] + [{"no": i, "kriteria": slots[i - 1]} for i in range(2, 14)]
    res = run(forms, "eksper", rows)
    assert list(res.status.index) == [3]


@pytest.mark.parametrize("form_key", ["pegawai", "pengguna_layanan", "penyedia_pbj", "eksper"])
def test_empty_frame(forms, form_key):
    res = run(forms, form_key, [])
    assert res.status.empty and res.problems.empty and res.records() == []


# ------------------------------------------------------------- required text
REQUIRED = {
    "pegawai": ["unit_kerja", "nama", "tanggal_mulai", "jabatan", "no_hp"],
    "pengguna_layanan": ["unit_kerja", "nama_layanan", "tanggal_layanan", "nama"],
    "penyedia_pbj": ["unit_kerja", "nama_usaha", "nama_cp", "alamat_email"],
    "eksper": ["kriteria", "nama", "instansi", "jabatan", "no_hp"],
}


@pytest.mark.parametrize("form_key,key", [(f, k) for f, ks in REQUIRED.items() for k in ks])
@pytest.mark.parametrize("empty", [None, "", "   "])
def test_required_fields(forms, form_key, key, empty):
    res = run(forms, form_key, [clean_row(form_key, 1, **{key: empty}), clean_row(form_key, 2)])
    assert_consistent(res)
    assert res.status[3] == "SALAH"
    assert codes_at(res, 3, key) == {"REQUIRED"}
    assert res.status[4] == "OK"
    assert res.normalized.at[3, key] is None


@pytest.mark.parametrize("form_key,key", [("pegawai", "nama"), ("pengguna_layanan", "nama"),
                                          ("penyedia_pbj", "nama_cp"), ("eksper", "nama")])
@pytest.mark.parametrize("value", ["12345", 1987, "0812-3456-7890", "(-)"])   # "-", "...": placeholders
def test_name_without_letters_is_salah(forms, form_key, key, value):
    res = run(forms, form_key, [clean_row(form_key, 1, **{key: value})])
    assert res.status[3] == "SALAH"
    assert codes_at(res, 3, key) == {"NAME_NO_LETTERS"}


def test_text_too_long_and_cell_errors(forms):
    res = run(forms, "pegawai", [clean_row("pegawai", 1, jabatan="x" * 301),
                                 clean_row("pegawai", 2, unit_kerja="#REF!"),
                                 clean_row("pegawai", 3, no_hp="#N/A")])
    assert codes_at(res, 3) == {"TEXT_TOO_LONG"}
    assert codes_at(res, 4) == {"CELL_ERROR"}
    assert codes_at(res, 5, "no_hp") == {"CELL_ERROR"}
    assert (res.status == "SALAH").all()


def test_text_is_normalised(forms):
    res = run(forms, "pegawai", [clean_row("pegawai", 1, unit_kerja="  Dinas\n  Kesehatan ")])
    assert res.status[3] == "OK"
    assert res.normalized.at[3, "unit_kerja"] == "Dinas Kesehatan"


# -------------------------------------------------------------------- phones
@pytest.mark.parametrize("raw", ["0812-3456-7890", "+62 812 3456 7890", "6281234567890", 81234567890,
                                 81234567890.0, "(0812) 3456.7890", "0812 3456 7890"])
@pytest.mark.parametrize("form_key", ["pegawai", "pengguna_layanan", "eksper"])
def test_phone_shapes_normalised(forms, form_key, raw):
    res = run(forms, form_key, [clean_row(form_key, 1, no_hp=raw)])
    assert res.status[3] == "OK", res.problems
    assert res.normalized.at[3, "no_hp"] == "+6281234567890"


@pytest.mark.parametrize("raw,code", [("021-5551234", "PHONE_LANDLINE"), ("(0736) 21234", "PHONE_LANDLINE"),
                                      ("0737 71234", "PHONE_LANDLINE"), ("0812345", "PHONE_TOO_SHORT"),
                                      ("08123456789012", "PHONE_TOO_LONG"), ("08l2-3456-789O", "PHONE_HAS_LETTERS"),
                                      ("0812-3456-7890 / 0813-1111-2222", "PHONE_MULTIPLE"),
                                      (True, "PHONE_INVALID"), (dt.datetime(2023, 1, 1), "PHONE_INVALID")])
@pytest.mark.parametrize("form_key", ["pegawai", "pengguna_layanan", "eksper"])
def test_bad_phone_is_salah(forms, form_key, raw, code):
    res = run(forms, form_key, [clean_row(form_key, 1, no_hp=raw)])
    assert res.status[3] == "SALAH"
    assert codes_at(res, 3, "no_hp") == {code}
    assert res.normalized.at[3, "no_hp"] is None


def test_missing_phone(forms):
    for key in ("pegawai", "eksper"):
        res = run(forms, key, [clean_row(key, 1, no_hp=None)])
        assert res.status[3] == "SALAH" and codes_at(res, 3, "no_hp") == {"REQUIRED"}
    res = run(forms, "pengguna_layanan", [clean_row("pengguna_layanan", 1, no_hp=None)])
    assert res.status[3] == "PERIKSA" and codes_at(res, 3) == {"MISSING_EXPECTED"}


# -------------------------------------------------------------------- e-mail
@pytest.mark.parametrize("form_key", ["pegawai", "pengguna_layanan", "eksper"])
def test_email(forms, form_key):
    res = run(forms, form_key, [clean_row(form_key, 1, email="Budi.S@Gmail.COM"),
                                clean_row(form_key, 2, email="budi@gmail"),
                                clean_row(form_key, 3, email="budi santoso@gmail.com"),
                                clean_row(form_key, 4, email=None),
                                clean_row(form_key, 5, email=12345)])
    assert_consistent(res)
    assert res.status[3] == "OK" and res.normalized.at[3, "email"] == "Budi.S@gmail.com"
    assert res.status[4] == "SALAH" and codes_at(res, 4) == {"EMAIL_INVALID"}
    assert res.status[5] == "SALAH" and codes_at(res, 5) == {"EMAIL_INVALID"}
    assert res.status[6] == "PERIKSA" and codes_at(res, 6) == {"MISSING_EXPECTED"}
    assert res.status[7] == "SALAH" and codes_at(res, 7) == {"EMAIL_INVALID"}


def test_contact_missing_when_both_empty(forms):
    res = run(forms, "pengguna_layanan", [clean_row("pengguna_layanan", 1, no_hp=None, email=None),
                                          clean_row("pengguna_layanan", 2, no_hp="", email="  "),
                                          clean_row("pengguna_layanan", 3, no_hp=None),
                                          clean_row("pengguna_layanan", 4, email=None)])
    assert_consistent(res)
    for row in (3, 4):
        assert res.status[row] == "SALAH"
        assert "CONTACT_MISSING" in codes_at(res, row)
        assert "MISSING_EXPECTED" not in codes_at(res, row)
    assert res.status[5] == "PERIKSA" and codes_at(res, 5) == {"MISSING_EXPECTED"}
    assert res.status[6] == "PERIKSA" and codes_at(res, 6) == {"MISSING_EXPECTED"}


def test_contact_present_but_invalid_is_not_contact_missing(forms):
    res = run(forms, "pengguna_layanan", [clean_row("pengguna_layanan", 1, no_hp="021-5551234", email=None)])
    assert codes_at(res, 3) == {"PHONE_LANDLINE", "MISSING_EXPECTED"}


# --------------------------------------------------------------------- dates
@pytest.mark.parametrize("raw", [45212 - 30, 45182.5, dt.datetime(2023, 9, 13), "13/09/2023", "13-09-2023",
                                 "13.09.2023", "13 September 2023", "13 Sep 2023", "12 Oktober 2023"])
def test_service_dates_accepted(forms, raw):
    res = run(forms, "pengguna_layanan", [clean_row("pengguna_layanan", 1, tanggal_layanan=raw)])
    assert res.status[3] == "OK", res.problems
    assert isinstance(res.normalized.at[3, "tanggal_layanan"], dt.date)


def test_service_date_window(forms):
    rows = [clean_row("pengguna_layanan", i, tanggal_layanan=d) for i, d in enumerate(
        ["12/09/2023", "11/09/2023", "12/10/2023", "13/10/2023", "31/09/2023", "kemarin"], start=1)]
    res = run(forms, "pengguna_layanan", rows)
    assert_consistent(res)
    assert res.status[3] == "OK"                                    # exactly one month before
    assert codes_at(res, 4) == {"DATE_TOO_OLD"}                     # one day more
    assert res.status[5] == "OK"                                    # the reporting date itself
    assert codes_at(res, 6) == {"DATE_AFTER_REPORT"}
    assert codes_at(res, 7) == {"DATE_IMPOSSIBLE"}
    assert codes_at(res, 8) == {"DATE_INVALID"}
    assert list(res.status[[4, 6, 7, 8]]) == ["SALAH"] * 4


def test_service_date_month_end(forms):
    """31 March minus one month is 28 February (not 3 March)."""
    as_of = dt.date(2023, 3, 31)
    rows = [clean_row("pengguna_layanan", 1, tanggal_layanan="28/02/2023"),
            clean_row("pengguna_layanan", 2, tanggal_layanan="27/02/2023")]
    res = run(forms, "pengguna_layanan", rows, as_of=as_of)
    assert res.status[3] == "OK" and codes_at(res, 4) == {"DATE_TOO_OLD"}


def test_start_dates(forms):
    rows = [clean_row("pegawai", i, tanggal_mulai=d) for i, d in enumerate(
        ["01/02/1985", 36526, "13 Oktober 2023", "31/09/2023", "01/11/2023", "01/01/1900"], start=1)]
    res = run(forms, "pegawai", rows)
    assert list(res.status) == ["OK", "OK", "SALAH", "SALAH", "SALAH", "SALAH"]
    assert codes_at(res, 5) == {"DATE_AFTER_REPORT"}
    assert codes_at(res, 6) == {"DATE_IMPOSSIBLE"}
    assert codes_at(res, 7) == {"DATE_AFTER_REPORT"}
    assert codes_at(res, 8) == {"DATE_TOO_EARLY"}
    assert res.normalized.at[4, "tanggal_mulai"] == dt.date(2000, 1, 1)


# ------------------------------------------------------------- penyedia_pbj
def test_address_email(forms):
    res = run(forms, "penyedia_pbj", [
        clean_row("penyedia_pbj", 1, alamat_email="Jl. Sudirman 5, Mukomuko; CV.Maju@Gmail.com"),
        clean_row("penyedia_pbj", 2, alamat_email="Jl. Sudirman 5, Mukomuko"),
        clean_row("penyedia_pbj", 3, alamat_email="Jl. A 1; a@gmail.com; b@gmail.com"),
    ])
    assert_consistent(res)
    assert res.status[3] == "OK" and res.normalized.at[3, "email"] == "CV.Maju@gmail.com"
    assert res.status[4] == "SALAH" and codes_at(res, 4) == {"ADDRESS_EMAIL_NONE"}
    assert res.normalized.at[4, "email"] is None
    assert res.status[5] == "PERIKSA" and codes_at(res, 5) == {"ADDRESS_EMAIL_MULTIPLE"}
    assert res.normalized.at[5, "email"] == "a@gmail.com"
    assert "email" in res.records()[0]["normalized"]


# ------------------------------------------------------------------- eksper
def test_kriteria(forms):
    slots = kriteria_slots(forms)
    rows = [clean_row("eksper", 1, kriteria="  auditor   bpk "),
            clean_row("eksper", 2, kriteria="Saber Pungli Kepolisian (Polres untuk Kab/Kota, Polde untuk Provinsi)"),
            clean_row("eksper", 3, kriteria="Wartawan"),
            clean_row("eksper", 4, kriteria=slots[0].upper())]
    res = run(forms, "eksper", rows)
    assert_consistent(res, messages=False)
    assert res.status[3] == "OK" and res.normalized.at[3, "kriteria"] == "Auditor BPK"
    assert res.status[4] == "OK" and res.normalized.at[4, "kriteria"] == slots[7]
    assert res.status[5] == "SALAH" and codes_at(res, 5) == {"CHOICE_INVALID"}
    assert res.normalized.at[6, "kriteria"] == slots[0]


def test_kriteria_prefilled_but_person_missing_is_salah(forms):
    res = run(forms, "eksper", [{"no": 1, "kriteria": "Aktivis", "nama": "Rahmat"}])
    assert res.status[3] == "SALAH"
    assert {"instansi", "jabatan", "no_hp"} <= set(res.problems["column"])


# --------------------------------------------------------------- duplicates
def test_duplicate_phone_later_row_names_the_first(forms):
    rows = [clean_row("pegawai", 1), clean_row("pegawai", 2),
            clean_row("pegawai", 3, no_hp=81230000001),           # same as row 3, other shape
            clean_row("pegawai", 4, no_hp="+62 812-3000-0001")]
    res = run(forms, "pegawai", rows)
    assert_consistent(res)
    assert res.status[3] == "OK" and res.status[4] == "OK"
    for row in (5, 6):
        assert res.status[row] == "SALAH"
        assert codes_at(res, row) == {"DUPLICATE_PHONE"}
        msg = res.problems.loc[res.problems["row"] == row, "message"].iloc[0]
        assert re.search(r"\b3\b", msg), msg


def test_duplicate_email_ignores_case(forms):
    rows = [clean_row("pengguna_layanan", 1, email="Siti@Gmail.com"),
            clean_row("pengguna_layanan", 2, email="siti@gmail.com")]
    res = run(forms, "pengguna_layanan", rows, first_row=10)
    assert res.status[10] == "OK"
    assert res.status[11] == "SALAH" and codes_at(res, 11) == {"DUPLICATE_EMAIL"}
    msg = res.problems.loc[res.problems["row"] == 11, "message"].iloc[0]
    assert re.search(r"\b10\b", msg)


def test_duplicate_email_inside_address_cells(forms):
    rows = [clean_row("penyedia_pbj", 1, alamat_email="Jl. A 1; toko@gmail.com"),
            clean_row("penyedia_pbj", 2, alamat_email="Jl. B 2, email: TOKO@GMAIL.COM")]
    res = run(forms, "penyedia_pbj", rows)
    assert res.status[3] == "OK" and codes_at(res, 4) == {"DUPLICATE_EMAIL"}


def test_duplicate_emails_compare_case_folded_beyond_ascii(forms):
    """ÇA@ and ça@ (and STRASSE@ / straße@) are one mailbox to staff: the later row is
    SALAH, as str.casefold() says; a value Arrow cannot hold (lone surrogate) is
    compared too, not dropped."""
    rows = [clean_row("pengguna_layanan", i, no_hp=None, email=e) for i, e in enumerate(
        ["ÇA@gmail.com", "ça@gmail.com", "STRASSE@yahoo.co.id", "straße@yahoo.co.id", "Budi@gmail.com",
         "budi@gmail.com", "Ögé@mail.id"], start=1)]
    res = run(forms, "pengguna_layanan", rows)
    dup = {r for r in res.rows if "DUPLICATE_EMAIL" in codes_at(res, r)}
    assert dup == {4, 6, 8}
    ids = frame_module._ids(np.array(["a\ud800", "B", None, "a\ud800", "b"], dtype=object), fold=True)
    assert ids.tolist() == [0, 1, -1, 0, 1]


def test_blank_and_invalid_values_are_not_duplicates(forms):
    rows = [clean_row("pengguna_layanan", i, no_hp=p, email=e) for i, (p, e) in enumerate(
        [(None, "a@gmail.com"), (None, "b@gmail.com"), ("021-5551234", "c@gmail.com"),
         ("021-5551234", "d@gmail.com")], start=1)]
    res = run(forms, "pengguna_layanan", rows)
    assert not ({"DUPLICATE_PHONE", "DUPLICATE_EMAIL"} & set(res.problems["code"]))


def test_cross_opd_duplicate_is_periksa_in_both(forms):
    a = run(forms, "pegawai", [clean_row("pegawai", 1), clean_row("pegawai", 2)])
    b = run(forms, "pengguna_layanan", [clean_row("pengguna_layanan", 50, no_hp="0812-3000-0002"),
                                        clean_row("pengguna_layanan", 51)])
    cross, listing = cross_opd({"DINKES": {"pegawai": a}, "DINSOS": {"pengguna_layanan": b}}, forms)
    pa, pb = cross[("DINKES", "pegawai")], cross[("DINSOS", "pengguna_layanan")]
    assert list(pa["row"]) == [4] and set(pa["code"]) == {"CROSS_OPD_DUPLICATE"}
    assert list(pb["row"]) == [3] and set(pb["severity"]) == {"PERIKSA"}
    # the OPD's own sheet is told, not who else holds the person: that is the other OPD's data
    assert "OPD lain" in pa["message"].iloc[0] and "DINSOS" not in pa["message"].iloc[0]
    assert "DINKES" not in pb["message"].iloc[0]
    assert set(listing["opd"]) == {"DINKES", "DINSOS"}      # the master's Lintas OPD tab names both
    a2 = a.with_problems(pa)
    assert a2.status[4] == "PERIKSA" and a2.status[3] == "OK"
    assert set(listing["opd"]) == {"DINKES", "DINSOS"} and set(listing["value"]) == {phone_e164(2)}


# ---------------------------------------------------------- records / notes
@pytest.mark.parametrize("form_key", ["pegawai", "pengguna_layanan", "penyedia_pbj", "eksper"])
def test_records_json_shape(forms, form_key):
    rows = clean_rows(form_key, 3) + [{"no": 4}]
    rows[1] = dict(rows[1], nama=None) if form_key != "penyedia_pbj" else dict(rows[1], nama_cp=None)
    res = run(forms, form_key, rows)
    recs = json.loads(json.dumps(res.records()))
    assert [r["row"] for r in recs] == [3, 4, 5]
    for r in recs:
        assert set(r) == {"row", "status", "messages", "normalized"}
        assert isinstance(r["row"], int) and r["status"] in ("OK", "PERIKSA", "SALAH")
        assert isinstance(r["messages"], list)
        for m in r["messages"]:
            assert m["code"] in codes.ROW_CODES and isinstance(m["message"], str)
        want = set(forms[form_key].keys) | ({"email"} if form_key == "penyedia_pbj" else set())
        assert set(r["normalized"]) == want
    assert recs[1]["status"] == "SALAH" and recs[1]["messages"]
    assert recs[0]["messages"] == [] and recs[0]["status"] == "OK"
    notes = res.notes()
    assert notes[3] == "" and notes[4]


def test_validate_never_mutates_its_input(forms):
    df = frame([clean_row("pegawai", 1, no_hp=81230000001), {"no": 2}], forms["pegawai"])
    before = df.copy()
    validate_frame(df, forms["pegawai"], AS_OF)
    pd.testing.assert_frame_equal(df, before)


# ---------------------- the column verdicts equal the per-value authorities
@st.composite
def contact_rows(draw):
    n = draw(st.integers(1, 8))
    phones = draw(st.lists(st.one_of(phone_like(), ANY_VALUE, st.sampled_from(
        ["0812-3456-7890", 81234567890, "081234567890", "#N/A"])), min_size=n, max_size=n))
    emails = draw(st.lists(st.one_of(email_like(), st.sampled_from(
        ["Budi@Gmail.com", "budi@gmail.com", None, "", "#REF!"]), ANY_VALUE), min_size=n, max_size=n))
    return phones, emails


@settings(max_examples=150, **HYP)
@given(contact_rows())
def test_phone_and_email_columns_follow_the_reference_rules(data):
    forms = FORMS                       # not a fixture: hypothesis prints its arguments
    phones, emails = data
    rows = [clean_row("pegawai", 1, no_hp=p, email=e) for p, e in zip(phones, emails)]
    res = run(forms, "pegawai", rows)
    assert_consistent(res)
    assert list(res.status.index) == list(range(3, 3 + len(rows)))  # names etc. keep rows non-empty
    for row, p, e in zip(res.status.index, phones, emails):
        for key, raw, ref, missing in (("no_hp", p, fields.phone_reference(p), "REQUIRED"),
                                       ("email", e, fields.email_reference(e), "MISSING_EXPECTED")):
            # duplicates and the near-miss domain check (gmail.con) are rules of their own, tested elsewhere
            got = codes_at(res, row, key) - {"DUPLICATE_PHONE", "DUPLICATE_EMAIL", "EMAIL_DOMAIN_TYPO"}
            if fields.cell_error(raw):
                assert got == {"CELL_ERROR"}
            elif ref.code == "MISSING" or (isinstance(raw, str) and fields.is_placeholder(
                    raw.strip(), forms["pegawai"].placeholders)):    # "-", "tidak ada": empty
                assert got == {missing}
            elif ref.code:
                assert got == {ref.code}, (raw, ref, got)
                assert res.normalized.at[row, key] is None
            else:
                assert got == set(), (raw, ref, got)
                assert res.normalized.at[row, key] == ref.value, (raw, ref)
    if "reference" in inspect.signature(validate_frame).parameters:
        slow = validate_frame(frame(rows, forms["pegawai"]), forms["pegawai"], AS_OF, reference=True)
        pd.testing.assert_series_equal(res.status, slow.status)
        pd.testing.assert_frame_equal(res.problems, slow.problems)


# ------------------------------------------------------------------ messages
MESSAGE_CASES = {
    "REQUIRED": ("pegawai", {"nama": None}), "MISSING_EXPECTED": ("pegawai", {"email": None}),
    "CONTACT_MISSING": ("pengguna_layanan", {"no_hp": None, "email": None}),
    "CELL_ERROR": ("pegawai", {"jabatan": "#REF!"}), "TEXT_TOO_LONG": ("pegawai", {"jabatan": "x" * 400}),
    "NAME_NO_LETTERS": ("pegawai", {"nama": "123"}), "NAME_BIDI": ("pegawai", {"nama": "Budi \u202eosotnaS"}),
    "TEXT_CONTROL_CHARS": ("pegawai", {"nama": "Bu\x00di"}),
    "CELL_TOO_LONG": ("pegawai", {"no_hp": "0812" * 5000}), "PHONE_HAS_LETTERS": ("pegawai", {"no_hp": "08l2"}),
    "PHONE_SCIENTIFIC": ("pegawai", {"no_hp": "8,12345679E+10"}),
    "EMAIL_DOMAIN_TYPO": ("pegawai", {"email": "budi@gmial.com"}),
    "PHONE_MULTIPLE": ("pegawai", {"no_hp": "081234567890 / 081311112222"}),
    "PHONE_LANDLINE": ("pegawai", {"no_hp": "021-5551234"}), "PHONE_TOO_SHORT": ("pegawai", {"no_hp": "0812345"}),
    "PHONE_TOO_LONG": ("pegawai", {"no_hp": "08123456789012"}), "PHONE_FOREIGN": ("pegawai", {"no_hp": "+1 202 555 0101"}),
    "PHONE_INVALID": ("pegawai", {"no_hp": True}), "EMAIL_INVALID": ("pegawai", {"email": "a@b"}),
    "EMAIL_MULTIPLE": ("pegawai", {"email": "a@gmail.com; b@gmail.com"}),
    "ADDRESS_EMAIL_NONE": ("penyedia_pbj", {"alamat_email": "Jl. A"}),
    "ADDRESS_EMAIL_MULTIPLE": ("penyedia_pbj", {"alamat_email": "Jl. A; a@gmail.com; b@gmail.com"}),
    "DATE_INVALID": ("pegawai", {"tanggal_mulai": "kemarin"}),
    "DATE_IMPOSSIBLE": ("pegawai", {"tanggal_mulai": "31/09/2023"}),
    "DATE_NO_YEAR": ("pegawai", {"tanggal_mulai": "15 Oktober"}),
    "DATE_INCOMPLETE": ("pegawai", {"tanggal_mulai": "2020"}),
    "DATE_AFTER_REPORT": ("pegawai", {"tanggal_mulai": "01/11/2023"}),
    "DATE_TOO_EARLY": ("pegawai", {"tanggal_mulai": "01/01/1900"}),
    "DATE_TOO_OLD": ("pengguna_layanan", {"tanggal_layanan": "01/01/2023"}),
    "CHOICE_INVALID": ("eksper", {"kriteria": "Wartawan"}),
    "CHOICE_AMBIGUOUS": ("eksper", {"kriteria": "Saber Pungli"}),
}


@pytest.mark.parametrize("code", sorted(MESSAGE_CASES))
def test_every_message_has_its_placeholders_filled(forms, code):
    """Staff read these texts: no '{jumlah}' or '{kolom}' left in them."""
    form_key, over = MESSAGE_CASES[code]
    res = run(forms, form_key, [clean_row(form_key, 1, **over)])
    msgs = res.problems.loc[res.problems["code"] == code, "message"].tolist()
    assert msgs, res.problems
    for m in msgs:
        assert "{" not in m and "}" not in m, m


def test_message_cases_cover_every_row_code():
    # CONTACT_UNREACHABLE and TENURE_SHORT need a sheet without columns or a season rule:
    # their messages are checked in tests/test_staff_rows.py
    assert set(MESSAGE_CASES) | {"DUPLICATE_PHONE", "DUPLICATE_EMAIL", "CROSS_OPD_DUPLICATE",
                                 "CONTACT_UNREACHABLE", "TENURE_SHORT"} == set(codes.ROW_CODES)


@given(st.lists(st.integers(-1, 6), max_size=30))
def test_first_positions_of_duplicate_ids_hold_in_any_order(ids):
    """Rows dropped after the ids were numbered leave them out of first-seen order."""
    from sheets_sync.validate import frame as fr
    arr = np.array(ids, dtype=np.int64)
    got = fr._first_positions(arr) if len(arr) else None
    expect = {}
    for i, v in enumerate(ids):
        if v >= 0:
            expect.setdefault(v, i)
    assert all(got[v] == i for v, i in expect.items())
