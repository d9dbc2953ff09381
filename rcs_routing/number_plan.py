"""Parsers for the national numbering registry and for ported numbers (pure: bytes in,
rows or every bad line out; no I/O).

The registry is published as ``;``-separated text with a header row, e.g.::

    АВС/ DEF;От;До;Емкость;Оператор;Регион
    "900";"0000000";"0099999";"100000";"Пример Связь";"Озёрный край"

Newer files add columns after ``Регион`` (``ИНН``, ``Территория ГАР``, …): columns are found
by header name and extras ignored. Fields may be quoted with ``"`` or bare (a bare field may
contain quotes, as in ``ООО "Пример"``). The encoding is UTF-8 (with or without BOM) or
windows-1251: UTF-8 is tried first, since cp1251 would decode almost any bytes.

A row is a 3-digit ABC/DEF code, the first and last 7-digit local part and their capacity;
the full numbers are ``7`` + code + local part, so a row is the inclusive 11-digit range
``[7CCCFFFFFFF, 7CCCTTTTTTT]``. Parsing never stops at the first problem: it collects one
``LineError`` per bad line (ranges overlapping each other are found after sorting) so that a
file can be fixed in one pass, and raises ``BadFileError`` with all of them.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import NamedTuple

COUNTRY_CODE = "7"
LOCAL_DIGITS = 7
_SCALE = 10**LOCAL_DIGITS
_COUNTRY_BASE = int(COUNTRY_CODE) * 1000 * _SCALE  # "7" followed by code and local part


class LineError(NamedTuple):
    """One bad line; ``line_no`` counts from 1, 0 means the file as a whole."""

    line_no: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line_no}: {self.reason}" if self.line_no else self.reason


class BadFileError(ValueError):
    """The file cannot be applied; ``errors`` lists every bad line, by line number."""

    def __init__(self, errors: Sequence[LineError]) -> None:
        self.errors = tuple(sorted(errors))
        first = f"; first: {self.errors[0]}" if self.errors else ""
        super().__init__(f"{len(self.errors)} bad line(s){first}")


@dataclass(frozen=True, slots=True)
class PlanRange:
    line_no: int
    start: int  # first full number, e.g. 79000000000
    end: int  # last full number, inclusive
    operator: str
    region: str

    @property
    def direction(self) -> str:
        return direction_name(self.operator, self.region)


@dataclass(frozen=True, slots=True)
class PortedNumber:
    line_no: int
    number: int
    operator: str


def direction_name(operator: str, region: str) -> str:
    """The name of the plan direction of one (operator, region)."""
    return f"{operator} / {region}" if region else operator


def decode(data: bytes) -> tuple[str, list[LineError]]:
    """UTF-8 (a BOM is dropped), else windows-1251; lines neither can read are errors."""
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251"), []
    except UnicodeDecodeError:
        pass
    # cp1251 leaves one byte (0x98) undefined: name the lines that hold it.
    lines, errors = [], []
    for no, raw in enumerate(data.split(b"\n"), 1):
        try:
            lines.append(raw.decode("cp1251"))
        except UnicodeDecodeError:
            lines.append("")
            errors.append(LineError(no, "not valid UTF-8 or windows-1251 text"))
    return "\n".join(lines), errors


def _lines(text: str) -> list[tuple[int, str]]:
    """Numbered non-blank lines (split on \\n only: str.splitlines also splits on \\x1c…)."""
    out = []
    for no, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if line.strip():
            out.append((no, line))
    return out


def _split(line: str) -> list[str]:
    """Split one line; quoted fields are unquoted (``""`` inside is one quote), a bare field
    keeps its quotes. Raises csv.Error on an unterminated quoted field."""
    return next(csv.reader([line], delimiter=";", quotechar='"', strict=True))


def _split_all(lines: list[tuple[int, str]]) -> list[list[str] | None]:
    """Split every line; None for a line with broken quoting.

    One reader for the whole file is fast; but a quote left open would make it read on into
    the next line, so when the record count does not match the line count (or the reader
    fails), every line is split on its own and a stray quote spoils only its own line."""
    try:
        rows = list(csv.reader([line for _, line in lines], delimiter=";", strict=True))
        if len(rows) == len(lines):
            return [*rows]
    except csv.Error:
        pass
    out: list[list[str] | None] = []
    for _, line in lines:
        try:
            out.append(_split(line))
        except csv.Error:
            out.append(None)
    return out


def _header_key(name: str) -> str:
    key = name.strip().strip('"').strip().casefold().replace("ё", "е")
    return "".join(ch for ch in key if ch.isalnum())


# "АВС" is usually spelt in Cyrillic letters that look Latin.
_LOOKALIKES = str.maketrans("авсе", "abce")
_COLUMNS = {
    "code": ("abcdef", "defabc", "abc", "def", "код"),
    "first": ("от",),
    "last": ("до",),
    "capacity": ("емкость",),
    "operator": ("оператор",),
    "region": ("регион",),
}
_COLUMN_TITLES = {
    "code": "АВС/ DEF",
    "first": "От",
    "last": "До",
    "capacity": "Емкость",
    "operator": "Оператор",
    "region": "Регион",
}


def _locate_columns(header: list[str]) -> tuple[dict[str, int], list[str]]:
    keys = [_header_key(h) for h in header]
    found: dict[str, int] = {}
    for column, names in _COLUMNS.items():
        for i, key in enumerate(keys):
            if key in names or (column == "code" and key.translate(_LOOKALIKES) in names):
                found[column] = i
                break
    missing = [_COLUMN_TITLES[c] for c in _COLUMNS if c not in found]
    return found, missing


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def parse_number_plan(data: bytes) -> list[PlanRange]:
    """The ranges of a registry file, sorted by first number; raises BadFileError."""
    text, errors = decode(data)
    lines = _lines(text)
    if not lines:
        raise BadFileError([*errors, LineError(0, "the file is empty")])
    header_no, header_line = lines[0]
    try:
        header = [h.strip() for h in _split(header_line)]
    except csv.Error:
        header = []
    columns, missing = _locate_columns(header)
    if missing:
        raise BadFileError(
            [LineError(header_no, f"header lacks the column(s) {', '.join(missing)}")]
        )
    width = len(header)
    i_code, i_first, i_last = columns["code"], columns["first"], columns["last"]
    i_cap, i_op, i_region = columns["capacity"], columns["operator"], columns["region"]
    titles = _Titles(*(header[columns[c]] for c in ("code", "first", "last", "capacity")))

    ranges: list[PlanRange] = []
    for (no, _), f in zip(lines[1:], _split_all(lines[1:]), strict=True):
        if f is None:
            errors.append(LineError(no, "unbalanced quotes"))
            continue
        if len(f) != width and not (len(f) == width + 1 and not f[-1].strip()):  # "…;"
            errors.append(LineError(no, f"bad field count: expected {width}, found {len(f)}"))
            continue
        code, lo, hi = f[i_code].strip(), f[i_first].strip(), f[i_last].strip()
        cap, operator = f[i_cap].strip(), f[i_op].strip()
        digits = code + lo + hi + cap
        # The common case first, in as few steps as possible; _problems says what is wrong.
        if (
            len(code) == 3
            and 0 < len(lo) <= LOCAL_DIGITS
            and 0 < len(hi) <= LOCAL_DIGITS
            and cap
            and operator
            and digits.isdigit()
            and digits.isascii()
        ):
            first, last = int(lo), int(hi)
            if first <= last and int(cap) == last - first + 1:
                base = _COUNTRY_BASE + int(code) * _SCALE
                ranges.append(
                    PlanRange(no, base + first, base + last, operator, f[i_region].strip())
                )
                continue
        errors.append(LineError(no, _problems(titles, code, lo, hi, cap, operator)))

    ranges.sort(key=attrgetter("start", "line_no"))
    errors.extend(overlaps(ranges))
    if not ranges and not errors:
        errors.append(LineError(0, "the file has a header but no ranges"))
    if errors:
        raise BadFileError(errors)
    return ranges


class _Titles(NamedTuple):
    """The file's own column titles, for messages."""

    code: str
    first: str
    last: str
    capacity: str


