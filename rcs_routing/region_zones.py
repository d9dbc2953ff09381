"""The time zone of a Russian numbering-registry region, for allowed-hours checks in the
subscriber's local time.

Data: the `Регион` column of the numbering registry that Rossvyaz (now Минцифры) publishes
as "ABC-3xx.csv", "ABC-4xx.csv", "ABC-8xx.csv" and "DEF-9xx.csv". Zones: tzdata (the IANA
database Debian ships), one per federal subject, as set by Federal Law 107-FZ "On the
calculation of time" and its amendments up to 2020; a subject spanning several zones
(Yakutia) gets the zone of its capital.

Why stems: the registry spells one subject many ways ("Новосибирская обл." / "Новосибирская
область", "Ханты-Мансийский - Югра АО" / "Ханты-Мансийский автономный округ - Югра",
"Республика Татарстан" / "Татарстан Республика", "Республика Саха /Якутия/", a "г." prefix),
and joins several into one value ("г. Москва и Московская область", "A|B", "р-ны X и Y|Z").
So each subject is known by a distinctive stem, matched against the start of a word of the
lower-cased text (ё→е, punctuation dropped): the start, not anywhere, so "омск" does not hit
"томская". A value is split on "|" and then on " и ", "," and ";", and the first piece
that names a subject wins; "|"-parts naming a district or town ("р-н Приморский",
"г. Кировск") are tried after the others, as a district's name may look like another
subject's ("Приморско-Ахтарский р-н|Краснодарский край" is in Krasnodar, not Primorye).

"Российская Федерация" (nationwide ranges) and anything unrecognised give None: the caller
then uses the installation's default zone. An operator can pin a region to a zone in the
settings (`region_time_zones`), which takes precedence over this table.
"""

from __future__ import annotations

import functools
import re

