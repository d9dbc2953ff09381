"""Load: a big S file through the FTP gateway into core (issue 18: lines/s and peak memory).

Starts core (no dispatcher, no feeder: only loading is measured) and the FTP gateway as
processes on a fresh database cloned from RCS_TEST_DSN, writes an S file of --lines lines
(UTF-8, one text each, 1 in 1,000 numbers repeated so the report lists refusals), uploads
it over FTPS as .loading and renames it to .data, and times from the rename to the .report
in archive/. Prints lines/s and the peak resident memory (VmHWM) of the gateway and core.

    eval "$(scripts/test-services.sh env)"; .venv/bin/python -m bench.ftp_load --lines 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import ftplib
import json
import os
import shutil
import ssl
import sys
import tempfile
import time
from pathlib import Path

from bench.rest_e2e import _prepare
from tests.conftest import free_port
from tests.e2e.installation import Installation
from tests.support import seed_demo


def _write(path: Path, lines: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("name: bench-1m\nservice_number: RCS\nauto_start: N\n\n")
        for i in range(lines):
            number = 79000000000 + (i - 1 if i % 1000 == 999 else i)
            f.write(f"{number};Уважаемый клиент, ваш заказ {i} готов к выдаче\n")


def _peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    admin = os.environ.get("RCS_TEST_DSN")
    if not admin:
        sys.exit('RCS_TEST_DSN is not set: eval "$(scripts/test-services.sh up)" first')
    dsn = asyncio.run(_prepare(admin))
    base = Path(tempfile.mkdtemp(prefix="rcs-bench-ftp-"))
    inst = Installation(
        dsn,
        base / "logs",
        extra_env={
            "RCS_LOG_LEVEL": "INFO",
            "RCS_DISPATCHER_WORKERS": "0",
            "RCS_MAILING_FEED_INTERVAL_SECONDS": "0",
        },
    )
    asyncio.run(seed_demo(dsn, smsc_host="127.0.0.1", smsc_port=inst.ports["smsc"]))
    port = free_port()
    root = base / "partners"
    source = base / "S-bench.loading"
    _write(source, args.lines)
    print(f"file: {args.lines:,} lines, {source.stat().st_size / 1e6:.1f} MB")
    inst.start_as("core", "core")
    inst.start_as(
        "ftp",
        "ftp",
        {
            "RCS_FTP_PORT": str(port),
            "RCS_FTP_ROOT": str(root),
            "RCS_FTP_CERT_FILE": str(base / "cert.pem"),
            "RCS_FTP_KEY_FILE": str(base / "key.pem"),
            "RCS_FTP_SCAN_INTERVAL_SECONDS": "0.2",
        },
    )
    try:
        inst.wait_ready(timeout=120, smsc=False)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + 60
        while True:
            try:
                ftp = ftplib.FTP_TLS(context=ctx, timeout=60)  # noqa: S321 (FTPS: TLS below)
                ftp.connect("127.0.0.1", port)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        ftp.login("demo", "demo")
        ftp.prot_p()
        t0 = time.perf_counter()
        with source.open("rb") as f:
            ftp.storbinary("STOR in/S-bench.loading", f, blocksize=1 << 16)
        uploaded = time.perf_counter() - t0
        ftp.rename("in/S-bench.loading", "in/S-bench.data")
        ftp.quit()
        t1 = time.perf_counter()
        cpu0 = {n: _cpu_seconds(inst.procs[n].pid) for n in ("ftp", "core")}
        report = root / "demo" / "archive" / "S-bench.report"
        while not report.exists():
            if inst.procs["ftp"].poll() is not None:
                sys.exit(f"ftp gateway died:\n{inst.logs()}")
            time.sleep(0.1)
        loaded = time.perf_counter() - t1
        print(f"upload over FTPS: {uploaded:.1f} s")
        print(
            f"load (rename → .report): {loaded:.1f} s = {args.lines / loaded:,.0f} lines/s;"
            f" report {report.stat().st_size:,} bytes"
        )
        cpu = {n: _cpu_seconds(inst.procs[n].pid) - cpu0[n] for n in cpu0}
        print(f"CPU during the load: ftp gateway {cpu['ftp']:.1f} s, core {cpu['core']:.1f} s")
        print(
            f"peak RSS: ftp gateway {_peak_kib(inst.procs['ftp'].pid) / 1024:.0f} MiB,"
            f" core {_peak_kib(inst.procs['core'].pid) / 1024:.0f} MiB"
        )
        for line in (base / "logs" / "core.log").read_text().splitlines():
            if '"mailing_loaded"' in line:
                doc = json.loads(line)
                print(
                    f"core: streamed in {doc['stream_seconds']} s,"
                    f" stored (black list, repeats, recipients) in {doc['store_seconds']} s"
                )
    finally:
        inst.stop()
        shutil.rmtree(base, ignore_errors=True)  # the file and its archived copy


if __name__ == "__main__":
    main()
