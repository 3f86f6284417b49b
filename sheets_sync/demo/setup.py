"""`python -m sheets_sync demo`: demo workbooks plus a settings file beside them."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

DEMO_DEADLINE_DAYS = 3  # the demo's deadline is H-3, so a reminder slot is due today


_ROMAN = "I II III IV V VI VII VIII IX X XI XII".split()   # a letter number's month


def demo_settings(backend: str, as_of: dt.date) -> dict:
    signed = as_of - dt.timedelta(days=1)
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
        "surat_edaran": {"penerbit": "Bupati Mukomuko (demo)", "nomor": f"700/654/ITDA/{_ROMAN[signed.month - 1]}/{signed.year}",
                         "tanggal": signed.isoformat()},
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
    _refuse_existing(config_out)
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


DEMO_MARK = "# Pengaturan demo sheets_sync (dibuat otomatis; jalur relatif terhadap folder ini)\n"


class DemoError(ValueError):
    """The demo would overwrite something: said to the admin, nothing written."""


def _refuse_existing(config_out: Path) -> None:
    """The demo's OPD codes are real ones (DINKES.xlsx …): pointed by mistake at a real
    deployment it would overwrite its settings, registry and workbooks. Over an older
    demo, that demo's state and sent-reminder ledger would make the new one look done."""
    master = config_out.parent / "data" / "master.xlsx"
    if config_out.exists() or master.exists():
        try:
            ours = config_out.read_text(encoding="utf-8", errors="replace").startswith(DEMO_MARK)
        except OSError:
            ours = False
        what = "demo lama" if ours else "pengaturan/data yang bukan demo"
        found = config_out.name if config_out.exists() else "data/master.xlsx"
        then = (f"atau hapus dulu folder demo lama itu (rm -rf {config_out.parent}; make demo melakukannya "
                f"sendiri)" if ours else "mis. --config-out demo/settings.yaml")
        raise DemoError(f"{config_out.parent} sudah berisi {what} ({found}); demo tidak menimpanya. Pilih folder "
                        f"baru untuk --config-out, {then}.")


def _write_settings(config_out: Path, settings: dict) -> None:
    text = DEMO_MARK
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
