"""Uploads in progress, so that the scanner never takes a file still being written, and
knows one that never was written whole.

Each upload leaves a marker file in the gateway's state folder from its first byte until
it ends whole. A marker without a live upload behind it (the transfer broke, the gateway
was killed mid-upload) says the file is incomplete; a file renamed to ``.data`` while it
was still being written is marked so too. Thread-safe: pyftpdlib serves each session in
its own thread while the scanner runs in the event loop.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

INCOMPLETE = "incomplete"
RENAMED_EARLY = "renamed_early"


@dataclass(slots=True)
class _Upload:
    renamed_early: bool = False


class Uploads:
    def __init__(self, state_dir: Path) -> None:
        self._dir = state_dir / "uploading"
        self._dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._active: dict[Path, _Upload] = {}
        # Uploads renamed while being written: pyftpdlib reports their end by the old name.
        self._moved: dict[Path, Path] = {}

    def _marker(self, path: Path) -> Path:
        return self._dir / hashlib.sha256(str(path).encode()).hexdigest()

    def _write(self, path: Path, verdict: str) -> None:
        tmp = self._marker(path).with_suffix(".tmp")
        tmp.write_text(json.dumps({"path": str(path), "verdict": verdict}))
        os.replace(tmp, self._marker(path))

    def begin(self, path: Path) -> None:
        with self._lock:
            self._active[path] = _Upload()
            self._write(path, INCOMPLETE)

    def renaming(self, src: Path, dst: Path) -> None:
        """Before ``src`` is renamed to ``dst`` on disk: ``dst`` counts as busy while ``src``'s
        upload runs (and takes a broken file's marker), so that the scanner, which may list
        the folder between the rename and ``renamed``, never takes the file half written."""
        with self._lock:
            upload = self._active.get(src)
            if upload is not None:
                self._active[dst] = upload
            elif self._marker(src).exists():
                self._write(dst, INCOMPLETE)

    def rename_failed(self, src: Path, dst: Path) -> None:
        """The rename announced by ``renaming`` did not happen."""
        with self._lock:
            upload = self._active.get(src)
            if upload is not None and self._active.get(dst) is upload:
                del self._active[dst]
            elif upload is None and self._marker(src).exists():
                self._marker(dst).unlink(missing_ok=True)

    def renamed(self, src: Path, dst: Path) -> None:
        with self._lock:
            upload = self._active.pop(src, None)
            if upload is None:
                # A file left incomplete (broken transfer, gateway killed) stays so
                # under its new name.
                if self._marker(src).exists():
                    os.replace(self._marker(src), self._marker(dst))
                    self._write(dst, INCOMPLETE)
                return
            self._marker(src).unlink(missing_ok=True)
            upload.renamed_early = upload.renamed_early or dst.suffix == ".data"
            self._active[dst] = upload
            self._moved[src] = dst
            self._write(dst, INCOMPLETE)

    def finished(self, path: Path, *, complete: bool) -> None:
        """The transfer ended. A whole file renamed early, or a broken ``.data``, keeps
        its marker with the verdict; anything else is forgotten (a broken ``.loading`` is
        never taken, and the partner uploads it again)."""
        with self._lock:
            while path in self._moved:
                path = self._moved.pop(path)
            upload = self._active.pop(path, None)
            if upload is None:
                return
            if upload.renamed_early:
                self._write(path, RENAMED_EARLY)
            elif complete or path.suffix != ".data":
                self._marker(path).unlink(missing_ok=True)

    def busy(self, path: Path) -> bool:
        with self._lock:
            return path in self._active

    def verdict(self, path: Path) -> str | None:
        """Why ``path`` must not be loaded (INCOMPLETE, RENAMED_EARLY), or None."""
        with self._lock:
            if path in self._active:
                return None
            try:
                doc = json.loads(self._marker(path).read_text())
            except (OSError, ValueError):
                return None
            return str(doc.get("verdict", INCOMPLETE))

    def forget(self, path: Path) -> None:
        with self._lock:
            self._marker(path).unlink(missing_ok=True)
