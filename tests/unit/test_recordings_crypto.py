"""Encryption at rest: AES-256-GCM, refused on any mismatch."""

from __future__ import annotations

import base64
import os

import pytest

from recordings import MAGIC, RecordingCipher, RecordingCorrupt

KEY = bytes(range(32))
AUDIO = b"RIFF....WAVEfmt " + os.urandom(4096)
WHERE = b"2024/03/01/c0001.wav.enc"


def test_round_trip() -> None:
    cipher = RecordingCipher(KEY)
    blob = cipher.encrypt(AUDIO, associated=WHERE)
    assert blob.startswith(MAGIC)
    assert len(blob) == len(MAGIC) + 12 + len(AUDIO) + 16
    assert AUDIO not in blob
    assert cipher.decrypt(blob, associated=WHERE) == AUDIO
    assert RecordingCipher(KEY).decrypt(blob, associated=WHERE) == AUDIO


def test_every_encryption_has_its_own_nonce() -> None:
    cipher = RecordingCipher(KEY)
    one, two = (cipher.encrypt(AUDIO, associated=WHERE) for _ in range(2))
    assert one[len(MAGIC) : len(MAGIC) + 12] != two[len(MAGIC) : len(MAGIC) + 12]
    assert one != two


def test_an_empty_recording_round_trips() -> None:
    cipher = RecordingCipher(KEY)
    assert cipher.decrypt(cipher.encrypt(b"", associated=WHERE), associated=WHERE) == b""


def test_a_wrong_key_is_refused() -> None:
    blob = RecordingCipher(KEY).encrypt(AUDIO, associated=WHERE)
    with pytest.raises(RecordingCorrupt):
        RecordingCipher(bytes(32)).decrypt(blob, associated=WHERE)


@pytest.mark.parametrize(
    "where",
    [len(MAGIC), len(MAGIC) + 11, len(MAGIC) + 12, len(MAGIC) + 12 + 2000, -1],
    ids=["nonce-first", "nonce-last", "ciphertext-first", "ciphertext-middle", "tag-last"],
)
def test_a_tampered_byte_is_refused(where: int) -> None:
    cipher = RecordingCipher(KEY)
    blob = bytearray(cipher.encrypt(AUDIO, associated=WHERE))
    blob[where] ^= 0x01
    with pytest.raises(RecordingCorrupt):
        cipher.decrypt(bytes(blob), associated=WHERE)


def test_another_recordings_associated_data_is_refused() -> None:
    cipher = RecordingCipher(KEY)
    blob = cipher.encrypt(AUDIO, associated=WHERE)
    with pytest.raises(RecordingCorrupt):
        cipher.decrypt(blob, associated=b"2024/03/01/c0002.wav.enc")


@pytest.mark.parametrize(
    "blob",
    [b"", b"RIFF0000WAVE", b"CCREC2\0" + bytes(40), MAGIC + bytes(27)],
    ids=["empty", "plain-wav", "other-version", "truncated"],
)
def test_what_is_not_a_whole_encrypted_recording_is_refused(blob: bytes) -> None:
    with pytest.raises(RecordingCorrupt):
        RecordingCipher(KEY).decrypt(blob, associated=WHERE)


@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_a_key_is_exactly_32_bytes(length: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        RecordingCipher(bytes(length))


def test_from_base64() -> None:
    text = base64.b64encode(KEY).decode()
    blob = RecordingCipher.from_base64(f" {text}\n").encrypt(AUDIO, associated=WHERE)
    assert RecordingCipher(KEY).decrypt(blob, associated=WHERE) == AUDIO


def test_a_bad_base64_key_is_refused_without_echoing_it() -> None:
    secret = "not-base64-but-secret!!"
    with pytest.raises(ValueError) as caught:
        RecordingCipher.from_base64(secret)
    assert secret not in str(caught.value)
    with pytest.raises(ValueError, match="32 bytes"):
        RecordingCipher.from_base64(base64.b64encode(bytes(16)).decode())


def test_the_key_never_shows() -> None:
    text = base64.b64encode(KEY).decode()
    cipher = RecordingCipher.from_base64(text)
    assert text not in repr(cipher)
    assert KEY.hex() not in repr(cipher)


def test_generated_keys_work_and_differ() -> None:
    one, two = RecordingCipher.generate_key(), RecordingCipher.generate_key()
    assert one != two
    assert len(base64.b64decode(one)) == 32
    cipher = RecordingCipher.from_base64(one)
    assert cipher.decrypt(cipher.encrypt(AUDIO, associated=WHERE), associated=WHERE) == AUDIO
