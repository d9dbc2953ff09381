"""A repeat of a message the provider already took, after the messenger service was killed
(kill -9) and started again, is answered with the recorded provider id and not sent again
(messenger_sent_answers, migration 0140): over real sockets, the real messenger service
and the WhatsApp / Telegram simulators. The repeat is the dispatcher's SendMessages for
the same message id, as after a lost answer; a new message id is still sent."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

import grpc
import pytest

from rcs.common.v1 import channel_pb2, message_pb2
from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.connector.v1 import connector_service_pb2_grpc
from tests.e2e.installation import Installation, wait_until
from tests.e2e.push_stand_in import ReportSink
from tests.e2e.test_messenger_faults import Sims, _to, wa_tg_rig
from tests.e2e.test_viber import _listening, rows

pytestmark = pytest.mark.e2e
__all__ = ["wa_tg_rig"]
CHANNELS = {"whatsapp": channel_pb2.CHANNEL_WHATSAPP, "telegram": channel_pb2.CHANNEL_TELEGRAM}


def _message(message_id: str, channel: str, number: str) -> cs.OutboundMessage:
    m = cs.OutboundMessage(
        message_id=message_id,
        interface_id="messengers-main",
        destination=number,
        receipt_wanted=True,
        channel=CHANNELS[channel],
        viber=message_pb2.ViberContent(service_number="RCS", text=f"code {message_id}"),
        partner="demo",
    )
    m.valid_until.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10))
    return m


async def _send(target: str, messages: list[cs.OutboundMessage]) -> list[cs.SendResult]:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = connector_service_pb2_grpc.ConnectorServiceStub(channel)
        answer = await stub.SendMessages(cs.SendMessagesRequest(messages=messages), timeout=20)
    return list(answer.results)


async def _sent(sims: Sims, channel: str) -> Counter[str]:
    return Counter(_to(channel, s) for s in await sims.call(channel, "GET", "/sim/messages"))


async def test_a_repeat_after_kill_minus_nine_gets_the_recorded_answer_and_is_not_sent(
    wa_tg: tuple[Installation, Sims, ReportSink],
) -> None:
    inst, sims, _ = wa_tg
    target = inst.extra_env["RCS_MESSENGERS_BIND"]
    first = [
        _message("990000000001", "whatsapp", "79175550001"),
        _message("990000000002", "telegram", "79175550002"),
    ]
    before = await _send(target, first)
    assert [r.outcome for r in before] == [cs.SEND_OUTCOME_ACCEPTED] * 2, before
    recorded = await rows(inst, "SELECT message_id FROM messenger_sent_answers ORDER BY message_id")
    assert [r[0] for r in recorded] == ["990000000001", "990000000002"]

    inst.kill("messengers")
    inst.start("messengers")
    port = int(target.rsplit(":", 1)[1])
    assert await wait_until(lambda: _listening(port), within=60), inst.logs()

    # The repeat (and one new message alongside it, which does go).
    again = await _send(target, [*first, _message("990000000003", "whatsapp", "79175550003")])
    assert again[:2] == before, (again, before)
    assert again[2].outcome == cs.SEND_OUTCOME_ACCEPTED
    assert again[2].operator_message_ids != before[0].operator_message_ids
    await asyncio.sleep(1)  # a wrongly repeated call would have reached the simulator
    assert await _sent(sims, "whatsapp") == Counter({"79175550001": 1, "79175550003": 1})
    assert await _sent(sims, "telegram") == Counter({"79175550002": 1})
