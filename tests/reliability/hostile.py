"""Hostile .xlsx files, made inside the tests from a real OPD workbook (never
committed as binaries): a zip bomb whose tab XML inflates to ~1 GiB of empty cells,
a row bomb of hundreds of thousands of empty-but-present rows, a lone cell far
down or far right.

The zip bomb is written without compressing a gigabyte: one deflate block of 4 MiB
of empty cells, ended by a full flush (byte-aligned, no reference before its start),
is repeated as many times as needed between the compressed head and tail of the
tab's XML; the zip record is written by hand around it."""
from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path
from xml.etree import ElementTree

SHEET_DATA_END = b"</sheetData>"
REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def tab_part(path: Path, title: str) -> str:
    """The zip member holding tab `title` (workbook.xml -> its relationships)."""
    with zipfile.ZipFile(path) as z:
        book = ElementTree.fromstring(z.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    rid = next(s.get(REL_ID) for s in book.iter() if s.tag.endswith("}sheet") and s.get("name") == title)
    target = next(r.get("Target") for r in rels if r.get("Id") == rid).lstrip("/")
    return target if target.startswith("xl/") else "xl/" + target


def members(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def _raw(data: bytes, final: bool) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)


def write_zip(path: Path, parts: list[tuple[str, bytes | tuple[bytes, int, int]]]) -> None:
    """A zip of deflated members; a member is its bytes, or (raw deflate, crc, size)."""
    out, central = bytearray(), bytearray()
    for name, data in parts:
        if isinstance(data, tuple):
            raw, crc, size = data
        else:
            raw, crc, size = _raw(data, True), zlib.crc32(data), len(data)
        fname = name.encode()
        head = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(raw), size, len(fname), 0)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(raw), size,
                               len(fname), 0, 0, 0, 0, 0, len(out)) + fname
        out += head + fname + raw
    offset = len(out)
    out += central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(parts), len(parts), len(central), offset, 0)
    path.write_bytes(bytes(out))


def zip_bomb(path: Path, title: str, unpacked: int = 1 << 30) -> None:
    """Replace tab `title` of the workbook at `path` by its own rows followed by
    `unpacked` bytes of empty cells (<row><c/><c/>...</row>), in a ~1 MB file."""
    part = tab_part(path, title)
    parts = members(path)
    xml = dict(parts)[part]
    cut = xml.index(SHEET_DATA_END)
    head, tail = xml[:cut], xml[cut:]
    chunk = (b"<row>" + b"<c/>" * 1000 + b"</row>") * (4 * 1024 * 1024 // 4011)
    times = max(1, unpacked // len(chunk))
    block = _raw(chunk, False)
    raw = _raw(head, False) + block * times + _raw(tail, True)
    crc = zlib.crc32(head)
    for _ in range(times):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + len(chunk) * times + len(tail)
    write_zip(path, [(n, (raw, crc, size) if n == part else d) for n, d in parts])


def _with_rows(path: Path, title: str, rows: bytes) -> None:
    part = tab_part(path, title)
    parts = members(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts:
            if name == part:
                data = data.replace(SHEET_DATA_END, rows + SHEET_DATA_END, 1)
            z.writestr(name, data)


def row_bomb(path: Path, title: str, rows: int = 400_000, first: int = 100) -> None:
    """Append `rows` empty-but-present rows (a few formatted empty cells each, as
    formatting a whole block leaves them) below the tab's data."""
    body = b"".join(b'<row r="%d" spans="1:10"><c s="0"/><c s="0"/><c s="0"/></row>' % r
                    for r in range(first, first + rows))
    _with_rows(path, title, body)


def far_cell(path: Path, title: str, ref: str, row: int, text: str | None = None) -> None:
    """One cell at `ref` (e.g. A1048576 or XFD5) in row `row`: empty but formatted, or
    holding `text`."""
    cell = b'<c r="%s"/>' % ref.encode() if text is None else \
        b'<c r="%s" t="inlineStr"><is><t>%s</t></is></c>' % (ref.encode(), text.encode())
    _with_rows(path, title, b'<row r="%d">%s</row>' % (row, cell))
