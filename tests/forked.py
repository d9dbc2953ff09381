"""`rcs …` processes forked from one parent that has imported the CLI and every component
once (a multiprocessing forkserver), instead of a new interpreter per process importing
them all again: most of a component's start-up CPU in the tests. Each is still an OS
process of its own, running `rcs_cli.main.main(argv)` with its own environment, log and
exit status, seen through the part of subprocess.Popen's interface the tests use."""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

# What `python -m rcs_cli serve <component>` would import; pytest too, because a child
# re-imports the parent's main script (pytest's) before running its target.
_PRELOAD = [
    "pytest",
    "tests.forked",
    "rcs_cli.main",
    "rcs_core.__main__",
    "rcs_routing.__main__",
    "rcs_connectors.__main__",
    "rcs_simulators.smsc.__main__",
    "gateways.rest.__main__",
    "gateways.smpp.__main__",
    "rcs_cluster.__main__",
    "rcs_rpns.__main__",
    "rcs_messengers.__main__",
    "rcs_simulators.pns.__main__",
    "rcs_simulators.viber.__main__",
    "rcs_simulators.whatsapp.__main__",
    "rcs_simulators.telegram.__main__",
    "rcs_simulators.vk.__main__",
    "rcs_simulators.flashcall.__main__",
    "gateways.ftp.__main__",
]
# Benchmarks set this (bench/__init__.py): they measure components as deployed, each a
# fresh `python -m rcs_cli` that imported only its own modules, not a fork of a parent
# holding every component's (a larger heap for the collector to walk).
FRESH_INTERPRETERS = False
_ctx = multiprocessing.get_context("forkserver")
_ctx.set_forkserver_preload(_PRELOAD)
_running: set[ForkedProcess] = set()


def _child(argv: list[str], env: dict[str, str], out: str, err: str) -> None:
    """In the forked process: what `python -m rcs_cli ARGV` does, its output to files."""
    for target, path in ((1, out), (2, err)):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = ["rcs", *argv]
    from rcs_cli.main import main

    main(argv)


class ForkedProcess:
    """One forked `rcs ARGV` with its output appended to ``log_path`` (its stderr to
    ``err_path`` when given)."""

    def __init__(
        self,
        argv: list[str],
        env: Mapping[str, str],
        log_path: Path,
        err_path: Path | None = None,
    ) -> None:
        self.args = argv
        self.returncode: int | None = None
        self._popen: subprocess.Popen[bytes] | None = None
        if FRESH_INTERPRETERS:
            with log_path.open("ab") as out, (err_path or log_path).open("ab") as err:
                self._popen = subprocess.Popen(
                    [sys.executable, "-m", "rcs_cli", *argv], env=dict(env), stdout=out, stderr=err
                )
            self.pid: int = self._popen.pid
        else:
            files = (str(log_path), str(err_path or log_path))
            # Not daemonic: a component (routing) may start processes of its own.
            self._proc = _ctx.Process(target=_child, args=(argv, dict(env), *files), daemon=False)
            self._proc.start()
            assert self._proc.pid is not None
            self.pid = self._proc.pid
        _running.add(self)

    def poll(self) -> int | None:
        if self._popen is not None:
            self.returncode = self._popen.poll()
            if self.returncode is not None:
                _running.discard(self)
            return self.returncode
        if self.returncode is None and self._proc.exitcode is not None:
            self.returncode = self._proc.exitcode
            self._proc.close()
            _running.discard(self)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self._popen is not None:
            self._popen.wait(timeout)
        elif self.returncode is None:
            self._proc.join(timeout)
        code = self.poll()
        if code is None:
            raise subprocess.TimeoutExpired(["rcs", *self.args], timeout or 0)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def run_rcs(
    *argv: str, env: Mapping[str, str] | None = None, stderr_to_stdout: bool = False
) -> tuple[int, str, str]:
    """`rcs ARGV` run to its end (with ``env``, else this process's environment): its exit
    code, stdout and stderr (in stdout with ``stderr_to_stdout``, as Popen's STDOUT)."""
    with tempfile.TemporaryDirectory(prefix="rcs-cli-") as tmp:
        out, err = Path(tmp, "out"), Path(tmp, "err")
        proc = ForkedProcess(
            list(argv), os.environ if env is None else env, out, None if stderr_to_stdout else err
        )
        code = proc.wait(120)
        text = out.read_text(errors="replace") if out.exists() else ""
        if stderr_to_stdout:
            return code, text, ""
        return code, text, err.read_text(errors="replace") if err.exists() else ""


async def rcs(
    *argv: str, env: Mapping[str, str] | None = None, stderr_to_stdout: bool = False
) -> tuple[int, str, str]:
    """run_rcs without blocking the event loop (the servers the CLI talks to may run on it)."""
    return await asyncio.to_thread(run_rcs, *argv, env=env, stderr_to_stdout=stderr_to_stdout)


@atexit.register  # before multiprocessing's own exit hook, which would wait for them
def _kill_leftovers() -> None:
    for proc in list(_running):
        proc.kill()
        proc.wait()
