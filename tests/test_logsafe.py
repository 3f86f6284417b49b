"""Log records never carry a full phone number or e-mail address."""
import logging

import pytest

from sheets_sync import logsafe


def test_mask_phone_and_email_forms():
    text = "HP +6281234567890, 0812-3456-7890 dan budi.santoso87@gmail.com"
    out = logsafe.mask(text)
    assert "+6281234567890" not in out and "0812-3456-7890" not in out
    assert "budi.santoso87@gmail.com" not in out
    assert "+62812****7890" in out and "b***@gmail.com" in out


def test_dates_and_counts_are_left_alone():
    text = "siklus 13/10/2023 08:00: 1077 sel, baris 12345, 2023-10-15"
    assert logsafe.mask(text) == text


def test_filter_masks_records_from_any_logger(caplog):
    logger = logging.getLogger("some.other.module")
    handler = logging.StreamHandler()
    handler.addFilter(logsafe.MaskingFilter())
    records = []
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        logger.warning("gagal kirim ke %s (%s)", "siti@yahoo.co.id", "081398765432")
    finally:
        logger.removeHandler(handler)
    msg = records[0].getMessage()
    assert "siti@yahoo.co.id" not in msg and "081398765432" not in msg


def test_level_names_the_admin_reads_are_indonesian():
    logsafe.install()
    record = logging.LogRecord("sheets_sync", logging.WARNING, __file__, 1, "siklus lambat", None, None)
    line = logging.Formatter("%(levelname)s %(message)s").format(record)
    assert line == "PERINGATAN siklus lambat"
    assert logging.getLevelName(logging.ERROR) == "GALAT"


@pytest.mark.parametrize("text,gone", [
    ("(0812) 3456-7890", "3456"), ("+62 (812) 3456 7890", "3456"), ("0812\u20113456\u20117890", "3456"),
    ("0812\u00a03456\u00a07890", "3456"), ("0812\u200b3456\u200b7890", "3456"), ("WA081234567890", "123456"),
    ('"budi.santoso"@gmail.com', "santoso"), ("budi.santoso\uff20gmail.com", "santoso"),
])
def test_phones_and_addresses_as_people_type_them_are_masked(text, gone):
    """Found by an adversarial pass: these went to the log in full."""
    assert gone not in logsafe.mask(text)


def test_dates_times_and_counts_are_not_taken_for_phones():
    for text in ("diperiksa 03/12/2026 14:08 WIB", "1176 sel status ditulis, 1.1 dtk", "8 OPD, 8 dibaca"):
        assert logsafe.mask(text) == text


def test_the_examples_in_our_own_messages_stay_readable():
    from sheets_sync.codes import render
    text = "mail.sender: 'spi.contoh.go.id' bukan alamat e-mail yang benar, contoh spi@mukomukokab.go.id."
    assert logsafe.mask(text) == text
    assert "nama@mukomukokab.go.id" in logsafe.mask(render("REG_EMAIL_INVALID", baris=3, kolom="E-mail",
                                                           alamat="x", alasan="y"))
    assert logsafe.mask("budi@mukomukokab.go.id") == "b***@mukomukokab.go.id"
