"""The FTP gateway end to end: real FTPS clients (curl, Python's ftplib with TLS) against
`rcs serve ftp`, core, the dispatcher, routing, the connector and the SMSC simulator as
processes; reports read back over FTPS and compared byte for byte."""

from __future__ import annotations

import asyncio
import datetime as dt
import ftplib
import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from gateways.ftp import report
from gateways.ftp.files import Kind
from rcs_core.auth import partners_store as partners
from tests.e2e.ftp_support import FtpGateway, module_database, query, report_time
from tests.e2e.installation import Installation
from tests.support import seed_demo

pytestmark = pytest.mark.e2e
BACKEND = ("routing", "simulator", "connector", "core", "dispatcher")


@pytest.fixture(scope="module")
def shared(template_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FtpGateway]:
    """One installation for the module (starting one takes half a minute on a busy host):
    each test uses its own file and mailing names."""
    base = tmp_path_factory.mktemp("ftp")
    with module_database(template_db) as dsn:
        env = {
            "RCS_MAILING_FEED_INTERVAL_SECONDS": "0.1",
            # Both outcomes, so that .delivery files show what the simulator decided.
            "RCS_SMSC_OUTCOMES": "delivered=1,undelivered:2=1",
            # Past the failed-login limit a login waits this long (doubling): long enough
            # that the test's next attempt is surely inside it.
            "RCS_AUTH_DELAY_BASE_SECONDS": "30",
            "RCS_AUTH_DELAY_MAX_SECONDS": "60",
        }
        inst = Installation(dsn, base / "logs", env)
        asyncio.run(seed_demo(dsn, smsc_host="127.0.0.1", smsc_port=inst.ports["smsc"]))
        try:
            inst.start(*BACKEND)
            inst.wait_ready(timeout=120)
            # Long enough for a small mailing's receipts to be in before its .delivery.
            gateway = FtpGateway(
                inst,
                base / "ftp",
                RCS_FTP_DELIVERY_DELAY_SECONDS="8",
                # Per partner: demo gets .delivery files, "quiet" does not.
                RCS_FTP_DELIVERY_REPORTS="Demo, acme",
            )
            gateway.start()
            yield gateway
        finally:
            inst.stop()


@pytest.fixture
def ftp(shared: FtpGateway) -> FtpGateway:
    return shared


@pytest.fixture
def installation(shared: FtpGateway) -> Installation:
    return shared.inst


def expected_report(body: bytes, kind: Kind | None, ok: bool, details: list[str]) -> bytes:
    at = dt.datetime.strptime(report_time(body), "%Y-%m-%d %H:%M:%S")
    return report.render(kind, at, ok, details)


async def add_partner(installation: Installation, login: str) -> None:
    """A partner with FTP upload's password (FtpGateway.upload) that may send as RCS."""
    async with await psycopg.AsyncConnection.connect(installation.database_url) as conn:
        await partners.upsert(conn, login, "acme-pass-1", senders=["RCS"])
        await conn.commit()


def wait_for(predicate: object, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.2)


S_FILE = (
    "name: nov-sale\r\n"
    "service_number: RCS\r\n"
    "auto_start: Y\r\n"
    "\r\n"
    "79161110001;Скидка 10%\r\n"
    '79161110002;"Текст; с ""кавычками""\r\nи переносом"\r\n'
    "12345;неверный номер\r\n"
    "79161110001;дубликат\r\n"
    "+79161110003;третий\r\n"
).encode("cp1251")


