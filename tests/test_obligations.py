"""The circular's other obligations (point 5: QR code at every service point; point 6:
the survey announced on the OPD's website): tracked by the Inspektorat in optional
Daftar OPD columns, shown in the Rekap, and named in the reminders of an OPD that has
not done them (texts from forms.yaml, never a respondent's data)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from sheets_sync import demo, remind
from sheets_sync.validate.registry import parse_registry

from tests.conftest import AS_OF, clean_row, table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from smtp_server import smtp_server  # noqa: E402

QR = "memasang QR code dan link SPI Partisipatif"
WEB = "mengumumkan pelaksanaan SPI di website OPD"


@pytest.mark.unit
@pytest.mark.parametrize("typed, done", [("Sudah", True), ("sudah dipasang", True), ("✓", True), (True, True),
                                         ("Ya.", True), ("Belum", False), ("", False), (None, False),
                                         (False, False), ("tidak", False), ("Sdh", True), ("sdh, 12 titik", True),
                                         ("Ya, sudah", True), ("√", True), ("Telah dipasang", True), ("OK", True),
                                         ("belum, minggu depan", False), ("Tidak ada", False), ("adanya belum", False)])
def test_what_counts_as_done(forms, typed, done):
    grid = [["Kode OPD", "Nama OPD", "E-mail Kontak", "QR Code Layanan", "Bukti QR Code"],
            ["A", "Dinas A", "a@contoh.go.id", typed, "https://contoh.go.id/foto-qr"]]
    opd = parse_registry(grid, forms)[0][0]
    assert opd.obligations == (("qr_code", done, "https://contoh.go.id/foto-qr"),)   # website: no column
    assert opd.obligations_due() == ([] if done else ["qr_code"])


@pytest.mark.unit
def test_a_registry_without_the_columns_tracks_nothing(forms):
    grid = [["Kode OPD", "Nama OPD", "E-mail Kontak"], ["A", "Dinas A", "a@contoh.go.id"]]
    assert parse_registry(grid, forms)[0][0].obligations == ()


def test_rekap_and_reminder_say_what_is_not_done(deployment):
    both = ["pegawai", "pengguna_layanan"]          # no service users yet: BELUM LENGKAP, reminded
    deployment.add_opd("DINKES", {"pegawai": [clean_row("pegawai", 1, nama="Wiryawan Qorib")]}, form_keys=both)
    deployment.add_opd("DINSOS", {"pegawai": [clean_row("pegawai", 2)]}, form_keys=both)
    deployment.registry[0].update(qr_code="Sudah", qr_code_bukti="https://dinkes.contoh.go.id/qr",
                                  publikasi_web="Belum")
    deployment.registry[1].update(qr_code="sudah", publikasi_web="Sudah",
                                  publikasi_web_bukti="https://dinsos.contoh.go.id/spi")
    demo.write_master(deployment.master, deployment.registry)
    with smtp_server() as smtp:
        raw = yaml.safe_load(deployment.config.read_text(encoding="utf-8"))
        raw["mail"].update(transport="smtp", host="127.0.0.1", port=smtp.port, security="none", pause_seconds=0)
        deployment.config.write_text(yaml.safe_dump(raw), encoding="utf-8")
        with deployment.context(AS_OF) as ctx:        # H-3: both OPDs are late (forms missing)
            ctx.hooks = [remind.hook]
            from sheets_sync.cycle import run_cycle
            run_cycle(ctx)
        mails = {m.message["X-SPI-Slot"].split()[0]: m for m in smtp.messages}
    rekap = {r["Kode OPD"]: r for r in table(deployment.master, "Rekap", "Kode OPD")}
    assert rekap["DINKES"]["QR Code Layanan"] == "Sudah (https://dinkes.contoh.go.id/qr)"
    assert rekap["DINKES"]["Pengumuman Website"] == "Belum"
    assert rekap["DINSOS"]["Pengumuman Website"] == "Sudah (https://dinsos.contoh.go.id/spi)"
    dinkes, dinsos = mails["DINKES"], mails["DINSOS"]
    assert WEB in dinkes.text() and WEB in dinkes.html() and QR not in dinkes.text()
    assert "Kewajiban lain dari Surat Edaran" in dinkes.html()
    assert WEB not in dinsos.text() and QR not in dinsos.text() and "belum mencatat" not in dinsos.text()
    assert "Wiryawan" not in dinkes.all_text()
