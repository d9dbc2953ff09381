"""The number-plan and ported-number parsers, and how the routing table uses their rows:
a plan range beats a shorter prefix, a ported number changes the operator."""

from __future__ import annotations

from pathlib import Path

import pytest

from rcs_routing.number_plan import (
    BadFileError,
    LineError,
    PlanRange,
    parse_number_plan,
    parse_ported,
)
from rcs_routing.table import Direction, RoutingTable

FIXTURES = Path(__file__).parents[2] / "fixtures" / "number_plan"
HEADER = "АВС/ DEF;От;До;Емкость;Оператор;Регион"
POLAR = 'ООО "Полярная Связь"'
TUNDRA = 'АО "Тундра Телеком"'


def errors_of(data: bytes) -> list[LineError]:
    with pytest.raises(BadFileError) as caught:
        parse_number_plan(data)
    return list(caught.value.errors)


def plan(*rows: str, header: str = HEADER) -> bytes:
    return "\n".join([header, *rows]).encode()


# -- parser: good files ----------------------------------------------------------------------


def test_utf8_file_with_bom_and_quoted_fields_gives_11_digit_ranges() -> None:
    ranges = parse_number_plan((FIXTURES / "DEF-9xx.csv").read_bytes())
    assert len(ranges) == 30
    assert ranges[0] == PlanRange(2, 79000000000, 79000999999, POLAR, "Озёрный край")
    assert ranges[0].direction == 'ООО "Полярная Связь" / Озёрный край'
    assert ranges[-1].end == 79029999999
    assert [r.start for r in ranges] == sorted(r.start for r in ranges)


