"""Behaviour of the Google Sheets/Drive emulator beyond what the recorded
cassettes cover (see tests/test_emulator_replay.py for those)."""
from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from hypothesis import given, settings, strategies as st

from tests.google_emulator import a1 as _a1
from tests.google_emulator import start_emulator
from tests.google_emulator import values as _values

SHEET_MIME = "application/vnd.google-apps.spreadsheet"
FOLDER_MIME = "application/vnd.google-apps.folder"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server():
    with start_emulator() as emu:
        yield emu


@pytest.fixture
def emu(server):
    server.reset()
    return server


@pytest.fixture
def http(emu):
    with requests.Session() as s:
        yield Api(s, emu.url)


class Api:
    """Tiny helper over requests for the two APIs."""

    def __init__(self, session: requests.Session, base: str):
        self.s = session
        self.base = base

    def new_spreadsheet(self, name="Test", parents=None):
        body = {"name": name, "mimeType": SHEET_MIME}
        if parents:
            body["parents"] = parents
        r = self.s.post(f"{self.base}/drive/v3/files", json=body)
        assert r.status_code == 200, r.text
        return r.json()["id"]

    def values_url(self, sid, rng, suffix=""):
        return f"{self.base}/v4/spreadsheets/{sid}/values/{quote(rng, safe='')}{suffix}"

    def put(self, sid, rng, values, option="USER_ENTERED", **body):
        return self.s.put(self.values_url(sid, rng), params={"valueInputOption": option},
                          json={"values": values, **body})

    def get(self, sid, rng, **params):
        return self.s.get(self.values_url(sid, rng), params=params)

    def batch(self, sid, *requests_):
        return self.s.post(f"{self.base}/v4/spreadsheets/{sid}:batchUpdate", json={"requests": list(requests_)})

    def meta(self, sid, **params):
        return self.s.get(f"{self.base}/v4/spreadsheets/{sid}", params=params)

    def drive_file(self, fid, fields="id,name,modifiedTime,version"):
        return self.s.get(f"{self.base}/drive/v3/files/{fid}", params={"fields": fields})


def _ok(r):
    assert r.status_code == 200, r.text
    return r.json()


def _text_column(col_index):
    return {"repeatCell": {"range": {"sheetId": 0, "startColumnIndex": col_index, "endColumnIndex": col_index + 1},
                           "cell": {"userEnteredFormat": {"numberFormat": {"type": "TEXT"}}},
                           "fields": "userEnteredFormat.numberFormat"}}


# --------------------------------------------------------------------------- values semantics

def test_user_entered_loses_leading_zero_unless_column_is_text(http):
    sid = http.new_spreadsheet()
    _ok(http.batch(sid, _text_column(1)))  # column B is plain text
    _ok(http.put(sid, "Sheet1!A1", [["0812345", "0812345"]]))
    assert _ok(http.get(sid, "Sheet1!A1:B1"))["values"] == [["812345", "0812345"]]
    unformatted = _ok(http.get(sid, "Sheet1!A1:B1", valueRenderOption="UNFORMATTED_VALUE"))
    assert unformatted["values"] == [[812345, "0812345"]]
    # RAW never parses, and a leading apostrophe forces text
    _ok(http.put(sid, "Sheet1!A2", [["0812345", "=1+1"]], option="RAW"))
    _ok(http.put(sid, "Sheet1!A3", [["'0812345", "TRUE", "TRUE"]]))  # B is TEXT, C is not
    got = _ok(http.get(sid, "Sheet1!A2:C3", valueRenderOption="UNFORMATTED_VALUE"))["values"]
    assert got == [["0812345", "=1+1"], ["0812345", "TRUE", True]]


def test_id_ID_dates_are_day_first_serials(http):
    sid = http.new_spreadsheet()
    _ok(http.batch(sid, {"updateSpreadsheetProperties": {"properties": {"locale": "id_ID"}, "fields": "locale"}}))
    _ok(http.put(sid, "A1", [["13/10/2023", "2023-10-13", "1,5", "13 Oktober 2023"]]))
    assert _ok(http.get(sid, "A1:D1", valueRenderOption="UNFORMATTED_VALUE"))["values"] == \
        [[45212, 45212, 1.5, 45212]]
    assert _ok(http.get(sid, "A1:D1"))["values"] == [["13/10/2023", "2023-10-13", "1,5", "13 Oktober 2023"]]
    as_string = _ok(http.get(sid, "A1", valueRenderOption="UNFORMATTED_VALUE",
                             dateTimeRenderOption="FORMATTED_STRING"))
    assert as_string["values"] == [["13/10/2023"]]
    grid = _ok(http.meta(sid, ranges="A1", includeGridData="true"))
    cell = grid["sheets"][0]["data"][0]["rowData"][0]["values"][0]
    assert cell["effectiveValue"] == {"numberValue": 45212}
    assert cell["userEnteredFormat"]["numberFormat"]["type"] == "DATE"


