"""Where kept recordings live on disk: one file per call, laid out by date.

``<root>/YYYY/MM/DD/<call_id>.wav`` (the call's UTC start date), ``.wav.enc``
when encrypted at rest. Why by date: retention deletes by age, operators back up
and prune by day, and no directory grows without bound.

Why so strict about names: the relative path is stored in the database and
comes back through the web layer, so anything that could name a file outside
the root (``..``, an absolute path, a symlink pointing away, a call id with a
slash) is refused before the file system is touched. Only paths this store
itself could have made are accepted.

Writes are atomic (a temporary file in the same directory, then ``os.replace``),
so a crash leaves either the old recording or the new one, never half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from recordings.crypto import RecordingCipher, RecordingCorrupt

FILE_MODE = 0o640
DIR_MODE = 0o750
PLAIN_SUFFIX = ".wav"
ENCRYPTED_SUFFIX = ".wav.enc"

_CALL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_RELATIVE = re.compile(r"\d{4}/\d{2}/\d{2}/[A-Za-z0-9_-]{1,64}\.wav(?:\.enc)?")


class RecordingPathError(ValueError):
    """A call id or relative path that this store would never make: refused so
    nothing outside the root is read, written or deleted."""


class RecordingKeyMissing(RuntimeError):
    """An encrypted recording was asked for but no key is configured."""


@dataclass(frozen=True)
class StoredFile:
    """What was kept: enough for the recording's database row.

    ``size_bytes`` and ``sha256`` describe the plain audio (what is played back),
    not the encrypted file, so they stay the same whether or not it is encrypted.
    """

    relative_path: str
    size_bytes: int
    sha256: str
    encrypted: bool


class RecordingStore:
    """Recordings under ``root``, encrypted with ``cipher`` when one is given."""

    def __init__(self, root: Path, cipher: RecordingCipher | None) -> None:
        self._root = root
        self._cipher = cipher

    @property
    def root(self) -> Path:
        return self._root

    @property
    def encrypted(self) -> bool:
        """Whether new recordings are encrypted at rest."""
        return self._cipher is not None

    def relative_path(self, call_id: str, started_at: datetime) -> str:
        """``YYYY/MM/DD/<call_id>.wav`` (``.enc`` appended when encrypting), by
        the UTC date of ``started_at``, which must be timezone-aware."""
        if not _CALL_ID.fullmatch(call_id):
            raise RecordingPathError(f"call id {call_id!r} is not 1-64 of [A-Za-z0-9_-]")
        if started_at.tzinfo is None or started_at.utcoffset() is None:
            raise ValueError("started_at must be timezone-aware")
        day = started_at.astimezone(UTC)
        suffix = ENCRYPTED_SUFFIX if self._cipher is not None else PLAIN_SUFFIX
        return f"{day.year:04d}/{day.month:02d}/{day.day:02d}/{call_id}{suffix}"

    def save(self, call_id: str, started_at: datetime, wav: bytes) -> StoredFile:
        """Keeps ``wav`` as the call's recording (replacing an earlier one for the
        same call and day, e.g. when a late leg made it longer)."""
        relative = self.relative_path(call_id, started_at)
        path = self._resolve(relative)
        payload = wav
        if self._cipher is not None:
            payload = self._cipher.encrypt(wav, associated=relative.encode("utf-8"))
        self._write_atomically(path, payload)
        return StoredFile(
            relative_path=relative,
            size_bytes=len(wav),
            sha256=hashlib.sha256(wav).hexdigest(),
            encrypted=self._cipher is not None,
        )

    def read(self, relative_path: str) -> bytes:
        """The plain audio of a kept recording, decrypted when it is encrypted.

        Raises :class:`FileNotFoundError` when it is gone,
        :class:`~recordings.crypto.RecordingCorrupt` when it does not decrypt and
        :class:`RecordingKeyMissing` for an encrypted file without a key. It does
        not check the digest: that is :meth:`verify`.
        """
        path = self._resolve(relative_path)
        if not relative_path.endswith(ENCRYPTED_SUFFIX):
            return path.read_bytes()
        if self._cipher is None:
            raise RecordingKeyMissing(
                f"recording {relative_path} is encrypted but no recordings key is configured"
            )
        return self._cipher.decrypt(path.read_bytes(), associated=relative_path.encode("utf-8"))

    def path_of(self, relative_path: str) -> Path:
        """The file of a plain (unencrypted) recording, to stream it as it is on
        disk (with Range requests). An encrypted one must go through :meth:`read`."""
        if relative_path.endswith(ENCRYPTED_SUFFIX):
            raise ValueError(f"recording {relative_path} is encrypted: read() it instead")
        return self._resolve(relative_path)

    def delete(self, relative_path: str) -> bool:
        """Removes a recording (False if it was already gone) and the date
        directories it leaves empty."""
        path = self._resolve(relative_path)
        try:
            path.unlink()
            removed = True
        except FileNotFoundError:
            removed = False
        self._prune_empty_dirs(path.parent)
        return removed

    def verify(self, relative_path: str, sha256: str) -> bool:
        """Whether the kept recording is still exactly the audio whose digest was
        stored: False for a missing, altered or undecryptable file."""
        try:
            plain = self.read(relative_path)
        except (FileNotFoundError, RecordingCorrupt):
            return False
        digest = hashlib.sha256(plain).hexdigest()
        return hmac.compare_digest(digest, sha256.lower())

    def _resolve(self, relative_path: str) -> Path:
        """``relative_path`` under the root, refusing anything this store would
        not have made or that resolves elsewhere (a symlinked directory)."""
        if not _RELATIVE.fullmatch(relative_path):
            raise RecordingPathError(f"not a recording path: {relative_path!r}")
        root = self._root.resolve()
        path = (root / relative_path).resolve()
        if not path.is_relative_to(root) or path == root:
            raise RecordingPathError(f"recording path {relative_path!r} leaves the store")
        return path

    def _write_atomically(self, path: Path, payload: bytes) -> None:
        fd, temp = self._temp_file_beside(path)
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), FILE_MODE)
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        self._fsync_dir(path.parent)

    def _temp_file_beside(self, path: Path) -> tuple[int, str]:
        """A new temporary file in ``path``'s directory (so ``os.replace`` is a
        rename on one file system), the directories made as needed. Two tries: a
        concurrent :meth:`delete` may prune the then-empty date directory between
        the mkdir and the file."""
        try:
            self._make_dirs(path.parent)
            return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except FileNotFoundError:
            self._make_dirs(path.parent)
            return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)

    def _make_dirs(self, directory: Path) -> None:
        root = self._root.resolve()
        root.mkdir(parents=True, exist_ok=True)
        missing = []
        current = directory
        while current != root and not current.exists():
            missing.append(current)
            current = current.parent
        for level in reversed(missing):
            level.mkdir(mode=DIR_MODE, exist_ok=True)

    def _prune_empty_dirs(self, directory: Path) -> None:
        root = self._root.resolve()
        current = directory
        while current != root and current.is_relative_to(root):
            try:
                current.rmdir()
            except OSError:  # not empty (or already gone with a sibling's delete)
                if current.exists():
                    return
            current = current.parent

    @staticmethod
    def _fsync_dir(directory: Path) -> None:
        """Makes the rename itself durable; best effort where directories cannot
        be opened."""
        try:
            fd = os.open(directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)
