"""Create or repair every OPD's workbook and the master, per backend.

    spec.py    what a provisioned workbook holds (backend-neutral), Petunjuk, registry bootstrap
    xlsx.py    the same with openpyxl, for the .xlsx backend
    google.py  the same with batched Sheets/Drive requests, for the Google backend
    run.py     `python -m sheets_sync provision`: choose the backend, run, report
"""
from sheets_sync.provision.run import cli, provision

__all__ = ["cli", "provision"]
