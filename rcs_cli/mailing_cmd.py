"""`rcs mailing …`: mailings over core's MailingService (RCS_CORE_TARGET).

    rcs mailing create --partner P --name N [--sender S] [--text T] [--auto-start]
                       [--start ISO] [--end ISO] [--window HH:MM-HH:MM] [--subscriber-zone]
                       [--priority 0-2] [--rate N] FILE
    rcs mailing start|pause|resume|cancel|get ID [--partner P]
    rcs mailing list [--partner P] [--page-size N] [--page-token T]

FILE has one recipient a line, ``number;text`` (quoted as in Rapporto's files when the
text holds ``;``, quotes or line breaks), or ``number;value1;value2…`` with ``--text``
naming {1}, {2}…; UTF-8. It streams to core in batches (constant memory) and is keyed by
its name and content hash, so running the same create twice makes one mailing. Answers
are JSON; a refusal prints its reason and message and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import hashlib
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

from rcs.core.v1 import mailing_service_pb2 as ms
from rcs.core.v1 import mailing_service_pb2_grpc
from rcs_runtime.grpc_client import open_channel, refusal_text
from rcs_runtime.settings import RcsSettings

BATCH = 2000


class MailingCliSettings(RcsSettings):
    core_target: str = "127.0.0.1:50051"


def _minutes(clock: str) -> int:
    hours, _, minutes = clock.partition(":")
    return int(hours) * 60 + int(minutes)


def _window(value: str) -> tuple[int, int]:
    try:
        begin, end = value.split("-")
        return _minutes(begin), _minutes(end)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("--window is HH:MM-HH:MM, e.g. 09:00-21:00") from exc


def _moment(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mailing = sub.add_parser("mailing", help="mailings (bulk sends) over core's MailingService")
    verbs = mailing.add_subparsers(dest="verb", required=True)
    create = verbs.add_parser("create", help="create a mailing from a file of recipients")
    create.add_argument("file", type=Path)
    create.add_argument("--partner", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--sender", default="", help="default: the partner's default sender")
    create.add_argument("--text", default="", help="one text for all, with {1}, {2}… values")
    create.add_argument("--auto-start", action="store_true", help="start once loaded")
    create.add_argument("--start", type=_moment, help="not before (ISO 8601; UTC if no zone)")
    create.add_argument("--end", type=_moment, help="not after (ISO 8601)")
    create.add_argument("--window", type=_window, help="daily hours, HH:MM-HH:MM (Moscow)")
    create.add_argument(
        "--subscriber-zone", action="store_true", help="the window in each subscriber's zone"
    )
    create.add_argument("--priority", type=int, default=0, choices=(0, 1, 2))
    create.add_argument("--rate", type=int, default=0, help="messages a second (0: default)")
    create.set_defaults(func=lambda a: _run(_create(a)))
    for verb in ("start", "pause", "resume", "cancel", "get"):
        p = verbs.add_parser(verb, help=f"{verb} a mailing")
        p.add_argument("id")
        p.add_argument("--partner", default="", help="the mailing must be this partner's")
        p.set_defaults(func=lambda a, v=verb: _run(_change(v, a)))
    listing = verbs.add_parser("list", help="mailings, newest first, with progress")
    listing.add_argument("--partner", default="")
    listing.add_argument("--page-size", type=int, default=0)
    listing.add_argument("--page-token", default="")
    listing.set_defaults(func=lambda a: _run(_list(a)))


def _run(work: Callable[[Any], Awaitable[Message]]) -> None:
    async def main() -> Message:
        channel = open_channel(MailingCliSettings().core_target)
        try:
            return await work(mailing_service_pb2_grpc.MailingServiceStub(channel))
        finally:
            await channel.close()

    try:
        answer = asyncio.run(main())
    except grpc.aio.AioRpcError as err:
        print(f"refused: {refusal_text(err)}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(json_format.MessageToDict(answer), ensure_ascii=False, indent=2))


def _spec(a: argparse.Namespace, source_key: str) -> ms.MailingSpec:
    spec = ms.MailingSpec(
        partner=a.partner,
        name=a.name,
        source_key=source_key,
        sender=a.sender,
        text=a.text,
        auto_start=a.auto_start,
        window_subscriber_zone=a.subscriber_zone,
        priority=a.priority,
        rate_per_second=a.rate,
    )
    if a.start:
        spec.start_time.FromDatetime(a.start)
    if a.end:
        spec.end_time.FromDatetime(a.end)
    if a.window:
        spec.window_begin_minute, spec.window_end_minute = a.window
    return spec


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _recipients(path: Path, templated: bool) -> Any:
    """Recipients of the file, one batch at a time."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=";", quotechar='"', doublequote=True)
        batch: list[ms.MailingRecipient] = []
        for fields in reader:
            if not fields or not fields[0].strip():
                continue
            number, rest = fields[0].strip(), fields[1:]
            if templated:
                r = ms.MailingRecipient(line=reader.line_num, destination=number, params=rest)
            else:
                text = ";".join(rest)
                r = ms.MailingRecipient(line=reader.line_num, destination=number, text=text)
            batch.append(r)
            if len(batch) >= BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


def _create(a: argparse.Namespace) -> Callable[[Any], Awaitable[Message]]:
    if not a.file.is_file():
        sys.exit(f"refused: {a.file} is not a file")
    source_key = f"{a.file.name}:{_digest(a.file)}"

    async def requests() -> AsyncIterator[ms.CreateMailingRequest]:
        yield ms.CreateMailingRequest(spec=_spec(a, source_key))
        for batch in _recipients(a.file, templated=bool(a.text)):
            yield ms.CreateMailingRequest(recipients=ms.MailingRecipients(recipients=batch))

    async def work(stub: Any) -> Message:
        answer: Message = await stub.CreateMailing(requests())
        return answer

    return work


def _change(verb: str, a: argparse.Namespace) -> Callable[[Any], Awaitable[Message]]:
    async def work(stub: Any) -> Message:
        if verb == "get":
            return await stub.GetMailing(ms.GetMailingRequest(mailing_id=a.id, partner=a.partner))  # type: ignore[no-any-return]
        method = {
            "start": (stub.StartMailing, ms.StartMailingRequest),
            "pause": (stub.PauseMailing, ms.PauseMailingRequest),
            "resume": (stub.ResumeMailing, ms.ResumeMailingRequest),
            "cancel": (stub.CancelMailing, ms.CancelMailingRequest),
        }[verb]
        return await method[0](method[1](mailing_id=a.id, partner=a.partner))  # type: ignore[no-any-return]

    return work


def _list(a: argparse.Namespace) -> Callable[[Any], Awaitable[Message]]:
    async def work(stub: Any) -> Message:
        return await stub.ListMailings(  # type: ignore[no-any-return]
            ms.ListMailingsRequest(
                partner=a.partner, page_size=a.page_size, page_token=a.page_token
            )
        )

    return work
