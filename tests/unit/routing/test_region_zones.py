from __future__ import annotations

import zoneinfo

import pytest

from rcs_routing.region_zones import _STEMS, zone_for_region

MSK = "Europe/Moscow"
EKB = "Asia/Yekaterinburg"
KRS = "Asia/Krasnoyarsk"


# Every federal subject, in registry spellings (and their variants between files).
@pytest.mark.parametrize(
    ("region", "zone"),
    [
        # federal cities, and the registry's joined values
        ("г. Москва и Московская область", MSK),
        ("Москва и Московская область", MSK),
        ("г.Москва", MSK),
        ("Московская обл.", MSK),
        ("г. Санкт-Петербург и Ленинградская область", MSK),
        ("Санкт-Петербург", MSK),
        ("Ленинградская обл.", MSK),
        ("Республика Крым и г. Севастополь", "Europe/Simferopol"),
        ("Республика Крым", "Europe/Simferopol"),
        ("г. Севастополь", "Europe/Simferopol"),
        # UTC+2
        ("Калининградская обл.", "Europe/Kaliningrad"),
        # UTC+3: Central, North-West, South, North Caucasus, Volga
        ("Белгородская обл.", MSK),
        ("Брянская обл.", MSK),
        ("Владимирская область", MSK),
        ("Воронежская обл.", MSK),
        ("Ивановская обл.", MSK),
        ("Калужская обл.", MSK),
        ("Костромская обл.", MSK),
        ("Курская обл.", MSK),
        ("Липецкая обл.", MSK),
        ("Орловская обл.", MSK),
        ("Рязанская обл.", MSK),
        ("Смоленская обл.", MSK),
        ("Тамбовская обл.", MSK),
        ("Тверская обл.", MSK),
        ("Тульская обл.", MSK),
        ("Ярославская обл.", MSK),
        ("Архангельская обл.", MSK),
        ("Архангельская область и Ненецкий автономный округ", MSK),
        ("Вологодская обл.", MSK),
        ("Мурманская обл.", MSK),
        ("Новгородская обл.", MSK),
        ("Псковская обл.", MSK),
        ("Республика Карелия", MSK),
        ("Республика Коми", MSK),
        ("Ненецкий АО", MSK),
        ("Нижегородская обл.", MSK),
        ("Республика Татарстан", MSK),
        ("Татарстан Республика", MSK),
        ("Чувашская Республика - Чувашия", MSK),
        ("Республика Марий Эл", MSK),
        ("Республика Мордовия", MSK),
        ("Пензенская обл.", MSK),
        ("Ростовская обл.", MSK),
        ("Краснодарский край", MSK),
        ("Республика Адыгея", MSK),
        ("Республика Калмыкия", MSK),
        ("Ставропольский край", MSK),
        ("Республика Дагестан", MSK),
        ("Чеченская Республика", MSK),
        ("Республика Ингушетия", MSK),
        ("Кабардино-Балкарская Республика", MSK),
        ("Карачаево-Черкесская Республика", MSK),
        ("Республика Северная Осетия - Алания", MSK),
        ("Донецкая Народная Республика", MSK),
        ("ДНР", MSK),
        ("Луганская Народная Республика", MSK),
        ("Запорожская обл.", MSK),
        ("Херсонская обл.", MSK),
        ("Волгоградская обл.", "Europe/Volgograd"),
        ("Кировская обл.", "Europe/Kirov"),
        # UTC+4
        ("Самарская обл.", "Europe/Samara"),
        ("Удмуртская Республика", "Europe/Samara"),
        ("Астраханская обл.", "Europe/Astrakhan"),
        ("Саратовская обл.", "Europe/Saratov"),
        ("Ульяновская обл.", "Europe/Ulyanovsk"),
        # UTC+5
        ("Свердловская обл.", EKB),
        ("Челябинская обл.", EKB),
        ("Башкортостан", EKB),
        ("Республика Башкортостан", EKB),
        ("Оренбургская обл.", EKB),
        ("Пермский край", EKB),
        ("Тюменская обл.", EKB),
        ("Курганская обл.", EKB),
        ("Ханты-Мансийский - Югра АО", EKB),
        ("Ханты-Мансийский автономный округ - Югра", EKB),
        ("Ямало-Ненецкий АО", EKB),
        ("Ямало-Ненецкий автономный округ", EKB),
        # UTC+6
        ("Омская обл.", "Asia/Omsk"),
        # UTC+7
        ("Новосибирская обл.", "Asia/Novosibirsk"),
        ("Новосибирская область", "Asia/Novosibirsk"),
        ("Томская обл.", "Asia/Tomsk"),
        ("Алтайский край", "Asia/Barnaul"),
        ("Республика Алтай", "Asia/Barnaul"),
        ("Кемеровская область - Кузбасс", "Asia/Novokuznetsk"),
        ("Кемеровская обл.", "Asia/Novokuznetsk"),
        ("Красноярский край", KRS),
        ("Республика Тыва", KRS),
        ("Республика Хакасия", KRS),
        # UTC+8
        ("Иркутская обл.", "Asia/Irkutsk"),
        ("Республика Бурятия", "Asia/Irkutsk"),
        # UTC+9
        ("Забайкальский край", "Asia/Chita"),
        ("Республика Саха /Якутия/", "Asia/Yakutsk"),
        ("Республика Саха (Якутия)", "Asia/Yakutsk"),
        ("Амурская обл.", "Asia/Yakutsk"),
        # UTC+10
        ("Приморский край", "Asia/Vladivostok"),
        ("Хабаровский край", "Asia/Vladivostok"),
        ("Еврейская АО", "Asia/Vladivostok"),
        ("Еврейская автономная область", "Asia/Vladivostok"),
        # UTC+11, UTC+12
        ("Сахалинская обл.", "Asia/Sakhalin"),
        ("Магаданская обл.", "Asia/Magadan"),
        ("Камчатский край", "Asia/Kamchatka"),
        ("Чукотский АО", "Asia/Anadyr"),
        ("Чукотский автономный округ", "Asia/Anadyr"),
    ],
)
def test_every_subject_resolves(region: str, zone: str) -> None:
    assert zone_for_region(region) == zone


