"""The time zone of a Russian numbering-registry region (the `Регион` column of the
DEF/ABC files), for allowed-hours checks in the subscriber's local time.

The registry spells regions inconsistently ("г. Москва и Московская область", "Новосибирская
обл.", "Республика Саха /Якутия/", "Ханты-Мансийский - Югра АО", compound "A|B" values), so
regions are matched by a distinctive stem of each federal subject rather than by exact
name. Zones are the IANA ones of tzdata (Federal Law 107-FZ time zones as of 2020+).
An operator can pin any region to a zone in the settings (`region_time_zones`), which
takes precedence over this table.
"""

from __future__ import annotations

import functools
import re

# (stem, zone), tried in order: a stem that is part of another's wording comes after the
# longer one (e.g. "нижегородск" before "новгородск", "ямало" before "ненецк").
_STEMS: tuple[tuple[str, str], ...] = (
    # UTC+2
    ("калининград", "Europe/Kaliningrad"),
    # UTC+4 (own tz names where tzdata has them)
    ("астрахан", "Europe/Astrakhan"),
    ("саратов", "Europe/Saratov"),
    ("ульяновск", "Europe/Ulyanovsk"),
    ("самар", "Europe/Samara"),
    ("удмурт", "Europe/Samara"),
    # UTC+3 exceptions first where a UTC+3 stem could be mistaken
    ("волгоград", "Europe/Volgograd"),
    ("киров", "Europe/Kirov"),
    # UTC+5
    ("ямало", "Asia/Yekaterinburg"),
    ("ханты", "Asia/Yekaterinburg"),
    ("югра", "Asia/Yekaterinburg"),
    ("свердловск", "Asia/Yekaterinburg"),
    ("екатеринбург", "Asia/Yekaterinburg"),
    ("челябинск", "Asia/Yekaterinburg"),
    ("башкор", "Asia/Yekaterinburg"),
    ("башкир", "Asia/Yekaterinburg"),
    ("оренбург", "Asia/Yekaterinburg"),
    ("пермск", "Asia/Yekaterinburg"),
    ("пермь", "Asia/Yekaterinburg"),
    ("тюмен", "Asia/Yekaterinburg"),
    ("курган", "Asia/Yekaterinburg"),
    # UTC+6
    ("омск", "Asia/Omsk"),  # after nothing that contains it: "томск" is matched first below
    # UTC+7
    ("новосибирск", "Asia/Novosibirsk"),
    ("алтай", "Asia/Barnaul"),  # Altai Krai and the Altai Republic
    ("барнаул", "Asia/Barnaul"),
    ("кемеров", "Asia/Novokuznetsk"),
    ("кузбасс", "Asia/Novokuznetsk"),
    ("красноярск", "Asia/Krasnoyarsk"),
    ("тыва", "Asia/Krasnoyarsk"),
    ("тува", "Asia/Krasnoyarsk"),
    ("хакас", "Asia/Krasnoyarsk"),
    # UTC+8
    ("иркутск", "Asia/Irkutsk"),
    ("бурят", "Asia/Irkutsk"),
    # UTC+9
    ("забайкал", "Asia/Chita"),
    ("чита", "Asia/Chita"),
    ("сахалин", "Asia/Sakhalin"),  # before "саха", which it contains
    ("саха", "Asia/Yakutsk"),
    ("якут", "Asia/Yakutsk"),
    ("амурск", "Asia/Yakutsk"),
    # UTC+10
    ("приморск", "Asia/Vladivostok"),
    ("владивосток", "Asia/Vladivostok"),
    ("хабаровск", "Asia/Vladivostok"),
    ("еврейск", "Asia/Vladivostok"),
    # UTC+11
    ("магадан", "Asia/Magadan"),
    # UTC+12
    ("камчат", "Asia/Kamchatka"),
    ("чукот", "Asia/Anadyr"),
    # UTC+3: every other subject, named so that unknown text still gives None
    ("москв", "Europe/Moscow"),
    ("московск", "Europe/Moscow"),
    ("петербург", "Europe/Moscow"),
    ("ленинградск", "Europe/Moscow"),
    ("нижегородск", "Europe/Moscow"),
    ("новгородск", "Europe/Moscow"),
    ("татарстан", "Europe/Moscow"),
    ("чуваш", "Europe/Moscow"),
    ("марий", "Europe/Moscow"),
    ("мордов", "Europe/Moscow"),
    ("пензенск", "Europe/Moscow"),
    ("ростов", "Europe/Moscow"),
    ("краснодар", "Europe/Moscow"),
    ("адыге", "Europe/Moscow"),
    ("крым", "Europe/Moscow"),
    ("севастопол", "Europe/Moscow"),
    ("ставрополь", "Europe/Moscow"),
    ("дагестан", "Europe/Moscow"),
    ("чечен", "Europe/Moscow"),
    ("ингуш", "Europe/Moscow"),
    ("кабардин", "Europe/Moscow"),
    ("карачаев", "Europe/Moscow"),
    ("осетия", "Europe/Moscow"),
    ("калмык", "Europe/Moscow"),
    ("воронеж", "Europe/Moscow"),
    ("белгород", "Europe/Moscow"),
    ("курск", "Europe/Moscow"),
    ("липецк", "Europe/Moscow"),
    ("тамбов", "Europe/Moscow"),
    ("орловск", "Europe/Moscow"),
    ("брянск", "Europe/Moscow"),
    ("смоленск", "Europe/Moscow"),
    ("калужск", "Europe/Moscow"),
    ("тульск", "Europe/Moscow"),
    ("рязанск", "Europe/Moscow"),
    ("владимирск", "Europe/Moscow"),
    ("ивановск", "Europe/Moscow"),
    ("костромск", "Europe/Moscow"),
    ("ярославск", "Europe/Moscow"),
    ("тверск", "Europe/Moscow"),
    ("псковск", "Europe/Moscow"),
    ("вологодск", "Europe/Moscow"),
    ("архангельск", "Europe/Moscow"),
    ("ненецк", "Europe/Moscow"),
    ("мурманск", "Europe/Moscow"),
    ("карелия", "Europe/Moscow"),
    ("коми", "Europe/Moscow"),
    ("донецк", "Europe/Moscow"),
    ("луганск", "Europe/Moscow"),
    ("запорож", "Europe/Moscow"),
    ("херсон", "Europe/Moscow"),
)
# "томск" must beat "омск", which it contains: checked before the table.
_TOMSK = ("томск", "Asia/Tomsk")
_PARTS = re.compile(r"\|")
_NOISE = re.compile(r"[^а-яa-z]+")


def _normal(text: str) -> str:
    return _NOISE.sub(" ", text.lower().replace("ё", "е")).strip()


def _zone_of_part(part: str) -> str | None:
    words = _normal(part)
    if not words:
        return None
    if _TOMSK[0] in words:
        return _TOMSK[1]
    for stem, zone in _STEMS:
        if stem in words:
            return zone
    return None


@functools.lru_cache(maxsize=4096)
def zone_for_region(region: str) -> str | None:
    """The IANA zone of ``region``, or None (nationwide ranges, unknown text): the caller
    then uses the installation's default zone. Compound values ("A|B") take the first part
    that resolves."""
    for part in _PARTS.split(region):
        zone = _zone_of_part(part)
        if zone is not None:
            return zone
    return None