def test_en_US_dates_are_month_first(http):
    sid = http.new_spreadsheet()
    _ok(http.put(sid, "A1", [["10/13/2023", "13/10/2023"]]))
    got = _ok(http.get(sid, "A1:B1", valueRenderOption="UNFORMATTED_VALUE"))["values"]
    assert got == [[45212, "13/10/2023"]]  # month 13 does not exist: stays text
    assert _ok(http.get(sid, "A1"))["values"] == [["10/13/2023"]]


def test_render_options_formatted_unformatted_formula(http):
    sid = http.new_spreadsheet()
    _ok(http.put(sid, "A1", [["=4/2", "=A1*3", 1.5, "TRUE", "12%", "1,234.5", "text"]]))
    assert _ok(http.get(sid, "A1:G1"))["values"] == [["2", "6", "1.5", "TRUE", "12%", "1,234.50", "text"]]
    assert _ok(http.get(sid, "A1:G1", valueRenderOption="UNFORMATTED_VALUE"))["values"] == \
        [[2, 6, 1.5, True, 0.12, 1234.5, "text"]]
    assert _ok(http.get(sid, "A1:G1", valueRenderOption="FORMULA"))["values"] == \
        [["=4/2", "=A1*3", 1.5, True, 0.12, 1234.5, "text"]]


def test_values_response_shapes(http):
    sid = http.new_spreadsheet()
    empty = _ok(http.get(sid, "Sheet1!A1:C3"))
    assert empty == {"range": "Sheet1!A1:C3", "majorDimension": "ROWS"}
    upd = _ok(http.put(sid, "Sheet1!B2", [["x", "", "y"], [], ["z"]], option="RAW"))
    assert upd == {"spreadsheetId": sid, "updatedRange": "Sheet1!B2:D4", "updatedRows": 2,
                   "updatedColumns": 3, "updatedCells": 4}
    got = _ok(http.get(sid, "Sheet1"))
    assert got == {"range": "Sheet1!A1:Z1000", "majorDimension": "ROWS",
                   "values": [[], ["", "x", "", "y"], [], ["", "z"]]}
    cols = _ok(http.get(sid, "Sheet1!B:D", majorDimension="COLUMNS"))
    assert cols["range"] == "Sheet1!B1:D1000"
    assert cols["values"] == [["", "x", "", "z"], [], ["", "y"]]


def test_a1_notation_forms(http):
    sid = http.new_spreadsheet()
    _ok(http.put(sid, "A1", [[f"{c}{r}" for c in "ABCDE"] for r in range(1, 7)]))
    assert _ok(http.get(sid, "Sheet1!A:C"))["range"] == "Sheet1!A1:C1000"
    rows = _ok(http.get(sid, "2:5"))
    assert rows["range"] == "Sheet1!A2:Z5" and rows["values"][0][:2] == ["A2", "B2"]
    open_ended = _ok(http.get(sid, "Sheet1!B5:C"))
    assert open_ended["range"] == "Sheet1!B5:C1000" and open_ended["values"] == [["B5", "C5"], ["B6", "C6"]]
    assert _ok(http.get(sid, "$C$3"))["values"] == [["C3"]]
    assert _ok(http.get(sid, "sheet1!E6"))["range"] == "Sheet1!E6"  # names match case-insensitively
    err = http.get(sid, "Nope!A1")
    assert err.status_code == 400
    assert err.json() == {"error": {"code": 400, "message": "Unable to parse range: Nope!A1",
                                    "status": "INVALID_ARGUMENT"}}
    assert http.get(sid, "A1:B2:C3").status_code == 400


def test_quoted_sheet_names_with_spaces_and_apostrophes(http):
    sid = http.new_spreadsheet()
    _ok(http.batch(sid, {"addSheet": {"properties": {"title": "Pengguna Layanan"}}},
                   {"addSheet": {"properties": {"title": "Data O'Brien"}}}))
    upd = _ok(http.put(sid, "'Pengguna Layanan'!A1", [["a", "b"]]))
    assert upd["updatedRange"] == "'Pengguna Layanan'!A1:B1"
    upd = _ok(http.put(sid, "'Data O''Brien'!B2", [["c"]]))
    assert upd["updatedRange"] == "'Data O''Brien'!B2"
    assert _ok(http.get(sid, "'Pengguna Layanan'!A1:Z"))["values"] == [["a", "b"]]
    assert _ok(http.get(sid, "Pengguna Layanan"))["range"] == "'Pengguna Layanan'!A1:Z1000"
    assert _ok(http.get(sid, "'Data O''Brien'"))["values"] == [[], ["", "c"]]


def test_batch_get_several_tabs_in_one_request(http, emu):
    sid = http.new_spreadsheet()
    _ok(http.batch(sid, {"addSheet": {"properties": {"title": "Rekap"}}}))
    _ok(http.put(sid, "Sheet1!A1", [["s1"]]))
    _ok(http.put(sid, "Rekap!A1", [["r1", "r2"]]))
    before = emu.stats()["requests"]
    r = http.s.get(f"{http.base}/v4/spreadsheets/{sid}/values:batchGet",
                   params=[("ranges", "Rekap!A1:B1"), ("ranges", "Sheet1!A1"), ("ranges", "Rekap!C1")])
    got = _ok(r)
    assert emu.stats()["requests"] == before + 1
    assert [vr["range"] for vr in got["valueRanges"]] == ["Rekap!A1:B1", "Sheet1!A1", "Rekap!C1"]
    assert [vr.get("values") for vr in got["valueRanges"]] == [[["r1", "r2"]], [["s1"]], None]


