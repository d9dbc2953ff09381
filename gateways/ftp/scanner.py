"""The scanner (ftp_intercon.rst): every few seconds, each partner's ``in/`` is read for
``.data`` files; each is loaded into core (a mailing, or black-list entries), then moved
to ``archive/`` with its ``.report``; ``.delivery`` files follow when their mailing ended
the configured delay ago. Partners are loaded side by side (up to
RCS_FTP_SCAN_CONCURRENCY at once), each partner's files one after another in upload order.

Crash safety: core keys a mailing by partner + file name + content hash, so a file scanned
again (the gateway died between loading and moving it) gets its first mailing and the same
report, and nothing is sent twice; the report is written (by rename) before the file
moves, and black-list batches carry request ids. A core that cannot be reached leaves the
file where it is for the next scan.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import grpc

from gateways.ftp import files, report
from gateways.ftp.files import FileRejectedError, Kind
from gateways.ftp.server import IN, SAFE_LOGIN, partner_dirs
from gateways.ftp.settings import FtpSettings
from gateways.ftp.uploads import RENAMED_EARLY, Uploads
from rcs.core.v1 import mailing_service_pb2 as ms
from rcs.core.v1 import mailing_service_pb2_grpc, settings_service_pb2, settings_service_pb2_grpc
from rcs_runtime.errors import CATALOGUE, Reason, reason_of
from rcs_runtime.grpc_client import error_reason

log = logging.getLogger(__name__)
T = TypeVar("T")
BATCH = 2000  # recipients a CreateMailing message (≤ 2000 × 2000 characters)
BLACKLIST_BATCH = 1000
MOSCOW = dt.timezone(dt.timedelta(hours=3))
_SEPARATORS = re.compile(r"[\s\-()]")
_NUMBER = re.compile(r"[1-9][0-9]{9,14}")
_FINAL = (ms.MAILING_STATE_FINISHED, ms.MAILING_STATE_CANCELLED)
# Core's refusals of a whole mailing, as the .report says them.
_CORE_FAILS = {
    Reason.MAILING_NAME_TAKEN: "рассылка с таким именем (name) уже есть",
    Reason.INVALID_SENDER: "неверное имя отправителя (service_number)",
    Reason.INVALID_TEXT: "неверный текст сообщения",
    Reason.INVALID_LOGIN: "неизвестный логин",
}


class CoreUnavailableError(Exception):
    """Core did not answer: the file stays for the next scan."""


def _take(it: Iterator[T], n: int) -> list[T]:
    out: list[T] = []
    for item in it:
        out.append(item)
        if len(out) >= n:
            break
    return out


def blacklist_number(raw: str) -> str | None:
    number = _SEPARATORS.sub("", raw)
    if number.startswith("+"):
        number = number[1:]
    return number if _NUMBER.fullmatch(number) else None


class Scanner:
    def __init__(self, s: FtpSettings, channel: grpc.aio.Channel, uploads: Uploads) -> None:
        self._s = s
        self._root = s.ftp_root.resolve()
        self._uploads = uploads
        self._mailings = mailing_service_pb2_grpc.MailingServiceStub(channel)
        self._settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
        self._owed = s.state_dir / "delivery"
        self._owed.mkdir(parents=True, exist_ok=True)
        self._draining: dict[str, asyncio.Task[int]] = {}  # login → its files' loading
        self._last_started = ""

    async def run(self) -> None:
        try:
            while True:
                try:
                    self._start_drains()
                    if self._s.any_delivery_reports:
                        await self.write_due_deliveries()
                except Exception:
                    log.exception("ftp_scan_failed")
                await asyncio.sleep(self._s.ftp_scan_interval_seconds)
        finally:
            for task in self._draining.values():
                task.cancel()  # a load cut short is rolled back by core, and scanned again

    async def scan_once(self) -> int:
        """One pass over the partners not being loaded (up to the concurrency), waited
        for; returns how many files were processed."""
        self._start_drains()
        done = await asyncio.gather(*self._draining.values())
        if self._s.any_delivery_reports:
            await self.write_due_deliveries()
        return sum(done)

    def _start_drains(self) -> None:
        """A task for each partner with ready files that has none running, while fewer
        than RCS_FTP_SCAN_CONCURRENCY run; the partners after the last one started go
        first, so that busy partners early in the order do not keep the slots."""
        last = self._last_started
        homes = sorted((p for p in self._root.iterdir() if p.is_dir()), key=lambda p: p.name)
        for home in sorted(homes, key=lambda p: p.name <= last):
            if len(self._draining) >= self._s.ftp_scan_concurrency:
                return
            login = home.name
            if not SAFE_LOGIN.fullmatch(login) or login in self._draining:
                continue
            ready = self._ready(home)
            if not ready:
                continue
            self._draining[login] = asyncio.create_task(
                self._drain(login, ready), name=f"ftp-load-{login}"
            )
            self._last_started = login

    def _ready(self, home: Path) -> list[Path]:
        """The partner's complete ``.data`` files, oldest first."""
        inbox = home / IN
        if not inbox.is_dir():
            return []
        # Symlinks are never followed: only files the partner wrote over FTP are read.
        ready = [
            p
            for p in inbox.iterdir()
            if p.suffix == ".data"
            and not p.is_symlink()
            and p.is_file()
            and not self._uploads.busy(p)
        ]
        return sorted(ready, key=lambda p: (p.stat().st_mtime, p.name))

    async def _drain(self, login: str, ready: list[Path]) -> int:
        """One partner's files in order; a core out of reach leaves the rest for later."""
        done = 0
        try:
            for path in ready:
                if self._uploads.busy(path):  # written again since it was listed
                    continue
                await self.process(login, path)
                done += 1
        except CoreUnavailableError as exc:
            log.warning("ftp_core_unavailable", extra={"login": login, "error": str(exc)})
        except Exception:
            log.exception("ftp_scan_failed", extra={"login": login})
        finally:
            del self._draining[login]
        return done

    async def process(self, login: str, path: Path) -> None:
        stem = path.name[: -len(".data")]
        kind = files.kind_of(stem)
        verdict = self._uploads.verdict(path)
        ok, details = False, []
        try:
            if verdict is not None:
                raise FileRejectedError(
                    "файл переименован в .data до окончания загрузки"
                    if verdict == RENAMED_EARLY
                    else "файл загружен не полностью (передача прервана)"
                )
            if kind is None:
                raise FileRejectedError(
                    "неизвестный тип файла: имя должно начинаться с S, SID или B"
                )
            sniffed = await asyncio.to_thread(files.sniff, path, utf8_allowed=kind is not Kind.B)
            if kind is Kind.B:
                details = await self._blacklist(login, path, stem, sniffed)
            else:
                details = await self._mailing(login, path, stem, kind, sniffed)
            ok = True
        except FileRejectedError as rejected:
            details = [rejected.description]
        at = dt.datetime.now(self._s.report_zone())
        self._finish(login, path, stem, report.render(kind, at, ok, details))
        log.info(
            "ftp_file_processed",
            extra={"login": login, "file": path.name, "ok": ok, "lines_refused": len(details)},
        )

    def _finish(self, login: str, path: Path, stem: str, body: bytes) -> None:
        """The report first (by rename, so never half-written), then the file moves."""
        _, archive = partner_dirs(self._root, login)
        archive.mkdir(parents=True, exist_ok=True)
        target = archive / f"{stem}.report"
        tmp = archive / f".{stem}.report.tmp"
        with tmp.open("wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        os.replace(path, archive / path.name)
        self._uploads.forget(path)

    # -- mailings -------------------------------------------------------------------------

    def _spec(self, login: str, name: str, h: files.MailingHeader, sha: str) -> ms.MailingSpec:
        spec = ms.MailingSpec(
            partner=login,
            name=h.name,
            source_key=f"{name}:{sha}",
            sender=h.service_number,
            auto_start=h.auto_start,
            window_subscriber_zone=h.use_timediff,
            rate_per_second=self._s.ftp_mailing_rate,
        )
        if h.window is not None:
            spec.window_begin_minute, spec.window_end_minute = h.window
        if h.date_start is not None:
            start = dt.datetime.combine(h.date_start, dt.time(), MOSCOW)
            if start > dt.datetime.now(dt.UTC):
                spec.start_time.FromDatetime(start)
        return spec

    async def _mailing(
        self, login: str, path: Path, stem: str, kind: Kind, sniffed: files.Sniffed
    ) -> list[str]:
        f = await asyncio.to_thread(files.MailingFile, path, kind, sniffed.encoding)
        try:
            spec = self._spec(login, path.name, f.header, sniffed.sha256)
            response = await self._create(spec, f)
        finally:
            f.close()
        if self._s.delivery_reports_for(login):
            self._owe_delivery(login, stem, response.mailing.id, kind)
        log.info(
            "ftp_mailing_loaded",
            extra={
                "login": login,
                "mailing": response.mailing.id,
                "existing": response.existing,
                "total": response.mailing.progress.total,
            },
        )
        return [report.refused_line(r.destination, r.reason) for r in response.refused]

    async def _create(self, spec: ms.MailingSpec, f: files.MailingFile) -> ms.CreateMailingResponse:
        """Streams the file to core; a line that fails the whole file cancels the call, so
        core stores nothing (all or nothing)."""
        call: Any = self._mailings.CreateMailing()
        lines = f.lines()
        try:
            await call.write(ms.CreateMailingRequest(spec=spec))
            while not call.done():
                batch = await asyncio.to_thread(_take, lines, BATCH)
                if not batch:
                    await call.done_writing()
                    break
                await call.write(
                    ms.CreateMailingRequest(
                        recipients=ms.MailingRecipients(
                            recipients=[
                                ms.MailingRecipient(
                                    line=x.line,
                                    destination=x.number,
                                    text=x.text,
                                    external_id=x.external_id,
                                )
                                for x in batch
                            ]
                        )
                    )
                )
            response: ms.CreateMailingResponse = await call
            return response
        except FileRejectedError:
            call.cancel()
            raise
        except grpc.aio.AioRpcError as err:
            raise _core_error(err) from err
        except asyncio.InvalidStateError:
            # Core answered before the end (the file was loaded before): its answer.
            try:
                response = await call
            except grpc.aio.AioRpcError as err:
                raise _core_error(err) from err
            return response

    # -- black lists ----------------------------------------------------------------------

    async def _blacklist(
        self, login: str, path: Path, stem: str, sniffed: files.Sniffed
    ) -> list[str]:
        """Two passes: the whole file is checked before any entry is added (all or nothing
        for a bad line), then added in batches with request ids (a rescan repeats none)."""
        refused = await asyncio.to_thread(self._check_blacklist, path, sniffed.encoding)
        f = await asyncio.to_thread(files.BlacklistFile, path, sniffed.encoding)
        try:
            lines = f.lines()
            index = 0
            while batch := await asyncio.to_thread(_take, lines, BLACKLIST_BATCH):
                entries: dict[str, settings_service_pb2.BlacklistEntry] = {}
                for x in batch:
                    number = blacklist_number(x.number)
                    if number is None:
                        continue
                    if number not in entries:
                        entries[number] = settings_service_pb2.BlacklistEntry(
                            partner=login,
                            number=number,
                            note=x.note,
                            keep_in_mailings=not x.remove_from_mailings,
                        )
                    elif x.remove_from_mailings:  # a Y wins over an N, as in core
                        entries[number].keep_in_mailings = False
                if entries:
                    await self._add_blacklist(
                        f"ftp-b:{login}:{path.name}:{sniffed.sha256}:{index}",
                        login,
                        list(entries.values()),
                    )
                index += 1
        finally:
            f.close()
        return refused

    @staticmethod
    def _check_blacklist(path: Path, encoding: str) -> list[str]:
        f = files.BlacklistFile(path, encoding)
        try:
            return [
                report.refused_line(x.number, Reason.INVALID_DESTINATION)
                for x in f.lines()
                if blacklist_number(x.number) is None
            ]
        finally:
            f.close()

    async def _add_blacklist(
        self, request_id: str, login: str, entries: list[settings_service_pb2.BlacklistEntry]
    ) -> None:
        try:
            await self._settings.AddBlacklistEntries(
                settings_service_pb2.AddBlacklistEntriesRequest(
                    request_id=request_id,
                    actor=settings_service_pb2.Actor(login=f"ftp:{login}"),
                    entries=entries,
                ),
                timeout=self._s.rpc_timeout_seconds,
            )
        except grpc.aio.AioRpcError as err:
            raise _core_error(err) from err

    # -- delivery reports -----------------------------------------------------------------

    def _owe_delivery(self, login: str, stem: str, mailing_id: str, kind: Kind) -> None:
        doc = {"login": login, "stem": stem, "mailing": mailing_id, "with_id": kind is Kind.SID}
        name = f"{login}.{mailing_id}.json"
        tmp = self._owed / f".{name}.tmp"
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, self._owed / name)

    async def write_due_deliveries(self) -> int:
        written = 0
        for owed in sorted(self._owed.glob("*.json")):
            doc = json.loads(owed.read_text())
            try:
                got = await self._mailings.GetMailing(
                    ms.GetMailingRequest(mailing_id=doc["mailing"], partner=doc["login"]),
                    timeout=self._s.rpc_timeout_seconds,
                )
            except grpc.aio.AioRpcError as err:
                if error_reason(err) == Reason.MAILING_NOT_FOUND:
                    owed.unlink()
                    continue
                log.warning("ftp_delivery_core_unavailable", extra={"error": err.code().name})
                return written
            m = got.mailing
            if m.state not in _FINAL or not m.HasField("end_time"):
                continue
            due = m.end_time.ToDatetime(dt.UTC) + dt.timedelta(
                seconds=self._s.ftp_delivery_delay_seconds
            )
            if due > dt.datetime.now(dt.UTC):
                continue
            await self._write_delivery(doc["login"], doc["stem"], m.id, bool(doc["with_id"]))
            owed.unlink()
            written += 1
        return written

    async def _write_delivery(self, login: str, stem: str, mailing_id: str, with_id: bool) -> None:
        _, archive = partner_dirs(self._root, login)
        tmp = archive / f".{stem}.delivery.tmp"
        with tmp.open("wb") as f:
            async for page in self._mailings.StreamMailingRecipients(
                ms.StreamMailingRecipientsRequest(mailing_id=mailing_id, partner=login)
            ):
                f.write(
                    report.encode(
                        "".join(
                            report.delivery_line(
                                r.destination, r.status, r.external_id if with_id else ""
                            )
                            + report.EOL
                            for r in page.recipients
                        )
                    )
                )
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, archive / f"{stem}.delivery")
        log.info("ftp_delivery_written", extra={"login": login, "mailing": mailing_id})


def _core_error(err: grpc.aio.AioRpcError) -> Exception:
    """Core's refusal as the file's Fail, or CoreUnavailableError to try again later."""
    reason = error_reason(err)
    known = reason_of(reason)
    entry = CATALOGUE[known] if known is not None else None
    if entry is None or entry.retryable:
        return CoreUnavailableError(f"{err.code().name}: {err.details()}")
    text = _CORE_FAILS.get(entry.reason, "ошибка загрузки")
    return FileRejectedError(f"{text}: {err.details()}")
