"""Start-up of the FTP gateway (``rcs serve ftp`` or ``python -m gateways.ftp``): the
FTPS server in its own threads, the scanner in the event loop, core over gRPC."""

from __future__ import annotations

import asyncio
import logging

import grpc

from gateways.ftp.scanner import Scanner
from gateways.ftp.server import CoreAuthorizer, FtpServer, ensure_certificate, handler_class
from gateways.ftp.settings import FtpSettings
from gateways.ftp.uploads import Uploads
from rcs.core.v1 import auth_service_pb2, auth_service_pb2_grpc
from rcs_runtime.errors import Reason
from rcs_runtime.grpc_client import error_reason, open_channel
from rcs_runtime.process import run_service

log = logging.getLogger("gateways.ftp")
# FTP replies to a refused login (all 530): what the partner should do.
_LOGIN_REPLIES: dict[str, str] = {
    Reason.IP_NOT_ALLOWED: "This address is not allowed for the login.",
    Reason.THROTTLED: "Too many failed logins; retry later.",
}


async def serve(s: FtpSettings) -> None:
    loop = asyncio.get_running_loop()
    channel = open_channel(s.core_target)
    auth = auth_service_pb2_grpc.AuthServiceStub(channel)

    async def check(login: str, password: str, remote_ip: str) -> str | None:
        try:
            await auth.AuthenticatePartner(
                auth_service_pb2.AuthenticatePartnerRequest(
                    login=login, password=password, remote_ip=remote_ip
                ),
                timeout=s.rpc_timeout_seconds,
            )
        except grpc.aio.AioRpcError as err:
            reason = error_reason(err)
            if reason is None:
                return "Service unavailable; retry later."
            return _LOGIN_REPLIES.get(reason, "Authentication failed.")
        return None

    def authenticate(login: str, password: str, remote_ip: str) -> str | None:
        """From a session's thread: the check runs in the event loop, with its channel."""
        future = asyncio.run_coroutine_threadsafe(check(login, password, remote_ip), loop)
        return future.result(s.rpc_timeout_seconds + 1)

    s.ftp_root.mkdir(parents=True, exist_ok=True)
    ensure_certificate(s.ftp_cert_file, s.ftp_key_file)
    uploads = Uploads(s.state_dir)
    authorizer = CoreAuthorizer(s.ftp_root, authenticate)
    server = FtpServer(s, handler_class(s, authorizer, uploads))
    server.start()
    log.info("ftp_serving", extra={"port": server.port, "root": str(s.ftp_root)})
    try:
        await Scanner(s, channel, uploads).run()
    finally:
        await asyncio.to_thread(server.stop)
        await channel.close()
        log.info("ftp_stopped")


def main() -> None:
    settings = FtpSettings()
    run_service("ftp", settings, serve(settings))


if __name__ == "__main__":
    main()