def test_values_batch_update_and_batch_clear(http):
    sid = http.new_spreadsheet()
    _ok(http.batch(sid, {"addSheet": {"properties": {"title": "Two"}}}))
    body = {"valueInputOption": "USER_ENTERED",
            "data": [{"range": "Sheet1!A1", "values": [["1", "x"]]},
                     {"range": "Two!B2:C3", "values": [["a"], ["b", "c"]]}]}
    got = _ok(http.s.post(f"{http.base}/v4/spreadsheets/{sid}/values:batchUpdate", json=body))
    assert got["totalUpdatedCells"] == 5 and got["totalUpdatedSheets"] == 2
    assert [r["updatedRange"] for r in got["responses"]] == ["Sheet1!A1:B1", "Two!B2:C3"]
    assert _ok(http.get(sid, "Sheet1!A1", valueRenderOption="UNFORMATTED_VALUE"))["values"] == [[1]]
    # a bad range anywhere rejects the whole batch
    bad = {"valueInputOption": "RAW", "data": [{"range": "Sheet1!A5", "values": [["no"]]},
                                              {"range": "Missing!A1", "values": [["no"]]}]}
    assert http.s.post(f"{http.base}/v4/spreadsheets/{sid}/values:batchUpdate", json=bad).status_code == 400
    assert "values" not in _ok(http.get(sid, "Sheet1!A5"))
    cleared = _ok(http.s.post(f"{http.base}/v4/spreadsheets/{sid}/values:batchClear",
                              json={"ranges": ["Sheet1!A1:A1", "Two!B2:C3"]}))
    assert cleared["clearedRanges"] == ["Sheet1!A1", "Two!B2:C3"]
    assert _ok(http.get(sid, "Sheet1!A1:B1"))["values"] == [["", "x"]]
    assert "values" not in _ok(http.get(sid, "Two"))


def test_update_errors(http):
    sid = http.new_spreadsheet()
    r = http.put(sid, "A1:B1", [["1", "2", "3"]])
    assert r.status_code == 400 and "tried writing to column [C]" in r.json()["error"]["message"]
    r = http.put(sid, "A1000", [["x"], ["y"]])
    assert r.json()["error"]["message"] == \
        "Range (Sheet1!A1000:A1001) exceeds grid limits. Max rows: 1000, max columns: 26"
    # reads: a range starting past the grid is refused, one ending past it is clamped
    assert _ok(http.get(sid, "Sheet1!A990:B2000"))["range"] == "Sheet1!A990:B1000"
    r = http.get(sid, "Sheet1!A1001:B")
    assert r.json()["error"]["message"] == \
        "Range (Sheet1!A1001:B) exceeds grid limits. Max rows: 1000, max columns: 26"
    r = http.batch(sid, {"repeatCell": {"range": {"sheetId": 0, "startRowIndex": 1000, "endColumnIndex": 2},
                                        "cell": {}, "fields": "userEnteredFormat"}})
    assert r.json()["error"]["message"] == ("Invalid requests[0].repeatCell: Range (Sheet1!A1001:B) exceeds grid "
                                            "limits. Max rows: 1000, max columns: 26")
    _ok(http.batch(sid, {"repeatCell": {"range": {"sheetId": 0, "startRowIndex": 999, "endRowIndex": 1003},
                                        "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
                                        "fields": "userEnteredFormat.textFormat.bold"}}))
    r = http.s.put(http.values_url(sid, "A1"), json={"values": [["x"]]})
    assert r.json()["error"]["message"] == "'valueInputOption' is required but not specified"
    r = http.s.put(http.values_url(sid, "A1"), params={"valueInputOption": "RAW"}, json={"values": "X"})
    assert r.json()["error"]["details"][0]["fieldViolations"][0]["field"] == "data.values"


def test_append_writes_after_the_table(http):
    sid = http.new_spreadsheet()
    url = http.values_url(sid, "Sheet1", ":append")
    first = _ok(http.s.post(url, params={"valueInputOption": "RAW"}, json={"values": [["h1", "h2"], ["a", "b"]]}))
    assert "tableRange" not in first and first["updates"]["updatedRange"] == "Sheet1!A1:B2"
    second = _ok(http.s.post(url, params={"valueInputOption": "USER_ENTERED"}, json={"values": [["c", "0042"]]}))
    assert second["tableRange"] == "Sheet1!A1:B2"
    assert second["updates"] == {"spreadsheetId": sid, "updatedRange": "Sheet1!A3:B3", "updatedRows": 1,
                                 "updatedColumns": 2, "updatedCells": 2}
    assert _ok(http.get(sid, "A3:B3", valueRenderOption="UNFORMATTED_VALUE"))["values"] == [["c", 42]]
    # appending past the last row grows the grid
    _ok(http.batch(sid, {"updateSheetProperties": {"properties": {"sheetId": 0, "gridProperties": {"rowCount": 3}},
                                                   "fields": "gridProperties.rowCount"}}))
    third = _ok(http.s.post(url, params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
                            json={"values": [["d", "e"]]}))
    assert third["updates"]["updatedRange"] == "Sheet1!A4:B4"
    props = _ok(http.meta(sid, fields="sheets.properties.gridProperties"))
    assert props["sheets"][0]["properties"]["gridProperties"]["rowCount"] == 4