def test_windows_1251_file_with_extra_columns_and_bare_quotes_in_names() -> None:
    data = (FIXTURES / "ABC-3xx.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the fixture really is windows-1251
    ranges = parse_number_plan(data)
    assert len(ranges) == 10
    assert ranges[0] == PlanRange(2, 73010000000, 73010099999, TUNDRA, "Горная область")
    assert {r.region for r in ranges} == {
        "Горная область",
        "Республика Туманная",
        "Ветреный автономный округ",
    }


def test_utf8_without_bom_unquoted_with_trailing_semicolon_and_blank_lines() -> None:
    data = plan("", "912;0000000;0000099;100;Озеро-Мобайл;Край Тишины;", "").replace(b"\n", b"\r\n")
    assert parse_number_plan(data) == [
        PlanRange(3, 79120000000, 79120000099, "Озеро-Мобайл", "Край Тишины")
    ]


def test_columns_are_found_by_header_name_in_any_order() -> None:
    header = '"Регион";"ИНН";"Оператор";"Емкость";"До";"От";"ABC/DEF";"Территория ГАР"'
    data = plan('"Край";"1";"Оп";"10";"0000019";"0000010";"495";"г.о. Икс"', header=header)
    assert parse_number_plan(data) == [PlanRange(2, 74950000010, 74950000019, "Оп", "Край")]


def test_short_local_parts_are_zero_padded() -> None:
    (r,) = parse_number_plan(plan("900;5;9;5;Оп;Край"))
    assert (r.start, r.end) == (79000000005, 79000000009)


# -- parser: bad files -----------------------------------------------------------------------


def test_every_bad_line_is_reported_with_its_number_and_reason() -> None:
    errors = errors_of((FIXTURES / "bad.csv").read_bytes())
    assert errors == [
        LineError(3, "bad field count: expected 6, found 5"),
        LineError(4, "non-numeric От: '20a0000'"),
        LineError(5, "От > До: 3999999 > 3000000"),
        LineError(6, "capacity mismatch: Емкость 999999 != До - От + 1 = 1000000"),
        LineError(7, "empty operator"),
        LineError(9, "range 79500500000-79500500999 overlaps line 2 (79500000000-79500999999)"),
        LineError(10, "АВС/ DEF must have 3 digits: '95'"),
        LineError(11, "unbalanced quotes"),
    ]


def test_overlaps_are_found_after_sorting_whatever_the_file_order() -> None:
    errors = errors_of(
        plan(
            "900;0000500;0000599;100;B;R",  # line 2: inside line 4's range
            "901;0000000;0000009;10;C;R",
            "900;0000000;0000999;1000;A;R",  # line 4
            "900;0000999;0000999;1;D;R",  # line 5: touches line 4's last number
            "901;0000000;0000009;10;C;R",  # line 6: duplicate of line 3
        )
    )
    assert [(e.line_no, e.reason.split(" overlaps ")[1]) for e in errors] == [
        (2, "line 4 (79000000000-79000000999)"),
        (5, "line 4 (79000000000-79000000999)"),
        (6, "line 3 (79010000000-79010000009)"),
    ]


def test_one_line_with_several_problems_gets_them_all() -> None:
    (e,) = errors_of(plan("9x0;12345678;00a;1;;R"))
    assert e.line_no == 2
    assert e.reason == (
        "non-numeric АВС/ DEF: '9x0'; От has more than 7 digits: '12345678';"
        " non-numeric До: '00a'; empty operator"
    )


def test_missing_header_columns_are_named() -> None:
    assert errors_of(b"900;0000000;0000009;10;A;R\n") == [
        LineError(1, "header lacks the column(s) АВС/ DEF, От, До, Емкость, Оператор, Регион")
    ]
    assert errors_of("АВС/ DEF;От;До;Оператор\n".encode()) == [
        LineError(1, "header lacks the column(s) Емкость, Регион")
    ]


def test_empty_file_and_header_only_are_refused() -> None:
    assert errors_of(b"") == [LineError(0, "the file is empty")]
    assert errors_of(plan()) == [LineError(0, "the file has a header but no ranges")]


def test_bytes_neither_utf8_nor_cp1251_name_their_line() -> None:
    data = HEADER.encode("cp1251") + b"\n900;0000000;0000009;10;A\x98;R\n"
    assert errors_of(data) == [LineError(2, "not valid UTF-8 or windows-1251 text")]


def test_line_error_prints_its_line_number() -> None:
    assert str(LineError(7, "empty operator")) == "line 7: empty operator"
    assert str(LineError(0, "the file is empty")) == "the file is empty"


# -- ported numbers --------------------------------------------------------------------------


def test_ported_file_with_optional_header_and_national_numbers() -> None:
    with_header = parse_ported("number;operator\n79001234567;Оп\n+9001234568;Оп2\n".encode())
    without = parse_ported("79001234567;Оп\n9001234568;Оп2;\n".encode())
    for rows in (with_header, without):
        assert [(n.number, n.operator) for n in rows] == [
            (79001234567, "Оп"),
            (79001234568, "Оп2"),
        ]
    assert with_header[0].line_no == 2
    assert without[0].line_no == 1


def test_ported_bad_lines_are_all_reported() -> None:
    with pytest.raises(BadFileError) as caught:
        parse_ported(b"79001234567;A\n7900123456x;A\n79001234567;B\n123;A\n79001234560;\n1;2;3\n")
    assert list(caught.value.errors) == [
        LineError(2, "non-numeric number: '7900123456x'"),
        LineError(3, "number 79001234567 is already on line 1"),
        LineError(4, "a number has 10-15 digits: '123'"),
        LineError(5, "empty operator"),
        LineError(6, "bad field count: expected 2, found 3"),
    ]


# -- routing table: precedence and ported numbers --------------------------------------------

RU = Direction("Russia", "Demo")
MSK = Direction("Moscow hand-made", "Demo")
POLAR_LAKE = Direction("Polar / Lake", "Polar", "Lake")
TUNDRA_LAKE = Direction("Tundra / Lake", "Tundra", "Lake")
TUNDRA_HILL = Direction("Tundra / Hill", "Tundra", "Hill")


def routing(
    *,
    prefixes: list[tuple[str, Direction]] | None = None,
    ported: tuple[tuple[str, str], ...] = (),
) -> RoutingTable:
    return RoutingTable(
        revision=5,
        prefixes=prefixes if prefixes is not None else [("7", RU), ("7916", MSK)],
        ranges=[
            (79160000000, 79160999999, POLAR_LAKE),
            (79161000000, 79161999999, TUNDRA_LAKE),
            (73010000000, 73010099999, TUNDRA_HILL),
        ],
        interfaces_by_operator={"Demo": ["demo-1"], "Polar": ["polar-1"], "Tundra": ["tundra-1"]},
        ported=ported,
    )


def test_a_plan_range_beats_any_shorter_prefix() -> None:
    t = routing()
    d = t.resolve("79160001234", "S")
    assert (d.direction, d.operator, d.interface_id) == ("Polar / Lake", "Polar", "polar-1")
    assert t.direction_of("79160001234")[1] == "range 79160000000-79160999999"
    assert t.resolve("79169990000", "S").direction == "Moscow hand-made"  # no range: prefix
    assert t.resolve("79031234567", "S").direction == "Russia"


def test_an_11_digit_prefix_beats_a_range() -> None:
    exact = Direction("one number", "Demo")
    t = routing(prefixes=[("7", RU), ("79160001234", exact)])
    assert t.resolve("79160001234", "S").direction == "one number"
    assert t.resolve("79160001235", "S").direction == "Polar / Lake"


def test_ported_number_keeps_its_range_direction_with_the_recipient_operator() -> None:
    t = routing(ported=(("73010000001", "Polar"),))  # Polar has no direction in Hill
    d = t.resolve("73010000001", "S")
    assert (d.direction, d.operator, d.interface_id) == ("Tundra / Hill", "Polar", "polar-1")
    assert t.resolve("73010000002", "S").operator == "Tundra"


def test_ported_number_takes_the_recipients_own_direction_in_the_same_region() -> None:
    t = routing(ported=(("79160001234", "Tundra"),))
    d = t.resolve("79160001234", "S", explain=True)
    assert (d.direction, d.operator, d.interface_id) == ("Tundra / Lake", "Tundra", "tundra-1")
    assert d.steps[0] == (
        "direction Tundra / Lake matched by ported number"
        " (operator Tundra; range 79160000000-79160999999)"
    )


def test_ported_number_outside_every_range_still_routes_to_its_operator() -> None:
    t = routing(prefixes=[], ported=(("4915112345678", "Tundra"),))
    d = t.resolve("4915112345678", "S")
    assert (d.found, d.direction, d.operator) == (True, "ported to Tundra", "Tundra")


def test_number_ported_back_to_the_range_operator_is_unchanged() -> None:
    t = routing(ported=(("79160001234", "Polar"),))
    assert t.direction_of("79160001234") == (POLAR_LAKE, "range 79160000000-79160999999")


def test_a_range_spanning_digit_counts_covers_numbers_of_each_length() -> None:
    wide = Direction("wide", "Demo")
    t = RoutingTable(
        revision=1,
        prefixes=[],
        ranges=[(9_999_999_990, 10_000_000_005, wide)],
        interfaces_by_operator={"Demo": ["demo-1"]},
    )
    assert t.direction_of("9999999995")[0] == wide
    assert t.direction_of("10000000001")[0] == wide
    assert t.direction_of("10000000006") == (None, "")
