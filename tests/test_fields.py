"""Per-value rules (sheets_sync/fields.py): phones, e-mails, dates, choices,
address+e-mail cells, names. Codes are asserted, never wording; the fast paths
(check_phone, check_email) must agree with their references on every input."""
from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sheets_sync import codes
from sheets_sync.validate import fields
from sheets_sync.validate.fields import Check, check_email, check_phone, email_reference, phone_reference

from tests.conftest import kriteria_slots

HYP = dict(database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROW_CODES = set(codes.ROW_CODES)

# --------------------------------------------------------------------- phones
# Real prefixes per operator, each in a typical typed shape.
MOBILES = {
    # Telkomsel
    "0811-1234-567": "+628111234567",
    "0812 3456 7890": "+6281234567890",
    "0813-1234-56789": "+62813123456789",
    "0821 1234 5678": "+6282112345678",
    "0822-1234-5678": "+6282212345678",
    "0852.1234.5678": "+6285212345678",
    "0853 1234 5678": "+6285312345678",
    # Indosat
    "0814-1234-5678": "+6281412345678",
    "0815 1234 5678": "+6281512345678",
    "0816-1234-5678": "+6281612345678",
    "0855 1234 5678": "+6285512345678",
    "0856-1234-5678": "+6285612345678",
    "0857 1234 5678": "+6285712345678",
    "0858-1234-5678": "+6285812345678",
    # XL
    "0817-1234-5678": "+6281712345678",
    "0818 1234 5678": "+6281812345678",
    "0819-1234-5678": "+6281912345678",
    "0859 1234 5678": "+6285912345678",
    "0877-1234-5678": "+6287712345678",
    "0878 1234 5678": "+6287812345678",
    # Tri
    "0895-1234-5678": "+6289512345678",
    "0896 1234 5678": "+6289612345678",
    "0897 1234 5678": "+6289712345678",
    "0898-1234-5678": "+6289812345678",
    "0899-1234-5678": "+6289912345678",
    # Smartfren
    "0881-1234-5678": "+6288112345678",
    "0882 1234 5678": "+6288212345678",
    "0883 1234 5678": "+6288312345678",
    "0885 1234 5678": "+6288512345678",
    "0887 1234 5678": "+6288712345678",
    "0888 1234 5678": "+6288812345678",
    "0889-1234-5678": "+6288912345678",
    # Axis
    "0831-1234-5678": "+6283112345678",
    "0832 1234 5678": "+6283212345678",
    "0838-1234-5678": "+6283812345678",
    # shapes of the same number
    "081234567890": "+6281234567890",
    "+62 812-3456-7890": "+6281234567890",
    "+62 812 3456 7890": "+6281234567890",
    "+6281234567890": "+6281234567890",
    "6281234567890": "+6281234567890",
    "62 812 3456 7890": "+6281234567890",
    "(0812) 3456-7890": "+6281234567890",
    "0812.3456.7890": "+6281234567890",
    "  0812-3456-7890  ": "+6281234567890",
    "0812 - 3456 - 7890": "+6281234567890",
    "81234567890": "+6281234567890",       # the 0 lost as text too
    "0812345678": "+62812345678",          # 10 digits: shortest mobile
    "0812345678901": "+62812345678901",    # 13 digits: longest usual
}


@pytest.mark.parametrize("raw,e164", MOBILES.items())
def test_mobile_numbers_are_normalised_to_e164(raw, e164):
    assert check_phone(raw) == Check(e164)
    assert phone_reference(raw) == Check(e164)


@pytest.mark.parametrize("raw", [81234567890, 81234567890.0, 6281234567890, 6281234567890.0])
def test_numbers_that_lost_the_leading_zero(raw):
    """Sheets turns 0812... typed into a number cell into 812... (int or float)."""
    assert check_phone(raw) == Check("+6281234567890")
    assert phone_reference(raw) == Check("+6281234567890")


@pytest.mark.parametrize("raw", [
    "021-5551234", "(021) 5551234", "021 2992 3456", "(0736) 21234", "0736 21234",
    "0737 71234", "0737-321234", "(0737) 321234", "0751 7051234", "022 2501234", "0361 234567",
    "+62 21 5551234", "62736 21234",
])
def test_landlines_cannot_receive_whatsapp(raw):
    assert check_phone(raw).code == "PHONE_LANDLINE"
    assert phone_reference(raw).code == "PHONE_LANDLINE"


@pytest.mark.parametrize("raw,code", [
    ("08l2-3456-789O", "PHONE_HAS_LETTERS"),
    ("0812-3456-789O", "PHONE_HAS_LETTERS"),
    ("O812 3456 7890", "PHONE_HAS_LETTERS"),
    ("HP: 0812 3456 7890", "PHONE_HAS_LETTERS"),
    ("0812-3456-7890 (WA)", "PHONE_HAS_LETTERS"),
    ("tidak ada", "PHONE_HAS_LETTERS"),
    ("0812345", "PHONE_TOO_SHORT"),
    ("081234567", "PHONE_TOO_SHORT"),
    ("0812", "PHONE_TOO_SHORT"),
    ("08123456789012", "PHONE_TOO_LONG"),
    ("081234567890123", "PHONE_TOO_LONG"),
    ("0812-3456-7890 / 0813-1111-2222", "PHONE_MULTIPLE"),
    ("0812 3456 7890, 0813 1111 2222", "PHONE_MULTIPLE"),
    ("081234567890;081311112222", "PHONE_MULTIPLE"),
    ("0812-3456-7890 & 0852-1111-2222", "PHONE_MULTIPLE"),
    ("+1 202 555 0101", "PHONE_FOREIGN"),
    ("+60 12-345 6789", "PHONE_FOREIGN"),
])
def test_bad_phones(raw, code):
    assert check_phone(raw).code == code
    assert phone_reference(raw).code == code
    assert check_phone(raw).value is None


@pytest.mark.parametrize("raw", [True, False, dt.datetime(2023, 10, 12), dt.date(2023, 10, 12),
                                 dt.time(8, 12), 8.5, float("inf"), float("-inf"), 1e20, "-", "()", "+",
                                 "0812/3456/7890", "#REF!"])
def test_non_phone_values_are_salah_never_an_exception(raw):
    for fn in (check_phone, phone_reference):
        c = fn(raw)
        assert c.value is None and c.code in ROW_CODES
        assert codes.severity(c.code) == codes.SALAH


@pytest.mark.parametrize("raw", [None, "", "   ", float("nan"), "\n"])
def test_blank_phone_is_missing(raw):
    assert check_phone(raw).code == "MISSING"
    assert phone_reference(raw).code == "MISSING"


def test_every_valid_phone_value_is_ascii_e164():
    for raw in MOBILES:
        v = check_phone(raw).value
        assert v.startswith("+628") and v[1:].isascii() and v[1:].isdigit()


# -- the fast path and the reference agree on everything -----------------------
ANY_VALUE = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="0123456789 +-.()/,;&|xX\t\n", max_size=24),
    st.integers(),
    st.integers(min_value=10 ** 7, max_value=10 ** 14),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=1e7, max_value=1e14).map(float),
    st.booleans(), st.none(),
)