# --------------------------------------------------------------------------- admin: stats, faults

def test_stats_count_every_api_request_and_reset_zeroes(http, emu):
    sid = http.new_spreadsheet()
    _ok(http.meta(sid))
    _ok(http.get(sid, "A1"))
    http.get(sid, "Nope!A1")  # errors count too
    r = http.s.get(f"{http.base}/_emulator/stats")
    assert r.json() == {"requests": 4, "by_endpoint": {"drive.files.create": 1, "sheets.spreadsheets.get": 1,
                                                       "sheets.values.get": 2},
                        "by_status": {"200": 3, "400": 1}}
    assert http.s.post(f"{http.base}/_emulator/reset").status_code == 200
    assert http.s.get(f"{http.base}/_emulator/stats").json() == {"requests": 0, "by_endpoint": {},
                                                                 "by_status": {}}
    assert http.meta(sid).status_code == 404  # state wiped too


def test_fault_injection_429_then_cleared(http, emu):
    sid = http.new_spreadsheet()
    r = http.s.post(f"{http.base}/_emulator/faults", json={"rate_429": 1.0})
    assert r.status_code == 200
    r = http.get(sid, "A1")
    assert r.status_code == 429
    assert float(r.headers["Retry-After"]) <= 1
    err = r.json()["error"]
    assert err["code"] == 429 and err["status"] == "RESOURCE_EXHAUSTED" and err["message"]
    d = http.drive_file(sid)
    assert d.status_code == 429 and d.json()["error"]["code"] == 429
    assert emu.stats()["by_endpoint"]["sheets.values.get"] == 1
    http.s.post(f"{http.base}/_emulator/faults", json={})
    assert http.get(sid, "A1").status_code == 200


def test_faults_are_reproducible_with_a_seed_and_latency_applies(http):
    sid = http.new_spreadsheet()

    def run():
        http.s.post(f"{http.base}/_emulator/faults", json={"rate_429": 0.3, "rate_500": 0.2, "seed": 7})
        return [http.get(sid, "A1").status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second
    assert {429, 500, 200} <= set(first)
    r500 = next(i for i, code in enumerate(first) if code == 500)
    assert r500 >= 0
    http.s.post(f"{http.base}/_emulator/faults", json={"latency_ms": 150})
    t = time.monotonic()
    assert http.get(sid, "A1").status_code == 200
    assert time.monotonic() - t >= 0.14
    http.s.post(f"{http.base}/_emulator/faults", json={})
    assert http.s.post(f"{http.base}/_emulator/faults", json={"rate_429": 2}).status_code == 400


def test_permission_denied_hook(http):
    sid = http.new_spreadsheet()
    http.s.post(f"{http.base}/_emulator/deny", json={"ids": [sid]})
    r = http.meta(sid)
    assert r.status_code == 403
    assert r.json() == {"error": {"code": 403, "message": "The caller does not have permission",
                                  "status": "PERMISSION_DENIED"}}
    http.s.post(f"{http.base}/_emulator/deny", json={"ids": []})
    assert http.meta(sid).status_code == 200


# --------------------------------------------------------------------------- Drive

def test_modified_time_and_version_bump_on_writes_not_reads(http):
    sid = http.new_spreadsheet()
    first = _ok(http.drive_file(sid))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["modifiedTime"])
    _ok(http.get(sid, "A1"))
    _ok(http.meta(sid, includeGridData="true"))
    _ok(http.s.get(f"{http.base}/drive/v3/files", params={"q": "trashed=false"}))
    assert _ok(http.drive_file(sid)) == first
    seen = [first]
    for write in (lambda: http.put(sid, "A1", [["x"]]),
                  lambda: http.put(sid, "A1", [["x"]]),  # same value: still a write
                  lambda: http.s.post(http.values_url(sid, "A1", ":clear")),
                  lambda: http.batch(sid, {"addSheet": {"properties": {"title": "B"}}}),
                  lambda: http.s.post(f"{http.base}/drive/v3/files/{sid}/permissions",
                                      json={"role": "reader", "type": "user", "emailAddress": "a@b.id"})):
        _ok(write())
        now = _ok(http.drive_file(sid))
        assert now["modifiedTime"] > seen[-1]["modifiedTime"]
        assert int(now["version"]) > int(seen[-1]["version"])
        seen.append(now)


