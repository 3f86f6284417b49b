"""The client-side quota and the retry rules of GoogleSession, with an injected
clock and a fake transport: no network, no sleeping."""
from __future__ import annotations

import json
import logging

import requests
from requests.adapters import BaseAdapter

from sheets_sync.stores.google_http import GoogleSession, Quota, SlidingWindow


class Clock:
    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s


def max_in_window(times: list[float], per: float = 60.0) -> int:
    """The most admissions in any half-open window [t, t + per)."""
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - per + 1e-9:   # float sums: t0 + 61 - 61 may miss t0
            j += 1
        best = max(best, i - j + 1)
    return best


def test_no_sliding_window_of_60_s_holds_more_than_the_rate():
    clock = Clock()
    w = SlidingWindow(60, clock=clock, sleep=clock.sleep)
    admitted = []
    for i in range(250):
        clock.now += 0.2 if i % 7 else 3.0        # bursts and pauses
        w.take()
        admitted.append(clock.now)
    assert max_in_window(admitted) <= 60
    assert max_in_window(admitted, 61.0) <= 60     # with the margin for Google's clock
    assert len(admitted) == 250


def test_group_windows_and_the_overall_cap():
    clock = Clock()
    q = Quota(reads_per_minute=60, writes_per_minute=60, drive_per_minute=60, total_per_minute=100,
              clock=clock, sleep=clock.sleep)
    urls = [("GET", "https://sheets.googleapis.com/v4/spreadsheets/a/values:batchGet"),
            ("POST", "https://sheets.googleapis.com/v4/spreadsheets/a:batchUpdate"),
            ("GET", "https://www.googleapis.com/drive/v3/files")]
    times: dict[str, list[float]] = {"read": [], "write": [], "drive": []}
    for i in range(300):
        method, url = urls[i % 3]
        q.take(method, url)
        times[Quota.group(method, url)].append(clock.now)
    assert all(max_in_window(t, 61.0) <= 60 for t in times.values())
    everything = [t for ts in times.values() for t in ts]
    assert max_in_window(everything, 61.0) <= 100
    assert len(everything) == 300


def test_the_old_bucket_figure_is_gone():
    """A token bucket of 60 admitted 119 in 60 s (full bucket + a minute of refill)."""
    clock = Clock()
    w = SlidingWindow(60, clock=clock, sleep=clock.sleep)
    start = clock.now
    n = 0
    while True:
        w.take()
        if clock.now - start >= 60.0:
            break
        n += 1
    assert n == 60


# ------------------------------------------------------------------ retries
class Fake(BaseAdapter):
    """Answers from a list of (status, body, headers); records the calls."""

    def __init__(self, answers):
        super().__init__()
        self.answers = list(answers)
        self.calls = 0

    def send(self, request, **kw):
        self.calls += 1
        status, body, headers = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        r = requests.Response()
        r.status_code = status
        r._content = json.dumps(body).encode()
        r.headers.update({"Content-Type": "application/json", **headers})
        r.url = request.url
        r.request = request
        return r

    def close(self):
        pass


def session(answers, **kw):
    clock = Clock()
    s = GoogleSession(None, emulator="fake.invalid", sleep=clock.sleep, clock=clock, **kw)
    fake = Fake(answers)
    s.mount("http://", fake)
    return s, fake, clock


def drive_403(reason: str) -> tuple:
    return (403, {"error": {"code": 403, "message": reason, "errors": [{"domain": "usageLimits", "reason": reason,
                                                                          "message": reason}]}}, {})


OK = (200, {"files": []}, {})
DRIVE = "https://www.googleapis.com/drive/v3/files"


def test_drive_rate_limit_403_is_retried_until_the_quota_returns():
    for reason in ("userRateLimitExceeded", "rateLimitExceeded"):
        s, fake, clock = session([drive_403(reason)] * 4 + [OK])
        assert s.get(DRIVE).status_code == 200
        assert fake.calls == 5 and len(clock.slept) == 4


def test_permission_403_is_never_retried():
    for reason in ("insufficientPermissions", "forbidden", "appNotAuthorizedToFile"):
        s, fake, clock = session([drive_403(reason), OK])
        assert s.get(DRIVE).status_code == 403
        assert fake.calls == 1 and clock.slept == []


def test_429_waits_grow_until_the_minute_has_passed_and_honour_retry_after():
    over = (429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}, {})
    s, fake, clock = session([over] * 6 + [OK])
    assert s.get(DRIVE).status_code == 200
    assert sum(clock.slept) >= 45        # Sheets' per-minute quota: no Retry-After, comes back within 60 s
    s, fake, clock = session([(429, {}, {"Retry-After": "7"}), OK])
    assert s.get(DRIVE).status_code == 200 and clock.slept == [7.0]


def test_retry_budget_per_cycle_is_bounded_and_said_once(caplog):
    over = (429, {"error": {"code": 429}}, {"Retry-After": "10"})
    s, fake, clock = session([over], retry_budget=30)
    with caplog.at_level(logging.WARNING):
        assert s.get(DRIVE).status_code == 429
        assert s.get(DRIVE).status_code == 429
    assert sum(clock.slept) <= 30
    lines = [r.getMessage() for r in caplog.records if "Kuota" in r.getMessage()]
    assert len(lines) == 1 and "siklus berikutnya" in lines[0]