def test_s_file_uploaded_with_curl_becomes_a_started_mailing_with_report_and_delivery(
    ftp: FtpGateway, installation: Installation, tmp_path: Path
) -> None:
    local = tmp_path / "S20261207.loading"
    local.write_bytes(S_FILE)
    done = ftp.curl_upload(local, "S20261207")
    assert done.returncode == 0, done.stderr
    body = ftp.fetch("archive/S20261207.report")
    assert body == expected_report(
        body,
        Kind.S,
        True,
        ["12345;неверный номер", "79161110001;дубликат номера в файле"],
    )
    assert ftp.fetch("archive/S20261207.data") == S_FILE
    rows = query(
        installation.database_url,
        "SELECT name, sender, total FROM mailings WHERE name = 'nov-sale'",
    )
    assert rows == [("nov-sale", "RCS", 3)]
    wait_for(
        lambda: (
            query(
                installation.database_url,
                "SELECT count(*) FROM mailing_recipients r JOIN mailings g ON g.id = r.mailing_id"
                " WHERE g.name = 'nov-sale' AND r.message_id IS NOT NULL",
            )
            == [(3,)]
        )
    )
    texts = query(
        installation.database_url,
        "SELECT m.destination, m.body FROM mailing_recipients r JOIN mailings g"
        " ON g.id = r.mailing_id AND g.name = 'nov-sale' JOIN messages m ON m.id = r.message_id"
        " ORDER BY m.destination",
    )
    assert texts == [
        ("79161110001", "Скидка 10%"),
        ("79161110002", 'Текст; с "кавычками"\r\nи переносом'),
        ("79161110003", "третий"),
    ]
    statuses = (
        "SELECT m.destination, m.status FROM mailing_recipients r JOIN mailings g"
        " ON g.id = r.mailing_id AND g.name = 'nov-sale' JOIN messages m ON m.id = r.message_id"
        " ORDER BY r.seq"
    )
    wait_for(lambda: all(s in (3, 4) for _, s in query(installation.database_url, statuses)))
    final = query(installation.database_url, statuses)
    delivery = ftp.fetch("archive/S20261207.delivery", within=90)
    # The simulator's receipts: DELIVERED is 3, UNDELIVERED 1 (ftp_delivery_report.rst).
    expected = "".join(f"{number};{3 if s == 3 else 1}\r\n" for number, s in final)
    assert delivery == report.encode(expected)


SID_FILE = (
    "name: sid-1\n"
    "service_number: RCS\n"
    "auto_start: N\n"
    "time_begin: 00:00\n"
    "time_end: 23:59\n"
    "\n"
    "272344713;79036533935;сообщение\n"
    "435235262;79037537935;другое сообщение\n"
).encode()


def test_sid_file_over_ftplib_in_utf8_waits_for_a_manual_start(
    ftp: FtpGateway, installation: Installation
) -> None:
    ftp.upload("SID20261207", SID_FILE)
    body = ftp.fetch("archive/SID20261207.report")
    assert body == expected_report(body, Kind.SID, True, [])
    rows = query(
        installation.database_url,
        "SELECT m.state, m.window_begin, m.window_end, r.external_id, r.destination"
        " FROM mailings m JOIN mailing_recipients r ON r.mailing_id = m.id"
        " WHERE m.name = 'sid-1' ORDER BY r.seq",
    )
    assert rows == [
        (1, 0, 1439, "272344713", "79036533935"),
        (1, 0, 1439, "435235262", "79037537935"),
    ]
    time.sleep(1)  # a feeder tick or more: nothing is fed before a start
    fed = "SELECT count(*) FROM mailing_recipients r JOIN mailings m ON m.id = r.mailing_id"
    fed += " WHERE m.name = 'sid-1' AND r.message_id IS NOT NULL"
    assert query(installation.database_url, fed) == [(0,)]


B_FILE = (
    "list_type: I\r\n"
    "\r\n"
    "79036530001;Y;отказ от рассылки 01.04.2024\r\n"
    "79036530002;N;отказ от рассылки 02.04.2024\r\n"
    "notanumber;Y;\r\n"
).encode("cp1251")


def test_b_file_black_lists_the_partners_numbers(
    ftp: FtpGateway, installation: Installation
) -> None:
    ftp.upload("B20261207", B_FILE)
    body = ftp.fetch("archive/B20261207.report")
    assert body == expected_report(body, Kind.B, True, ["notanumber;неверный номер"])
    rows = query(
        installation.database_url,
        "SELECT b.number, b.note, p.login FROM blacklist b JOIN partners p ON p.id = b.partner_id"
        " WHERE b.number LIKE '7903653000_' ORDER BY b.number",
    )
    assert rows == [
        ("79036530001", "отказ от рассылки 01.04.2024", "demo"),
        ("79036530002", "отказ от рассылки 02.04.2024", "demo"),
    ]
    # A mailing loaded afterwards leaves the black-listed numbers out.
    ftp.upload("S-after-b", b"name: after-b\nservice_number: RCS\n\n79036530001;t\n79036530003;t\n")
    body = ftp.fetch("archive/S-after-b.report")
    assert body == expected_report(body, Kind.S, True, ["79036530001;номер в черном списке"])