def test_drive_list_query_on_parents_mime_name_and_paging(http):
    folder = _ok(http.s.post(f"{http.base}/drive/v3/files", json={"name": "OPD", "mimeType": FOLDER_MIME}))["id"]
    inside = [http.new_spreadsheet(f"Book {i}", parents=[folder]) for i in range(3)]
    outside = http.new_spreadsheet("Loose")
    files_url = f"{http.base}/drive/v3/files"
    q = f"'{folder}' in parents and mimeType='{SHEET_MIME}' and trashed=false"
    got = _ok(http.s.get(files_url, params={"q": q, "fields": "files(id,name)", "orderBy": "name",
                                            "supportsAllDrives": "true", "includeItemsFromAllDrives": "true",
                                            "corpora": "user"}))
    assert got == {"files": [{"id": fid, "name": f"Book {i}"} for i, fid in enumerate(inside)]}
    by_name = _ok(http.s.get(files_url, params={"q": 'name = "Loose"'}))
    assert [f["id"] for f in by_name["files"]] == [outside]
    assert _ok(http.s.get(files_url, params={"q": f"mimeType='{FOLDER_MIME}'"}))["files"][0]["id"] == folder
    page1 = _ok(http.s.get(files_url, params={"q": f"mimeType='{SHEET_MIME}'", "pageSize": 3,
                                              "orderBy": "createdTime", "fields": "nextPageToken,files(id)"}))
    assert len(page1["files"]) == 3 and page1["nextPageToken"]
    page2 = _ok(http.s.get(files_url, params={"q": f"mimeType='{SHEET_MIME}'", "pageSize": 3,
                                              "orderBy": "createdTime", "pageToken": page1["nextPageToken"],
                                              "fields": "nextPageToken,files(id)"}))
    assert page2 == {"files": [{"id": outside}]}
    assert http.s.get(files_url, params={"q": "name = "}).status_code == 400


def test_drive_and_sheets_stay_consistent(http):
    created = _ok(http.s.post(f"{http.base}/v4/spreadsheets", json={"properties": {"title": "Via Sheets"}}))
    sid = created["spreadsheetId"]
    assert created["sheets"][0]["properties"]["title"] == "Sheet1"
    assert _ok(http.drive_file(sid, "id,name,mimeType")) == {"id": sid, "name": "Via Sheets", "mimeType": SHEET_MIME}
    _ok(http.s.patch(f"{http.base}/drive/v3/files/{sid}", json={"name": "Renamed"}))
    assert _ok(http.meta(sid, fields="properties.title")) == {"properties": {"title": "Renamed"}}
    r = http.s.delete(f"{http.base}/drive/v3/files/{sid}")
    assert r.status_code == 204 and r.content == b""
    assert http.meta(sid).json() == {"error": {"code": 404, "message": "Requested entity was not found.",
                                               "status": "NOT_FOUND"}}
    err = http.drive_file(sid).json()["error"]
    assert err["code"] == 404 and err["errors"][0]["reason"] == "notFound"


def test_permissions_create_and_list(http):
    sid = http.new_spreadsheet()
    url = f"{http.base}/drive/v3/files/{sid}/permissions"
    p = _ok(http.s.post(url, params={"sendNotificationEmail": "false", "emailMessage": "hi", "supportsAllDrives": "true"},
                        json={"role": "writer", "type": "user", "emailAddress": "opd@example.go.id"}))
    assert set(p) == {"kind", "id", "type", "role"} and p["role"] == "writer"
    listed = _ok(http.s.get(url, params={"fields": "nextPageToken,permissions"}))["permissions"]
    assert {(x["emailAddress"], x["role"]) for x in listed} >= {("opd@example.go.id", "writer")}
    assert any(x["role"] == "owner" for x in listed)
    assert http.s.delete(f"{url}/{p['id']}").status_code == 204
    assert http.s.post(url, json={"role": "writer", "type": "user"}).status_code == 400


def test_changes_feed_reports_modified_files(http):
    start = _ok(http.s.get(f"{http.base}/drive/v3/changes/startPageToken"))["startPageToken"]
    sid = http.new_spreadsheet("Changed")
    _ok(http.put(sid, "A1", [["x"]]))
    got = _ok(http.s.get(f"{http.base}/drive/v3/changes",
                         params={"pageToken": start, "fields": "newStartPageToken,changes(fileId,removed,file(name))"}))
    assert got["changes"] == [{"fileId": sid, "removed": False, "file": {"name": "Changed"}}]
    again = _ok(http.s.get(f"{http.base}/drive/v3/changes", params={"pageToken": got["newStartPageToken"]}))
    assert again["changes"] == []


# --------------------------------------------------------------------------- batchUpdate

