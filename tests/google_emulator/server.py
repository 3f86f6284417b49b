"""HTTP front end: routing, admin endpoints, request statistics and fault injection."""
from __future__ import annotations

import ipaddress
import json
import socket
import random
import re
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import batch, drive, fields, sheets
from .errors import ApiError, drive_error, invalid
from .model import State

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
    return r


ROUTES = _routes()


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
    """State + statistics + fault configuration, independent of HTTP."""

    def __init__(self):
        self.state = State()
        self._meta_lock = threading.Lock()
        self._stats: Dict[str, int] = {}
        self._total = 0
        self._faults: Dict[str, Any] = {}
        self._rng = random.Random()

    # admin -----------------------------------------------------------------
    def reset(self) -> None:
        with self.state.lock:
            self.state.reset()
        with self._meta_lock:
            self._stats = {}
            self._total = 0
            self._faults = {}
            self._rng = random.Random()

    def stats(self) -> Dict[str, Any]:
        with self._meta_lock:
            return {"requests": self._total, "by_endpoint": dict(sorted(self._stats.items()))}

    def set_faults(self, config: Dict[str, Any]) -> Dict[str, Any]:
        if not isinstance(config, dict):
            raise ValueError("faults must be a JSON object")
        clean: Dict[str, Any] = {}
        for key in ("rate_429", "rate_500"):
            if config.get(key) is not None:
                value = float(config[key])
                if not 0 <= value <= 1:
                    raise ValueError(f"{key} must be between 0 and 1")
                clean[key] = value
        if config.get("latency_ms") is not None:
            value = float(config["latency_ms"])
            if value < 0 or value > 60000:
                raise ValueError("latency_ms must be between 0 and 60000")
            clean["latency_ms"] = value
        unknown = set(config) - {"rate_429", "rate_500", "latency_ms", "seed"}
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        with self._meta_lock:
            self._faults = clean
            if config.get("seed") is not None:
                clean["seed"] = config["seed"]
                self._rng = random.Random(config["seed"])
            return dict(clean)

    def faults(self) -> Dict[str, Any]:
        with self._meta_lock:
            return dict(self._faults)

    # per request -------------------------------------------------------------
    def count(self, name: str) -> None:
        with self._meta_lock:
            self._total += 1
            self._stats[name] = self._stats.get(name, 0) + 1

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

    def handle(self, method: str, raw_path: str, query: str, body_bytes: bytes):
        """Returns (status, payload or None, extra headers)."""
        name, family, fn, groups = match_route(method, raw_path)
        self.count(name or "unknown")
        latency, fault = self.roll_fault()
        if latency:
            time.sleep(latency)
        if fn is None:
            err = ApiError(404, "Method not found." if groups else f"The requested URL {raw_path} was not found.",
                           "NOT_FOUND")
            return 404, err.body(), {}
        if fault is not None:
            return self._fault_response(fault, family, name)
        params = urllib.parse.parse_qs(query, keep_blank_values=True)
        try:
            body = self._parse_body(body_bytes)
            with self.state.lock:
                result = fn(self.state, groups, params, body)
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
        status, payload, headers = emu.handle(method, raw_path, query, body)
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

    def __init__(self, host: str = "127.0.0.1", port: int = 0, verbose: bool = False):
        _check_loopback(host)
        self.emulator = Emulator()
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

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<EmulatorServer {self.url}>"


def start_emulator(port: int = 0, host: str = "127.0.0.1", verbose: bool = False) -> EmulatorServer:
    """Start the emulator on a daemon thread and return the running server."""
    return EmulatorServer(host=host, port=port, verbose=verbose).start()
