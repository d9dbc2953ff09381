"""A login's receipts with or without Rapporto's own TLVs (smpp_standard_tlvs_only), read by
smpplib in its default mode, which refuses optional parameters it does not know."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
import smpplib.client
import smpplib.exceptions
import smpplib.smpp

from rcs_core.messages.statuses import Status
from tests.integration.test_smpp_receipts import LOGIN, PASSWORD, Rig, rig, run

pytestmark = pytest.mark.integration
__all__ = ["rig"]  # the fixture, shared with the receipts tests


class StrictEsme:
    """smpplib in its default mode (refusing unknown optional parameters), spelled out as
    False: left unset it does the same but warns that a future version will change it."""

    def __init__(self, port: int) -> None:
        self.client = smpplib.client.Client(
            "127.0.0.1", port, timeout=10, allow_unknown_opt_params=False
        )
        self.client.connect()
        self.client.bind_transceiver(system_id=LOGIN, password=PASSWORD)

    def submit(self, text: bytes) -> str:
        pdu = smpplib.smpp.make_pdu(
            "submit_sm",
            client=self.client,
            source_addr="ACME",
            destination_addr="79161234567",
            short_message=text,
            registered_delivery=1,
        )
        self.client._socket.sendall(pdu.generate())
        resp = self.client.read_pdu()
        assert resp.status == 0
        value = resp.message_id
        return value.decode() if isinstance(value, bytes) else str(value)

    def read_deliver_sm(self) -> Any:
        while True:
            pdu = self.client.read_pdu()
            if pdu.command == "deliver_sm":
                return pdu

    def close(self) -> None:
        self.client.disconnect()


async def _standard_only(rig: Rig, value: bool) -> None:
    async with await psycopg.AsyncConnection.connect(rig.database_url) as conn:
        await conn.execute(
            "UPDATE partners SET smpp_standard_tlvs_only = %s WHERE login = %s", (value, LOGIN)
        )
        await conn.commit()


async def test_standard_tlvs_only_receipts_are_read_by_default_smpplib(rig: Rig) -> None:
    await _standard_only(rig, True)
    _, port = await rig.start()
    esme = await run(StrictEsme, port)
    mid = await run(esme.submit, b"Hello strict client")
    await rig.finish(mid, Status.DELIVERED)
    pdu = await run(esme.read_deliver_sm)
    assert pdu.receipted_message_id.decode() == mid
    assert pdu.message_state == 2
    assert f"id:{mid} " in pdu.short_message.decode()
    await run(esme.close)


async def test_rapporto_tlvs_are_kept_by_default_and_refused_by_default_smpplib(
    rig: Rig,
) -> None:
    _, port = await rig.start()
    esme = await run(StrictEsme, port)
    mid = await run(esme.submit, b"Hello strict client")
    await rig.finish(mid, Status.DELIVERED)
    # message_type 0x1440 is Rapporto's own: smpplib in its default mode refuses the PDU.
    with pytest.raises(smpplib.exceptions.UnknownCommandError, match=r"1440|5184"):
        await run(esme.read_deliver_sm)
    await run(esme.close)
