"""What calamine will allocate for a workbook, found before it parses.

calamine (Rust) aborts the whole process when an allocation fails, with no Python
error to catch: a sheet's cells become one dense rectangle from A1 to the farthest
cell placed, and the shared-strings table reserves the uniqueCount it announces. So
the parts calamine reads are the ones held to the limits, found as calamine finds
them (workbook.xml and its relationships, whatever the part names), and:

- a sheet written as Excel, LibreOffice and openpyxl write it (every <c> and <row>
  opens with r="...", attributes as name="value") is scanned as bytes
  (xlsx_read.extent, numpy);
- any other sheet (references missing, spaces around '=', prefixes, quotes...) is
  parsed with expat, placing cells as calamine does: exact, and slower, for files no
  common program writes;
- a shared-strings table's first element is read with expat (comments, processing
  instructions and attribute order do not hide its uniqueCount).
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from xml.parsers import expat

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CHUNK = 1 << 20
MAX_BOOK_XML = 2_000_000   # workbook.xml and its relationships: a page of text in a real file


class Unplaceable(ValueError):
    """The workbook's structure (workbook.xml, its relationships) cannot be read."""


def workbook_parts(z: zipfile.ZipFile) -> tuple[dict[str, str], set[str]]:
    """({sheet part: tab title}, {shared-strings parts}) as calamine resolves them."""
    from defusedxml.ElementTree import fromstring

    trees = {}
    for name in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
        try:
            info = z.getinfo(name)
        except KeyError:
            raise Unplaceable(f"bagian {name} tidak ada") from None
        if info.file_size > MAX_BOOK_XML:
            raise Unplaceable(f"bagian {name} terlalu besar")
        try:
            trees[name] = fromstring(z.read(name))
        except Exception as e:  # noqa: BLE001 - defusedxml's refusals, bad XML
            raise Unplaceable(f"bagian {name} tidak terbaca") from e
    rels, strings = {}, {"xl/sharedStrings.xml"}
    for r in trees["xl/_rels/workbook.xml.rels"].iter():
        if r.tag.rsplit("}", 1)[-1] == "Relationship":
            target = _part(r.get("Target", ""))
            rels[r.get("Id")] = target
            if r.get("Type", "").endswith("/sharedStrings"):
                strings.add(target)
    sheets = {}
    for el in trees["xl/workbook.xml"].iter():
        if el.tag.rsplit("}", 1)[-1] == "sheet":
            rid = el.get(f"{{{_REL_NS}}}id") or next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
            if rid in rels:
                sheets[rels[rid]] = el.get("name", "")
    return sheets, strings


def _part(target: str) -> str:
    target = target.replace("\\", "/")
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(f"xl/{target}")


# ------------------------------------------------------------------ shared strings
def first_element(z: zipfile.ZipFile, part: str, limit: int = 1 << 22) -> tuple[str, dict]:
    """(Local name, attributes) of a part's first element, read with expat up to
    `limit` bytes; ("", {}) when there is none that soon or it is not XML."""
    found: list = []
    p = expat.ParserCreate()

    def start(name, attrs):
        if not found:
            found.append((name.rsplit(":", 1)[-1], {k.rsplit(":", 1)[-1]: v for k, v in attrs.items()}))
            raise _Found

    p.StartElementHandler = start
    read = 0
    try:
        with z.open(part) as f:
            while read < limit and (chunk := f.read(1 << 16)):
                read += len(chunk)
                p.Parse(chunk, False)
    except _Found:
        pass
    except expat.ExpatError:
        return "", {}
    return found[0] if found else ("", {})


class _Found(Exception):
    pass


def roots(z: zipfile.ZipFile) -> dict[str, tuple[str, dict]]:
    """{part: its first element (first_element)} of every part of the zip, read once for
    the strings tables and the workbooks a reader may find there."""
    return {i.filename: first_element(z, i.filename) for i in z.infolist() if not i.is_dir()}


def announced_strings(z: zipfile.ZipFile, part: str, root: tuple[str, dict]) -> int:
    """The uniqueCount (or count) a shared-strings table announces, 0 when none; `root`:
    the part's first element."""
    name, attrs = root
    if name == "" and z.getinfo(part).file_size > (1 << 22) and _xmlish(z, part):
        raise Unplaceable(f"bagian {part} tidak dimulai dengan elemen XML")
    if name != "sst":
        return 0
    most = 0
    for key in ("uniqueCount", "count"):
        m = re.fullmatch(r"\s*0*(\d{1,30})\s*", attrs.get(key, ""))
        if m:
            most = max(most, int(m.group(1)))
    return most


