"""`rcs settings import-number-plan FILE` and `rcs settings import-ported FILE`.

Each import is one transaction against RCS_DATABASE_URL: it prints a one-line summary, or
every bad line and exits 2 having changed nothing."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

EXIT_BAD_FILE = 2


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    settings = sub.add_parser("settings", help="bulk settings imports (RCS_DATABASE_URL)")
    verbs = settings.add_subparsers(dest="verb", required=True)
    plan = verbs.add_parser(
        "import-number-plan",
        help="replace the number plan with a numbering-registry file"
        " (';'-separated, UTF-8 or windows-1251); all or nothing",
    )
    plan.add_argument("file", type=Path)
    plan.set_defaults(func=lambda a: _run("number_plan", a.file))
    ported = verbs.add_parser(
        "import-ported",
        help="replace the ported numbers with a 'number;operator' file; all or nothing",
    )
    ported.add_argument("file", type=Path)
    ported.set_defaults(func=lambda a: _run("ported", a.file))


def _run(kind: str, path: Path) -> None:
    # Local imports: other `rcs` commands do not load the database driver for this.
    from rcs_routing.number_plan import BadFileError
    from rcs_runtime.settings import DatabaseSettings

    try:
        data = path.read_bytes()
    except OSError as err:
        sys.exit(f"cannot read {path}: {err.strerror}")
    try:
        summary = asyncio.run(_import(kind, DatabaseSettings().database_url, data))
    except BadFileError as err:
        for line in err.errors:
            print(f"{path}: {line}", file=sys.stderr)
        print(
            f"refused: {len(err.errors)} bad line(s) in {path}; nothing imported",
            file=sys.stderr,
        )
        sys.exit(EXIT_BAD_FILE)
    print(summary)


async def _import(kind: str, dsn: str, data: bytes) -> object:
    import psycopg

    from rcs_routing.number_plan_import import import_number_plan, import_ported

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        if kind == "number_plan":
            return await import_number_plan(conn, data, actor=_actor())
        return await import_ported(conn, data, actor=_actor())


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in some containers
        return "cli"
