"""Google answers 503 (after the retries) to the read of one OPD that the
worker has not read before (a new OPD in the Daftar OPD, a fresh state folder) on a
reminder day. The OPD's spreadsheet is complete (LENGKAP, 69 OK rows)."""
from __future__ import annotations

import email

from tests.google_opd_faults import cycle, gdep, gemu, outbox, problems, rekap, sid  # noqa: F401


def _fail_reads(emu, spreadsheet: str, status=503):
    em = emu.emulator
    real = em._handle

    def handle(method, raw_path, query, body, headers):
        person = any(k.lower() == "x-emulator-user" for k in (headers or {}))
        if not person and raw_path.startswith("/v4/") and spreadsheet in raw_path:
            em.count("sheets.spreadsheets.get")
            return status, {"error": {"code": status, "message": "The service is currently unavailable.",
                                      "status": "UNAVAILABLE"}}, {}
        return real(method, raw_path, query, body, headers)
    em._handle = handle


def _mails_to(dep, addr):
    out = []
    for p in outbox(dep):
        msg = email.message_from_bytes(p.read_bytes())
        if addr in (msg["To"] or ""):
            out.append("".join(part.get_payload(decode=True).decode() for part in msg.walk()
                               if part.get_content_type() == "text/plain"))
    return out


def test_google_503_on_an_unread_opd_sends_no_false_belum_mengisi_reminder(gdep, gemu):
    opd = gdep.opds()[0]                                     # DISDIKBUD: 69 rows, all OK
    _fail_reads(gemu, sid(opd))
    rep = cycle(gdep)                                        # H-3, reminders due
    row = rekap(gdep)[opd.code]
    mails = _mails_to(gdep, opd.contacts[0])
    print("problems:", problems(gdep, opd.code), "| Keadaan:", row[7], "| Catatan:", row[11])
    print(rep.line())
    for m in mails:
        print([line for line in m.splitlines() if "BELUM" in line or "Belum ada" in line])
    assert rep.master_written
    # nothing is known about this OPD's rows: the worker must not tell it, once and for
    # good, that it filled nothing (the slot can be sent on a later cycle of the day)
    assert not any("Belum ada satu baris pun yang diisi" in m for m in mails)


def test_a_read_that_failed_is_not_reported_as_a_write_that_failed(gdep, gemu):
    opd = gdep.opds()[0]
    _fail_reads(gemu, sid(opd))
    cycle(gdep, hooks=False)
    row = rekap(gdep)[opd.code]
    print("Keadaan:", row[7], "| Catatan:", row[11])
    # the Keadaan says the file was not read (as it does for a 404), and the note does not
    # blame a status write the worker never attempted
    assert "tidak terbaca" in row[7], row[7]
    assert "Status tidak dapat ditulis" not in row[11], row[11]
