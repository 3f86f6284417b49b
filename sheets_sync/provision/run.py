"""`python -m sheets_sync provision`: choose the backend's provisioner, run it, report."""
from __future__ import annotations

import sys

from sheets_sync.codes import explain
from sheets_sync.forms import forms_for
from sheets_sync.provision.spec import ProvisionError, Report


def provision(settings, *, dry_run: bool = False, registry_csv=None, out=print, store=None) -> Report:
    forms = forms_for(settings)
    if settings.backend == "google":
        from sheets_sync.provision.google import GoogleProvisioner, ensure_master
        if store is None and not (settings.google or {}).get("master_id"):
            if dry_run:
                out("Master belum ada (google.master_id kosong): provision tanpa --dry-run membuatnya di folder "
                    "google.folder_id dan menulis ID-nya ke berkas pengaturan.")
                return Report(dry_run)
            ensure_master(settings, out)
        worker = GoogleProvisioner(settings, forms, store=store, out=out)
    else:
        from sheets_sync.provision.xlsx import XlsxProvisioner
        worker = XlsxProvisioner(settings, forms, out=out)
    return worker.run(dry_run=dry_run, registry_csv=registry_csv)


def cli(args, settings) -> int:
    from sheets_sync.cliparse import say as out   # a closed pipe must not stop half the OPDs

    try:
        rep = provision(settings, dry_run=args.dry_run, registry_csv=args.registry_csv, out=out)
    except OSError as e:
        print(f"Provision gagal: {explain(e)}", file=sys.stderr)
        return 2
    except (ValueError, ProvisionError) as e:
        print(f"Provision gagal: {e}", file=sys.stderr)
        return 2
    return 0 if rep.ok else 1
