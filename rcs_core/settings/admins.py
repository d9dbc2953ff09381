"""Administrators as settings revisions (``rcs admin-user``, the first administrator of a
new installation): refused on a standby, copied from the master by its sync."""

from __future__ import annotations

from rcs_core.settings import credentials, store
from rcs_core.settings.spec import Conn


async def save_admin(conn: Conn, login: str, password_hash: str, *, actor: str) -> int:
    """Create the administrator or set their password, as one revision (returned)."""
    await store.lock_settings(conn)
    before = await credentials.admin_state(conn, login)
    after = credentials.AdminState(login=login, password_hash=password_hash)
    await credentials.put_admin(conn, login, after)
    verb = "set the password of" if before else "create"
    return await store.commit_revision(
        conn,
        actor=actor,
        remote_ip="",
        summary=f"{verb} administrator {login}",
        changes=[store.Change(credentials.ADMIN, login, before, after)],
        action="admin.change",
    )