@settings(max_examples=400, **HYP)
@given(ANY_VALUE)
@example("0812٣456789")            # Arabic-Indic digit in an otherwise fine mobile
@example("٠٨١٢٣٤٥٦٧٨٩٠")
@example("８１２３４５６７８９０")
def test_check_phone_agrees_with_reference_on_anything(v):
    assert check_phone(v) == phone_reference(v)


_OPERATOR = st.sampled_from(
    ["811", "812", "813", "821", "822", "823", "851", "852", "853", "814", "815", "816", "855",
     "856", "857", "858", "817", "818", "819", "859", "877", "878", "895", "896", "897", "898",
     "899", "881", "882", "883", "884", "885", "886", "887", "888", "889", "831", "832", "833",
     "838", "800", "809", "810", "820", "830", "850", "870", "880", "890",
     "21", "22", "736", "737", "751", "361", "1", "7", "9", "0", ""])
_DIGIT = st.one_of(st.sampled_from("0123456789"),
                   st.characters(categories=["Nd"]))  # now and then a non-ASCII digit
_SEP = st.sampled_from(["", "", "", " ", "-", ".", " - ", "  ", "(", ")", "/", "\u00a0"])


@st.composite
def phone_like(draw):
    prefix = draw(st.sampled_from(["0", "0", "+62", "62", "+62 ", "62 ", "", "(0", "+62 (0)", "0062", "+",
                                   "+1 ", "+60"]))
    op = draw(_OPERATOR)
    n = draw(st.integers(min_value=5, max_value=16))
    rest = draw(st.lists(_DIGIT, min_size=max(n - len(op), 0), max_size=max(n - len(op), 0)))
    groups, out = [op] + ["".join(rest[i:i + 4]) for i in range(0, len(rest), 4)], prefix
    for g in groups:
        out += g + draw(_SEP)
    if draw(st.booleans()):
        out = out.strip()
    return draw(st.sampled_from(["", "", "", "'", "''", " '", "' "])) + out   # Excel's text marker, kept by a CSV


