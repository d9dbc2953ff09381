"""CPU of a command and of every process under it: `python scripts/cpu_of.py CMD ARGS...`.

Runs CMD as a child subreaper's child, so orphans (a multiprocessing forkserver and what
it forked, daemons a test left) are reaped here and their CPU counted too; prints wall
and CPU seconds to stderr and exits with CMD's code. Linux only (prctl)."""

from __future__ import annotations

import ctypes
import os
import resource
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def main() -> int:
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    started = time.monotonic()
    code = subprocess.call(sys.argv[1:])  # noqa: S603 - the command line given to measure
    while True:
        try:
            os.wait()
        except ChildProcessError:
            break
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"CPU {used.ru_utime + used.ru_stime:.1f} s (user {used.ru_utime:.1f},"
        f" sys {used.ru_stime:.1f}), wall {time.monotonic() - started:.1f} s, exit {code}",
        file=sys.stderr,
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
