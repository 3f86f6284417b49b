"""The HTTP layer under gspread: where requests go, how fast, and how they retry.

- With SHEETS_EMULATOR_HOST=host:port set, every Sheets and Drive URL is rewritten
  to that host and no credentials are used (the convention of Google's emulators).
- Client-side rate limits to the documented per-user quota (60 reads and 60 writes
  a minute, configurable), so a normal cycle never meets a 429.
- Bounded retries with jittered exponential backoff on 429, 5xx, timeouts and
  dropped connections, honouring Retry-After; a timeout on every request.
  (gspread's BackOffHTTPClient retries forever and sets no timeout.)
"""
from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections import Counter

import requests

log = logging.getLogger(__name__)

GOOGLE_HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")
RETRY_STATUS = {429, 500, 502, 503, 504}
SCOPES = (
    "https://www.googleapis.com/auth/spreadsheets",            # read/write cells of the sheets
    "https://www.googleapis.com/auth/drive.file",              # create/share the files it made
    "https://www.googleapis.com/auth/drive.metadata.readonly",  # one listing of versions per cycle
)


class TokenBucket:
    """`rate` requests per `per` seconds, bursting up to `rate`."""

    def __init__(self, rate: int, per: float = 60.0, clock=time.monotonic, sleep=time.sleep):
        self.capacity, self.per = float(rate), per
        self.tokens, self.clock, self.sleep = float(rate), clock, sleep
        self.last = clock()
        self.lock = threading.Lock()

    def take(self) -> float:
        """Wait for a token; returns the seconds waited."""
        with self.lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.capacity / self.per)
            self.last = now
            wait = 0.0 if self.tokens >= 1 else (1 - self.tokens) * self.per / self.capacity
            self.tokens -= 1
        if wait:
            self.sleep(wait)
        return wait


class GoogleSession(requests.Session):
    def __init__(self, credentials=None, *, emulator: str | None = None, reads_per_minute: int = 60,
                 writes_per_minute: int = 60, timeout: float = 30.0, max_attempts: int = 6,
                 backoff: float = 0.5, max_backoff: float = 32.0, sleep=time.sleep):
        super().__init__()
        self.emulator = emulator if emulator is not None else os.environ.get("SHEETS_EMULATOR_HOST")
        self.credentials = None if self.emulator else credentials
        self.reads = TokenBucket(reads_per_minute, sleep=sleep)
        self.writes = TokenBucket(writes_per_minute, sleep=sleep)
        self.timeout, self.max_attempts = timeout, max_attempts
        self.backoff, self.max_backoff, self.sleep = backoff, max_backoff, sleep
        self.counts: Counter = Counter()   # "GET 200" -> n, for logs and benchmarks
        self._count_lock = threading.Lock()
        if self.credentials is not None:
            from google.auth.transport.requests import AuthorizedSession
            self._authorized = AuthorizedSession(self.credentials)
        else:
            self._authorized = None

    def _url(self, url: str) -> str:
        if self.emulator:
            for host in GOOGLE_HOSTS:
                if url.startswith(host):
                    return f"http://{self.emulator}" + url[len(host):]
        return url

    def request(self, method, url, **kw):
        kw.setdefault("timeout", self.timeout)
        if kw["timeout"] is None:
            kw["timeout"] = self.timeout
        url = self._url(url)
        is_sheets_write = method.upper() != "GET" and "/v4/" in url
        last_exc = None
        for attempt in range(1, self.max_attempts + 1):
            (self.writes if is_sheets_write else self.reads).take()
            try:
                send = self._authorized.request if self._authorized else super().request
                resp = send(method, url, **kw)
            except (requests.Timeout, requests.ConnectionError) as e:
                last_exc, resp = e, None
                self._count(f"{method.upper()} error")
            else:
                self._count(f"{method.upper()} {resp.status_code}")
                if resp.status_code not in RETRY_STATUS:
                    return resp
            if attempt == self.max_attempts:
                break
            self._count("retries")
            self.sleep(self._delay(attempt, resp))
        if resp is not None:
            return resp   # gspread turns it into an APIError the store reports
        raise last_exc

    def _count(self, key: str) -> None:
        with self._count_lock:
            self.counts[key] += 1

    def _delay(self, attempt: int, resp) -> float:
        retry_after = resp.headers.get("Retry-After") if resp is not None else None
        if retry_after:
            try:
                return min(float(retry_after), self.max_backoff)
            except ValueError:
                pass
        return random.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))

    @property
    def total(self) -> int:
        return sum(v for k, v in self.counts.items() if k != "retries")


FULL_DRIVE = "https://www.googleapis.com/auth/drive"


def scopes_for(cfg: dict) -> list[str]:
    """Least privilege by default. `drive_scope: full` is for a Drive folder that a
    person created (drive.file only reaches files and folders the worker made)."""
    scope = str(cfg.get("drive_scope", "file"))
    if scope not in ("file", "full"):
        from sheets_sync.config import ConfigError
        raise ConfigError(f"google.drive_scope: '{scope}' tidak dikenal; pilihan: file (bawaan), full.")
    return list(SCOPES) + ([FULL_DRIVE] if scope == "full" else [])


def load_credentials(cfg: dict):
    """Service-account key or OAuth user token; None when talking to an emulator."""
    if os.environ.get("SHEETS_EMULATOR_HOST"):
        return None
    scopes = scopes_for(cfg)
    token = cfg.get("oauth_token")
    if token:
        from google.oauth2.credentials import Credentials
        return Credentials.from_authorized_user_file(token, scopes)
    key = cfg.get("credentials") or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if not key:
        from sheets_sync.config import ConfigError
        raise ConfigError("google.credentials (berkas kunci service account) atau google.oauth_token "
                          "belum diisi, dan GOOGLE_APPLICATION_CREDENTIALS kosong.")
    from google.oauth2 import service_account
    return service_account.Credentials.from_service_account_file(key, scopes=scopes)