NFLAG_S_FILE = (
    "name: nflag\r\n"
    "service_number: RCS\r\n"
    "auto_start: N\r\n"
    "\r\n"
    "79036540001;удалить из рассылки\r\n"
    "79036540002;оставить в рассылке\r\n"
    "79036540003;сначала N, потом Y\r\n"
    "79036540004;не в списке\r\n"
).encode("cp1251")
NFLAG_B_FILE = (
    "list_type: I\r\n"
    "\r\n"
    "79036540001;Y;отказ\r\n"
    "79036540002;N;отказ, рассылки не трогать\r\n"
    "79036540003;N;отказ\r\n"
    "79036540003;Y;отказ\r\n"
).encode("cp1251")


def test_b_file_y_blocks_a_loaded_mailings_numbers_and_n_keeps_them(
    ftp: FtpGateway, installation: Installation
) -> None:
    """ftp_blacklist.rst's second field: Y removes the number from the mailings that exist,
    N leaves them as they are. The mailing waits for a manual start while the B file comes."""
    ftp.upload("S-nflag", NFLAG_S_FILE)
    body = ftp.fetch("archive/S-nflag.report")
    assert body == expected_report(body, Kind.S, True, [])
    ftp.upload("B-nflag", NFLAG_B_FILE)
    body = ftp.fetch("archive/B-nflag.report")
    assert body == expected_report(body, Kind.B, True, [])
    (mailing_id,) = query(
        installation.database_url, "SELECT id FROM mailings WHERE name = 'nflag'"
    )[0]

    def rcs_mailing(*args: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "rcs_cli", "mailing", *args, str(mailing_id)],
            env=installation.env,  # RCS_CORE_TARGET: this installation's core
            capture_output=True,
            check=False,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    rcs_mailing("start")
    statuses = (
        "SELECT m.destination, m.status, m.error_code FROM mailing_recipients r JOIN mailings g"
        " ON g.id = r.mailing_id AND g.name = 'nflag' JOIN messages m ON m.id = r.message_id"
        " AND m.created_at = r.message_at ORDER BY r.seq"
    )

    def all_final() -> bool:  # all four fed (at the mailing's rate) and final
        rows = query(installation.database_url, statuses)
        return len(rows) == 4 and all(s in (3, 4, 6) for _, s, _ in rows)

    wait_for(all_final, 60)
    final = query(installation.database_url, statuses)
    assert [(d, s == 6, e if s == 6 else None) for d, s, e in final] == [
        ("79036540001", True, 10),  # Y: blocked, "filtered" (extended code 10)
        ("79036540002", False, None),  # N: sent as loaded
        ("79036540003", True, 10),  # N then Y in one file: Y wins
        ("79036540004", False, None),
    ]
    progress = rcs_mailing("get")["mailing"]["progress"]
    assert (progress["accepted"], progress["blocked"]) == ("4", "2")
    delivery = ftp.fetch("archive/S-nflag.delivery", within=90)
    expected = "".join(
        f"{number};{0 if s == 6 else 3 if s == 3 else 1}\r\n" for number, s, _ in final
    )
    assert delivery == report.encode(expected)


