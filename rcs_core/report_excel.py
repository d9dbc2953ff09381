"""Report workbooks (.xlsx) written row by row with xlsxwriter in constant-memory mode:
each row goes to a temporary file as it is written, so a million-row export keeps memory
flat. A sheet holds at most 1,048,576 rows (Excel's limit); more continue on "name (2)"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import xlsxwriter

MAX_ROWS = 1_048_576  # per sheet, the header row included


class ReportWorkbook:
    def __init__(
        self, path: str, sheet: str, headers: Sequence[str], *, time_columns: Sequence[int] = ()
    ) -> None:
        """``time_columns``: indexes of columns holding aware datetimes, written in UTC."""
        self._book = xlsxwriter.Workbook(path, {"constant_memory": True})
        self._bold = self._book.add_format({"bold": True})
        self._time = self._book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self._sheet_name = sheet
        self._headers = list(headers)
        self._time_columns = frozenset(time_columns)
        self._sheets = 0
        self._row = MAX_ROWS  # starts the first sheet on the first add
        self.rows = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        self._sheets += 1
        name = self._sheet_name if self._sheets == 1 else f"{self._sheet_name} ({self._sheets})"
        self._ws = self._book.add_worksheet(name)
        self._ws.write_row(0, 0, self._headers, self._bold)
        self._ws.freeze_panes(1, 0)
        self._row = 0

    def add(self, values: Sequence[Any]) -> None:
        if self._row + 1 >= MAX_ROWS:
            self._new_sheet()
        self._row += 1
        self.rows += 1
        for col, value in enumerate(values):
            if col in self._time_columns and isinstance(value, dt.datetime):
                naive = value.astimezone(dt.UTC).replace(tzinfo=None)
                self._ws.write_datetime(self._row, col, naive, self._time)
            else:
                self._ws.write(self._row, col, value)

    def close(self) -> None:
        self._book.close()
