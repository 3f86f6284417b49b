"""`python -m sheets_sync demo`: demo workbooks plus a settings file beside them."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

DEMO_DEADLINE_DAYS = 3  # the demo's deadline is H-3, so a reminder slot is due today


def demo_settings(backend: str, as_of: dt.date) -> dict:
    return {
        "backend": backend,
        "tahun": as_of.year,
        "data_dir": "data",
        "master": "master.xlsx",
        "state_dir": "state",
        "outbox_dir": "outbox",
        "sync_interval_minutes": 10,
        "reminder_time": "08:00",
        "deadline": (as_of + dt.timedelta(days=DEMO_DEADLINE_DAYS)).isoformat(),
        # the real circular's shape; its number and date are the demo's own
        "surat_edaran": {"penerbit": "Bupati Mukomuko (demo)", "nomor": f"700/654/ITDA/X/{as_of.year}",
                         "tanggal": (as_of - dt.timedelta(days=1)).isoformat()},
        "inspektorat": {"nama": "Inspektorat Daerah Kabupaten Mukomuko (demo)",
                        "email": ["inspektorat@contoh.mukomukokab.go.id"],
                        "kontak": "Sekretariat Inspektorat, telp. kantor (0737) 000000"},
        "mail": {"transport": "outbox", "sender_name": "Inspektorat Daerah (demo)",
                 "sender": "spi@contoh.mukomukokab.go.id"},
    }


def make_demo(config_out: Path, *, backend: str = "xlsx", n_opds: int = 8,
              as_of: dt.date, seed: int = 2023, parent: str | None = None) -> Path:
    """parent (Google): the Drive folder or shared drive the demo folder is made in;
    a service account needs one in a shared drive."""
    config_out = Path(config_out)
    folder = config_out.parent
    folder.mkdir(parents=True, exist_ok=True)
    settings = demo_settings(backend, as_of)
    if backend == "google":
        from sheets_sync.demo.google import create_demo
        settings["google"] = create_demo(folder, n_opds=n_opds, as_of=as_of, seed=seed, parent=parent)
        _write_settings(config_out, settings)
    else:
        _write_settings(config_out, settings)
        _xlsx_demo(config_out, n_opds, as_of, seed)
    return config_out


def _write_settings(config_out: Path, settings: dict) -> None:
    text = "# Pengaturan demo sheets_sync (dibuat otomatis; jalur relatif terhadap folder ini)\n"
    config_out.write_text(text + yaml.safe_dump(settings, allow_unicode=True, sort_keys=False),
                          encoding="utf-8")


def _xlsx_demo(config_out: Path, n_opds: int, as_of: dt.date, seed: int) -> None:
    """The demo OPDs' workbooks as users get them: the registry first, then `provision`
    (Petunjuk tab, validations, protection, colours), then the demo rows typed in."""
    from openpyxl import Workbook

    from sheets_sync.config import load_settings
    from sheets_sync.demo import demo_plan, fill_opd_book, write_master
    from sheets_sync.forms import forms_for
    from sheets_sync.provision.xlsx import provision_book
    from sheets_sync.stores.xlsx import XlsxStore

    regs, rows, _ = demo_plan(n_opds, as_of=as_of, seed=seed)
    data = config_out.parent / "data"
    write_master(data / "master.xlsx", regs)
    settings = load_settings(config_out)
    forms = forms_for(settings)
    store = XlsxStore(data, forms, settings.master)
    opds, _ = store.read_registry()
    for opd in opds:   # what `provision` makes of a new OPD, filled in memory: one save each
        book = Workbook()
        provision_book(book, opd, forms, settings, new=True)
        fill_opd_book(book, rows[opd.code], forms=forms).save(store.path(opd))