def test_a_big_file_delays_only_its_own_partners_next_files(
    ftp: FtpGateway, installation: Installation
) -> None:
    """Partners are loaded side by side; one partner's files stay in upload order."""

    asyncio.run(add_partner(installation, "side"))
    # Seconds of loading (≈ 11,000 lines/s, docs/benchmarks.md); never started, never sent.
    lines = "".join(f"791677{i:05d};t\n" for i in range(100_000))
    ftp.upload("S-big", f"name: big\nservice_number: RCS\nauto_start: N\n\n{lines}".encode())
    ftp.upload("S-after-big", b"name: after-big\nservice_number: RCS\n\n79161130001;t\n")
    ftp.upload("S-side", b"name: side-1\nservice_number: RCS\n\n79161130002;t\n", login="side")
    body = ftp.fetch("archive/S-side.report", login="side", within=60)
    assert body == expected_report(body, Kind.S, True, [])
    archive = ftp.root / "demo" / "archive"
    assert not (archive / "S-big.report").exists(), "the small file waited for the big one"
    assert not (archive / "S-after-big.report").exists()
    ftp.fetch("archive/S-big.report", within=180)
    ftp.fetch("archive/S-after-big.report", within=30)
    big, after = (archive / "S-big.report").stat(), (archive / "S-after-big.report").stat()
    assert after.st_mtime_ns >= big.st_mtime_ns
    totals = query(
        installation.database_url,
        "SELECT name, total, fed FROM mailings WHERE name IN ('big', 'after-big') ORDER BY id",
    )
    assert totals == [("big", 100_000, 0), ("after-big", 1, 0)]


BAD_FILES = {
    "S-empty": (b"", "файл пуст"),
    "S-utf16": (
        "name: x\nservice_number: RCS\n\n79161110001;текст\n".encode("utf-16"),
        "неверная кодировка файла: допустимы Windows-1251 и UTF-8",
    ),
    "S-long": (
        (
            "name: long\nservice_number: RCS\n\n79161110001;ok\n79161110002;" + "я" * 2001 + "\n"
        ).encode("cp1251"),
        "строка 5: текст длиннее 2000 символов (2001)",
    ),
    "S-header": (
        b"name: x\nservice_number: RCS\ncolour: red\n\n79161110001;t\n",
        "неизвестный параметр: colour",
    ),
    "S-noname": (b"service_number: RCS\n\n79161110001;t\n", "не указан обязательный параметр name"),
    "S-auto": (
        b"name: x\nservice_number: RCS\nauto_start: maybe\n\n79161110001;t\n",
        "параметр auto_start: допустимы Y или N, а не «maybe»",
    ),
    "B-utf8": (
        "list_type: I\n\n79161110001;Y;отказ\n".encode(),
        "файл черного списка должен быть в кодировке Windows-1251, а не UTF-8",
    ),
    "X-type": (b"name: x\n", "неизвестный тип файла: имя должно начинаться с S, SID или B"),
}


def test_bad_files_get_their_fail_report_and_send_nothing(
    ftp: FtpGateway, installation: Installation
) -> None:
    for name, (data, _) in BAD_FILES.items():
        ftp.upload(name, data)
    for name, (_, why) in BAD_FILES.items():
        body = ftp.fetch(f"archive/{name}.report")
        kind = {"S": Kind.S, "B": Kind.B}.get(name[0])
        assert body == expected_report(body, kind, False, [why]), name
    names = {r[0] for r in query(installation.database_url, "SELECT name FROM mailings")}
    assert not names & {"x", "long"}
    assert query(
        installation.database_url, "SELECT count(*) FROM blacklist WHERE number = '79161110001'"
    ) == [(0,)]


def test_a_file_renamed_to_data_before_its_upload_ended_is_refused(
    ftp: FtpGateway, installation: Installation
) -> None:
    writer = ftp.client()
    other = ftp.client()
    try:
        conn = writer.transfercmd("STOR in/S-early.loading")
        conn.sendall(b"name: early\nservice_number: RCS\n\n79161110001;one\n")
        time.sleep(0.5)
        other.rename("in/S-early.loading", "in/S-early.data")
        time.sleep(1)  # the scanner passes over it meanwhile: still being written
        conn.sendall(b"79161110002;two\n")
        conn.unwrap() if hasattr(conn, "unwrap") else None
        conn.close()
        writer.voidresp()
    finally:
        writer.quit()
        other.quit()
    body = ftp.fetch("archive/S-early.report")
    assert body == expected_report(
        body, Kind.S, False, ["файл переименован в .data до окончания загрузки"]
    )
    assert query(
        installation.database_url, "SELECT count(*) FROM mailings WHERE name = 'early'"
    ) == [(0,)]