def test_protected_ranges_round_trip(http):
    sid = http.new_spreadsheet()
    rng = {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 1, "startColumnIndex": 5, "endColumnIndex": 8}
    reply = _ok(http.batch(sid, {"addProtectedRange": {"protectedRange": {
        "range": rng, "description": "Status", "warningOnly": False,
        "editors": {"users": ["inspektorat@example.go.id"]}}}}))
    pr = reply["replies"][0]["addProtectedRange"]["protectedRange"]
    assert isinstance(pr["protectedRangeId"], int)
    assert pr["range"] == {"startRowIndex": 0, "endRowIndex": 1, "startColumnIndex": 5, "endColumnIndex": 8}
    got = _ok(http.meta(sid, fields="sheets.protectedRanges"))["sheets"][0]["protectedRanges"]
    assert [(p["protectedRangeId"], p["description"]) for p in got] == [(pr["protectedRangeId"], "Status")]
    assert "inspektorat@example.go.id" in got[0]["editors"]["users"]
    _ok(http.batch(sid, {"deleteProtectedRange": {"protectedRangeId": pr["protectedRangeId"]}}))
    assert _ok(http.meta(sid, fields="sheets.protectedRanges")) == {"sheets": [{}]}


def test_conditional_formats_round_trip(http):
    sid = http.new_spreadsheet()
    rule = {"ranges": [{"sheetId": 0, "startColumnIndex": 5, "endColumnIndex": 6}],
            "booleanRule": {"condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": "SALAH"}]},
                            "format": {"backgroundColor": {"red": 1, "green": 0.8, "blue": 0.8}}}}
    assert _ok(http.batch(sid, {"addConditionalFormatRule": {"rule": rule, "index": 0}}))["replies"] == [{}]
    got = _ok(http.meta(sid))["sheets"][0]["conditionalFormats"]
    assert got == [{"ranges": [{"startColumnIndex": 5, "endColumnIndex": 6}], "booleanRule": rule["booleanRule"]}]
    removed = _ok(http.batch(sid, {"deleteConditionalFormatRule": {"sheetId": 0, "index": 0}}))
    assert removed["replies"][0]["deleteConditionalFormatRule"]["rule"]["booleanRule"] == rule["booleanRule"]
    assert "conditionalFormats" not in _ok(http.meta(sid))["sheets"][0]


def test_add_chart(http):
    sid = http.new_spreadsheet()
    spec = {"title": "Rekap", "basicChart": {"chartType": "COLUMN", "series": [{"series": {"sourceRange": {
        "sources": [{"sheetId": 0, "startRowIndex": 0, "endRowIndex": 5, "startColumnIndex": 1,
                     "endColumnIndex": 2}]}}}]}}
    reply = _ok(http.batch(sid, {"addChart": {"chart": {"spec": spec, "position": {"overlayPosition": {
        "anchorCell": {"sheetId": 0, "rowIndex": 1, "columnIndex": 4}}}}}}))
    chart = reply["replies"][0]["addChart"]["chart"]
    assert isinstance(chart["chartId"], int) and chart["spec"] == spec
    assert chart["position"]["overlayPosition"]["anchorCell"] == {"rowIndex": 1, "columnIndex": 4}
    charts = _ok(http.meta(sid))["sheets"][0]["charts"]
    assert [c["chartId"] for c in charts] == [chart["chartId"]]


def test_batch_update_is_atomic(http):
    sid = http.new_spreadsheet()
    before = _ok(http.meta(sid))
    r = http.batch(sid, {"addSheet": {"properties": {"title": "New"}}},
                   {"updateSheetProperties": {"properties": {"sheetId": 0, "title": "Renamed"}, "fields": "title"}},
                   {"deleteSheet": {"sheetId": 987654}})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "Invalid requests[2].deleteSheet: No grid with id: 987654"
    assert _ok(http.meta(sid)) == before
    r = http.batch(sid, {"addSheet": {"properties": {"title": "sheet1"}}})
    assert r.json()["error"]["message"] == ('Invalid requests[0].addSheet: A sheet with the name "sheet1" already '
                                            'exists. Please enter another name.')
    r = http.batch(sid, {"frobnicate": {}})
    assert r.status_code == 400 and 'Unknown name "frobnicate"' in r.json()["error"]["message"]
    assert http.s.post(f"{http.base}/v4/spreadsheets/{sid}:batchUpdate", json={"requests": []}).status_code == 400


def test_sheet_properties_and_dimensions(http):
    sid = http.new_spreadsheet()
    _ok(http.put(sid, "A1", [["a1", "b1", "c1"], ["a2", "b2", "c2"], ["a3", "b3", "c3"]]))
    _ok(http.batch(
        sid,
        {"insertDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 1, "endIndex": 2}}},
        {"deleteDimension": {"range": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 1, "endIndex": 2}}},
        {"updateSheetProperties": {"properties": {"sheetId": 0, "gridProperties": {"frozenRowCount": 1},
                                                  "tabColorStyle": {"rgbColor": {"red": 1}}},
                                   "fields": "gridProperties.frozenRowCount,tabColorStyle"}},
        {"updateDimensionProperties": {"range": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 0,
                                                 "endIndex": 1}, "properties": {"pixelSize": 250},
                                       "fields": "pixelSize"}}))
    assert _ok(http.get(sid, "A1:C4"))["values"] == [["a1", "c1"], [], ["a2", "c2"], ["a3", "c3"]]
    props = _ok(http.meta(sid))["sheets"][0]["properties"]
    assert props["gridProperties"] == {"rowCount": 1001, "columnCount": 25, "frozenRowCount": 1}
    assert props["tabColorStyle"] == {"rgbColor": {"red": 1}}
    cols = _ok(http.meta(sid, fields="sheets.data.columnMetadata"))["sheets"][0]["data"][0]["columnMetadata"]
    assert cols[0] == {"pixelSize": 250} and cols[1] == {"pixelSize": 100} and len(cols) == 25


