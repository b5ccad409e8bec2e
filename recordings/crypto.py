"""Encryption at rest for recordings: AES-256-GCM, one random nonce per file.

Why GCM: it authenticates as well as hides, so a flipped byte, a wrong key or a
file moved from another call is refused instead of played as noise. The
associated data is what the file must belong to (its relative path / call id),
so swapping two calls' files on disk makes both fail to decrypt.

Layout of an encrypted file: ``MAGIC`` + 12-byte nonce + ciphertext + 16-byte tag.
The magic says "this is ours, version 1" before any key is tried. Keys are never
logged, printed or put in an error message.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"CCREC1\0"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16


class RecordingCorrupt(Exception):
    """An encrypted recording could not be opened: not ours, tampered with,
    belonging to another recording, or encrypted under another key (GCM cannot
    tell these apart, and must not)."""


class RecordingCipher:
    """Encrypts and decrypts whole recordings under one AES-256 key."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a recording key is exactly {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)

    @classmethod
    def from_base64(cls, text: str) -> RecordingCipher:
        """The cipher for a key given as base64 (as in the settings file); the
        text itself never appears in the error."""
        try:
            key = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the recording key is not valid base64") from None
        return cls(key)

    @staticmethod
    def generate_key() -> str:
        """A fresh random key, as base64, for an operator to put in the settings."""
        return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")

    def __repr__(self) -> str:
        return "RecordingCipher(<key hidden>)"

    def encrypt(self, plain: bytes, *, associated: bytes) -> bytes:
        """``plain`` sealed to ``associated`` (what the file belongs to)."""
        nonce = os.urandom(NONCE_BYTES)
        return MAGIC + nonce + self._aead.encrypt(nonce, plain, associated)

    def decrypt(self, blob: bytes, *, associated: bytes) -> bytes:
        """The plain recording; :class:`RecordingCorrupt` unless ``blob`` is
        intact, ours, under this key and sealed to ``associated``."""
        if not blob.startswith(MAGIC):
            raise RecordingCorrupt("not an encrypted recording (no CCREC1 header)")
        body = blob[len(MAGIC) :]
        if len(body) < NONCE_BYTES + TAG_BYTES:
            raise RecordingCorrupt("encrypted recording is truncated")
        nonce, sealed = body[:NONCE_BYTES], body[NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, sealed, associated)
        except InvalidTag:
            raise RecordingCorrupt(
                "encrypted recording failed authentication "
                "(wrong key, altered file, or a file of another recording)"
            ) from None
