"""Reports as Excel files: xlsxwriter in constant-memory mode (rows go to disk as they are
written), then streamed in chunks, so a large report never sits whole in memory."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence

import xlsxwriter

CHUNK = 256 * 1024


def write(path: str, title: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "tmpdir": os.path.dirname(path)})
    try:
        sheet = book.add_worksheet(title[:31])
        bold = book.add_format({"bold": True})
        sheet.write_row(0, 0, list(header), bold)
        for i, row in enumerate(rows, start=1):
            sheet.write_row(i, 0, list(row))
    finally:
        book.close()


def chunks(title: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[bytes]:
    """The .xlsx file's bytes, CHUNK at a time (blocking: run it on a thread)."""
    with tempfile.TemporaryDirectory(prefix="rcs-dwh-xlsx-") as tmp:
        path = os.path.join(tmp, "report.xlsx")
        write(path, title, header, rows)
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk
