"""Rapporto's FTP file formats (ftp_file_require.rst, ftp_sms_no_id.rst, ftp_sms_id.rst,
ftp_blacklist.rst), read as streams: a header of ``key: value`` lines, an empty line, then
``;``-separated lines whose texts may be quoted (``"a;b""c"`` is ``a;b"c``, and a quoted
text may hold line breaks). Pure: no network, no core.

Anything the docs do not allow to be skipped line by line (an empty file, a bad header, a
wrong encoding, a line without text, a text over 2000 characters) is ``FileRejectedError`` with
the description the ``.report`` gets: the whole file is refused (Fail).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import IO

MAX_TEXT_CHARS = 2000
MAX_ID_CHARS = 64
MAX_NOTE_CHARS = 255
CHUNK = 1 << 20
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Characters no text file of these formats holds: they mean another encoding (UTF-16, …).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# windows-1251 leaves 0x98 undefined; Python's codec refuses it, as we do.
CP1251 = "cp1251"
UTF8 = "utf-8"


class FileRejectedError(Exception):
    """The whole file is refused; ``description`` goes into its .report (Russian, as the
    report's other texts)."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class Kind(Enum):
    S = "S"  # a mailing (ftp_sms_no_id.rst)
    SID = "SID"  # a mailing with the partner's ids (ftp_sms_id.rst)
    B = "B"  # black list entries (ftp_blacklist.rst)


def kind_of(name: str) -> Kind | None:
    """The operation a file's name asks for: its first letter (SID before S)."""
    if name.startswith("SID"):
        return Kind.SID
    if name.startswith("S"):
        return Kind.S
    if name.startswith("B"):
        return Kind.B
    return None


@dataclass(frozen=True, slots=True)
class Sniffed:
    encoding: str
    sha256: str
    size: int


def sniff(path: Path, *, utf8_allowed: bool) -> Sniffed:
    """The file's encoding (UTF-8 if it decodes so, else windows-1251) and content hash,
    in one constant-memory read; FileRejectedError for an empty file or one in neither."""
    digest = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder(UTF8)()
    is_utf8, non_ascii, size = True, False, 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            size += len(chunk)
            digest.update(chunk)
            if b"\x00" in chunk:
                raise FileRejectedError(_WRONG_ENCODING)
            if not non_ascii and not chunk.isascii():
                non_ascii = True
            if is_utf8:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    is_utf8 = False
        if is_utf8:
            try:
                utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                is_utf8 = False
    if size == 0 or (size <= 3 and path.read_bytes() in (b"", codecs.BOM_UTF8)):
        raise FileRejectedError("файл пуст")
    if is_utf8 and non_ascii and not utf8_allowed:
        raise FileRejectedError(
            "файл черного списка должен быть в кодировке Windows-1251, а не UTF-8"
        )
    encoding = "utf-8-sig" if is_utf8 else CP1251
    if not is_utf8:
        with path.open("rb") as f:
            decoder = codecs.getincrementaldecoder(CP1251)()
            try:
                while chunk := f.read(CHUNK):
                    decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise FileRejectedError(_WRONG_ENCODING) from exc
    return Sniffed(encoding, digest.hexdigest(), size)


_WRONG_ENCODING = "неверная кодировка файла: допустимы Windows-1251 и UTF-8"


class _Lines:
    """The decoded file: header lines first, then ``;``-separated records."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.line_no = 0

    def header(self) -> dict[str, str]:
        params: dict[str, str] = {}
        while True:
            raw = self._stream.readline()
            if raw == "":
                raise FileRejectedError(
                    "нет пустой строки между параметрами и списком номеров"
                    if params
                    else "файл пуст"
                )
            self.line_no += 1
            line = raw.rstrip("\r\n")
            if not line.strip():
                if not params:
                    raise FileRejectedError("нет параметров в начале файла")
                return params
            _check_chars(line, self.line_no)
            key, sep, value = line.partition(":")
            key = key.strip().lower()
            if not sep or not key:
                raise FileRejectedError(
                    f"строка {self.line_no}: параметр должен иметь вид «имя: значение»"
                )
            if key in params:
                raise FileRejectedError(f"строка {self.line_no}: параметр {key} указан дважды")
            params[key] = value.strip()

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(line number, fields) of each non-blank record; a quoted field may span lines
        (the number is the record's first line)."""
        reader = csv.reader(
            self._stream, delimiter=";", quotechar='"', doublequote=True, strict=True
        )
        first = self.line_no
        try:
            for fields in reader:
                line = first + 1
                first = self.line_no + reader.line_num
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                yield line, fields
        except csv.Error as exc:
            raise FileRejectedError(
                f"строка {self.line_no + reader.line_num}: неверные кавычки в тексте ({exc})"
            ) from exc


def _check_chars(text: str, line: int) -> None:
    if _CONTROL.search(text):
        raise FileRejectedError(f"строка {line}: недопустимые управляющие символы")


def _open(path: Path, encoding: str) -> IO[str]:
    return io.TextIOWrapper(path.open("rb"), encoding=encoding, newline="")


# -- mailings (S, SID) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MailingHeader:
    name: str
    service_number: str
    date_start: dt.date | None
    auto_start: bool
    window: tuple[int, int] | None  # minutes after midnight
    use_timediff: bool


@dataclass(frozen=True, slots=True)
class Line:
    line: int
    number: str
    text: str
    external_id: str = ""


_MAILING_KEYS = {
    "name",
    "service_number",
    "date_start",
    "auto_start",
    "time_begin",
    "time_end",
    "use_timediff",
}


def _yes_no(params: dict[str, str], key: str) -> bool:
    value = params.get(key, "N").strip().upper() or "N"
    if value not in ("Y", "N"):
        raise FileRejectedError(f"параметр {key}: допустимы Y или N, а не «{params[key]}»")
    return value == "Y"


def _minutes(params: dict[str, str], key: str) -> int | None:
    value = params.get(key, "")
    if not value:
        return None
    m = _HHMM.fullmatch(value)
    if m is None:
        raise FileRejectedError(f"параметр {key}: время в формате hh:mm, а не «{value}»")
    return int(m.group(1)) * 60 + int(m.group(2))


def mailing_header(params: dict[str, str]) -> MailingHeader:
    unknown = sorted(set(params) - _MAILING_KEYS)
    if unknown:
        raise FileRejectedError(f"неизвестный параметр: {', '.join(unknown)}")
    for key in ("name", "service_number"):
        if not params.get(key):
            raise FileRejectedError(f"не указан обязательный параметр {key}")
    date_start: dt.date | None = None
    if params.get("date_start"):
        try:
            if not _DATE.fullmatch(params["date_start"]):
                raise ValueError
            date_start = dt.date.fromisoformat(params["date_start"])
        except ValueError as exc:
            raise FileRejectedError(
                f"параметр date_start: дата в формате YYYY-MM-DD, а не «{params['date_start']}»"
            ) from exc
    begin, end = _minutes(params, "time_begin"), _minutes(params, "time_end")
    window: tuple[int, int] | None = None
    if begin is not None or end is not None:
        window = (begin or 0, end or 24 * 60)
        if window[0] == window[1]:
            raise FileRejectedError("time_begin и time_end совпадают")
    return MailingHeader(
        name=params["name"],
        service_number=params["service_number"],
        date_start=date_start,
        auto_start=_yes_no(params, "auto_start"),
        window=window,
        use_timediff=_yes_no(params, "use_timediff"),
    )


class MailingFile:
    """An S or SID file: ``header`` at once, then ``lines()`` streamed."""

    def __init__(self, path: Path, kind: Kind, encoding: str) -> None:
        self._stream = _open(path, encoding)
        self._lines = _Lines(self._stream)
        self.kind = kind
        try:
            self.header = mailing_header(self._lines.header())
        except BaseException:
            self._stream.close()
            raise

    def close(self) -> None:
        self._stream.close()

    def lines(self) -> Iterator[Line]:
        with_id = self.kind is Kind.SID
        count = 0
        for line, fields in self._lines.records():
            count += 1
            yield _mailing_line(line, fields, with_id=with_id)
        if count == 0:
            raise FileRejectedError("в файле нет ни одной строки с номером")


def _mailing_line(line: int, fields: list[str], *, with_id: bool) -> Line:
    need = 3 if with_id else 2
    if len(fields) < need:
        shape = "идентификатор;номер;текст" if with_id else "номер;текст"
        raise FileRejectedError(f"строка {line}: ожидается «{shape}»")
    external_id = fields[0].strip() if with_id else ""
    number = fields[need - 2].strip()
    # An unquoted text with ";" in it: its pieces are the text, separators kept.
    text = ";".join(fields[need - 1 :])
    if with_id and not 0 < len(external_id) <= MAX_ID_CHARS:
        raise FileRejectedError(f"строка {line}: идентификатор от 1 до {MAX_ID_CHARS} символов")
    if not text.strip():
        raise FileRejectedError(f"строка {line}: нет текста сообщения")
    if len(text) > MAX_TEXT_CHARS:
        raise FileRejectedError(
            f"строка {line}: текст длиннее {MAX_TEXT_CHARS} символов ({len(text)})"
        )
    if "\x00" in text:
        raise FileRejectedError(_WRONG_ENCODING)
    return Line(line, number, text, external_id)


# -- black list (B) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlacklistLine:
    line: int
    number: str
    remove_from_mailings: bool
    note: str


class BlacklistFile:
    def __init__(self, path: Path, encoding: str) -> None:
        self._stream = _open(path, encoding)
        self._lines = _Lines(self._stream)
        try:
            self._check_header(self._lines.header())
        except BaseException:
            self._stream.close()
            raise

    @staticmethod
    def _check_header(params: dict[str, str]) -> None:
        unknown = sorted(set(params) - {"list_type"})
        if unknown:
            raise FileRejectedError(f"неизвестный параметр: {', '.join(unknown)}")
        if params.get("list_type", "").upper() != "I":
            raise FileRejectedError(
                "параметр list_type: допустим только I (индивидуальный список),"
                f" а не «{params.get('list_type', '')}»"
            )

    def close(self) -> None:
        self._stream.close()

    def lines(self) -> Iterator[BlacklistLine]:
        count = 0
        for line, fields in self._lines.records():
            count += 1
            if len(fields) < 2:
                raise FileRejectedError(f"строка {line}: ожидается «номер;Y/N;примечание»")
            flag = fields[1].strip().upper()
            if flag not in ("Y", "N"):
                raise FileRejectedError(f"строка {line}: второе поле Y или N, а не «{fields[1]}»")
            note = ";".join(fields[2:]).strip()
            if len(note) > MAX_NOTE_CHARS:
                raise FileRejectedError(
                    f"строка {line}: примечание длиннее {MAX_NOTE_CHARS} символов"
                )
            yield BlacklistLine(line, fields[0].strip(), flag == "Y", note)
        if count == 0:
            raise FileRejectedError("в файле нет ни одной строки с номером")
