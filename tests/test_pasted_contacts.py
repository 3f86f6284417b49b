"""Phone numbers and e-mails as staff paste them from WhatsApp contacts, web pages
and exported spreadsheets: the same verdict on the fast path and the reference,
and the number a person meant."""
from __future__ import annotations

import pytest

from sheets_sync.validate import fastpath, fields

MEANT = "+6281234567890"


@pytest.mark.parametrize("typed", [
    "(+62) 812-3456-7890",                          # plus inside a bracket
    "\u202a+62 812\u20113456\u20117890\u202c",       # WhatsApp: embedding marks, non-breaking hyphens
    "\u200e0812-3456-7890",                         # left-to-right mark
    "0812\u20133456\u20137890",                     # en dashes from a word processor
    "0812\u00a03456\u00a07890",                     # non-breaking spaces from a web page
    "81234567890.0", "+6281234567890.0",           # a number exported as text
    "0062 812 3456 7890",                           # international dialling prefix
    "081234567890;", "0812-3456-7890,",             # a list separator left behind
])
def test_pasted_forms_mean_the_same_number(typed):
    got = fields.check_phone(typed)
    assert got == fields.phone_reference(typed)
    assert (got.value, got.code) == (MEANT, None)


@pytest.mark.parametrize("typed", ["8,12345679E+10", "8.1234568E+10", "8.12E10"])
def test_scientific_notation_is_named_for_what_it_is(typed):
    """Excel showing a long number as 8,12E+10 has already lost digits: say so."""
    assert fields.check_phone(typed).code == "PHONE_SCIENTIFIC"
    assert fields.phone_reference(typed).code == "PHONE_SCIENTIFIC"


def test_the_arrow_path_reads_a_number_exported_as_text_as_cleaning_does():
    # '81234567890.0' looks like digits and dots, but means 81234567890 (not 812345678900)
    assert fastpath.phones(["81234567890.0", "+6281234567890.00", "0812.0"]) == [MEANT, MEANT, None]
    assert [fields.check_phone(t).value for t in ("81234567890.0", "+6281234567890.00")] == [MEANT, MEANT]
    for typed, accepted in zip(["0812.3456.7890.0", "62.0", "+0812345678.0"],
                               fastpath.phones(["0812.3456.7890.0", "62.0", "+0812345678.0"])):
        assert accepted is None or accepted == fields.check_phone(typed).value, typed


@pytest.mark.parametrize("typed", ["\u202abudi@gmail.com\u202c", "budi\u200b@gmail.com"])
def test_invisible_marks_around_an_email(typed):
    got = fields.check_email(typed)
    assert got == fields.email_reference(typed) and got.value == "budi@gmail.com"


@pytest.mark.parametrize("typed,hint", [("budi@gmail.con", "gmail.com"), ("budi@gmial.com", "gmail.com"),
                                        ("siti@yahoo.co.od", "yahoo.co.id"), ("x@hotmial.com", "hotmail.com")])
def test_a_near_miss_of_a_common_domain_is_periksa_with_a_hint(forms, typed, hint):
    import datetime as dt

    import pandas as pd

    from sheets_sync.validate.frame import validate_frame
    row = dict(unit_kerja="Dinkes", nama="Budi", tanggal_mulai="13/10/2019", jabatan="Staf",
               no_hp="0812-3456-7890", email=typed)
    res = validate_frame(pd.DataFrame([row], index=[3]), forms["pegawai"], dt.date(2023, 10, 15))
    assert res.status[3] == "PERIKSA"
    assert res.problems["code"].tolist() == ["EMAIL_DOMAIN_TYPO"] and hint in res.notes()[3]


@pytest.mark.parametrize("address", ["budi@gmail.com", "budi@mail.com", "budi@mukomukokab.go.id", "b@gmx.com"])
def test_real_domains_are_left_alone(forms, address):
    import datetime as dt

    import pandas as pd

    from sheets_sync.validate.frame import validate_frame
    row = dict(unit_kerja="Dinkes", nama="Budi", tanggal_mulai="13/10/2019", jabatan="Staf",
               no_hp="0812-3456-7890", email=address)
    assert validate_frame(pd.DataFrame([row], index=[3]), forms["pegawai"], dt.date(2023, 10, 15)).status[3] == "OK"