def _problems(t: _Titles, code: str, lo: str, hi: str, cap: str, operator: str) -> str:
    reasons = []
    if not _digits(code):
        reasons.append(f"non-numeric {t.code}: {code!r}")
    elif len(code) != 3:
        reasons.append(f"{t.code} must have 3 digits: {code!r}")
    for title, value in ((t.first, lo), (t.last, hi)):
        if not _digits(value):
            reasons.append(f"non-numeric {title}: {value!r}")
        elif len(value) > LOCAL_DIGITS:
            reasons.append(f"{title} has more than {LOCAL_DIGITS} digits: {value!r}")
    if not _digits(cap):
        reasons.append(f"non-numeric {t.capacity}: {cap!r}")
    if not operator:
        reasons.append("empty operator")
    if not reasons:
        if int(lo) > int(hi):
            reasons.append(f"{t.first} > {t.last}: {lo} > {hi}")
        else:
            reasons.append(
                f"capacity mismatch: {t.capacity} {cap} != {t.last} - {t.first} + 1"
                f" = {int(hi) - int(lo) + 1}"
            )
    return "; ".join(reasons)


def overlaps(ordered: Sequence[PlanRange]) -> list[LineError]:
    """One error per range that overlaps an earlier one (``ordered`` sorted by start)."""
    errors = []
    reach: PlanRange | None = None  # the range reaching furthest so far
    for r in ordered:
        if reach is not None and r.start <= reach.end:
            errors.append(
                LineError(
                    r.line_no,
                    f"range {r.start}-{r.end} overlaps line {reach.line_no}"
                    f" ({reach.start}-{reach.end})",
                )
            )
        if reach is None or r.end > reach.end:
            reach = r
    return errors


