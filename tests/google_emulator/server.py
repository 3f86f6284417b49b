"""HTTP front end: routing, admin endpoints, request statistics and fault injection."""
from __future__ import annotations

import ipaddress
import json
import os
import socket
import random
import re
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

from . import batch, drive, fields, sheets, strict
from .errors import ApiError, drive_error, invalid
from .model import State

STRICT_ENV = "GOOGLE_EMULATOR_STRICT"
FAULT_KEYS = ("rate_429", "rate_500", "latency_ms", "seed", "strict", "quota_per_minute", "drive_lag_s",
              "service_account")
# Sheets methods in Google's "read" quota group; every other Sheets method is a write.
SHEETS_READS = {"sheets.spreadsheets.get", "sheets.values.get", "sheets.values.batchGet"}
QUOTA_WINDOW_MS = 60_000

JSON_TYPE = "application/json; charset=UTF-8"

# (method, regex on the raw path, endpoint name, api family, handler)
Route = Tuple[str, "re.Pattern[str]", str, str, Callable[..., Any]]
_ID = r"([^/:?]+)"


def _u(text: str) -> str:
    return urllib.parse.unquote(text)


def _routes() -> List[Route]:
    r: List[Route] = []

    def add(method, pattern, name, family, fn):
        r.append((method, re.compile("^" + pattern + "$"), name, family, fn))

    s = "/v4/spreadsheets"
    add("POST", s + "/?", "sheets.spreadsheets.create", "sheets",
        lambda st, m, p, b: sheets.spreadsheets_create(st, b, p))
    add("POST", s + f"/{_ID}:batchUpdate", "sheets.spreadsheets.batchUpdate", "sheets",
        lambda st, m, p, b: batch.batch_update(st, _u(m[0]), b, p))
    add("GET", s + f"/{_ID}/values:batchGet", "sheets.values.batchGet", "sheets",
        lambda st, m, p, b: sheets.values_batch_get(st, _u(m[0]), p))
    add("POST", s + f"/{_ID}/values:batchUpdate", "sheets.values.batchUpdate", "sheets",
        lambda st, m, p, b: sheets.values_batch_update(st, _u(m[0]), b))
    add("POST", s + f"/{_ID}/values:batchClear", "sheets.values.batchClear", "sheets",
        lambda st, m, p, b: sheets.values_batch_clear(st, _u(m[0]), b))
    add("POST", s + f"/{_ID}/values/(.+):append", "sheets.values.append", "sheets",
        lambda st, m, p, b: sheets.values_append(st, _u(m[0]), _u(m[1]), p, b))
    add("POST", s + f"/{_ID}/values/(.+):clear", "sheets.values.clear", "sheets",
        lambda st, m, p, b: sheets.values_clear(st, _u(m[0]), _u(m[1])))
    add("GET", s + f"/{_ID}/values/(.+)", "sheets.values.get", "sheets",
        lambda st, m, p, b: sheets.values_get(st, _u(m[0]), _u(m[1]), p))
    add("PUT", s + f"/{_ID}/values/(.+)", "sheets.values.update", "sheets",
        lambda st, m, p, b: sheets.values_update(st, _u(m[0]), _u(m[1]), p, b))
    add("POST", s + f"/{_ID}/sheets/(-?\\d+):copyTo", "sheets.spreadsheets.sheets.copyTo", "sheets",
        lambda st, m, p, b: sheets.sheets_copy_to(st, _u(m[0]), int(m[1]), b))
    add("GET", s + f"/{_ID}", "sheets.spreadsheets.get", "sheets",
        lambda st, m, p, b: sheets.spreadsheets_get(st, _u(m[0]), p))

    d = "/drive/v3"
    add("GET", d + "/files/?", "drive.files.list", "drive", lambda st, m, p, b: drive.files_list(st, p))
    add("POST", d + "/files/?", "drive.files.create", "drive", lambda st, m, p, b: drive.files_create(st, p, b))
    add("POST", "/upload" + d + "/files/?", "drive.files.create", "drive",
        lambda st, m, p, b: drive.files_create(st, p, b))
    add("POST", d + f"/files/{_ID}/copy", "drive.files.copy", "drive",
        lambda st, m, p, b: drive.files_copy(st, _u(m[0]), p, b))
    add("GET", d + f"/files/{_ID}/comments/?", "drive.comments.list", "drive",
        lambda st, m, p, b: drive.comments_list(st, _u(m[0]), p))
    add("POST", d + f"/files/{_ID}/comments/?", "drive.comments.create", "drive",
        lambda st, m, p, b: drive.comments_create(st, _u(m[0]), p, b))
    add("GET", d + f"/files/{_ID}/permissions/?", "drive.permissions.list", "drive",
        lambda st, m, p, b: drive.permissions_list(st, _u(m[0]), p))
    add("POST", d + f"/files/{_ID}/permissions/?", "drive.permissions.create", "drive",
        lambda st, m, p, b: drive.permissions_create(st, _u(m[0]), p, b))
    add("GET", d + f"/files/{_ID}/permissions/{_ID}", "drive.permissions.get", "drive",
        lambda st, m, p, b: drive.permissions_get(st, _u(m[0]), _u(m[1]), p))
    add("PATCH", d + f"/files/{_ID}/permissions/{_ID}", "drive.permissions.update", "drive",
        lambda st, m, p, b: drive.permissions_update(st, _u(m[0]), _u(m[1]), p, b))
    add("DELETE", d + f"/files/{_ID}/permissions/{_ID}", "drive.permissions.delete", "drive",
        lambda st, m, p, b: drive.permissions_delete(st, _u(m[0]), _u(m[1]), p))
    add("GET", d + f"/files/{_ID}", "drive.files.get", "drive",
        lambda st, m, p, b: drive.files_get(st, _u(m[0]), p))
    add("PATCH", d + f"/files/{_ID}", "drive.files.update", "drive",
        lambda st, m, p, b: drive.files_update(st, _u(m[0]), p, b))
    add("DELETE", d + f"/files/{_ID}", "drive.files.delete", "drive",
        lambda st, m, p, b: drive.files_delete(st, _u(m[0]), p))
    add("GET", d + "/changes/startPageToken", "drive.changes.getStartPageToken", "drive",
        lambda st, m, p, b: drive.changes_start_token(st, p))
    add("GET", d + "/changes/?", "drive.changes.list", "drive", lambda st, m, p, b: drive.changes_list(st, p))
    add("GET", d + "/about/?", "drive.about.get", "drive", lambda st, m, p, b: drive.about_get(st, p))
    add("POST", d + "/drives/?", "drive.drives.create", "drive", lambda st, m, p, b: drive.drives_create(st, p, b))
    add("GET", d + "/drives/?", "drive.drives.list", "drive", lambda st, m, p, b: drive.drives_list(st, p))
    add("GET", d + f"/drives/{_ID}", "drive.drives.get", "drive",
        lambda st, m, p, b: drive.drives_get(st, _u(m[0]), p))
    return r