# (stem, zone): a word starting with the stem names the subject. Tried in order, so a stem
# that is the start of another subject's word must come after that subject's stem
# ("сахалин" before "саха"), and so must a stem sharing a compound name with a subject of
# another zone ("ямал", "таймыр" before "ненецк"; "перм" before "коми"; "агинск" before
# "бурят"). tests/unit/routing/test_region_zones.py checks that no stem hides a later one.
_STEMS: tuple[tuple[str, str], ...] = (
    # UTC+2
    ("калининград", "Europe/Kaliningrad"),
    # UTC+3
    ("москв", "Europe/Moscow"),
    ("московск", "Europe/Moscow"),
    ("санкт", "Europe/Moscow"),
    ("петербург", "Europe/Moscow"),
    ("ленинград", "Europe/Moscow"),
    ("нижегородск", "Europe/Moscow"),  # "нижний новгород" (the city) is Moscow time either way
    ("новгород", "Europe/Moscow"),
    ("белгород", "Europe/Moscow"),
    ("брянск", "Europe/Moscow"),
    ("владимирск", "Europe/Moscow"),
    ("воронеж", "Europe/Moscow"),
    ("ивановск", "Europe/Moscow"),
    ("калужск", "Europe/Moscow"),
    ("костромск", "Europe/Moscow"),
    ("курск", "Europe/Moscow"),
    ("липецк", "Europe/Moscow"),
    ("орловск", "Europe/Moscow"),
    ("рязанск", "Europe/Moscow"),
    ("смоленск", "Europe/Moscow"),
    ("тамбовск", "Europe/Moscow"),
    ("тверск", "Europe/Moscow"),
    ("тульск", "Europe/Moscow"),
    ("ярославск", "Europe/Moscow"),
    ("архангельск", "Europe/Moscow"),
    ("вологодск", "Europe/Moscow"),
    ("мурманск", "Europe/Moscow"),
    ("псковск", "Europe/Moscow"),
    ("карел", "Europe/Moscow"),
    ("ямал", "Asia/Yekaterinburg"),  # Ямало-Ненецкий: before "ненецк"
    ("таймыр", "Asia/Krasnoyarsk"),  # Таймырский (Долгано-Ненецкий), pre-2007: before "ненецк"
    ("долган", "Asia/Krasnoyarsk"),
    ("ненецк", "Europe/Moscow"),
    ("перм", "Asia/Yekaterinburg"),  # Пермский край, Коми-Пермяцкий (pre-2005): before "коми"
    ("коми", "Europe/Moscow"),
    ("ростов", "Europe/Moscow"),
    ("краснодар", "Europe/Moscow"),
    ("кубан", "Europe/Moscow"),
    ("адыге", "Europe/Moscow"),
    ("ставропол", "Europe/Moscow"),
    ("дагестан", "Europe/Moscow"),
    ("чечен", "Europe/Moscow"),
    ("чечн", "Europe/Moscow"),
    ("ингуш", "Europe/Moscow"),
    ("кабардин", "Europe/Moscow"),
    ("балкар", "Europe/Moscow"),
    ("карачаев", "Europe/Moscow"),
    ("черкес", "Europe/Moscow"),
    ("осети", "Europe/Moscow"),
    ("алани", "Europe/Moscow"),
    ("калмык", "Europe/Moscow"),
    ("татарстан", "Europe/Moscow"),
    ("чуваш", "Europe/Moscow"),
    ("марий", "Europe/Moscow"),
    ("мордов", "Europe/Moscow"),
    ("пензенск", "Europe/Moscow"),
    ("крым", "Europe/Simferopol"),  # tzdata's zone for Crimea; MSK, same offset as Moscow
    ("севастопол", "Europe/Simferopol"),
    ("донецк", "Europe/Moscow"),
    ("днр", "Europe/Moscow"),
    ("луганск", "Europe/Moscow"),
    ("лнр", "Europe/Moscow"),
    ("запорожск", "Europe/Moscow"),
    ("херсонск", "Europe/Moscow"),
    # UTC+3 with their own tzdata names (offset history differs from Moscow's)
    ("волгоград", "Europe/Volgograd"),
    ("кировск", "Europe/Kirov"),
    # UTC+4
    ("самар", "Europe/Samara"),
    ("удмурт", "Europe/Samara"),
    ("астрахан", "Europe/Astrakhan"),
    ("саратов", "Europe/Saratov"),
    ("ульяновск", "Europe/Ulyanovsk"),
    # UTC+5
    ("башкорт", "Asia/Yekaterinburg"),
    ("башкир", "Asia/Yekaterinburg"),
    ("оренбург", "Asia/Yekaterinburg"),
    ("свердловск", "Asia/Yekaterinburg"),
    ("екатеринбург", "Asia/Yekaterinburg"),
    ("челябинск", "Asia/Yekaterinburg"),
    ("курганск", "Asia/Yekaterinburg"),
    ("тюмен", "Asia/Yekaterinburg"),
    ("ханты", "Asia/Yekaterinburg"),
    ("мансийск", "Asia/Yekaterinburg"),
    ("югр", "Asia/Yekaterinburg"),
    # UTC+6
    ("омск", "Asia/Omsk"),
    # UTC+7
    ("новосибирск", "Asia/Novosibirsk"),
    ("томск", "Asia/Tomsk"),
    ("алтай", "Asia/Barnaul"),  # Алтайский край and Республика Алтай
    ("кемеровск", "Asia/Novokuznetsk"),
    ("кузбас", "Asia/Novokuznetsk"),
    ("красноярск", "Asia/Krasnoyarsk"),
    ("эвенк", "Asia/Krasnoyarsk"),  # Эвенкийский АО, pre-2007
    ("тыв", "Asia/Krasnoyarsk"),
    ("тува", "Asia/Krasnoyarsk"),
    ("хакас", "Asia/Krasnoyarsk"),
    # UTC+8
    ("иркутск", "Asia/Irkutsk"),
    ("агинск", "Asia/Chita"),  # Агинский Бурятский АО, pre-2008: before "бурят"
    ("бурят", "Asia/Irkutsk"),  # Республика Бурятия, Усть-Ордынский Бурятский АО
    # UTC+9
    ("забайкал", "Asia/Chita"),
    ("читинск", "Asia/Chita"),
    ("чита", "Asia/Chita"),
    ("сахалин", "Asia/Sakhalin"),  # UTC+11: before "саха", its start
    ("саха", "Asia/Yakutsk"),
    ("якут", "Asia/Yakutsk"),
    ("амурск", "Asia/Yakutsk"),
    # UTC+10
    ("приморск", "Asia/Vladivostok"),
    ("хабаровск", "Asia/Vladivostok"),
    ("еврейск", "Asia/Vladivostok"),
    # UTC+11
    ("магадан", "Asia/Magadan"),
    # UTC+12
    ("камчат", "Asia/Kamchatka"),
    ("коряк", "Asia/Kamchatka"),  # Корякский АО, pre-2007
    ("чукот", "Asia/Anadyr"),
)

_AREAS = re.compile(r"\|")
_PIECES = re.compile(r"\s+и\s+|[,;]")
_NOISE = re.compile(r"[^0-9a-zа-я]+")
# Words of a district or town rather than a subject: abbreviations ("г.", "р-н", "р-ны",
# "пгт", "г.о.") and the starts of the full words.
_LOCAL_WORDS = frozenset({"ны", "пгт", "рп", "пос", "мо", "го", "мр", "ст", "ца"})
_LOCAL_STARTS = ("район", "город", "муниципал", "поселен", "поселок", "сельск", "станиц")


def _words(text: str) -> tuple[str, ...]:
    return tuple(_NOISE.sub(" ", text).split())


def _is_local(pieces: list[tuple[str, ...]]) -> bool:
    return any(
        len(w) == 1 or w in _LOCAL_WORDS or w.startswith(_LOCAL_STARTS)
        for words in pieces
        for w in words
    )


def _zone_of(words: tuple[str, ...]) -> str | None:
    for stem, zone in _STEMS:
        if any(w.startswith(stem) for w in words):
            return zone
    return None


@functools.lru_cache(maxsize=4096)
def zone_for_region(region: str) -> str | None:
    """The IANA zone of a registry ``region``, or None for nationwide ranges and unknown
    text (the caller then uses the installation's default zone)."""
    text = region.lower().replace("ё", "е")
    areas = [[_words(p) for p in _PIECES.split(a)] for a in _AREAS.split(text)]
    for pieces in sorted(areas, key=_is_local):  # stable: subjects first, else in order
        for words in pieces:
            zone = _zone_of(words)
            if zone is not None:
                return zone
    return None