def test_a_file_scanned_twice_makes_one_mailing_and_the_same_report(
    ftp: FtpGateway, installation: Installation
) -> None:
    ftp.upload("S-twice", S_FILE.replace(b"nov-sale", b"twice"))
    first = ftp.fetch("archive/S-twice.report")
    # As if the gateway died after loading but before moving the file: it is scanned again.
    home = ftp.root / "demo"
    (home / "archive" / "S-twice.report").unlink()
    (home / "archive" / "S-twice.data").rename(home / "in" / "S-twice.data")
    second = ftp.fetch("archive/S-twice.report")
    assert second[second.index(b"\r\nSuccess") :] == first[first.index(b"\r\nSuccess") :]
    twice = "SELECT state FROM mailings WHERE name = 'twice'"
    assert len(query(installation.database_url, twice)) == 1
    wait_for(lambda: query(installation.database_url, twice) == [(5,)])
    fed = "SELECT count(*) FROM mailing_recipients r JOIN mailings m ON m.id = r.mailing_id"
    fed += " WHERE m.name = 'twice' AND r.message_id IS NOT NULL"
    assert query(installation.database_url, fed) == [(3,)]


def test_partners_cannot_reach_each_others_folders(
    ftp: FtpGateway, installation: Installation
) -> None:
    ftp.upload("S-mine", S_FILE.replace(b"nov-sale", b"mine"))
    ftp.fetch("archive/S-mine.report")
    acme = ftp.root / "acme"
    (acme / "in").mkdir(parents=True)
    (acme / "archive").mkdir()
    (acme / "archive" / "secret.report").write_bytes(b"acme only")
    # A symlink in demo's own folder pointing at acme's (made on the server's disk).
    (ftp.root / "demo" / "in" / "link").symlink_to(acme / "archive")
    (ftp.root / "demo" / "in" / "file-link").symlink_to(acme / "archive" / "secret.report")
    client = ftp.client()
    try:
        for path in (
            "../acme/archive/secret.report",
            "/../acme/archive/secret.report",
            "archive/../../acme/archive/secret.report",
            str(acme / "archive" / "secret.report"),
            "in/link/secret.report",
            "in/file-link",
        ):
            with pytest.raises(ftplib.error_perm):
                client.retrbinary(f"RETR {path}", io.BytesIO().write)
        with pytest.raises(ftplib.error_perm):
            client.storbinary("STOR ../acme/in/S-evil.data", io.BytesIO(b"x"))
        with pytest.raises(ftplib.error_perm):
            client.storbinary("STOR archive/S-fake.report", io.BytesIO(b"x"))
        with pytest.raises(ftplib.error_perm):
            client.delete("archive/S-mine.report")
        client.cwd("/")
        client.cwd("..")  # the home is the root: .. stays there
        assert sorted(client.nlst()) == ["archive", "in"]
    finally:
        client.quit()
    assert (acme / "archive" / "secret.report").read_bytes() == b"acme only"
    assert not (acme / "in" / "S-evil.data").exists()


def test_plain_ftp_and_wrong_passwords_are_refused(ftp: FtpGateway) -> None:
    plain = ftplib.FTP()
    plain.connect("127.0.0.1", ftp.port, timeout=10)
    with pytest.raises(ftplib.error_perm, match=r"550|530|SSL|TLS"):
        plain.login("demo", "demo")
    plain.close()
    with pytest.raises(ftplib.error_perm, match="530"):
        ftp.client("demo", "wrong")


def test_kill_9_of_the_ftp_gateway_during_an_upload_loses_and_sends_nothing(
    ftp: FtpGateway, installation: Installation
) -> None:
    client = ftp.client()
    conn = client.transfercmd("STOR in/S-killed.data")  # written as .data straight away
    conn.sendall(b"name: killed\nservice_number: RCS\n\n79161120001;one\n79161")
    time.sleep(0.5)
    installation.kill("ftp")
    conn.close()
    client.close()
    ftp.start()
    body = ftp.fetch("archive/S-killed.report")
    assert body == expected_report(
        body, Kind.S, False, ["файл загружен не полностью (передача прервана)"]
    )
    assert query(
        installation.database_url, "SELECT count(*) FROM mailings WHERE name = 'killed'"
    ) == [(0,)]
    # The partner uploads it again, whole and as the docs say: it is loaded once.
    ftp.upload("S-killed2", b"name: killed\nservice_number: RCS\n\n79161120001;one\n")
    body = ftp.fetch("archive/S-killed2.report")
    assert body == expected_report(body, Kind.S, True, [])