def parse_ported(data: bytes) -> list[PortedNumber]:
    """``number;operator`` per line, an optional header first; raises BadFileError.

    A number is international digits (11-15, an optional ``+``); a 10-digit number is a
    Russian national one (as in the MNP registry) and gets the country code 7."""
    text, errors = decode(data)
    out: list[PortedNumber] = []
    seen: dict[int, int] = {}
    lines = _lines(text)
    for index, ((no, _), split) in enumerate(zip(lines, _split_all(lines), strict=True)):
        if split is None:
            errors.append(LineError(no, "unbalanced quotes"))
            continue
        f = [field.strip() for field in split]
        if len(f) == 3 and not f[-1]:
            f.pop()
        if index == 0 and not any(ch.isdigit() for ch in f[0]):
            continue  # the header
        if len(f) != 2:
            errors.append(LineError(no, f"bad field count: expected 2, found {len(f)}"))
            continue
        raw, operator = f[0].lstrip("+"), f[1]
        reasons = []
        if not _digits(raw):
            reasons.append(f"non-numeric number: {f[0]!r}")
        elif not 10 <= len(raw) <= 15:
            reasons.append(f"a number has 10-15 digits: {f[0]!r}")
        if not operator:
            reasons.append("empty operator")
        if reasons:
            errors.append(LineError(no, "; ".join(reasons)))
            continue
        number = int(COUNTRY_CODE + raw) if len(raw) == 10 else int(raw)
        if number in seen:
            errors.append(LineError(no, f"number {number} is already on line {seen[number]}"))
            continue
        seen[number] = no
        out.append(PortedNumber(no, number, operator))
    if not out and not errors:
        errors.append(LineError(0, "the file has no numbers"))
    if errors:
        raise BadFileError(errors)
    return out
