"""The HTTP layer under gspread: where requests go, how fast, and how they retry.

- With SHEETS_EMULATOR_HOST=host:port set, every Sheets and Drive URL is rewritten
  to that host and no credentials are used (the convention of Google's emulators).
- Client-side quota in sliding 60-second windows, one per Google quota group
  (Sheets reads, Sheets writes, Drive; 60 a minute each by default) plus a cap on
  all of them together (300): in *any* 60 s no more than that many requests leave
  this process, so a normal cycle never meets a 429. (A token bucket admits its full
  burst plus a minute of refill, up to 119 in 60 s; Google counts per minute.)
- Retries: 5xx, timeouts and dropped connections a bounded number of times with
  jittered exponential backoff; Google's quota answers (429, and Drive's 403
  userRateLimitExceeded / rateLimitExceeded) until the quota comes back, honouring
  Retry-After, within a retry budget per session (one cycle). 403 for permissions
  (insufficientPermissions, forbidden, ...) is never retried. A timeout on every
  request. (gspread's BackOffHTTPClient retries forever and sets no timeout.)
"""
from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections import Counter, deque

import requests

log = logging.getLogger(__name__)

GOOGLE_HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")
RETRY_STATUS = {429, 500, 502, 503, 504}
RATE_LIMIT_REASONS = {"userRateLimitExceeded", "rateLimitExceeded", "sharingRateLimitExceeded"}   # Drive's 403s
CREATES = re.compile(r"^https?://[^/]+(/upload)?/drive/v3/files(/[^/?]+/copy)?(\?|$)|^https?://[^/]+/v4/spreadsheets(\?|$)")
WINDOW_S = 60.0
WINDOW_MARGIN_S = 1.0   # our clock and Google's count the same minute a little apart
SCOPES = (
    "https://www.googleapis.com/auth/spreadsheets",            # read/write cells of the sheets
    "https://www.googleapis.com/auth/drive.file",              # create/share the files it made
    "https://www.googleapis.com/auth/drive.metadata.readonly",  # one listing of versions per cycle
)


class SlidingWindow:
    """At most `rate` admissions in any `per` seconds (a sliding window, not a
    bucket). `take()` waits until one more fits and returns the seconds waited.
    The admission is recorded at the moment it was due, so a sleep that does not
    really wait (tests) never makes the window hang."""

    def __init__(self, rate: int, per: float = WINDOW_S + WINDOW_MARGIN_S, clock=time.monotonic,
                 sleep=time.sleep):
        if rate < 1:
            raise ValueError("rate must be >= 1")
        self.rate, self.per, self.clock, self.sleep = int(rate), float(per), clock, sleep
        self.times: deque[float] = deque()
        self.lock = threading.Lock()

    def due(self, now: float) -> float:
        """When the next admission fits (>= now). Caller holds the lock."""
        while self.times and self.times[0] <= now - self.per:
            self.times.popleft()
        if len(self.times) < self.rate:
            return now
        return self.times[len(self.times) - self.rate] + self.per

    def record(self, at: float) -> None:
        self.times.append(at)

    def take(self) -> float:
        return take_all([self], self.clock, self.sleep)

    def count(self, now: float | None = None) -> int:
        now = self.clock() if now is None else now
        with self.lock:
            return sum(1 for t in self.times if t > now - self.per)


_TAKE_LOCK = threading.Lock()


def take_all(windows: list[SlidingWindow], clock=time.monotonic, sleep=time.sleep) -> float:
    """One admission in every window (a group's and the overall cap), waiting for
    the latest of them. Returns the seconds waited."""
    with _TAKE_LOCK:   # several windows at once: one admission decided at a time
        now = clock()
        at = now
        for w in windows:
            with w.lock:
                at = max(at, w.due(at))
        for w in windows:   # a later `at` may have freed room in a window checked earlier
            with w.lock:
                at = max(at, w.due(at))
        for w in windows:
            with w.lock:
                w.record(at)
    wait = at - now
    if wait > 0:
        sleep(wait)
    return max(0.0, wait)


class Quota:
    """The client-side quota of one session: Sheets reads, Sheets writes and Drive,
    each in its own window, and all of them under one overall cap."""

    def __init__(self, reads_per_minute: int = 60, writes_per_minute: int = 60, drive_per_minute: int = 60,
                 total_per_minute: int = 300, clock=time.monotonic, sleep=time.sleep):
        self.clock, self.sleep = clock, sleep
        self.groups = {"read": SlidingWindow(reads_per_minute, clock=clock, sleep=sleep),
                       "write": SlidingWindow(writes_per_minute, clock=clock, sleep=sleep),
                       "drive": SlidingWindow(drive_per_minute, clock=clock, sleep=sleep)}
        self.total = SlidingWindow(total_per_minute, clock=clock, sleep=sleep)

    @staticmethod
    def group(method: str, url: str) -> str:
        if "/v4/spreadsheets" in url:
            return "read" if method.upper() == "GET" else "write"
        return "drive"

    def take(self, method: str, url: str) -> float:
        return take_all([self.groups[self.group(method, url)], self.total], self.clock, self.sleep)


