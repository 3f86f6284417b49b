"""The emulator's switches that make it as strict as Google: strict request checking
against the discovery documents, per-minute quotas, Drive's listing lag, a service
account without Drive storage (and shared drives), and status counts in the stats.

Every switch is set through ``POST /_emulator/faults`` as a client would; the clock is
advanced through ``POST /_emulator/clock``, so nothing here sleeps."""
from __future__ import annotations

import importlib.util
import uuid
from urllib.parse import quote

import pytest
import requests

from tests.google_emulator import Emulator, start_emulator
from tests.google_emulator import strict as strict_mod

SHEET_MIME = "application/vnd.google-apps.spreadsheet"
FOLDER_MIME = "application/vnd.google-apps.folder"

needs_discovery = pytest.mark.skipif(
    importlib.util.find_spec("googleapiclient") is None,
    reason="google-api-python-client (discovery documents) not installed")


@pytest.fixture(scope="module")
def server():
    with start_emulator(strict=False) as emu:  # each test sets its switches (whatever GOOGLE_EMULATOR_STRICT says)
        yield emu


@pytest.fixture
def emu(server):
    server.reset()
    yield server
    server.reset()


class Client:
    def __init__(self, base: str, token: str = "user-a"):
        self.base = base
        self.s = requests.Session()
        self.s.headers["Authorization"] = f"Bearer {token}"

    def faults(self, **config):
        r = self.s.post(f"{self.base}/_emulator/faults", json=config)
        assert r.status_code == 200, r.text
        return r.json()

    def advance(self, seconds):
        r = self.s.post(f"{self.base}/_emulator/clock", json={"advance_s": seconds})
        assert r.status_code == 200, r.text
        return r.json()

    def stats(self):
        return self.s.get(f"{self.base}/_emulator/stats").json()

    def create_file(self, name="Test", mime=SHEET_MIME, parents=None, **params):
        body = {"name": name, "mimeType": mime}
        if parents is not None:
            body["parents"] = parents
        return self.s.post(f"{self.base}/drive/v3/files", json=body, params=params)

    def new_spreadsheet(self, name="Test"):
        r = self.create_file(name)
        assert r.status_code == 200, r.text
        return r.json()["id"]

    def values_url(self, sid, rng):
        return f"{self.base}/v4/spreadsheets/{sid}/values/{quote(rng, safe='')}"

    def get_values(self, sid, rng="A1", **params):
        return self.s.get(self.values_url(sid, rng), params=params)

    def put_values(self, sid, rng, values, **params):
        params.setdefault("valueInputOption", "RAW")
        return self.s.put(self.values_url(sid, rng), params=params, json={"values": values})

    def batch(self, sid, *reqs):
        return self.s.post(f"{self.base}/v4/spreadsheets/{sid}:batchUpdate", json={"requests": list(reqs)})

    def meta(self, sid, **params):
        return self.s.get(f"{self.base}/v4/spreadsheets/{sid}", params=params)

    def drive_get(self, fid, **params):
        return self.s.get(f"{self.base}/drive/v3/files/{fid}", params=params)

    def drive_list(self, **params):
        return self.s.get(f"{self.base}/drive/v3/files", params=params)

    def new_drive(self, name="Inspektorat"):
        r = self.s.post(f"{self.base}/drive/v3/drives", params={"requestId": uuid.uuid4().hex}, json={"name": name})
        assert r.status_code == 200, r.text
        return r.json()["id"]


@pytest.fixture
def api(emu):
    c = Client(emu.url)
    yield c
    c.s.close()


