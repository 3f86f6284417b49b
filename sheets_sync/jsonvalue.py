"""One cell value as JSON and back, types kept: native where JSON has the type, else a
one-key object ({"$d": "2023-10-12"}, {"$f": "nan"}...). The state's payloads
(cycle/state.py) and the master's block manifest (stores/xlsx_blocks.py) use it."""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd


def encode(v):
    """A cell value as JSON: native where JSON has the type, else a one-key object."""
    if v is None or isinstance(v, (str, bool)):
        return v
    if isinstance(v, np.generic):
        v = v.item()
        if v is None or isinstance(v, (str, bool)):
            return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else {"$f": repr(v)}
    if isinstance(v, pd.Timestamp):
        return {"$ts": v.isoformat()}
    if isinstance(v, dt.datetime):
        return {"$dt": v.isoformat()}
    if isinstance(v, dt.date):
        return {"$d": v.isoformat()}
    if isinstance(v, dt.time):
        return {"$t": v.isoformat()}
    if isinstance(v, dt.timedelta):
        return {"$td": [v.days, v.seconds, v.microseconds]}
    if isinstance(v, tuple):
        return {"$tuple": [encode(x) for x in v]}
    if isinstance(v, list):
        return {"$list": [encode(x) for x in v]}
    if isinstance(v, dict):
        return {"$map": [[encode(a), encode(b)] for a, b in v.items()]}
    if v is pd.NA or v is pd.NaT:
        return None
    return str(v)


def decode(v):
    if not isinstance(v, dict):
        if isinstance(v, list):
            raise ValueError("daftar tanpa tanda jenis")
        return v
    if len(v) != 1:
        raise ValueError("tanda jenis tidak dikenal")
    (tag, x), = v.items()
    if tag == "$f":
        return float(x)
    if tag == "$ts":
        return pd.Timestamp(x)
    if tag == "$dt":
        return dt.datetime.fromisoformat(x)
    if tag == "$d":
        return dt.date.fromisoformat(x)
    if tag == "$t":
        return dt.time.fromisoformat(x)
    if tag == "$td":
        return dt.timedelta(days=x[0], seconds=x[1], microseconds=x[2])
    if tag == "$tuple":
        return tuple(decode(y) for y in x)
    if tag == "$list":
        return [decode(y) for y in x]
    if tag == "$map":
        return {decode(a): decode(b) for a, b in x}
    raise ValueError(f"tanda jenis tidak dikenal: {tag[:20]}")
