"""Where the REST gateway listens: the plain port and, when configured, HTTPS beside it
(``RCS_REST_TLS_PORT`` with ``RCS_REST_TLS_CERT`` / ``_KEY``, optional ``_CLIENT_CA``)."""

from __future__ import annotations

from aiohttp import web

from gateways.rest.connections import LimitedSite
from gateways.rest.settings import RestSettings
from rcs_runtime.tls import server_context


async def start_sites(runner: web.BaseRunner, settings: RestSettings) -> list[web.TCPSite]:
    """Start the gateway's sites on a set-up runner; the HTTPS one second, if any."""
    limit = settings.max_connections  # over both sites: see connections.LimitedSite
    sites: list[web.TCPSite] = [
        LimitedSite(runner, settings.rest_host, settings.rest_port, max_connections=limit)
    ]
    if settings.rest_tls_port:
        context = server_context(
            settings.rest_tls_cert, settings.rest_tls_key, settings.rest_tls_client_ca
        )
        sites.append(
            LimitedSite(
                runner,
                settings.rest_host,
                settings.rest_tls_port,
                max_connections=limit,
                ssl_context=context,
            )
        )
    for site in sites:
        await site.start()
    return sites
