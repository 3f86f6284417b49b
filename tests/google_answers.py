"""Google's answers to the worker's own requests, replaced for one spreadsheet on the
emulator (a person's requests, with the staff header, are served as usual): a 503
after the retries, a 403 for a read-only share, a 200 whose body is not what was asked."""
from __future__ import annotations

from sheets_sync.stores.google import quote, col_letter, spreadsheet_id
from tests.backends import STAFF

UNAVAILABLE = 503, {"error": {"code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE"}}
DENIED = 403, {"error": {"code": 403, "message": "The caller does not have permission", "status": "PERMISSION_DENIED"}}


def answer_worker(emu, monkeypatch, opd, answer, method: str | None = None) -> None:
    """The worker's Sheets requests (of `method`, or any) to `opd`'s spreadsheet get
    `answer` (status, JSON payload), counted as the emulator counts requests."""
    em = emu.emulator
    real = em.handle
    sid = spreadsheet_id(opd.location)
    staff = next(iter(STAFF)).lower()

    def handle(m, raw_path, query, body, headers=None):
        person = any(k.lower() == staff for k in (headers or {}))
        if not person and raw_path.startswith("/v4/") and sid in raw_path and method in (None, m):
            em.count("sheets.spreadsheets.batchUpdate" if m == "POST" else "sheets.spreadsheets.get")
            return answer[0], answer[1], {}
        return real(m, raw_path, query, body, headers)
    monkeypatch.setattr(em, "handle", handle)


def grow(dep, opd, tab: str, **grid) -> None:
    """A person sets the tab's grid size (rowCount, columnCount)."""
    http = dep._google_store(staff=True).http
    sid = spreadsheet_id(opd.location)
    meta = http.spreadsheets_get(sid, params={"fields": "sheets.properties"})
    tab_id = next(s["properties"]["sheetId"] for s in meta["sheets"] if s["properties"]["title"] == tab)
    http.batch_update(sid, {"requests": [{"updateSheetProperties": {
        "properties": {"sheetId": tab_id, "gridProperties": grid},
        "fields": ",".join(f"gridProperties.{k}" for k in grid)}}]})


def put(dep, opd, tab: str, row: int, col: int, values: list[list]) -> None:
    """A person types a block of values at (row, col)."""
    dep._google_store(staff=True).http.values_batch_update(spreadsheet_id(opd.location), {
        "valueInputOption": "RAW", "data": [{"range": f"{quote(tab)}!{col_letter(col)}{row}", "values": values}]})


def problems(dep, code: str) -> list[str]:
    from sheets_sync.cycle.state import State
    with State(dep.settings.state_db) as state:
        return [p.code for p in state.opd(code).problems]


def spent(emu, fn) -> dict[str, int]:
    """Requests by endpoint that fn() made."""
    before = emu.stats()["by_endpoint"]
    fn()
    after = emu.stats()["by_endpoint"]
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