def _bad_request(field, description, message=None):
    fv = {"description": description}
    if field:
        fv = {"field": field, "description": description}
    return {"error": {"code": 400, "message": message or description, "status": "INVALID_ARGUMENT",
                      "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [fv]}]}}


# --------------------------------------------------------------------------- strict: switching

def test_strict_is_off_by_default(monkeypatch):
    monkeypatch.delenv("GOOGLE_EMULATOR_STRICT", raising=False)
    with start_emulator() as emu:
        api = Client(emu.url)
        sid = api.new_spreadsheet()
        assert api.get_values(sid, "A1", bogus="1").status_code == 200
        assert api.s.get(f"{api.base}/_emulator/faults").json() == {}
    monkeypatch.setenv("GOOGLE_EMULATOR_STRICT", "1")
    assert Emulator().faults() == {"strict": True} or importlib.util.find_spec("googleapiclient") is None


def test_strict_refuses_clearly_without_the_discovery_documents(monkeypatch):
    monkeypatch.setattr(strict_mod, "_APIS", None)
    monkeypatch.setattr(strict_mod.importlib.util, "find_spec", lambda name: None)
    emu = Emulator(strict=False)
    with pytest.raises(ValueError, match="google-api-python-client"):
        emu.set_faults({"strict": True})
    assert emu.faults() == {}  # nothing half-set: strict is not silently on
    with pytest.raises(ValueError, match="google-api-python-client"):
        Emulator(strict=True)  # nor can an emulator start strict without them


@needs_discovery
def test_strict_survives_reset_only_when_it_is_the_default():
    with start_emulator(strict=True) as emu:
        c = Client(emu.url)
        assert c.faults() == {"strict": True}  # {} keeps the default
        c.s.post(f"{emu.url}/_emulator/reset")
        sid = c.new_spreadsheet()
        assert c.get_values(sid, "A1", bogus="1").status_code == 400
        assert c.faults(strict=False) == {}
        assert c.get_values(sid, "A1", bogus="1").status_code == 200
        c.s.post(f"{emu.url}/_emulator/reset")
        assert c.s.get(f"{emu.url}/_emulator/faults").json() == {"strict": True}
    with start_emulator(strict=False) as emu:
        c = Client(emu.url)
        c.faults(strict=True)
        c.s.post(f"{emu.url}/_emulator/reset")
        assert c.s.get(f"{emu.url}/_emulator/faults").json() == {}


# --------------------------------------------------------------------------- strict: query parameters

@needs_discovery
def test_unknown_query_parameter_gets_googles_400(api):
    sid = api.new_spreadsheet()
    api.faults(strict=True)
    r = api.get_values(sid, "A1", valueRenderOption="FORMULA", majorDimensions="ROWS")
    assert r.status_code == 400
    msg = ("Invalid JSON payload received. Unknown name \"majorDimensions\": Cannot bind query parameter. "
           "Field 'majorDimensions' could not be found in request message.")
    assert r.json() == _bad_request(None, msg)
    # the standard parameters every Google API accepts are fine
    ok = api.get_values(sid, "A1", alt="json", prettyPrint="false", quotaUser="x", key="k", userIp="1.2.3.4",
                        **{"$.xgafv": "2"})
    assert ok.status_code == 200, ok.text


@needs_discovery
def test_drive_unknown_query_parameter_in_drive_shape(api):
    fid = api.new_spreadsheet()
    api.faults(strict=True)
    r = api.drive_get(fid, supportAllDrives="true")  # typo: supportsAllDrives
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == 400 and "status" not in err
    assert err["errors"][0]["reason"] == "badRequest" and err["errors"][0]["domain"] == "global"
    assert "supportAllDrives" in err["message"]
    # a parameter of another Drive method is ignored, as Google does (gspread's recorded traffic)
    assert api.drive_get(fid, supportsAllDrives="True", includeItemsFromAllDrives="True").status_code == 200


@needs_discovery
def test_bad_enum_and_bad_types_in_query(api):
    sid = api.new_spreadsheet()
    api.faults(strict=True)
    r = api.get_values(sid, "A1", valueRenderOption="FORMATTED")
    assert r.status_code == 400
    msg = ("Invalid value at 'value_render_option' (type.googleapis.com/google.apps.sheets.v4.ValueRenderOption), "
           "\"FORMATTED\"")
    assert r.json() == _bad_request("value_render_option", msg)
    assert api.meta(sid, includeGridData="maybe").status_code == 400
    assert api.meta(sid, includeGridData="False").status_code == 200  # Google takes any case
    r = api.drive_list(pageSize="0")
    assert r.status_code == 400
    assert r.json()["error"]["errors"][0] == {
        "message": "Invalid value '0'. Values must be within the range: [1, 1000]", "domain": "global",
        "reason": "invalidParameter", "location": "pageSize", "locationType": "parameter"}


# --------------------------------------------------------------------------- strict: bodies

@needs_discovery
def test_unknown_field_deep_in_batch_update_is_refused_and_changes_nothing(api):
    sid = api.new_spreadsheet()
    api.faults(strict=True)
    cell = {"userEnteredValue": {"stringValue": "x"},
            "userEnteredFormat": {"textFormat": {"bold": True, "fontColour": {"red": 1}}}}
    r = api.batch(sid, {"addSheet": {"properties": {"title": "Rekap"}}},
                  {"updateCells": {"rows": [{"values": [cell]}], "fields": "*",
                                   "start": {"sheetId": 0, "rowIndex": 0, "columnIndex": 0}}})
    assert r.status_code == 400
    at = "requests[1].update_cells.rows[0].values[0].user_entered_format.text_format"
    msg = f"Invalid JSON payload received. Unknown name \"fontColour\" at '{at}': Cannot find field."
    assert r.json() == _bad_request(at, msg)
    titles = [s["properties"]["title"] for s in api.meta(sid).json()["sheets"]]
    assert titles == ["Sheet1"]


@needs_discovery
def test_batch_update_request_must_set_exactly_one_kind(api):
    sid = api.new_spreadsheet()
    api.faults(strict=True)
    r = api.batch(sid, {"addSheet": {"properties": {"title": "A"}}, "deleteSheet": {"sheetId": 0}})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == ("Invalid JSON payload received. Oneof field 'kind' is already set. "
                                            "Cannot set 'deleteSheet'")
    r = api.batch(sid, {"addSheet": None})
    assert r.status_code == 400 and r.json()["error"]["message"] == "Invalid requests[0]: No request set."
    assert api.batch(sid, {"addSheet": {"properties": {"title": "A"}}, "deleteSheet": None}).status_code == 200


@needs_discovery
def test_bad_enum_and_wrong_json_types_in_body(api):
    sid = api.new_spreadsheet()
    api.faults(strict=True)
    r = api.batch(sid, {"insertDimension": {"range": {"sheetId": 0, "dimension": "ROW", "startIndex": 0,
                                                      "endIndex": 1}}})
    assert r.status_code == 400
    at = "requests[0].insert_dimension.range.dimension"
    assert r.json() == _bad_request(
        at, f"Invalid value at '{at}' (type.googleapis.com/google.apps.sheets.v4.Dimension), \"ROW\"")
    r = api.batch(sid, {"updateSheetProperties": {"properties": {"sheetId": 0, "index": "first"},
                                                  "fields": "index"}})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == (
        "Invalid value at 'requests[0].update_sheet_properties.properties.index' (TYPE_INT32), \"first\"")
    r = api.batch(sid, {"updateSheetProperties": {"properties": {"sheetId": 0, "hidden": "yes"},
                                                  "fields": "hidden"}})
    assert r.status_code == 400 and "(TYPE_BOOL)" in r.json()["error"]["message"]
    # the same as Google's recorded answer to gspread sending a string as `values`
    r = api.s.put(api.values_url(sid, "Sheet1!A1"), params={"valueInputOption": "RAW"},
                  json={"values": "X", "majorDimension": None})
    assert r.status_code == 400
    msg = "Invalid value at 'data.values' (type.googleapis.com/google.protobuf.ListValue), \"X\""
    assert r.json() == _bad_request("data.values", msg)
    # numbers as strings and integral floats are valid proto3 JSON
    ok = api.batch(sid, {"updateSheetProperties": {"properties": {"sheetId": "0", "index": 0.0},
                                                   "fields": "index"}})
    assert ok.status_code == 200, ok.text


@needs_discovery
def test_drive_body_types_are_checked_and_unknown_fields_ignored_as_drive_does(api):
    api.faults(strict=True)
    r = api.s.post(f"{api.base}/drive/v3/files", json={"name": "x", "parents": "root"})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["message"] == "Invalid value at 'parents' (TYPE_STRING), \"root\""
    assert err["errors"][0]["reason"] == "badRequest" and "status" not in err
    # Drive v3 ignores body fields it does not know (gspread's share() sends v2's withLink);
    # the emulator does too, and lists them in the stats
    r = api.s.post(f"{api.base}/drive/v3/files", json={"title": "v2 name", "mimeType": SHEET_MIME},
                   params={"fields": "name"})
    assert r.status_code == 200 and r.json() == {"name": "Untitled spreadsheet"}
    assert api.stats()["strict_ignored"] == {
        "drive.files.create: Unknown name \"title\": Cannot find field. (ignored by Drive)": 1}


# --------------------------------------------------------------------------- strict: fields masks

@needs_discovery
def test_fields_mask_naming_an_unknown_field_is_refused(api):
    sid = api.new_spreadsheet()
    api.faults(strict=True)
    r = api.meta(sid, fields="sheets(properties(title,tabColour))")
    assert r.status_code == 400
    assert r.json() == _bad_request(
        "sheets(properties(title,tabColour))",
        "Error expanding 'fields' parameter. Cannot find matching fields for path 'sheets.properties.tabColour'.",
        "Request contains an invalid argument.")
    # Sheets does not forgive a space after the comma (Drive does)
    assert api.meta(sid, fields="properties, sheets.properties").status_code == 400
    for good in ("sheets(properties(title,sheetId))", "sheets/data/rowData/values/note", "*",
                 "properties.title,sheets.properties.gridProperties"):
        assert api.meta(sid, fields=good).status_code == 200, good
    assert api.get_values(sid, "A1", fields="range,values,foo").status_code == 400
    r = api.drive_list(fields="nextPageToken, files(id, name, title)")
    assert r.status_code == 400
    assert r.json()["error"]["errors"][0] == {"message": "Invalid field selection title", "domain": "global",
                                              "reason": "invalidParameter", "location": "fields",
                                              "locationType": "parameter"}
    assert api.drive_list(fields="nextPageToken, files(id, name, capabilities/canAddChildren)").status_code == 200
    assert api.drive_get(sid, fields="*").status_code == 200


# --------------------------------------------------------------------------- strict: real clients pass

class _RedirectSession(requests.Session):
    def __init__(self, base):
        super().__init__()
        self.base = base

    def request(self, method, url, *args, **kwargs):
        for prefix in ("https://sheets.googleapis.com", "https://www.googleapis.com"):
            if url.startswith(prefix):
                url = self.base + url[len(prefix):]
        return super().request(method, url, *args, **kwargs)


@needs_discovery
def test_valid_gspread_calls_pass_strict_mode(api):
    gspread = pytest.importorskip("gspread")
    api.faults(strict=True)
    gc = gspread.Client(auth=None, session=_RedirectSession(api.base))
    sh = gc.create("OPD Dinas Kesehatan")
    ws = sh.sheet1
    ws.update([["No", "Nama"], [1, "Budi"]], "A1", value_input_option="USER_ENTERED")
    ws.append_row(["2", "Sari"])
    ws.format("A1:B1", {"textFormat": {"bold": True}})
    ws.freeze(rows=1)
    ws.add_protected_range("A1:B1", editor_users_emails=["x@example.go.id"], warning_only=True)
    ws.set_basic_filter("A1:B3")
    ws.insert_row(["0", "Ana"], index=2)
    ws.update_acell("C1", "=COUNTA(A:A)")
    rekap = sh.add_worksheet("Rekap", rows=10, cols=5)
    rekap.update_title("Rekap Data")
    sh.values_batch_get(["Sheet1!A1:B2", "'Rekap Data'!A1"])
    sh.values_batch_update({"valueInputOption": "RAW", "data": [{"range": "'Rekap Data'!A1", "values": [["x"]]}]})
    rekap.batch_clear(["A1"])
    assert ws.get_all_values()[:2] == [["No", "Nama", "4"], ["0", "Ana", ""]]
    ws.get_note("A1")
    sh.share("opd@example.go.id", perm_type="user", role="writer", notify=False)
    gc.list_spreadsheet_files()
    gc.open("OPD Dinas Kesehatan")
    sh.del_worksheet(rekap)
    gc.del_spreadsheet(sh.id)
    by_status = api.stats()["by_status"]
    assert set(by_status) <= {"200", "204"}, by_status


# --------------------------------------------------------------------------- quota

def test_quota_reads_and_writes_are_separate_groups_per_minute(api):
    sid = api.new_spreadsheet()
    api.faults(quota_per_minute=3)
    for _ in range(3):
        assert api.get_values(sid, "A1").status_code == 200
    r = api.meta(sid)
    assert r.status_code == 429
    err = r.json()["error"]
    assert err["status"] == "RESOURCE_EXHAUSTED" and err["code"] == 429
    assert err["message"].startswith("Quota exceeded for quota metric 'Read requests' and limit 'Read requests per "
                                     "minute per user' of service 'sheets.googleapis.com'")
    assert err["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"
    assert err["details"][0]["metadata"]["quota_limit_value"] == "3"
    # the write group has its own allowance
    for i in range(3):
        assert api.put_values(sid, "A1", [[i]]).status_code == 200
    w = api.put_values(sid, "A1", [["late"]])
    assert w.status_code == 429 and "'Write requests'" in w.json()["error"]["message"]
    # another user has an allowance of their own
    other = Client(api.base, token="user-b")
    assert other.get_values(sid, "A1").status_code == 200
    # the next minute is fine again
    api.advance(61)
    assert api.get_values(sid, "A1").json()["values"] == [["2"]]
    assert api.put_values(sid, "A1", [["ok"]]).status_code == 200


def test_quota_window_slides_over_sixty_seconds(api):
    sid = api.new_spreadsheet()
    api.faults(quota_per_minute=2)
    assert api.get_values(sid).status_code == 200
    api.advance(30)
    assert api.get_values(sid).status_code == 200
    api.advance(29)
    assert api.get_values(sid).status_code == 429  # both still inside the last 60 s
    api.advance(2)
    assert api.get_values(sid).status_code == 200  # the first one has left the window


def test_drive_over_quota_answers_403_user_rate_limit_exceeded(api):
    fid = api.new_spreadsheet()
    api.faults(quota_per_minute=2)
    assert api.drive_get(fid).status_code == 200
    assert api.drive_list().status_code == 200
    r = api.drive_get(fid)
    assert r.status_code == 403
    assert r.json() == {"error": {"code": 403, "message": "User Rate Limit Exceeded", "errors": [
        {"message": "User Rate Limit Exceeded", "domain": "usageLimits", "reason": "userRateLimitExceeded"}]}}
    assert api.get_values(fid).status_code == 200  # Sheets is counted apart
    api.advance(60)
    assert api.drive_get(fid).status_code == 200


# --------------------------------------------------------------------------- drive lag

def test_drive_lag_delays_version_and_modified_time(api):
    sid = api.new_spreadsheet()
    before = api.drive_get(sid, fields="version,modifiedTime").json()
    api.faults(drive_lag_s=30)
    assert api.put_values(sid, "A1", [["x"]]).status_code == 200
    assert api.drive_get(sid, fields="version,modifiedTime").json() == before
    listed = api.drive_list(fields="files(id,version,modifiedTime)").json()["files"]
    assert listed == [{"id": sid, **before}]
    q = api.drive_list(q=f"modifiedTime > '{before['modifiedTime']}'", fields="files(id)").json()["files"]
    assert q == []
    api.advance(31)
    after = api.drive_get(sid, fields="version,modifiedTime").json()
    assert int(after["version"]) > int(before["version"]) and after["modifiedTime"] > before["modifiedTime"]
    q = api.drive_list(q=f"modifiedTime > '{before['modifiedTime']}'", fields="files(id)").json()["files"]
    assert q == [{"id": sid}]


def test_drive_lag_applies_to_listing_order(api):
    older = api.new_spreadsheet("older")
    newer = api.new_spreadsheet("newer")
    api.faults(drive_lag_s=10)
    api.put_values(older, "A1", [["x"]])

    def order():
        files = api.drive_list(orderBy="modifiedTime desc", fields="files(id)").json()["files"]
        return [f["id"] for f in files]

    assert order() == [newer, older]
    api.advance(11)
    assert order() == [older, newer]


def test_without_drive_lag_changes_show_at_once(api):
    sid = api.new_spreadsheet()
    v0 = int(api.drive_get(sid, fields="version").json()["version"])
    api.put_values(sid, "A1", [["x"]])
    assert int(api.drive_get(sid, fields="version").json()["version"]) > v0


# --------------------------------------------------------------------------- who changed a file last

STAFF = {"X-Emulator-User": "staf@opd.go.id", "X-Emulator-User-Name": "Staf OPD"}
WHO = "files(id,lastModifyingUser(me,emailAddress,displayName))"


def _last(api, sid):
    return next(f for f in api.drive_list(fields=WHO).json()["files"] if f["id"] == sid)["lastModifyingUser"]


def test_last_modifying_user_follows_who_changed_the_file(api):
    sid = api.new_spreadsheet()
    own = _last(api, sid)
    assert own["me"] is True and own["emailAddress"] == "emulator-user@emulator.invalid"
    api.s.put(api.values_url(sid, "A1"), params={"valueInputOption": "RAW"}, json={"values": [["x"]]},
              headers=STAFF)
    assert _last(api, sid) == {"me": False, "emailAddress": "staf@opd.go.id", "displayName": "Staf OPD"}
    got = api.drive_get(sid, fields="lastModifyingUser(me),modifiedByMe").json()
    assert got == {"lastModifyingUser": {"me": False}, "modifiedByMe": True}
    # the same file seen by the staff member: the last change is theirs
    seen = api.s.get(f"{api.base}/drive/v3/files/{sid}", params={"fields": "lastModifyingUser(me)"},
                     headers=STAFF).json()
    assert seen == {"lastModifyingUser": {"me": True}}
    api.put_values(sid, "A1", [["y"]])
    assert _last(api, sid)["me"] is True


@needs_discovery
def test_last_modifying_user_is_a_field_like_any_other_in_strict_mode(api):
    api.faults(strict=True)
    sid = api.new_spreadsheet()
    assert api.drive_get(sid, fields="id").json() == {"id": sid}          # not there unless asked
    bad = api.drive_get(sid, fields="lastModifyingUser(colour)")
    assert bad.status_code == 400


def test_last_modifying_user_lags_with_the_version(api):
    sid = api.new_spreadsheet()
    api.faults(drive_lag_s=60)
    api.s.put(api.values_url(sid, "A1"), params={"valueInputOption": "RAW"}, json={"values": [["x"]]},
              headers=STAFF)
    assert _last(api, sid)["me"] is True                  # Drive does not show the edit yet
    api.advance(61)
    assert _last(api, sid)["me"] is False


# --------------------------------------------------------------------------- service account and shared drives

STORAGE = {"error": {"code": 403, "message": "The user's Drive storage quota has been exceeded.", "errors": [
    {"message": "The user's Drive storage quota has been exceeded.", "domain": "usageLimits",
     "reason": "storageQuotaExceeded"}]}}


def test_service_account_cannot_create_outside_a_shared_drive(api):
    src = api.new_spreadsheet("Template")
    api.faults(service_account=True)
    r = api.create_file("OPD")
    assert r.status_code == 403 and r.json() == STORAGE
    folder = api.create_file("Folder", FOLDER_MIME)
    assert folder.status_code == 403 and folder.json() == STORAGE
    r = api.s.post(f"{api.base}/drive/v3/files/{src}/copy", json={"name": "Copy"})
    assert r.status_code == 403 and r.json() == STORAGE
    r = api.s.post(f"{api.base}/v4/spreadsheets", json={"properties": {"title": "OPD"}})
    assert r.status_code == 403 and r.json()["error"]["status"] == "PERMISSION_DENIED"


def test_service_account_creates_inside_a_shared_drive(api):
    api.faults(service_account=True)
    drive_id = api.new_drive()
    folder = api.create_file("OPD", FOLDER_MIME, parents=[drive_id], supportsAllDrives="true")
    assert folder.status_code == 200, folder.text
    fid = folder.json()["id"]
    sheet = api.create_file("Dinas Kesehatan", parents=[fid], supportsAllDrives="true",
                            fields="id,driveId,parents")
    assert sheet.status_code == 200, sheet.text
    assert sheet.json()["driveId"] == drive_id and sheet.json()["parents"] == [fid]
    sid = sheet.json()["id"]
    assert api.put_values(sid, "A1", [["x"]]).status_code == 200  # Sheets needs no supportsAllDrives
    copy = api.s.post(f"{api.base}/drive/v3/files/{sid}/copy", params={"supportsAllDrives": "true"},
                      json={"name": "Copy"})
    assert copy.status_code == 200, copy.text
    got = api.drive_get(fid, supportsAllDrives="true", fields="id,driveId,capabilities(canAddChildren)").json()
    assert got == {"id": fid, "driveId": drive_id, "capabilities": {"canAddChildren": True}}
    # without supportsAllDrives the shared drive's items do not exist for the caller
    assert api.drive_get(fid).status_code == 404
    assert api.s.patch(f"{api.base}/drive/v3/files/{sid}", json={"name": "x"}).status_code == 404
    assert api.s.delete(f"{api.base}/drive/v3/files/{sid}").status_code == 404
    assert api.create_file("x", parents=[fid]).status_code == 404
    assert api.s.delete(f"{api.base}/drive/v3/files/{sid}", params={"supportsAllDrives": "true"}).status_code == 204


def test_shared_drives_create_get_list(api):
    r = api.s.post(f"{api.base}/drive/v3/drives", json={"name": "Tanpa requestId"})
    assert r.status_code == 400
    rid = uuid.uuid4().hex
    r = api.s.post(f"{api.base}/drive/v3/drives", params={"requestId": rid}, json={"name": "Inspektorat"})
    assert r.status_code == 200 and r.json()["kind"] == "drive#drive" and r.json()["name"] == "Inspektorat"
    did = r.json()["id"]
    again = api.s.post(f"{api.base}/drive/v3/drives", params={"requestId": rid}, json={"name": "Inspektorat"})
    assert again.status_code == 409
    assert api.s.get(f"{api.base}/drive/v3/drives/{did}").json() == {"kind": "drive#drive", "id": did,
                                                                     "name": "Inspektorat"}
    assert api.s.get(f"{api.base}/drive/v3/drives/{did}", params={"fields": "capabilities/canAddChildren"}
                     ).json() == {"capabilities": {"canAddChildren": True}}
    assert api.s.get(f"{api.base}/drive/v3/drives/0ANope").status_code == 404
    listed = api.s.get(f"{api.base}/drive/v3/drives").json()
    assert listed == {"kind": "drive#driveList", "drives": [{"kind": "drive#drive", "id": did,
                                                             "name": "Inspektorat"}]}


def test_listing_follows_corpora_and_all_drives_flags(api):
    mine = api.new_spreadsheet("Mine")
    did = api.new_drive()
    other = api.new_drive("Other")
    shared = api.create_file("Shared", parents=[did], supportsAllDrives="true").json()["id"]
    elsewhere = api.create_file("Elsewhere", parents=[other], supportsAllDrives="true").json()["id"]

    def ids(**params):
        r = api.drive_list(fields="files(id)", **params)
        assert r.status_code == 200, r.text
        return sorted(f["id"] for f in r.json()["files"])

    assert ids() == [mine]
    assert ids(corpora="user") == [mine]
    assert ids(corpora="user", includeItemsFromAllDrives="true") == [mine]  # needs supportsAllDrives too
    assert ids(corpora="user", includeItemsFromAllDrives="true", supportsAllDrives="true") == \
        sorted([mine, shared, elsewhere])
    assert ids(corpora="drive", driveId=did, includeItemsFromAllDrives="true", supportsAllDrives="true") == [shared]
    assert ids(corpora="allDrives", includeItemsFromAllDrives="true", supportsAllDrives="true") == \
        sorted([mine, shared, elsewhere])
    r = api.drive_list(corpora="drive", includeItemsFromAllDrives="true", supportsAllDrives="true")
    assert r.status_code == 400 and r.json()["error"]["errors"][0]["reason"] == "badRequest"
    r = api.drive_list(corpora="drive", driveId=did, supportsAllDrives="true")
    assert r.status_code == 403 and "includeItemsFromAllDrives" in r.json()["error"]["message"]
    r = api.drive_list(driveId=did, includeItemsFromAllDrives="true", supportsAllDrives="true")
    assert r.status_code == 400  # driveId only with corpora=drive


# --------------------------------------------------------------------------- stats by status

def test_stats_count_answers_by_status(api):
    sid = api.new_spreadsheet()
    api.get_values(sid, "A1")
    api.get_values(sid, "Nope!A1")
    api.drive_get("missing")
    api.faults(quota_per_minute=1)
    api.meta(sid)
    api.meta(sid)
    api.s.delete(f"{api.base}/drive/v3/files/{sid}")
    api.s.get(f"{api.base}/_emulator/faults")  # admin calls are not counted
    api.advance(1)
    st = api.stats()
    assert st["by_status"] == {"200": 3, "204": 1, "400": 1, "404": 1, "429": 1}
    assert st["requests"] == sum(st["by_status"].values())


def test_clock_endpoint(api):
    before = api.s.get(f"{api.base}/_emulator/clock").json()
    assert before["offset_s"] == 0
    after = api.advance(3600)
    assert after["offset_s"] == 3600 and after["now"] > before["now"]
    assert api.s.post(f"{api.base}/_emulator/clock", json={"advance_s": -5}).status_code == 400
    fid = api.new_spreadsheet()
    created = api.drive_get(fid, fields="createdTime").json()["createdTime"]
    assert created >= after["now"][:19]


@needs_discovery
def test_cli_strict_flag_makes_strict_the_default():
    import re
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-m", "tests.google_emulator", "--port", "0", "--strict"],
                            cwd=str(root), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        m = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert m, line + proc.stderr.read() if proc.poll() is not None else line
        base = m.group(1)
        requests.post(base + "/_emulator/reset", timeout=5)
        assert requests.get(base + "/_emulator/faults", timeout=5).json() == {"strict": True}
        r = requests.get(base + "/drive/v3/files", params={"pageSize": "many"}, timeout=5)
        assert r.status_code == 400 and r.json()["error"]["errors"][0]["location"] == "pageSize"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
