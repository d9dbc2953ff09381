"""Report workbooks (.xlsx) written row by row with xlsxwriter in constant-memory mode:
each row goes to a temporary file as it is written, so a million-row export keeps memory
flat. A sheet holds at most 1,048,576 rows (Excel's limit); more continue on "name (2)".

Columns have a declared kind (text, number, time) and are written with xlsxwriter's typed
writers: its generic ``write`` tests every string for formulas and URLs, which cost a
quarter of the export's CPU."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Literal

import xlsxwriter

MAX_ROWS = 1_048_576  # per sheet, the header row included
Kind = Literal["text", "number", "time"]


class ReportWorkbook:
    def __init__(self, path: str, sheet: str, columns: Sequence[tuple[str, Kind]]) -> None:
        """``columns``: (header, kind); a time is an aware datetime, written in UTC."""
        self._book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_urls": False})
        self._bold = self._book.add_format({"bold": True})
        self._time = self._book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self._sheet_name = sheet
        self._headers = [h for h, _ in columns]
        self._kinds = [k for _, k in columns]
        self._sheets = 0
        self._row = 0
        self.rows = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        self._sheets += 1
        name = self._sheet_name if self._sheets == 1 else f"{self._sheet_name} ({self._sheets})"
        ws = self._book.add_worksheet(name)
        ws.write_row(0, 0, self._headers, self._bold)
        ws.freeze_panes(1, 0)
        writers: dict[str, Callable[[int, int, Any], Any]] = {
            "text": lambda r, c, v: ws.write_string(r, c, v) if v else None,
            "number": ws.write_number,
            "time": lambda r, c, v: ws.write_datetime(
                r, c, v.astimezone(dt.UTC).replace(tzinfo=None), self._time
            ),
        }
        self._writers = [writers[k] for k in self._kinds]
        self._row = 0

    def add(self, values: Sequence[Any]) -> None:
        if self._row + 1 >= MAX_ROWS:
            self._new_sheet()
        self._row += 1
        self.rows += 1
        row = self._row
        for col, (write, value) in enumerate(zip(self._writers, values, strict=True)):
            write(row, col, value)

    def close(self) -> None:
        self._book.close()