@pytest.mark.parametrize("raw,want", [
    ("'081234567897", Check("+6281234567897")), ("'+62 812-3456-7897", Check("+6281234567897")),
    ("'81234567897.0", Check("+6281234567897")), (" '0812 3456 7897 ", Check("+6281234567897")),
    ("'021-5551234", Check(None, "PHONE_LANDLINE")), ("''081234567897", Check(None, "PHONE_INVALID")),
])
def test_excels_text_marker_before_a_phone_is_not_part_of_it(raw, want):
    """A CSV keeps the apostrophe Excel puts before a number typed as text
    ('081234567897): one leading apostrophe is that marker, dropped before the check,
    by the rule and the fast path alike."""
    from sheets_sync.validate import fastpath
    assert check_phone(raw) == want and phone_reference(raw) == want
    assert fastpath.phones([raw.strip()]) == [want.value]


@settings(max_examples=600, **HYP)
@given(phone_like())
@example("0812٣456789")
def test_check_phone_agrees_with_reference_on_phone_like_text(v):
    assert check_phone(v) == phone_reference(v)


@settings(max_examples=300, **HYP)
@given(st.integers(min_value=0, max_value=10 ** 15))
def test_check_phone_agrees_with_reference_on_ints_and_floats(n):
    assert check_phone(n) == phone_reference(n)
    assert check_phone(float(n)) == phone_reference(float(n))


@settings(max_examples=1500, **HYP)
@given(st.sampled_from(["0", "+62", "+6", "62", "00", "+620", "+", ""]), st.text("0123456789", min_size=1, max_size=20))
@example("0", "8151234")
@example("+62", "12345")
def test_check_phone_reads_0_and_plus62_numbers_as_phonenumbers_parses_them(prefix, digits):
    """check_phone builds (62, NSN) itself for 0NSN / +62NSN of a possible length
    instead of calling phonenumbers.parse: the same number, so the same verdict."""
    import phonenumbers
    n = fields._id_number(prefix + digits)
    if n is not None:
        assert phonenumbers.parse(prefix + digits, "ID") == n
    assert check_phone(prefix + digits) == phone_reference(prefix + digits)


@settings(max_examples=300, **HYP)
@given(st.one_of(ANY_VALUE, phone_like()))
def test_phone_verdict_is_a_catalogue_code_or_ascii_mobile(v):
    c = check_phone(v)
    if c.code is None:
        assert isinstance(c.value, str) and c.value.startswith("+628")
        assert c.value[1:].isascii() and c.value[1:].isdigit(), c
    else:
        assert c.value is None and (c.code in ROW_CODES or c.code == "MISSING")


# --------------------------------------------------------------------- e-mail
@pytest.mark.parametrize("raw,normal", [
    ("budi.santoso@gmail.com", "budi.santoso@gmail.com"),
    ("Budi.Santoso@Gmail.COM", "Budi.Santoso@gmail.com"),
    ("  siti_aminah88@yahoo.co.id ", "siti_aminah88@yahoo.co.id"),
    ("kepala.dinkes@mukomukokab.go.id", "kepala.dinkes@mukomukokab.go.id"),
    ("a+spi@Contoh.Or.ID", "a+spi@contoh.or.id"),
    ("x-y@sub.domain-satu.id", "x-y@sub.domain-satu.id"),
    ("user@abc--d.com", "user@abc--d.com"),
])
def test_valid_emails_are_normalised(raw, normal):
    assert check_email(raw) == Check(normal)
    assert email_reference(raw) == Check(normal)


@pytest.mark.parametrize("raw", [
    "budi.gmail.com", "budi@gmail", "budi@@gmail.com", "budi santoso@gmail.com",
    "budi@gmail..com", ".budi@gmail.com", "budi.@gmail.com", "budi..s@gmail.com",
    "budi@-gmail.com", "budi@gmail-.com", "budi@gmail.com.", "@gmail.com", "budi@",
    "budi@test.test", "budi@kantor.local", "budi@localhost", "budi@x.invalid",
    "budi@ab--cd.com", "budi@123.456", 'budi"@gmail.com', "budi,ani@gmail.com", "-",
])
def test_invalid_emails(raw):
    for fn in (check_email, email_reference):
        c = fn(raw)
        assert c.code == "EMAIL_INVALID" and c.value is None
        assert c.params and c.params.get("alasan")


@pytest.mark.parametrize("raw,why", [
    ("a.empat@gmail.com,", "karakter ',' tidak boleh"),
    ("a.empat@gmail.com;", "karakter ';' tidak boleh"),
    ("budi,ani@gmail.com", "karakter ',' tidak boleh"),
    ("budi(kantor)@gmail.com", "karakter '(' tidak boleh"),
    ("budi@gmail_kantor.com", "karakter '_' tidak boleh"),
    ('budi"@gmail.com', "karakter '\"' tidak boleh"),
    ("budi@gm'ail.com", 'karakter "\'" tidak boleh'),
    ("budi@gmail.com\u2013", "karakter '\u2013' tidak boleh"),
    ("mailto:a@gmail.com", "hapus 'mailto:' di depan alamat"),
    ("MailTo:a@gmail.com", "hapus 'mailto:' di depan alamat"),
    ("budi@kantor.local", "domain .local tidak dapat menerima e-mail"),
    ("budi@-gmail.com", "tanda - tidak boleh di awal atau akhir bagian domain"),
    ("budi@123.456", "akhiran domain salah, mis. .com atau .id"),
    ("ani@gmail,com", "karakter ',' tidak boleh"),           # a comma typed for the dot
    ("budi@gmail.com.", "hapus titik di akhir alamat"),
])
def test_an_invalid_email_says_what_to_fix(raw, why):
    """Not 'ada karakter yang tidak boleh' without saying which: the character is
    named (one character, never more of the cell), 'mailto:' is to be removed."""
    for fn in (check_email, email_reference):
        assert fn(raw) == Check(None, "EMAIL_INVALID", {"alasan": why})


@pytest.mark.parametrize("raw", ["a@gmail.com; b@gmail.com", "a@gmail.com;b@gmail.com", "a@gmail.com, b@yahoo.co.id",
                                 "a@gmail.com b@gmail.com", "a@gmail.com / b@gmail.com", "a@gmail.com|b@gmail.com"])
