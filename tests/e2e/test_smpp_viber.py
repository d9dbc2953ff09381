"""SMPP submit_sm with Rapporto's Viber TLVs over real sockets: every RCS process real plus
the SMPP gateway, the messenger service and the Viber simulator. The ESME (our own SMPP
codec, which keeps vendor TLVs) gets the Viber message's receipts as SMPP_API.txt section
10 describes them: DELIVRD, then DELIVRD again with seen_date 0x1441 when it is read, both
with message_type 0x1440 VIBER; a Viber → SMS cascade (cascade_order "I,S") whose Viber
message never confirms ends as one delivered SMS, one receipt per link."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from rcs_smpp.constants import RapportoTag
from rcs_smpp.pdu import BindTransceiver, DeliverSm, DeliverSmResp, Pdu, SubmitSm
from rcs_smpp.session import SmppSession
from tests.e2e.installation import Installation, wait_until
from tests.e2e.test_viber import Viber, _listening, _ports, viber_env

pytestmark = pytest.mark.e2e
READS, SILENT = "79170000051", "79170000052"


class Esme:
    """A transceiver bound as demo, keeping every deliver_sm it gets."""

    def __init__(self) -> None:
        self.got: list[DeliverSm] = []
        self.session: SmppSession | None = None

    async def on_request(self, pdu: Pdu) -> Pdu | None:
        if isinstance(pdu, DeliverSm):
            self.got.append(pdu)
            return DeliverSmResp()
        return None

    async def bind(self, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        self.session = SmppSession(reader, writer, self.on_request, window=10, name="esme")
        self.session.start()
        resp = await self.session.send_request(BindTransceiver(system_id="demo", password="demo"))
        assert resp.command_status == 0

    async def submit(self, number: str, text: str, tlvs: dict[RapportoTag, bytes]) -> str:
        assert self.session is not None
        pdu = SubmitSm(
            source_addr="RCS",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr=number,
            data_coding=8,
            short_message=text.encode("utf-16-be"),
            registered_delivery=1,
        )
        pdu.tlvs.update({int(tag): value for tag, value in tlvs.items()})
        resp = await self.session.send_request(pdu)
        assert resp.command_status == 0
        return str(getattr(resp, "message_id", ""))

    def receipts(self, message_id: str) -> list[tuple[str, str, str | None]]:
        """(stat, message_type 0x1440, seen_date 0x1441) of each receipt of a message."""
        out = []
        for pdu in self.got:
            if pdu.tlvs.receipted_message_id != message_id:
                continue
            text = pdu.short_message.decode("latin-1")
            stat = text.split("stat:")[1].split()[0]
            out.append(
                (
                    stat,
                    pdu.tlvs.get_cstring(RapportoTag.MESSAGE_TYPE) or "",
                    pdu.tlvs.get_cstring(RapportoTag.SEEN_DATE),
                )
            )
        return out


@pytest.fixture
async def rig(installation: Installation) -> AsyncIterator[tuple[Installation, Viber, Esme]]:
    grpc_port, webhook_port, sim_port, smpp_port = _ports(installation, 4)
    installation.extra_env.update(
        {
            "RCS_SMPP_PORT": str(smpp_port),
            **viber_env(grpc_port, webhook_port, sim_port, f"{READS}=read,{SILENT}=silent"),
            "RCS_CASCADE_POLL_SECONDS": "0.5",
        }
    )
    esme = Esme()
    try:
        installation.start()
        installation.start("smpp", "viber-simulator", "messengers")
        await asyncio.to_thread(installation.wait_ready, 120)
        for port in (sim_port, webhook_port, grpc_port, smpp_port):
            assert await wait_until(lambda p=port: _listening(p), within=30), installation.logs()
        await esme.bind(smpp_port)
        yield installation, Viber(sim_port, webhook_port), esme
    finally:
        if esme.session is not None:
            await esme.session.close()


async def test_smpp_viber_message_is_delivered_then_read_with_seen_date(
    rig: tuple[Installation, Viber, Esme],
) -> None:
    inst, viber, esme = rig
    tlvs = {
        RapportoTag.VIBER_IMAGE_URL: b"https://shop.example/i.png",
        RapportoTag.VIBER_ACTION: b"https://shop.example/o/1\x00",
        RapportoTag.VIBER_CAPTION: "Открыть".encode(),
        RapportoTag.VIBER_TTL: b"120",
    }
    message_id = await esme.submit(READS, "Заказ готов", tlvs)
    done = await wait_until(lambda: len(esme.receipts(message_id)) >= 2, within=30)
    assert done, (esme.got, inst.logs())
    await asyncio.sleep(2)  # a receipt sent twice would come by now
    (delivered, read) = esme.receipts(message_id)
    assert delivered == ("DELIVRD", "VIBER", None)
    assert read[:2] == ("DELIVRD", "VIBER")
    assert read[2] is not None
    seen = dt.datetime.strptime(read[2], "%y%m%d%H%M").replace(tzinfo=dt.UTC)
    assert abs(seen - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)

    # Viber got the rich message from the SMPP source_addr, with the button's link.
    (got,) = await viber.get("/sim/messages")
    assert (got["receiver"], got["type"], got["sender"]["name"]) == (READS, "rich_media", "RCS")
    buttons = got["rich_media"]["Buttons"]
    assert (buttons[0]["Image"], buttons[1]["Text"]) == (
        "https://shop.example/i.png",
        "Заказ готов",
    )
    assert (buttons[2]["ActionBody"], buttons[2]["Text"]) == ("https://shop.example/o/1", "Открыть")
    assert (got["tracking_data"], 30 <= got["ttl"] <= 120) == (message_id, True)


async def test_smpp_viber_then_sms_cascade_ends_as_one_delivered_sms(
    rig: tuple[Installation, Viber, Esme],
) -> None:
    inst, viber, esme = rig
    tlvs = {
        RapportoTag.CASCADE_ORDER: b"I,S",
        RapportoTag.VIBER_TTL: b"30",  # the Viber message expires at its 30 s
        RapportoTag.SMS_CASCADE_MODE: b"N",
        RapportoTag.SMS_CASCADE_TEXT: "код 1234 (SMS)".encode(),
    }
    message_id = await esme.submit(SILENT, "код 1234", tlvs)
    done = await wait_until(lambda: len(esme.receipts(message_id)) >= 2, within=90)
    assert done, (esme.got, inst.logs())
    await asyncio.sleep(2)
    got = sorted(esme.receipts(message_id))
    assert got == [("DELIVRD", "SMS", None), ("EXPIRED", "VIBER", None)], got
    assert [m["receiver"] for m in await viber.get("/sim/messages")] == [SILENT]