ROUTES = _routes()


def _header(headers: Dict[str, str], name: str) -> str:
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v
    return ""


USER_HEADER, USER_NAME_HEADER = "X-Emulator-User", "X-Emulator-User-Name"


def _acting(headers: Dict[str, str]) -> Optional[Tuple[str, str]]:
    """Who makes this request, when a test says it is someone else than the emulator's own
    user (X-Emulator-User: e-mail, X-Emulator-User-Name: display name): a staff member
    editing in the browser. Google knows the caller from the token; the emulator has one."""
    email = _header(headers, USER_HEADER).strip()
    if not email:
        return None
    return email, _header(headers, USER_NAME_HEADER).strip() or email.split("@")[0]


def match_route(method: str, raw_path: str):
    path_matched = False
    for m_, rx, name, family, fn in ROUTES:
        mo = rx.match(raw_path)
        if mo is None:
            continue
        path_matched = True
        if m_ == method:
            return name, family, fn, mo.groups()
    return None, ("drive" if raw_path.startswith("/drive/") else "sheets"), None, path_matched


class Emulator:
    """State + statistics + fault configuration, independent of HTTP.

    ``strict=True`` (or the environment variable GOOGLE_EMULATOR_STRICT=1) makes strict
    mode the default: it is on after every reset and whenever the faults body does not
    say ``"strict": false``.
    """

    def __init__(self, strict: Optional[bool] = None):
        if strict is None:
            strict = os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes", "on")
        self.state = State()
        self._meta_lock = threading.Lock()
        self._stats: Dict[str, int] = {}
        self._by_status: Dict[str, int] = {}
        self._ignored: Dict[str, int] = {}
        self._total = 0
        self._defaults: Dict[str, Any] = {"strict": True} if strict else {}
        self._faults: Dict[str, Any] = {}
        self._rng = random.Random()
        self._checker: Optional[strict.Checker] = None
        self._quota: Dict[Tuple[str, str], Deque[int]] = {}
        self.set_faults({})

    # admin -----------------------------------------------------------------
    def reset(self) -> None:
        with self.state.lock:
            self.state.reset()
        with self._meta_lock:
            self._stats = {}
            self._by_status = {}
            self._ignored = {}
            self._total = 0
            self._rng = random.Random()
        self.set_faults({})

    def stats(self) -> Dict[str, Any]:
        with self._meta_lock:
            out = {"requests": self._total, "by_endpoint": dict(sorted(self._stats.items())),
                   "by_status": dict(sorted(self._by_status.items()))}
            if self._ignored:  # strict mode: what Google accepts but ignores, e.g. unknown Drive body fields
                out["strict_ignored"] = dict(sorted(self._ignored.items()))
            return out

    def set_faults(self, config: Dict[str, Any]) -> Dict[str, Any]:
        """Replace the fault settings with ``config`` (over the defaults); returns the settings."""
        if not isinstance(config, dict):
            raise ValueError("faults must be a JSON object")
        unknown = set(config) - set(FAULT_KEYS)
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        merged = dict(self._defaults)
        merged.update({k: v for k, v in config.items()})
        clean: Dict[str, Any] = {}
        for key in ("rate_429", "rate_500"):
            if merged.get(key) is not None:
                value = float(merged[key])
                if not 0 <= value <= 1:
                    raise ValueError(f"{key} must be between 0 and 1")
                clean[key] = value
        if merged.get("latency_ms") is not None:
            value = float(merged["latency_ms"])
            if value < 0 or value > 60000:
                raise ValueError("latency_ms must be between 0 and 60000")
            clean["latency_ms"] = value
        for key in ("strict", "service_account"):
            if merged.get(key) is not None:
                if not isinstance(merged[key], bool):
                    raise ValueError(f"{key} must be true or false")
                if merged[key]:
                    clean[key] = True
        if merged.get("quota_per_minute") is not None:
            value = merged["quota_per_minute"]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError("quota_per_minute must be a whole number >= 0 (0 = no quota)")
            if value:
                clean["quota_per_minute"] = value
        if merged.get("drive_lag_s") is not None:
            value = float(merged["drive_lag_s"])
            if value < 0 or value > 86400:
                raise ValueError("drive_lag_s must be between 0 and 86400")
            if value:
                clean["drive_lag_s"] = value
        checker = None
        if clean.get("strict"):
            try:
                checker = strict.Checker.create()
            except strict.StrictUnavailable as e:
                raise ValueError(str(e))
        with self.state.lock:
            self.state.service_account = bool(clean.get("service_account"))
            self.state.drive_lag_ms = int(clean.get("drive_lag_s", 0) * 1000)
        with self._meta_lock:
            self._faults = clean
            self._checker = checker
            self._quota = {}
            if merged.get("seed") is not None:
                clean["seed"] = merged["seed"]
                self._rng = random.Random(merged["seed"])
            return dict(clean)

    def faults(self) -> Dict[str, Any]:
        with self._meta_lock:
            return dict(self._faults)

    def clock(self, config: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """``{"advance_s": S}`` moves the emulated clock forward; ``{"offset_s": S}`` sets its
        offset from real time.  Returns the current time and offset."""
        config = config or {}
        if not isinstance(config, dict):
            raise ValueError("clock settings must be a JSON object")
        unknown = set(config) - {"advance_s", "offset_s"}
        if unknown:
            raise ValueError(f"unknown clock keys: {sorted(unknown)}")
        with self.state.lock:
            clock = self.state.clock
            if config.get("offset_s") is not None:
                clock.offset_ms = int(float(config["offset_s"]) * 1000)
            if config.get("advance_s") is not None:
                step = float(config["advance_s"])
                if step < 0:
                    raise ValueError("advance_s must be >= 0 (the clock never goes back)")
                clock.offset_ms += int(step * 1000)
            return {"now": clock.rfc3339(clock.raw_ms()), "offset_s": clock.offset_ms / 1000.0}

    # per request -------------------------------------------------------------
    def count(self, name: str) -> None:
        with self._meta_lock:
            self._total += 1
            self._stats[name] = self._stats.get(name, 0) + 1

    def count_status(self, status: int) -> None:
        with self._meta_lock:
            key = str(status)
            self._by_status[key] = self._by_status.get(key, 0) + 1

    def roll_fault(self) -> Tuple[float, Optional[int]]:
        with self._meta_lock:
            f = self._faults
            latency = f.get("latency_ms", 0) / 1000.0
            status = None
            rate_429, rate_500 = f.get("rate_429", 0), f.get("rate_500", 0)
            if rate_429 or rate_500:
                x = self._rng.random()
                if x < rate_429:
                    status = 429
                elif x < rate_429 + rate_500:
                    status = 500
            return latency, status

    def _over_quota(self, family: str, name: str, method: str, user: str) -> Optional[str]:
        """Record one request against the caller's per-minute quota; the quota group when exceeded."""
        with self._meta_lock:
            limit = self._faults.get("quota_per_minute")
            if not limit:
                return None
        if family == "sheets":
            group = "read" if (name in SHEETS_READS or (name == "unknown" and method == "GET")) else "write"
        else:
            group = "drive"
        now = self.state.clock.raw_ms()
        with self._meta_lock:
            log = self._quota.setdefault((user, group), deque())
            while log and log[0] <= now - QUOTA_WINDOW_MS:
                log.popleft()
            if len(log) >= limit:
                return group
            log.append(now)
            return None

    def handle(self, method: str, raw_path: str, query: str, body_bytes: bytes,
               headers: Optional[Dict[str, str]] = None):
        """Returns (status, payload or None, extra headers)."""
        status, payload, extra = self._handle(method, raw_path, query, body_bytes, headers or {})
        self.count_status(status)
        return status, payload, extra

    def _handle(self, method: str, raw_path: str, query: str, body_bytes: bytes, headers: Dict[str, str]):
        name, family, fn, groups = match_route(method, raw_path)
        self.count(name or "unknown")
        latency, fault = self.roll_fault()
        if latency:
            time.sleep(latency)
        params = urllib.parse.parse_qs(query, keep_blank_values=True)
        with self._meta_lock:
            checker = self._checker
        api_path = raw_path.startswith(("/v4/", "/drive/v3/", "/upload/drive/v3/"))
        if api_path and (fn is not None or checker is not None):
            user = (params.get("quotaUser") or [""])[-1] or _header(headers, USER_HEADER) or \
                _header(headers, "Authorization") or "anonymous"
            group = self._over_quota(family, name or "unknown", method, user)
            if group is not None:
                return self._quota_response(family, group)
        normalised: Any = None
        if checker is not None:
            body_obj, body_is_json = None, False
            if body_bytes and body_bytes.strip():
                try:
                    body_obj, body_is_json = json.loads(body_bytes.decode("utf-8")), True
                except (ValueError, UnicodeDecodeError):
                    pass
            notes: List[str] = []
            err, normalised = checker.check_and_normalise(method, raw_path, query, body_obj, body_is_json, notes)
            if notes:
                with self._meta_lock:
                    for note in notes:
                        self._ignored[note] = self._ignored.get(note, 0) + 1
            if err is not None:
                return err.code, err.body(), err.headers
            if not body_is_json:
                normalised = None
        if fn is None:
            err = ApiError(404, "Method not found." if groups else f"The requested URL {raw_path} was not found.",
                           "NOT_FOUND")
            return 404, err.body(), {}
        if fault is not None:
            return self._fault_response(fault, family, name)
        try:
            # in strict mode the handler gets the body as Google's proto3 JSON parser reads it
            body = normalised if normalised is not None else self._parse_body(body_bytes)
            with self.state.lock:
                self.state.acting = _acting(headers)
                try:
                    result = fn(self.state, groups, params, body)
                finally:
                    self.state.acting = None
        except ApiError as e:
            return e.code, e.body(), e.headers
        except fields.FieldMaskError as e:
            return 400, invalid(f"Invalid field selection {e}").body(), {}
        except Exception:  # a bug in the emulator: answer 500, never hang
            traceback.print_exc(file=sys.stderr)
            return 500, ApiError(500, "Internal error encountered.", "INTERNAL").body(), {}
        if result is None:
            return 204, None, {}
        if family == "sheets" and name not in ("sheets.spreadsheets.get", "sheets.spreadsheets.create") \
                and params.get("fields"):
            try:
                result = fields.apply(result, fields.parse(params["fields"][-1]))
            except fields.FieldMaskError:
                return 400, invalid(f"Invalid field selection {params['fields'][-1]}").body(), {}
        return 200, result, {}

    def _quota_response(self, family: str, group: str):
        limit = self._faults.get("quota_per_minute")
        if family == "drive":
            err = drive_error(403, "User Rate Limit Exceeded", "userRateLimitExceeded", domain="usageLimits")
            return 403, err.body(), {}
        metric = "Read requests" if group == "read" else "Write requests"
        short = "read_requests" if group == "read" else "write_requests"
        limit_name = "ReadRequestsPerMinutePerUser" if group == "read" else "WriteRequestsPerMinutePerUser"
        err = ApiError(429, f"Quota exceeded for quota metric '{metric}' and limit '{metric} per minute per user' "
                            f"of service 'sheets.googleapis.com' for consumer 'project_number:000000000000'.",
                       "RESOURCE_EXHAUSTED", details=[
                           {"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "RATE_LIMIT_EXCEEDED",
                            "domain": "googleapis.com",
                            "metadata": {"quota_limit": limit_name, "quota_limit_value": str(limit),
                                         "quota_location": "global", "consumer": "projects/000000000000",
                                         "quota_metric": f"sheets.googleapis.com/{short}",
                                         "service": "sheets.googleapis.com",
                                         "quota_unit": "1/min/{project}/{user}"}},
                           {"@type": "type.googleapis.com/google.rpc.Help",
                            "links": [{"description": "Request a higher quota limit.",
                                       "url": "https://cloud.google.com/docs/quotas/help/request_increase"}]}])
        return 429, err.body(), {}

    @staticmethod
    def _parse_body(body_bytes: bytes) -> Any:
        if not body_bytes or not body_bytes.strip():
            return None
        try:
            return json.loads(body_bytes.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise invalid("Invalid JSON payload received. Unexpected token.")

    @staticmethod
    def _fault_response(status: int, family: str, name: str):
        if status == 429:
            if family == "drive":
                err = drive_error(429, "Rate Limit Exceeded", "rateLimitExceeded", domain="usageLimits")
                err.status = "RESOURCE_EXHAUSTED"
            else:
                metric = "Read requests" if name.endswith(("get", "batchGet", "list")) else "Write requests"
                err = ApiError(429, f"Quota exceeded for quota metric '{metric}' and limit '{metric} per minute "
                                    f"per user' of service 'sheets.googleapis.com' for consumer "
                                    f"'project_number:000000000000'.", "RESOURCE_EXHAUSTED", details=[{
                                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                        "reason": "RATE_LIMIT_EXCEEDED",
                                        "domain": "googleapis.com",
                                        "metadata": {"service": "sheets.googleapis.com",
                                                     "quota_metric": f"sheets.googleapis.com/{metric.split()[0].lower()}_requests",
                                                     "consumer": "projects/000000000000"}}])
            return 429, err.body(), {"Retry-After": "1"}
        if family == "drive":
            err = drive_error(500, "Internal Error", "internalError")
            err.status = "INTERNAL"
        else:
            err = ApiError(500, "Internal error encountered.", "INTERNAL")
        return 500, err.body(), {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GoogleApiEmulator/1.0"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body go out in two writes: avoid 40 ms ACK stalls
    timeout = 120  # idle keep-alive connections are closed after this many seconds

    def log_message(self, fmt, *args):  # quiet unless asked
        if getattr(self.server, "verbose", False):
            sys.stderr.write("emulator: " + (fmt % args) + "\n")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, payload: Any, headers: Optional[Dict[str, str]] = None) -> None:
        data = b"" if payload is None else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if data:
            self.wfile.write(data)

    def _dispatch(self, method: str) -> None:
        emu: Emulator = self.server.emulator
        raw_path, _, query = self.path.partition("?")
        if raw_path.startswith("http://") or raw_path.startswith("https://"):
            raw_path = "/" + raw_path.split("/", 3)[-1]
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self._send(400, invalid("Could not read the request body.").body())
            return
        if raw_path.startswith("/_emulator/"):
            self._admin(emu, method, raw_path, body)
            return
        status, payload, headers = emu.handle(method, raw_path, query, body, dict(self.headers.items()))
        self._send(status, payload, headers)

    def _admin(self, emu: Emulator, method: str, path: str, body: bytes) -> None:
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else {}
        except ValueError:
            self._send(400, {"error": "body must be JSON"})
            return
        if path == "/_emulator/reset" and method == "POST":
            emu.reset()
            self._send(200, {"ok": True})
        elif path == "/_emulator/stats" and method == "GET":
            self._send(200, emu.stats())
        elif path == "/_emulator/faults" and method == "POST":
            try:
                self._send(200, emu.set_faults(data))
            except (ValueError, TypeError) as e:
                self._send(400, {"error": str(e)})
        elif path == "/_emulator/faults" and method == "GET":
            self._send(200, emu.faults())
        elif path == "/_emulator/clock" and method in ("GET", "POST"):
            try:
                self._send(200, emu.clock(data if method == "POST" else None))
            except (ValueError, TypeError) as e:
                self._send(400, {"error": str(e)})
        elif path == "/_emulator/deny" and method == "POST":
            ids = data.get("ids") or []
            with emu.state.lock:
                emu.state.denied = set(ids)
            self._send(200, {"denied": sorted(ids)})
        elif path == "/_emulator/config" and method == "POST":
            with emu.state.lock:
                if data.get("user_email"):
                    emu.state.user_email = str(data["user_email"])
                if data.get("user_name"):
                    emu.state.user_name = str(data["user_name"])
                self._send(200, {"user_email": emu.state.user_email, "user_name": emu.state.user_name})
        else:
            self._send(404, {"error": f"unknown admin endpoint {method} {path}"})

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_DELETE(self):
        self._dispatch("DELETE")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class _Server6(_Server):
    address_family = socket.AF_INET6


def _check_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"the emulator only binds to loopback addresses, not {host!r}")


class EmulatorServer:
    """A running emulator.  ``url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, verbose: bool = False,
                 strict: Optional[bool] = None):
        _check_loopback(host)
        self.emulator = Emulator(strict=strict)
        self._httpd = (_Server6 if ":" in host else _Server)((host, port), _Handler)
        self._httpd.emulator = self.emulator
        self._httpd.verbose = verbose
        self.host = host
        self.port: int = self._httpd.server_address[1]
        shown = "127.0.0.1" if host == "localhost" else (f"[{host}]" if ":" in host else host)
        self.url = f"http://{shown}:{self.port}"
        self._thread: Optional[threading.Thread] = None

    @property
    def state(self) -> State:
        return self.emulator.state

    def start(self) -> "EmulatorServer":
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                            name=f"google-emulator-{self.port}", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    close = stop

    # conveniences for in-process tests
    def reset(self) -> None:
        self.emulator.reset()

    def stats(self) -> Dict[str, Any]:
        return self.emulator.stats()

    def set_faults(self, **config: Any) -> Dict[str, Any]:
        return self.emulator.set_faults(config)

    def clear_faults(self) -> None:
        self.emulator.set_faults({})

    def advance_clock(self, seconds: float) -> Dict[str, Any]:
        """Move the emulated clock forward (quota windows, drive_lag_s, timestamps)."""
        return self.emulator.clock({"advance_s": seconds})

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<EmulatorServer {self.url}>"


def start_emulator(port: int = 0, host: str = "127.0.0.1", verbose: bool = False,
                   strict: Optional[bool] = None) -> EmulatorServer:
    """Start the emulator on a daemon thread and return the running server.

    ``strict=True`` makes strict mode the default (kept across resets); ``None`` reads
    the GOOGLE_EMULATOR_STRICT environment variable."""
    return EmulatorServer(host=host, port=port, verbose=verbose, strict=strict).start()