def test_two_addresses_in_one_cell_say_one_email_only(raw):
    """As PHONE_MULTIPLE for two numbers: not 'tanda @ lebih dari satu'."""
    for fn in (check_email, email_reference):
        assert fn(raw) == Check(None, "EMAIL_MULTIPLE")
    assert "isi satu e-mail saja" in codes.render("EMAIL_MULTIPLE", kolom="E-mail aktif")
    assert check_email("budi@@gmail.com").code == "EMAIL_INVALID"
    assert check_email("a@b@gmail.com").params == {"alasan": "tanda @ lebih dari satu"}


@pytest.mark.parametrize("raw", [12345, 1.5, True, dt.date(2023, 1, 1)])
def test_non_text_email_is_invalid(raw):
    assert check_email(raw).code == "EMAIL_INVALID"


@pytest.mark.parametrize("raw", [None, "", "  ", float("nan")])
def test_blank_email_is_missing(raw):
    assert check_email(raw).code == "MISSING"


@settings(max_examples=400, **HYP)
@given(st.one_of(st.text(max_size=40), st.text(alphabet="ab.@-_+ AZ\"'1\u00e9", max_size=20),
                 st.integers(), st.floats(), st.none(), st.booleans()))
def test_check_email_agrees_with_reference_on_anything(v):
    assert check_email(v) == email_reference(v)


_LOCAL_ATOM = st.one_of(
    st.text(alphabet="abcxyzABCXYZ0189", min_size=1, max_size=8),
    st.sampled_from(["budi", "siti.aminah", "a_b", "a+b", "a-b", "-", "_", "+", ".", "..", "ü",
                     "名", " ", '"', "'", "!", "#", "%", "~", "a\u00a0b"]),
)
_LABEL = st.one_of(
    st.text(alphabet="abcxyz019-", min_size=1, max_size=10),
    st.sampled_from(["gmail", "yahoo", "mukomukokab", "go", "co", "ab--cd", "xn--80ak6aa92e",
                     "abc--d", "-a", "a-", "GMAIL", "gmäil", "Ä", "x" * 63, "x" * 64, ""]),
)
_TLD = st.sampled_from(["com", "id", "co.id", "go.id", "COM", "org", "test", "local", "localhost",
                        "invalid", "onion", "arpa", "home.arpa", "example", "c0m", "x", "123",
                        "xn--p1ai", "рф", "museum", "a" * 63, "a" * 64, "com."])


@st.composite
def email_like(draw):
    local = "".join(draw(st.lists(_LOCAL_ATOM, min_size=1, max_size=4)))
    if draw(st.integers(0, 9)) == 0:
        local = "a" * draw(st.integers(60, 70))
    labels = draw(st.lists(_LABEL, min_size=0, max_size=3))
    domain = ".".join(labels + [draw(_TLD)])
    at = draw(st.sampled_from(["@", "@", "@", "@@", " @", ""]))
    pad = draw(st.sampled_from(["", "", " ", "\t", "\n"]))
    return pad + local + at + domain + pad


@settings(max_examples=800, **HYP)
@given(email_like())
@example("a@xn--80ak6aa92e.com")
@example("a@ab--cd.com")
@example("budi@mail.test")
@example("budi@printer.local")
def test_check_email_agrees_with_reference_on_email_like_text(v):
    assert check_email(v) == email_reference(v)


_SLIP = st.text(st.sampled_from(list("abAZ09._-+@@..  !#'()/,;:=?|~%&*`{}^$") + ['"', "<", ">", "[", "]", "\\"]),
                min_size=0, max_size=12)


@settings(max_examples=3000, **HYP)
@given(_SLIP, st.sampled_from(["", "@gmail.com", "@gmail..com", "@gmail", ".@yahoo.co.id", "@@gmail.com", "@x.",
                               "@.x.com", " gmail.com", "@test", "@a.b", '"@x.com', "@[1.2.3.4]", " "]))