def test_kill_9_of_core_during_a_running_mailing_sends_each_recipient_once(
    ftp: FtpGateway, installation: Installation
) -> None:
    count = 600  # 6 s at core's default 100 messages a second
    lines = "".join(f"7916555{i:04d};mailing text {i}\n" for i in range(count))
    ftp.upload(
        "S-core-kill", f"name: core-kill\nservice_number: RCS\nauto_start: Y\n\n{lines}".encode()
    )
    ftp.fetch("archive/S-core-kill.report")
    fed_sql = "SELECT fed, state FROM mailings WHERE name = 'core-kill'"
    wait_for(lambda: (query(installation.database_url, fed_sql) or [(0, 0)])[0][0] > 0, 60)
    installation.kill("core")
    fed_at_kill = query(installation.database_url, fed_sql)[0][0]
    assert 0 < fed_at_kill < count, "the mailing must be running when core is killed"
    installation.start_as("core", "core")
    wait_for(lambda: query(installation.database_url, fed_sql)[0] == (count, 5), 120)
    per_number = query(
        installation.database_url,
        "SELECT count(*), count(DISTINCT destination) FROM messages"
        " WHERE destination LIKE '7916555____'",
    )
    assert per_number == [(count, count)]
    final = (
        "SELECT count(*) FROM mailing_recipients r JOIN mailings g ON g.id = r.mailing_id"
        " JOIN messages m ON m.id = r.message_id AND m.created_at = r.message_at"
        " WHERE g.name = 'core-kill' AND m.status IN (3, 4)"
    )
    wait_for(lambda: query(installation.database_url, final) == [(count,)], 120)


def test_core_checks_ftp_logins_with_the_allowlist_and_the_failed_login_limit(
    ftp: FtpGateway, installation: Installation
) -> None:
    """Failures count per (login, address): the guessed login waits, the others do not."""

    async def partners_() -> None:
        async with await psycopg.AsyncConnection.connect(installation.database_url) as conn:
            await partners.upsert(conn, "far", "far-pass-1")
            await partners.upsert(conn, "guess", "guess-pass-1")
            await conn.execute(
                "UPDATE partners SET allowed_subnets = '{203.0.113.0/24}' WHERE login = 'far'"
            )
            await conn.commit()

    asyncio.run(partners_())
    with pytest.raises(ftplib.error_perm, match="530 This address is not allowed"):
        ftp.client("far", "far-pass-1")
    for _ in range(10):  # RCS_AUTH_MAX_FAILURES
        with pytest.raises(ftplib.error_perm, match="530"):
            ftp.client("guess", "wrong")
    with pytest.raises(ftplib.error_perm, match="530 Too many failed logins"):
        ftp.client("guess", "guess-pass-1")
    assert (ftp.root / "guess").exists() is False  # never logged in: no home made
    ftp.client().quit()  # another login from the same address is not held up


def test_delivery_files_only_for_the_partners_that_have_them(
    ftp: FtpGateway, installation: Installation
) -> None:
    asyncio.run(add_partner(installation, "quiet"))
    ftp.upload(
        "S-quiet",
        b"name: quiet-1\nservice_number: RCS\nauto_start: Y\n\n79161120001;t\n",
        login="quiet",
    )
    body = ftp.fetch("archive/S-quiet.report", login="quiet")
    assert body == expected_report(body, Kind.S, True, [])
    # A .delivery is owed (in the gateway's state folder) from the moment the file is
    # loaded, before its .report: none for quiet, while demo's mailings have theirs.
    owed = ftp.root.parent / "state" / "delivery"
    assert not list(owed.glob("quiet.*.json"))
    ftp.upload("S-loud", b"name: loud-1\nservice_number: RCS\nauto_start: Y\n\n79161120002;t\n")
    ftp.fetch("archive/S-loud.report")
    assert ftp.fetch("archive/S-loud.delivery", within=90).startswith(b"79161120002;")
    client = ftp.client("quiet", "acme-pass-1")
    try:
        assert "S-quiet.delivery" not in client.nlst("archive")
        assert "S-quiet.report" in client.nlst("archive")
    finally:
        client.quit()
