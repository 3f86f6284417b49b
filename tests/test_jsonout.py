"""`validate --json` writes its text column at a time (validate/jsonout.py): it must be
byte for byte what orjson writes for the records, on hostile rows, at chunk edges,
over several tabs, and when a value is not a scalar (that chunk from its records)."""
from __future__ import annotations

import datetime as dt
import io

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheets_sync.validate import jsonout
from sheets_sync.validate.frame import FormResult, validate_frame
from sheets_sync.validate.layout import SheetData, locate_form
from tests.conftest import AS_OF
from tests.test_bad_input import CELL, FORM_KEYS, HYP, hostile_grid

OPTS = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE


def plain(results) -> bytes:
    return orjson.dumps([r for _, res in results for r in res.records()], default=str, option=OPTS)


def written(results) -> bytes:
    out = io.BytesIO()
    jsonout.write(results, out)
    return out.getvalue()


def same_or_same_error(results):
    try:
        want = plain(results)
    except orjson.JSONEncodeError as e:   # an integer past 64 bits: both refuse it alike
        with pytest.raises(type(e)):
            written(results)
        return
    assert written(results) == want


@settings(max_examples=120, **HYP)
@given(st.lists(st.tuples(st.sampled_from(FORM_KEYS), st.lists(st.lists(CELL, max_size=12), max_size=12)),
                min_size=0, max_size=3),
       st.integers(1, 5))
def test_the_text_is_orjsons_on_hostile_rows_and_at_chunk_edges(monkeypatch, forms, tabs, chunk):
    monkeypatch.setattr(jsonout, "CHUNK_ROWS", chunk)
    results = []
    for key, rows in tabs:
        s = locate_form(hostile_grid(forms, key, rows), forms[key], forms, forms[key].sheet)
        if isinstance(s, SheetData):
            results.append((forms[key].sheet, validate_frame(s.frame, forms[key], AS_OF)))
    same_or_same_error(results)


def result(values: dict, problems=()) -> FormResult:
    n = len(next(iter(values.values()))) if values else 2
    index = pd.Index(range(3, 3 + n), name="row")
    p = pd.DataFrame(list(problems), columns=["row", "column", "code", "severity", "message"])
    return FormResult("pegawai", pd.Series(["OK", "SALAH", "PERIKSA"] * n, dtype=object)[:n].set_axis(index), p,
                      pd.DataFrame(values, index=index, dtype=object))


STRANGE = ["\n", "a\"b\\c", "\x00\x1f\x7f", "\u2028\u2029", "😀", "", " ", "-0", "null", "[]", "{}", "é" * 50]


@pytest.mark.parametrize("chunk", [1, 2, 3, 100])
def test_values_of_every_kind(monkeypatch, chunk):
    """Strings that JSON escapes, numbers of every kind, dates, times, durations, numpy
    scalars, None; problems with a None column, on rows out of order and on rows the
    result does not hold."""
    monkeypatch.setattr(jsonout, "CHUNK_ROWS", chunk)
    kinds = [STRANGE[:7], STRANGE[5:12],
             [1, 1.0, True, None, -2 ** 63, 2 ** 64 - 1, 1e300],
             [float("nan"), float("inf"), -0.0, 0.1, np.int64(5), np.float32(1.5), np.bool_(True)],
             [dt.date(1, 1, 1), None, dt.date(9999, 12, 31), dt.date(2023, 1, 2), None, dt.date(999, 5, 6), None],
             [dt.datetime(2023, 1, 2, 8), dt.time(7, 30), dt.timedelta(days=2), dt.date(2023, 1, 2), None, "x",
              pd.Timestamp("2023-01-02")]]
    values = {f"k{i}": k for i, k in enumerate(kinds)} | {"kunci \"aneh\"\n": STRANGE[:7]}
    problems = [(9, "k1", "REQUIRED", "SALAH", "pesan \"satu\"\n"), (3, None, "DUP", "PERIKSA", "dua"),
                (5, "k2", "X", "SALAH", "tiga"), (3, "k0", "Y", "SALAH", "😀"), (42, "k0", "Z", "SALAH", "bukan baris ini")]
    res = result(values, problems)
    same_or_same_error([("A", res), ("B", result({}, [])), ("C", res)])
    same_or_same_error([("A", result({"k": STRANGE[:7]}, []))])


def test_no_rows_and_no_columns():
    assert written([]) == b"[]\n" == plain([])
    empty = FormResult("pegawai", pd.Series([], dtype=object, index=pd.Index([], name="row")),
                       pd.DataFrame(columns=["row", "column", "code", "severity", "message"]),
                       pd.DataFrame(index=pd.Index([], name="row")))
    assert written([("A", empty)]) == b"[]\n" == plain([("A", empty)])
    no_columns = FormResult("pegawai", pd.Series(["OK", "OK"], index=pd.Index([3, 4], name="row")),
                            pd.DataFrame(columns=["row", "column", "code", "severity", "message"]),
                            pd.DataFrame(index=pd.Index([3, 4], name="row")))
    assert written([("A", no_columns)]) == plain([("A", no_columns)])


@pytest.mark.parametrize("chunk", [1, 2, 4])
def test_a_value_that_is_not_a_scalar_writes_its_chunk_from_the_records(monkeypatch, chunk):
    """No cell holds a list or a dict, but should a value ever be one, orjson writes it
    over several lines: that chunk comes from its records, the text is still orjson's."""
    monkeypatch.setattr(jsonout, "CHUNK_ROWS", chunk)
    res = result({"a": ["x", [1, 2], {"b": [3]}, "y"], "b": [[], {}, None, "z"]},
                 [(4, "a", "C", "SALAH", "m")])
    assert written([("A", res)]) == plain([("A", res)])


def test_cells_never_take_the_records_path(monkeypatch, forms):
    """The column path is the one taken for what cells hold (its own checks would
    otherwise hand every chunk to the records quietly)."""
    rows = [["1", "Dinas", "Budi", "13/10/2009", "Staf", "0812-3456-7890", "budi@gmail.com"],
            [2.0, None, "Ani \"A\"\n", dt.datetime(2020, 1, 2), True, 81234567890, "x@y"]] * 3
    s = locate_form(hostile_grid(forms, "pegawai", rows), forms["pegawai"], forms, "Pegawai")
    results = [("Pegawai", validate_frame(s.frame, forms["pegawai"], AS_OF))]
    want = plain(results)

    def refuse(*a, **k):
        raise AssertionError("records() used")
    monkeypatch.setattr(FormResult, "records", refuse)
    monkeypatch.setattr(jsonout, "CHUNK_ROWS", 4)
    assert written(results) == want