def test_emails_rejected_without_email_validator_are_ones_it_rejects(text, tail):
    """check_email rejects the usual slips (a@@b, a@b..com, a.@b, a@b) itself: only
    texts email-validator rejects too, with the same reason."""
    s = text + tail
    if s.strip() and fields.surely_invalid_email(s.strip()):
        assert email_reference(s).code in ("EMAIL_INVALID", "EMAIL_MULTIPLE"), s
    assert check_email(s) == email_reference(s)


# ---------------------------------------------------------------------- dates
D = dt.date(2023, 10, 13)


@pytest.mark.parametrize("raw", [
    45212, 45212.0, 45212.75,
    dt.datetime(2023, 10, 13), dt.datetime(2023, 10, 13, 8, 30), D,
    "13/10/2023", "13-10-2023", "13.10.2023", " 13 / 10 / 2023 ", "13/10/23",
    "13 Oktober 2023", "13 oktober 2023", "13 OKTOBER 2023", "13 Okt 2023", "13 Okt. 2023",
    "13-Okt-2023", "2023-10-13", "13/10/2023 08:00",
])
def test_dates_in_every_shape(raw):
    assert fields.parse_date(raw) == Check(D)


@pytest.mark.parametrize("raw,want", [
    ("1/2/2023", dt.date(2023, 2, 1)),        # day first, as in Indonesia
    ("05/10/2023", dt.date(2023, 10, 5)),
    ("17 Agustus 1945", dt.date(1945, 8, 17)),
    ("1 Mei 2023", dt.date(2023, 5, 1)),
    ("29/02/2024", dt.date(2024, 2, 29)),
    ("3 Nopember 2022", dt.date(2022, 11, 3)),
    ("9 Des 2022", dt.date(2022, 12, 9)),
    (1, dt.date(1899, 12, 31)),
])
def test_dates_day_month_year(raw, want):
    assert fields.parse_date(raw).value == want


@pytest.mark.parametrize("raw", ["31/09/2023", "29/02/2023", "30/02/2024", "32/10/2023",
                                 "13/13/2023", "00/10/2023", "31 April 2023", "31-06-2023"])
def test_impossible_dates(raw):
    c = fields.parse_date(raw)
    assert c.code == "DATE_IMPOSSIBLE" and c.value is None


@pytest.mark.parametrize("raw", ["besok", "13 Foo 2023", "13-10/2023", 0, -5, 10 ** 12,
                                 float("inf"), True, "#N/A", "45/99", "Foo 2023", "32", "1899"])
def test_unrecognised_dates(raw):
    c = fields.parse_date(raw)
    assert c.code in ("DATE_INVALID", "DATE_IMPOSSIBLE") and c.value is None


@pytest.mark.parametrize("raw", ["2020", "12", "45212", "43000", " 2020 ", "45212.75", "12,5", "\u202a2020\u202c"])
def test_digits_typed_as_text_are_never_a_serial_number(raw):
    """Only a number cell (.xlsx, Google Sheets) is a serial number. Digits as text
    (a cell formatted as Teks, every CSV cell) are what a person wrote: "2020" is a
    year, not 12/07/1905, and "12" is not 11/01/1900."""
    c = fields.parse_date(raw)
    assert c.value is None and c.code in ("DATE_INVALID", "DATE_INCOMPLETE", "DATE_NO_YEAR")


@pytest.mark.parametrize("raw", ["2020", " 2020 ", "12", "1", "Oktober", "okt.", "10/2023", "10-2023",
                                 "Oktober 2023", "okt 2023", "Okt-2023", "2023-10", "2023/10"])
def test_a_year_or_a_day_alone_is_an_incomplete_date(raw):
    c = fields.parse_date(raw)
    assert c == Check(None, "DATE_INCOMPLETE", {"nilai": raw.strip()})


