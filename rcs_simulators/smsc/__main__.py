"""Start-up of the SMSC simulator (`rcs serve simulator`)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from rcs_simulators.smsc.control import build_control_app
from rcs_simulators.smsc.server import Smsc
from rcs_simulators.smsc.settings import SmscSettings


async def serve(s: SmscSettings) -> None:
    smsc = Smsc(s)
    await smsc.start()
    runner: web.AppRunner | None = None
    if s.smsc_control_port:
        runner = web.AppRunner(build_control_app(smsc), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", s.smsc_control_port).start()
    try:
        await asyncio.Event().wait()
    finally:
        if runner is not None:
            await runner.cleanup()
        await smsc.stop()