def test_formulas_follow_inserted_rows_and_renamed_sheets(http):
    sid = http.new_spreadsheet()
    _ok(http.batch(sid, {"addSheet": {"properties": {"title": "Rekap"}}}))
    _ok(http.put(sid, "Sheet1!A1", [[1], [2], [3], ["=SUM(A1:A3)"], ["=A3*2"]]))
    _ok(http.put(sid, "Rekap!A1", [["=Sheet1!A4", "=IFERROR(1/0, \"-\")"]]))
    _ok(http.batch(sid, {"insertDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 1,
                                                       "endIndex": 2}}},
                   {"updateSheetProperties": {"properties": {"sheetId": 0, "title": "Data OPD"}, "fields": "title"}}))
    _ok(http.put(sid, "'Data OPD'!A2", [[10]]))
    assert _ok(http.get(sid, "'Data OPD'!A5:A6", valueRenderOption="FORMULA"))["values"] == \
        [["=SUM(A1:A4)"], ["=A4*2"]]
    assert _ok(http.get(sid, "'Data OPD'!A5:A6"))["values"] == [["16"], ["6"]]
    rekap = _ok(http.get(sid, "Rekap!A1:B1", valueRenderOption="FORMULA"))["values"]
    assert rekap == [["='Data OPD'!A5", '=IFERROR(1/0, "-")']]
    assert _ok(http.get(sid, "Rekap!A1:B1"))["values"] == [["16", "-"]]
    _ok(http.batch(sid, {"deleteDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 3,
                                                       "endIndex": 4}}}))
    assert _ok(http.get(sid, "'Data OPD'!A4:A5", valueRenderOption="FORMULA"))["values"] == \
        [["=SUM(A1:A3)"], ["=#REF!*2"]]
    assert _ok(http.get(sid, "'Data OPD'!A4:A5"))["values"] == [["13"], ["#REF!"]]


def test_grid_data_fields_and_notes(http):
    sid = http.new_spreadsheet()
    _ok(http.put(sid, "A1", [["Nama", "=1+1"]]))
    _ok(http.batch(sid, {"updateCells": {"range": {"sheetId": 0, "startRowIndex": 1, "endRowIndex": 2,
                                                   "startColumnIndex": 1, "endColumnIndex": 2},
                                         "rows": [{"values": [{"note": "periksa"}]}], "fields": "note"}}))
    notes = _ok(http.meta(sid, fields="sheets.data.rowData.values.note", ranges="Sheet1!A1:B2"))
    assert notes == {"sheets": [{"data": [{"rowData": [{"values": [{}, {}]}, {"values": [{}, {"note": "periksa"}]}]}]}]}
    grid = _ok(http.meta(sid, includeGridData="true", ranges="Sheet1!A1:B1"))
    cells = grid["sheets"][0]["data"][0]["rowData"][0]["values"]
    assert cells[0]["userEnteredValue"] == {"stringValue": "Nama"} and cells[0]["formattedValue"] == "Nama"
    assert cells[1]["userEnteredValue"] == {"formulaValue": "=1+1"}
    assert cells[1]["effectiveValue"] == {"numberValue": 2}
    assert _ok(http.meta(sid, fields="sheets(properties(title,sheetId))")) == \
        {"sheets": [{"properties": {"sheetId": 0, "title": "Sheet1"}}]}