@pytest.mark.parametrize("raw", ["15 Oktober", "15 okt", "15-Okt", "15 Okt.", "Senin, 15 Oktober", "15/10",
                                 "15-10", "15.10", "15 10", "13/10"])
def test_a_day_and_month_without_a_year_says_the_year_is_missing(raw):
    c = fields.parse_date(raw)
    assert c == Check(None, "DATE_NO_YEAR", {"nilai": raw})


def test_a_number_cell_is_still_a_serial_number():
    """A number typed in an .xlsx date cell stays a serial (Excel shows 2020 in a date
    cell as 12/07/1905): the date bounds then say 'periksa tahunnya'."""
    assert fields.parse_date(2020) == Check(dt.date(1905, 7, 12))
    assert fields.parse_date(12.0) == Check(dt.date(1900, 1, 11))


def test_incomplete_dates_are_read_in_linear_time():
    import time
    for s in ["1" + " -" * 400 + "x", "1" + "-" * 900 + "a", "a" * 990 + "1", "1" * 1000, "1 " * 500,
              "12/" * 300, "okt " * 250]:
        t = time.perf_counter()
        fields.parse_date(s)
        assert time.perf_counter() - t < 0.05, s[:20]


def test_four_digit_year_0023_is_not_read_as_2023():
    """Only two-digit years mean this century; '0023' typed with four digits is a
    typo, not 2023."""
    c = fields.parse_date("13/10/0023")
    assert c.value != dt.date(2023, 10, 13)


@pytest.mark.parametrize("day,want", [
    (dt.date(2023, 10, 12), dt.date(2023, 9, 12)),
    (dt.date(2023, 3, 31), dt.date(2023, 2, 28)),
    (dt.date(2024, 3, 31), dt.date(2024, 2, 29)),
    (dt.date(2023, 1, 15), dt.date(2022, 12, 15)),
])
def test_months_before(day, want):
    assert fields.months_before(day, 1) == want


# -------------------------------------------------------------------- choices
TABLE = fields.choice_lookup(
    kriteria_slots(),
    __import__("sheets_sync.forms", fromlist=["load_forms"]).load_forms()["eksper"]
    .column("kriteria").rules["choice_aliases"])


@pytest.mark.parametrize("choice", sorted(set(kriteria_slots())))
def test_every_kriteria_matches_itself_ignoring_case_and_spacing(choice):
    assert fields.check_choice(choice, TABLE) == Check(choice)
    assert fields.check_choice("  " + choice.upper().replace(" ", "   ") + " ", TABLE).value == choice
    assert fields.check_choice(choice.lower() + ".", TABLE).value == choice
    assert fields.check_choice(choice.replace(" ", "\n", 1), TABLE).value == choice


def test_kriteria_with_leading_number_and_ocr_aliases():
    assert fields.check_choice("2. Auditor BPK", TABLE).value == "Auditor BPK"
    assert fields.check_choice("Agenzia pengusaha (KADIN, HIPMI, APINDO) atau pengusaha yang berpengaruh",
                               TABLE).value.startswith("Asosiasi pengusaha")
    assert fields.check_choice("Saber Pungli Kepolisian (Polres untuk Kab/Kota, Polde untuk Provinsi)",
                               TABLE).value.endswith("Polda untuk Provinsi)")
    assert fields.check_choice("Saber Pungli Kejaksaan (Kejari untuk Kab/Kota, Kejari untuk Provinsi)",
                               TABLE).value.endswith("Kejati untuk Provinsi)")
    assert fields.check_choice("Pensiunan maksimal 5 tahun terakhir", TABLE).value.startswith("Pensiunan")
    assert fields.check_choice("Saber Pungli Kepolisian ( Polres untuk Kab / Kota , Polda untuk Provinsi )",
                               TABLE).value.endswith("Polda untuk Provinsi)")