# ------------------------------------------------------------------ sheets
def parsed_extent(z: zipfile.ZipFile, part: str, stop) -> tuple[int, int, int, int]:
    """(<row> tags, <c> tags, farthest row and column of a cell with content) of a sheet,
    parsed with expat and placed as calamine places cells: by their reference, else
    after the cell before in the row (a row without one: after the row before).
    `stop(rows, cells, far_row, far_col)` is asked every megabyte: True ends the parse
    (a limit passed)."""
    st = {"rows": 0, "cells": 0, "row": 0, "col": 0, "far_r": 0, "far_c": 0, "in_c": False, "filled": False,
          "at": (0, 0)}

    def start(name, attrs):
        local = name.rsplit(":", 1)[-1]
        if st["in_c"]:
            st["filled"] = True
            return
        if local == "mergeCell":
            st["cells"] += 1
            return
        if local == "row":
            st["rows"] += 1
            r = _attr(attrs, "r")
            st["row"] = int(r) if r is not None and r.strip().isdigit() else st["row"] + 1
            st["col"] = 0
        elif local == "c":
            ref = _ref(_attr(attrs, "r"))
            if ref is not None:
                st["row"], st["col"] = ref
            else:
                st["col"] += 1
            st["in_c"], st["filled"], st["at"] = True, False, (st["row"], st["col"])
            st["cells"] += 1   # every <c>, as the byte count does: an empty one costs the parse too

    def end(name):
        if name.rsplit(":", 1)[-1] == "c" and st["in_c"]:
            st["in_c"] = False
            if st["filled"]:
                st["far_r"], st["far_c"] = max(st["far_r"], st["at"][0]), max(st["far_c"], st["at"][1])

    def text(data):
        if st["in_c"] and data.strip():
            st["filled"] = True

    p = expat.ParserCreate()
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, text
    try:
        with z.open(part) as f:
            while chunk := f.read(_CHUNK):
                p.Parse(chunk, False)
                if stop(st["rows"], st["cells"], st["far_r"], st["far_c"]):
                    break
    except expat.ExpatError as e:   # what expat cannot follow is not left to calamine either
        raise Unplaceable(f"XML tab tidak utuh (baris {e.lineno})") from None
    return st["rows"], st["cells"], st["far_r"], st["far_c"]


def _attr(attrs: dict, key: str):
    for k, v in attrs.items():
        if k.rsplit(":", 1)[-1] == key:
            return v
    return None


_REF = re.compile(r"\s*([A-Za-z]{1,7})0*(\d{1,12})\s*")


def _ref(value) -> tuple[int, int] | None:
    """(Row, column) of a reference as calamine reads it (case and leading zeros
    ignored); None when there is none or it is not one."""
    if value is None:
        return None
    m = _REF.fullmatch(value)
    if m is None:
        return None
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


def _xmlish(z: zipfile.ZipFile, part: str) -> bool:
    with z.open(part) as f:
        return f.read(64).lstrip().startswith(b"<")


def holds(z: zipfile.ZipFile, part: str, word: bytes) -> bool:
    """Whether a part's bytes contain `word` (streamed; a word across two reads found)."""
    tail = b""
    with z.open(part) as f:
        while chunk := f.read(_CHUNK):
            if word in tail + chunk[:len(word)] or word in chunk:
                return True
            tail = chunk[-len(word):]
    return False


def sheet_entries(z: zipfile.ZipFile, found: dict[str, tuple[str, dict]]) -> int:
    """The most <sheet> entries of any part whose root is a workbook (calamine parses each
    entry, even several naming one part); `found`: roots(z)."""
    most = 0
    for part, (name, _) in found.items():
        if name != "workbook" or z.getinfo(part).file_size > MAX_BOOK_XML:
            continue
        entries: list = []
        p = expat.ParserCreate()
        p.StartElementHandler = lambda tag, attrs: entries.append(tag) if tag.rsplit(":", 1)[-1] == "sheet" else None
        try:
            p.Parse(z.read(part), True)
        except expat.ExpatError:
            pass
        most = max(most, len(entries))
    return most