def test_concurrent_requests_are_safe(http, emu):
    sid = http.new_spreadsheet()
    errors = []

    def worker(col):
        with requests.Session() as s:
            api = Api(s, emu.url)
            for row in range(1, 21):
                r = api.put(sid, f"{col}{row}", [[f"{col}{row}"]])
                if r.status_code != 200:
                    errors.append(r.text)

    threads = [threading.Thread(target=worker, args=(c,)) for c in "ABCDE"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    values = _ok(http.get(sid, "A1:E20"))["values"]
    assert values[19] == ["A20", "B20", "C20", "D20", "E20"]


def test_malformed_requests_get_4xx_never_5xx(http):
    sid = http.new_spreadsheet()
    bodies = [None, [], "x", 5, {}, {"requests": "x"}, {"requests": [None]}, {"values": {"a": 1}},
              {"values": [[{"a": 1}]]}, {"data": "x", "valueInputOption": "RAW"}, {"ranges": [5]},
              {"requests": [{"findReplace": {"find": "(", "searchByRegex": True, "allSheets": True}}]},
              {"requests": [{"repeatCell": {"range": {"sheetId": 0, "startRowIndex": "a"}, "cell": {}, "fields": "*"}}]}]
    targets = [("PUT", http.values_url(sid, "A1") + "?valueInputOption=RAW"),
               ("POST", http.values_url(sid, "Nope!A1", ":append") + "?valueInputOption=RAW"),
               ("POST", f"{http.base}/v4/spreadsheets/{sid}:batchUpdate"),
               ("POST", f"{http.base}/v4/spreadsheets/{sid}/values:batchUpdate"),
               ("POST", f"{http.base}/v4/spreadsheets/{sid}/values:batchClear"),
               ("POST", f"{http.base}/drive/v3/files/{sid}/copy"),
               ("POST", f"{http.base}/drive/v3/files/{sid}/permissions"),
               ("GET", f"{http.base}/v4/spreadsheets/{sid}?fields=sheets((("),
               ("GET", http.values_url(sid, "A1:B2:C3"))]
    for method, url in targets:
        for body in bodies:
            r = http.s.request(method, url, json=body, timeout=10)
            assert r.status_code < 500, (method, url, body, r.text)


# --------------------------------------------------------------------------- clients

class _RedirectSession(requests.Session):
    """Anonymous session that sends Google API URLs to the emulator."""

    def __init__(self, base):
        super().__init__()
        self.base = base

    def request(self, method, url, *args, **kwargs):
        for prefix in ("https://sheets.googleapis.com", "https://www.googleapis.com"):
            if url.startswith(prefix):
                url = self.base + url[len(prefix):]
        return super().request(method, url, *args, **kwargs)


def test_gspread_works_against_the_emulator(emu):
    gspread = pytest.importorskip("gspread")

    # gspread.Client(auth, session) builds gspread.http_client.HTTPClient(auth=None, session=...)
    gc = gspread.Client(auth=None, session=_RedirectSession(emu.url))
    created = gc.create("OPD Dinas Kesehatan")
    sh = gc.open_by_key(created.id)
    ws = sh.worksheet("Sheet1")
    ws.update([["No", "Nama", "No HP"], [1, "Budi", "0812345"]], "A1", value_input_option="USER_ENTERED")
    assert ws.get_all_values() == [["No", "Nama", "No HP"], ["1", "Budi", "812345"]]
    rekap = sh.add_worksheet("Rekap Data", rows=10, cols=4)
    rekap.append_row(["a", "b"])
    rekap.append_row(["c", "d"])
    assert rekap.get_all_values() == [["a", "b"], ["c", "d"]]
    got = sh.values_batch_get(["Sheet1!A1:B1", "'Rekap Data'!A2"])
    assert [vr["values"] for vr in got["valueRanges"]] == [[["No", "Nama"]], [["c"]]]
    sh.share("opd@example.go.id", perm_type="user", role="writer", notify=False)
    assert "opd@example.go.id" in {p.get("emailAddress") for p in sh.list_permissions()}
    assert [f["name"] for f in gc.list_spreadsheet_files()] == ["OPD Dinas Kesehatan"]
    with pytest.raises(gspread.exceptions.WorksheetNotFound):
        sh.worksheet("Nope")


def test_cli_prints_listening_line_and_serves():
    proc = subprocess.Popen([sys.executable, "-m", "tests.google_emulator", "--port", "0"], cwd=str(ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        m = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+))", line)
        assert m, line
        assert requests.get(m.group(1) + "/_emulator/stats", timeout=5).json() == {"requests": 0, "by_endpoint": {},
                                                                                  "by_status": {}}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_refuses_non_loopback_host():
    with pytest.raises(ValueError):
        start_emulator(host="0.0.0.0")


# --------------------------------------------------------------------------- properties of the building blocks

@given(st.integers(min_value=0, max_value=18277))
def test_column_letters_round_trip(index):
    assert _a1.col_index(_a1.col_letters(index)) == index


@settings(max_examples=200)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=20),
       st.integers(0, 999), st.integers(0, 999), st.integers(0, 25), st.integers(0, 25))
def test_sheet_names_survive_quoting(title, ra, rb, ca, cb):
    r0, r1 = sorted((ra, rb))
    c0, c1 = sorted((ca, cb))
    text = _a1.format_range(title, r0, r1 + 1, c0, c1 + 1)
    name, cells = _a1.split_sheet(text)
    assert name == title
    part = _a1.parse_cells(cells)
    assert (part.r0, part.r1, part.c0, part.c1) == (r0, r1 + 1, c0, c1 + 1)


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False).map(lambda x: round(x, 6)),
       st.sampled_from(["en_US", "id_ID", "de_DE"]))
def test_general_number_format_parses_back(x, locale):
    loc = _values.locale_info(locale)
    parsed = _values.parse_number(_values.format_general(x, loc), loc)
    assert parsed is not None and abs(parsed[0] - x) <= 1e-9 * max(1.0, abs(x))


@given(st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2199, 12, 31)))
def test_typed_dates_round_trip_in_both_orders(day):
    for locale, typed in (("en_US", f"{day.month}/{day.day}/{day.year}"),
                          ("id_ID", f"{day.day:02d}/{day.month:02d}/{day.year}")):
        loc = _values.locale_info(locale)
        serial, fmt = _values.parse_date(typed, loc)
        assert serial == (day - dt.date(1899, 12, 30)).days
        assert _values.format_number(serial, fmt, loc) == typed
