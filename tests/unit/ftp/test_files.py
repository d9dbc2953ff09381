"""Rapporto's FTP file formats, parsed as streams (gateways/ftp/files.py) and the report
files written back (gateways/ftp/report.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gateways.ftp import files, report
from gateways.ftp.files import FileRejectedError, Kind


def mailing(
    tmp_path: Path, data: bytes, kind: Kind = Kind.S
) -> tuple[files.MailingFile, list[files.Line]]:
    path = tmp_path / "f.data"
    path.write_bytes(data)
    sniffed = files.sniff(path, utf8_allowed=True)
    f = files.MailingFile(path, kind, sniffed.encoding)
    try:
        return f, list(f.lines())
    finally:
        f.close()


def test_kind_comes_from_the_first_letters() -> None:
    assert files.kind_of("SID20191110") is Kind.SID
    assert files.kind_of("S20191110100001") is Kind.S
    assert files.kind_of("B1") is Kind.B
    assert files.kind_of("X1") is None


def test_windows_1251_header_and_quoted_texts(tmp_path: Path) -> None:
    data = (
        "name: sendout20240915\r\nservice_number: ВАШЕ_ИМЯ\r\nauto_start: Y\r\n"
        "date_start: 2030-01-02\r\ntime_begin: 09:30\r\ntime_end: 21:00\r\nuse_timediff: Y\r\n"
        '\r\n79031234567;сообщение\r\n\r\n79031234568;"a;b ""c""\r\nd"\r\n79031234569;x;y\r\n'
    ).encode("cp1251")
    f, lines = mailing(tmp_path, data)
    assert f.header == files.MailingHeader(
        name="sendout20240915",
        service_number="ВАШЕ_ИМЯ",
        date_start=dt.date(2030, 1, 2),
        auto_start=True,
        window=(570, 1260),
        use_timediff=True,
    )
    assert [(x.line, x.number, x.text) for x in lines] == [
        (9, "79031234567", "сообщение"),
        (11, "79031234568", 'a;b "c"\r\nd'),
        (13, "79031234569", "x;y"),
    ]


def test_utf8_with_bom_and_sid_ids(tmp_path: Path) -> None:
    data = "\ufeffname: n\nservice_number: RCS\n\n272344713;79036533935;текст\n".encode()
    _, lines = mailing(tmp_path, data, Kind.SID)
    assert lines == [files.Line(4, "79036533935", "текст", "272344713")]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "файл пуст"),
        (b"\xef\xbb\xbf", "файл пуст"),
        (
            "name: n\n\n1;t\n".encode("utf-16"),
            "неверная кодировка файла: допустимы Windows-1251 и UTF-8",
        ),
        (
            b"name: n\nservice_number: S\n\x98\n",
            "неверная кодировка файла: допустимы Windows-1251 и UTF-8",
        ),
        (b"name: n\nservice_number: S\n", "нет пустой строки между параметрами и списком номеров"),
        (b"name: n\nservice_number: S\n\n", "в файле нет ни одной строки с номером"),
        (b"name n\n\n7916;t\n", "строка 1: параметр должен иметь вид «имя: значение»"),
        (b"name: a\nname: b\n\n7916;t\n", "строка 2: параметр name указан дважды"),
        (b"service_number: S\n\n7916;t\n", "не указан обязательный параметр name"),
        (
            b"name: n\nservice_number: S\ntime_begin: 25:00\n\n7916;t\n",
            "параметр time_begin: время в формате hh:mm, а не «25:00»",
        ),
        (
            b"name: n\nservice_number: S\ndate_start: 2024-13-01\n\n7916;t\n",
            "параметр date_start: дата в формате YYYY-MM-DD, а не «2024-13-01»",
        ),
        (b"name: n\nservice_number: S\n\n79161234567\n", "строка 4: ожидается «номер;текст»"),
        (b"name: n\nservice_number: S\n\n79161234567;  \n", "строка 4: нет текста сообщения"),
        (
            b"name: n\nservice_number: S\n\n79161234567;" + b"a" * 2001 + b"\n",
            "строка 4: текст длиннее 2000 символов (2001)",
        ),
    ],
)
def test_whole_file_refusals(tmp_path: Path, data: bytes, why: str) -> None:
    with pytest.raises(FileRejectedError) as err:
        mailing(tmp_path, data)
    assert err.value.description == why


def test_a_text_of_2000_characters_is_taken(tmp_path: Path) -> None:
    _, lines = mailing(
        tmp_path, b"name: n\nservice_number: S\n\n79161234567;" + b"a" * 2000 + b"\n"
    )
    assert len(lines[0].text) == 2000


def test_black_list_file(tmp_path: Path) -> None:
    path = tmp_path / "B.data"
    path.write_bytes(
        "list_type: I\r\n\r\n79036533935;Y;отказ 01.04\r\n79037537935;N;\r\n".encode("cp1251")
    )
    sniffed = files.sniff(path, utf8_allowed=False)
    assert sniffed.encoding == "cp1251"
    f = files.BlacklistFile(path, sniffed.encoding)
    assert list(f.lines()) == [
        files.BlacklistLine(3, "79036533935", True, "отказ 01.04"),
        files.BlacklistLine(4, "79037537935", False, ""),
    ]
    f.close()
    path.write_bytes(b"list_type: G\n\n7916;Y;\n")
    with pytest.raises(FileRejectedError, match="list_type"):
        files.BlacklistFile(path, "cp1251")


def test_report_bytes() -> None:
    at = dt.datetime(2026, 12, 7, 10, 20, 30)
    body = report.render(Kind.S, at, True, [report.refused_line("12", "INVALID_DESTINATION")])
    assert body == (
        "Загрузка рассылки\r\n2026-12-07 10:20:30\r\nSuccess\r\n\r\n12;неверный номер\r\n"
    ).encode("cp1251")
    assert report.render(None, at, False, ["файл пуст"]).endswith(
        "Fail\r\n\r\nфайл пуст\r\n".encode("cp1251")
    )
    assert [report.delivery_status(s) for s in range(8)] == [0, 2, 2, 3, 1, 1, 0, 3]
    assert report.delivery_line("79161234567", 3, "id-1") == "id-1;79161234567;3"
