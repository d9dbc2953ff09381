from __future__ import annotations

import zoneinfo

import pytest

from rcs_routing.region_zones import _STEMS, zone_for_region


@pytest.mark.parametrize(
    ("region", "zone"),
    [
        ("г. Москва и Московская область", "Europe/Moscow"),
        ("Москва и Московская область", "Europe/Moscow"),
        ("г. Санкт-Петербург и Ленинградская область", "Europe/Moscow"),
        ("Нижегородская обл.", "Europe/Moscow"),
        ("Новгородская обл.", "Europe/Moscow"),
        ("Республика Татарстан", "Europe/Moscow"),
        ("Республика Крым и г. Севастополь", "Europe/Moscow"),
        ("Калининградская обл.", "Europe/Kaliningrad"),
        ("Самарская обл.", "Europe/Samara"),
        ("Удмуртская Республика", "Europe/Samara"),
        ("Астраханская обл.", "Europe/Astrakhan"),
        ("Саратовская обл.", "Europe/Saratov"),
        ("Ульяновская обл.", "Europe/Ulyanovsk"),
        ("Волгоградская обл.", "Europe/Volgograd"),
        ("Кировская обл.", "Europe/Kirov"),
        ("Свердловская обл.", "Asia/Yekaterinburg"),
        ("Челябинская обл.", "Asia/Yekaterinburg"),
        ("Республика Башкортостан", "Asia/Yekaterinburg"),
        ("Пермский край", "Asia/Yekaterinburg"),
        ("Ханты-Мансийский - Югра АО", "Asia/Yekaterinburg"),
        ("Ямало-Ненецкий АО", "Asia/Yekaterinburg"),
        ("Ненецкий АО", "Europe/Moscow"),
        ("Омская обл.", "Asia/Omsk"),
        ("Томская обл.", "Asia/Tomsk"),
        ("Новосибирская обл.", "Asia/Novosibirsk"),
        ("Новосибирская обл.|Томская обл.", "Asia/Novosibirsk"),
        ("Алтайский край", "Asia/Barnaul"),
        ("Республика Алтай", "Asia/Barnaul"),
        ("Кемеровская область - Кузбасс", "Asia/Novokuznetsk"),
        ("Красноярский край", "Asia/Krasnoyarsk"),
        ("Республика Тыва", "Asia/Krasnoyarsk"),
        ("Республика Хакасия", "Asia/Krasnoyarsk"),
        ("Иркутская обл.", "Asia/Irkutsk"),
        ("Республика Бурятия", "Asia/Irkutsk"),
        ("Забайкальский край", "Asia/Chita"),
        ("Республика Саха /Якутия/", "Asia/Yakutsk"),
        ("Амурская обл.", "Asia/Yakutsk"),
        ("Приморский край", "Asia/Vladivostok"),
        ("Хабаровский край", "Asia/Vladivostok"),
        ("Еврейская АО", "Asia/Vladivostok"),
        ("Сахалинская обл.", "Asia/Sakhalin"),
        ("Магаданская обл.", "Asia/Magadan"),
        ("Камчатский край", "Asia/Kamchatka"),
        ("Чукотский АО", "Asia/Anadyr"),
        ("р-ны Абзелиловский и Белорецкий|Республика Башкортостан", "Asia/Yekaterinburg"),
    ],
)
def test_registry_spellings_resolve(region: str, zone: str) -> None:
    assert zone_for_region(region) == zone


@pytest.mark.parametrize("region", ["Российская Федерация", "", "Atlantis", "—"])
def test_unknown_regions_fall_back_to_the_default(region: str) -> None:
    assert zone_for_region(region) is None


def test_every_zone_exists_in_tzdata() -> None:
    available = zoneinfo.available_timezones()
    assert {zone for _, zone in _STEMS} <= available
