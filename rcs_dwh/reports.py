"""Report queries over the DWH, per cluster (SQL only; the servicer shapes the answers).

Partners, directions and tariffs come from the cluster's settings as its master sent them
(``dwh_settings_current``); messages from every installation of the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg_pool import AsyncConnectionPool

# MessageStatus values (rcs.common.v1): 1 accepted, 2 sent, 3 delivered, 4 undelivered,
# 5 expired, 6 rejected, 7 read.
_COUNTS = """
  count(*),
  count(*) FILTER (WHERE m.status IN (3, 7)),
  count(*) FILTER (WHERE m.status = 4),
  count(*) FILTER (WHERE m.status = 5),
  count(*) FILTER (WHERE m.status = 6),
  count(*) FILTER (WHERE m.status IN (0, 1, 2)),
  COALESCE(sum(m.part_count), 0)
"""

_SETTING = """SELECT data FROM dwh_settings_current
  WHERE cluster = %(cluster)s AND table_name = '{table}' AND NOT deleted"""

_MESSAGES = """
WITH p AS (
  SELECT (data->>'id')::bigint AS id, data->>'login' AS login
  FROM ({partners}) s
)
SELECT {{select}}
FROM dwh_messages m LEFT JOIN p ON p.id = m.partner_id
WHERE m.cluster = %(cluster)s AND m.created_at >= %(start)s AND m.created_at < %(end)s
  AND NOT m.deleted AND (%(partner)s = '' OR p.login = %(partner)s)
""".format(partners=_SETTING.format(table="partners"))  # noqa: S608 (constants only)


@dataclass(frozen=True, slots=True)
class Query:
    cluster: str
    start: datetime
    end: datetime
    partner: str = ""

    def params(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "start": self.start,
            "end": self.end,
            "partner": self.partner,
        }


Counts = tuple[int, int, int, int, int, int, int]


async def cluster_known(pool: AsyncConnectionPool, cluster: str) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT 1 FROM dwh_installations WHERE cluster = %s", (cluster,))
        return await cur.fetchone() is not None


async def summary(pool: AsyncConnectionPool, q: Query) -> list[tuple[str, int, Counts]]:
    sql = (
        _MESSAGES.format(select=f"COALESCE(p.login, '#' || m.partner_id), m.channel, {_COUNTS}")
        + " GROUP BY 1, 2 ORDER BY 1, 2"
    )
    async with pool.connection() as conn:
        cur = await conn.execute(sql.encode(), q.params())
        return [(r[0], r[1], tuple(int(x) for x in r[2:])) for r in await cur.fetchall()]  # type: ignore[misc]


async def chronological(
    pool: AsyncConnectionPool, q: Query, unit: str
) -> list[tuple[datetime, Counts]]:
    if unit not in ("hour", "day"):
        raise ValueError(unit)
    sql = (
        _MESSAGES.format(select=f"date_trunc('{unit}', m.created_at, 'UTC'), {_COUNTS}")
        + " GROUP BY 1 ORDER BY 1"
    )
    async with pool.connection() as conn:
        cur = await conn.execute(sql.encode(), q.params())
        return [(r[0], tuple(int(x) for x in r[1:])) for r in await cur.fetchall()]  # type: ignore[misc]


# Each message takes the most specific tariff in force at its creation (partner, direction,
# channel, traffic type: a named one beats "any"), and of those the latest valid_from.
# Rejected messages are not priced.
_FINANCIAL = f"""
WITH dirs AS (
  SELECT (data->>'id')::bigint AS id, data->>'name' AS name
  FROM ({_SETTING.format(table="directions")}) s
), pref AS (
  SELECT data->>'prefix' AS prefix, (data->>'direction_id')::bigint AS direction_id
  FROM ({_SETTING.format(table="direction_prefixes")}) s
), tar AS (
  SELECT data->>'partner' AS partner, data->>'direction' AS direction,
    (data->>'channel')::int AS channel, (data->>'traffic_type')::int AS traffic_type,
    (data->>'price')::numeric AS price, data->>'currency' AS currency,
    (data->>'valid_from')::timestamptz AS valid_from
  FROM ({_SETTING.format(table="tariffs")}) s
), msg AS (
  {
    _MESSAGES.format(
        select='''COALESCE(p.login, '#' || m.partner_id) AS login, m.channel,
    m.traffic_type, m.created_at,
    COALESCE((SELECT d.name FROM pref JOIN dirs d ON d.id = pref.direction_id
      WHERE starts_with(m.destination, pref.prefix)
      ORDER BY length(pref.prefix) DESC LIMIT 1), '') AS direction'''
    )
}
  AND m.status <> 6
)
SELECT msg.login, msg.direction, msg.channel, COALESCE(msg.traffic_type, -1),
  t.price, COALESCE(t.currency, ''), count(*)
FROM msg LEFT JOIN LATERAL (
  SELECT price, currency FROM tar
  WHERE (tar.partner = '' OR tar.partner = msg.login)
    AND (tar.direction = '' OR tar.direction = msg.direction)
    AND (tar.channel = 0 OR tar.channel = msg.channel)
    AND (tar.traffic_type IS NULL OR tar.traffic_type = msg.traffic_type)
    AND tar.valid_from <= msg.created_at
  ORDER BY (tar.partner <> '')::int + (tar.direction <> '')::int + (tar.channel <> 0)::int
    + (tar.traffic_type IS NOT NULL)::int DESC, tar.valid_from DESC
  LIMIT 1
) t ON true
GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5
"""  # noqa: S608 (constants only)


@dataclass(frozen=True, slots=True)
class FinancialLine:
    partner: str
    direction: str
    channel: int
    traffic_type: int
    price: Decimal | None
    currency: str
    messages: int

    @property
    def amount(self) -> Decimal | None:
        return None if self.price is None else self.price * self.messages


async def financial(pool: AsyncConnectionPool, q: Query) -> list[FinancialLine]:
    async with pool.connection() as conn:
        cur = await conn.execute(_FINANCIAL.encode(), q.params())
        return [
            FinancialLine(r[0], r[1], int(r[2]), int(r[3]), r[4], r[5], int(r[6]))
            for r in await cur.fetchall()
        ]