# Stems that contain or share words with another subject's, compound values, district text.
@pytest.mark.parametrize(
    ("region", "zone"),
    [
        ("Новосибирская обл.|Томская обл.", "Asia/Novosibirsk"),
        ("Томская обл.|Новосибирская обл.", "Asia/Tomsk"),
        ("Российская Федерация|Омская обл.", "Asia/Omsk"),
        ("р-ны Абзелиловский и Белорецкий|Республика Башкортостан", EKB),
        ("г. Кировск|Мурманская обл.", MSK),
        ("Приморско-Ахтарский р-н|Краснодарский край", MSK),
        ("Курганинский р-н|Краснодарский край", MSK),
        ("Красноярский р-н|Самарская обл.", "Europe/Samara"),
        ("р-н Приморский|Архангельская обл.", MSK),
        ("г. Нижний Новгород", MSK),
        ("Коми-Пермяцкий АО", EKB),
        ("Агинский Бурятский АО", "Asia/Chita"),
        ("Таймырский (Долгано-Ненецкий) АО", KRS),
        ("Читинская обл.", "Asia/Chita"),
        ("ЁЛКИ|Ставропольский край", MSK),
    ],
)
def test_tricky_spellings(region: str, zone: str) -> None:
    assert zone_for_region(region) == zone


@pytest.mark.parametrize(
    "region", ["Российская Федерация", "", "Atlantis", "—", "р-н Белорецкий", "г. Урюпинск"]
)
def test_unknown_regions_fall_back_to_the_default(region: str) -> None:
    assert zone_for_region(region) is None


def test_every_zone_exists_in_tzdata() -> None:
    available = zoneinfo.available_timezones()
    assert {zone for _, zone in _STEMS} <= available


def test_no_stem_hides_a_later_one_of_another_zone() -> None:
    """A word starting with a later stem also starts with an earlier, shorter one: the
    later would never be reached."""
    for i, (early, early_zone) in enumerate(_STEMS):
        for late, late_zone in _STEMS[i + 1 :]:
            assert not (late.startswith(early) and late_zone != early_zone), (early, late)


def test_stems_are_normalised_and_unique() -> None:
    stems = [stem for stem, _ in _STEMS]
    assert len(stems) == len(set(stems))
    assert all(stem == stem.lower() and "ё" not in stem and stem.isalpha() for stem in stems)