def rate_limited(resp) -> bool:
    """Google's 'over quota, try later' answers: 429, or Drive's 403 with a rate-limit reason."""
    if resp is None:
        return False
    if resp.status_code == 429:
        return True
    if resp.status_code != 403:
        return False
    try:
        err = resp.json().get("error", {})
    except ValueError:
        return False
    if not isinstance(err, dict):
        return False
    return any(isinstance(e, dict) and e.get("reason") in RATE_LIMIT_REASONS for e in err.get("errors") or [])


class GoogleSession(requests.Session):
    def __init__(self, credentials=None, *, emulator: str | None = None, reads_per_minute: int = 60,
                 writes_per_minute: int = 60, drive_per_minute: int = 60, total_per_minute: int = 300,
                 timeout: float = 30.0, max_attempts: int = 6, backoff: float = 0.5, max_backoff: float = 32.0,
                 max_quota_attempts: int = 12, retry_budget: float = 180.0, sleep=time.sleep,
                 clock=time.monotonic):
        super().__init__()
        self.emulator = emulator if emulator is not None else os.environ.get("SHEETS_EMULATOR_HOST")
        self.credentials = None if self.emulator else credentials
        self.quota = Quota(reads_per_minute, writes_per_minute, drive_per_minute, total_per_minute,
                           clock=clock, sleep=sleep)
        self.timeout, self.max_attempts, self.max_quota_attempts = timeout, max_attempts, max_quota_attempts
        self.backoff, self.max_backoff, self.sleep, self.clock = backoff, max_backoff, sleep, clock
        self.retry_budget = retry_budget     # seconds of retry waits per session (one cycle)
        self.retry_waited = 0.0
        self.budget_spent = False
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
        # a create that timed out or failed with 5xx may have been done all the same:
        # never repeat it here (the caller looks the file up first); a quota refusal is safe
        repeatable = not (method.upper() == "POST" and CREATES.match(url))
        last_exc, resp, attempt, quota_tries = None, None, 0, 0
        while True:
            attempt += 1
            self.quota.take(method, url)
            try:
                send = self._authorized.request if self._authorized else super().request
                resp = send(method, url, **kw)
            except (requests.Timeout, requests.ConnectionError) as e:
                last_exc, resp = e, None
                self._count(f"{method.upper()} error")
            else:
                self._count(f"{method.upper()} {resp.status_code}")
                if resp.status_code not in RETRY_STATUS and not rate_limited(resp):
                    return resp
            if rate_limited(resp):
                quota_tries += 1
                if quota_tries >= self.max_quota_attempts:
                    break
                delay = self._delay(quota_tries, resp, quota=True)
            elif attempt - quota_tries >= self.max_attempts or not repeatable:
                break
            else:
                delay = self._delay(attempt - quota_tries, resp)
            if not self._spend(delay):
                break
            self._count("retries")
            self.sleep(delay)
        if resp is not None:
            return resp   # gspread turns it into an APIError the store reports
        raise last_exc

    def _spend(self, delay: float) -> bool:
        """Take `delay` seconds from this session's retry budget; False (and one log
        line) once it is spent: the rest waits for the next cycle."""
        with self._count_lock:
            if self.retry_waited + delay <= self.retry_budget:
                self.retry_waited += delay
                return True
            first = not self.budget_spent
            self.budget_spent = True
        if first:
            log.warning("Kuota/galat Google: sudah menunggu %.0f dtk untuk percobaan ulang dalam siklus ini "
                        "(batas %.0f dtk); permintaan yang masih gagal dicoba lagi pada siklus berikutnya. "
                        "Bila sering terjadi: naikkan sync_interval_minutes atau minta kuota lebih besar di "
                        "Google Cloud Console (APIs & Services → Quotas).", self.retry_waited, self.retry_budget)
        return False

    def _count(self, key: str) -> None:
        with self._count_lock:
            self.counts[key] += 1

    def _delay(self, attempt: int, resp, quota: bool = False) -> float:
        retry_after = resp.headers.get("Retry-After") if resp is not None else None
        if retry_after:
            try:
                return max(0.0, min(float(retry_after), 2 * WINDOW_S))
            except ValueError:
                pass
        if quota:   # a per-minute quota comes back within the minute: wait in growing steps up to 32 s
            step = min(self.max_backoff, max(1.0, self.backoff * 2 ** (attempt + 1)))
            return random.uniform(step / 2, step)
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