@pytest.mark.parametrize("raw", ["Wartawan", "Auditor", "BPK", "Akademisi", "", 12, "Auditor BPK X"])
def test_kriteria_not_in_the_list(raw):
    assert fields.check_choice(raw, TABLE).code == "CHOICE_INVALID"


# ------------------------------------------------------------ address + e-mail
@pytest.mark.parametrize("raw,email", [
    ("Jl. Sudirman No. 5, Mukomuko; cv.maju@gmail.com", "cv.maju@gmail.com"),
    ("Jl. Ahmad Yani 2, Ipuh, email: Maju.Jaya@Yahoo.Co.Id", "Maju.Jaya@yahoo.co.id"),
    ("Jl. Imam Bonjol 7 - pt.sinar@gmail.com.", "pt.sinar@gmail.com"),
    ("Jl. Merdeka 1\nud.berkah@gmail.com", "ud.berkah@gmail.com"),
    ("Jl. Merdeka 1 / <toko@gmail.com>", "toko@gmail.com"),
])
def test_address_email_extracts_one_email(raw, email):
    c = fields.check_address_email(raw)
    assert c.code is None and c.value["email"] == email


@pytest.mark.parametrize("raw", ["Jl. Sudirman No. 5, Mukomuko", "Jl. Merdeka; budi@gmail",
                                 "Jl. Merdeka @ Mukomuko", 12345, "email: -"])
def test_address_without_email(raw):
    assert fields.check_address_email(raw).code == "ADDRESS_EMAIL_NONE"


def test_address_with_two_emails_takes_the_first_and_warns():
    c = fields.check_address_email("Jl. A 1; a@gmail.com; b@gmail.com")
    assert c.code == "ADDRESS_EMAIL_MULTIPLE" and c.value["email"] == "a@gmail.com"
    assert codes.severity(c.code) == codes.PERIKSA


# ---------------------------------------------------------------- text, names
@pytest.mark.parametrize("raw", ["12345", "-", "...", "0812-3456-7890", "#", "(1)", 12345, 3.5, "_"])
def test_names_without_letters(raw):
    assert fields.check_name(raw).code == "NAME_NO_LETTERS"


@pytest.mark.parametrize("raw", ["Budi", "Hj. Siti Aminah, S.Pd", "I Gusti Ngurah Rai", "Ñoño", "李", "A"])
def test_names_with_letters(raw):
    assert fields.check_name(raw).code is None


def test_text_too_long_and_spaces_collapsed():
    assert fields.check_text("x" * 301).code == "TEXT_TOO_LONG"
    assert fields.check_text("x" * 300).code is None
    assert fields.check_text("  Dinas   Kesehatan\n ").value == "Dinas Kesehatan"
    assert fields.check_text(12.0).value == "12"


@pytest.mark.parametrize("raw", ["#REF!", "#N/A", "#VALUE!", "#DIV/0!", "#NAME?", " #ref! "])
def test_cell_errors(raw):
    assert fields.cell_error(raw)


@pytest.mark.parametrize("raw", ["#1", "# Catatan", "#REF! panjang sekali tulisannya", 5, None])
def test_not_cell_errors(raw):
    assert not fields.cell_error(raw)


def test_is_blank():
    for v in (None, "", " \n", float("nan")):
        assert fields.is_blank(v)
    for v in (0, 0.0, "0", False, "-", math.pi):
        assert not fields.is_blank(v)


def test_invisible_spaces_do_not_travel_to_kpk():
    """'Agus\\u200b Salim' (a zero-width space pasted from a chat) was exported as typed."""
    from sheets_sync.validate import fields
    assert fields.as_text("Agus\u200b Salim") == "Agus Salim"
    assert fields.as_text("\ufeffDinas\u2060 Kesehatan") == "Dinas Kesehatan"
    assert fields.check_name("Agus\u200b Salim").value == "Agus Salim"
    assert fields.as_text("👨\u200d👩\u200d👧") == "👨\u200d👩\u200d👧"     # a joiner in an emoji stays
