"""The text of `validate FILE --json`, built column at a time and written in chunks.

The output is exactly what orjson writes for the records (FormResult.records(),
indent 2, a final newline: tests/test_jsonout.py holds the two together on hostile
values), but without a dict per row: each column of a chunk of rows is encoded by
one orjson call and cut into its values, and the rows are put together by Arrow's
string kernels. A chunk is written out before the next is made, so the text of
300,000 rows (~100 MB) is never held whole: on a VM whose fresh memory pages cost
~12 µs each, memory that is used again is time saved.

How a column is cut: orjson writes a list of scalars with indent 2 as one value per
line, and a JSON value never holds a raw line feed (inside a string it is written
as the two characters \\n). So the line feeds of that text are the separators and
nothing else is. A value that is not a scalar would span several lines: the count
of line feeds shows it, and that chunk is written from its records instead.
"""
from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

TEXT = pa.large_string()
CHUNK_ROWS = 16_384
_LIST_SEP = b",\n  "


class _Irregular(Exception):
    """A value orjson writes over several lines (never a cell's)."""


def write(results, out) -> None:
    """Write orjson.dumps(every record of `results` [(title, FormResult)], default=str,
    option=OPT_INDENT_2 | OPT_APPEND_NEWLINE) to the binary stream `out`."""
    first = True
    for _, res in results:
        n = len(res.status)
        problems = _Problems(res) if n else None
        for start in range(0, n, CHUNK_ROWS):
            out.write(b"[\n" if first else b",\n")
            first = False
            out.write(_chunk(res, start, min(n, start + CHUNK_ROWS), problems))
    out.write(b"[]\n" if first else b"\n]\n")


def _chunk(res, start: int, stop: int, problems: "_Problems"):
    """The text of rows `start` to `stop` of one result, as they stand inside the
    list (bytes or an Arrow buffer)."""
    try:
        rows = _rows(res, start, stop, problems)
    except _Irregular:
        return orjson.dumps(res.records(start, stop), default=str, option=orjson.OPT_INDENT_2)[2:-2]
    # every row followed by ",\n": the array's data buffer is then the rows joined
    return _data(pc.binary_join_element_wise(rows, _lit(",\n"), _lit("")))[:-2]


def _rows(res, start: int, stop: int, problems: "_Problems") -> pa.Array:
    status = res.status.iloc[start:stop]
    pieces = ['  {\n    "row": ', encoded(status.index.astype("int64").tolist()),
              ',\n    "status": ', encoded(status.tolist()),
              ',\n    "messages": ', problems.lists(start, stop),
              ',\n    "normalized": ']
    keys = list(res.normalized.columns)
    for i, key in enumerate(keys):
        pieces += [("{" if i == 0 else ",") + "\n      " + orjson.dumps(key, default=str).decode() + ": ",
                   encoded(res.json_column(key, start, stop))]
    pieces.append("\n    }\n  }" if keys else "{}\n  }")
    return _join(pieces)


class _Problems:
    """One result's problems by row position, in their order, for cutting by chunk."""

    def __init__(self, res):
        p = res.problems
        pos = res.status.index.get_indexer(p["row"]) if len(p) else np.empty(0, np.int64)
        keep = np.flatnonzero(pos >= 0)
        self.order = keep[np.argsort(pos[keep], kind="stable")]   # rows in order, problems in theirs
        self.pos = pos[self.order]
        self.columns = [p[k].to_numpy(dtype=object)[self.order] for k in ("code", "column", "message")] \
            if len(self.order) else []

    def lists(self, start: int, stop: int) -> pa.Array:
        """Rows `start` to `stop`: each one's problems as orjson writes the list."""
        lo, hi = np.searchsorted(self.pos, [start, stop])
        if lo == hi:
            return pa.array(np.full(stop - start, "[]", dtype=object), TEXT)
        code, column, message = (c[lo:hi].tolist() for c in self.columns)
        objects = _join(['      {\n        "code": ', encoded(code), ',\n        "column": ', encoded(column),
                         ',\n        "message": ', encoded(message), "\n      }"])
        bounds = np.searchsorted(self.pos[lo:hi], np.arange(start, stop + 1)).astype(np.int64)
        inside = pc.binary_join(pa.LargeListArray.from_arrays(pa.array(bounds), objects), _lit(",\n"))
        some = pa.array(bounds[1:] > bounds[:-1])
        return pc.if_else(some, pc.binary_join_element_wise(_lit("[\n"), inside, _lit("\n    ]"), _lit("")),
                          _lit("[]"))


def encoded(values: list) -> pa.Array:
    """Each value's JSON text as orjson writes it (default=str), as one string array,
    from a single orjson call (see the module doc)."""
    n = len(values)
    if n == 0:
        return pa.array([], TEXT)
    text = orjson.dumps(values, default=str, option=orjson.OPT_INDENT_2)
    feeds = np.flatnonzero(np.frombuffer(text, np.uint8) == 10)
    if len(feeds) != n + 1:
        raise _Irregular
    lengths = np.diff(feeds) - 4       # each value is followed by ",\n  " ...
    lengths[-1] += 1                   # ... but the last only by "\n"
    data = memoryview(text.replace(_LIST_SEP, b""))[4:-2]   # "[\n  " v0 v1 ... "\n]"
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] != len(data) or lengths.min() < 1:
        raise _Irregular
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _join(pieces: list) -> pa.Array:
    """Literal texts and arrays put together row by row (adjacent literals merged)."""
    merged: list = []
    for p in pieces:
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        else:
            merged.append(p)
    return pc.binary_join_element_wise(*[_lit(p) if isinstance(p, str) else p for p in merged], _lit(""))


def _lit(text: str) -> pa.Scalar:
    return pa.scalar(text, TEXT)


def _data(arr: pa.Array) -> pa.Buffer:
    """A string array's values back to back (no copy)."""
    offsets = np.frombuffer(arr.buffers()[1], np.int64)[arr.offset:arr.offset + len(arr) + 1]
    return arr.buffers()[2][int(offsets[0]):int(offsets[-1])]
