"""Tink AES-GCM-HKDF streaming, 1 MiB segments (crypto-protocol.md §8).

Byte-for-byte Tink's format, so that the ``tink`` package can serve as an independent oracle::

    header    = 0x28 ‖ salt(32) ‖ nonce_prefix(7)
    K_seg     = HKDF-SHA256(ikm = CEK, salt = salt, info = aad, 32)
    segment i = AES-256-GCM(K_seg, nonce_prefix ‖ BE32(i) ‖ last, pt_i, aad = empty)

Both directions are incremental: memory stays at about one segment whatever the file size, and
the decoder finds the last segment by reading one byte ahead (a ciphertext never states its own
length, so the last-segment flag is what makes truncation detectable).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from quietroom.crypto.errors import BodyError, EncodingError, TruncatedError
from quietroom.crypto.keys import Rng, hkdf, random_bytes

SEGMENT_SIZE: Final = 1048576  # ciphertext segment size, Tink's AES256_GCM_HKDF_1MB
HEADER_LEN: Final = 40
SALT_LEN: Final = 32
NONCE_PREFIX_LEN: Final = 7
TAG_LEN: Final = 16
FIRST_PT: Final = SEGMENT_SIZE - HEADER_LEN - TAG_LEN  # 1048520
PT_SEG: Final = SEGMENT_SIZE - TAG_LEN  # 1048560
MIN_CIPHERTEXT: Final = HEADER_LEN + TAG_LEN  # 56: header and one empty segment
CHUNK: Final = 65536
META_MAX: Final = 4096


def segment_count(plaintext_len: int) -> int:
    if plaintext_len <= FIRST_PT:
        return 1
    return 1 + -(-(plaintext_len - FIRST_PT) // PT_SEG)


def ciphertext_length(plaintext_len: int) -> int:
    """``40 + P + 16·n``: the only blob length the server accepts for ``body.size = P``."""
    return HEADER_LEN + plaintext_len + TAG_LEN * segment_count(plaintext_len)


def _nonce(prefix: bytes, index: int, *, last: bool) -> bytes:
    if index >= 2**32:
        raise BodyError("stream has too many segments")
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _segment_key(cek: bytes, salt: bytes, aad: bytes) -> AESGCM:
    if len(cek) != 32:
        raise EncodingError("stream key must be 32 bytes")
    return AESGCM(hkdf(cek, salt, aad, 32))


class StreamEncryptor:
    """Feed plaintext with :meth:`update`, then call :meth:`finalize` once.

    A segment is emitted only when more plaintext is known to follow, so exactly 1048520 bytes is
    one (last) segment and an empty input is one 16-byte segment (§8).
    """

    def __init__(self, cek: bytes, aad: bytes, *, rng: Rng = random_bytes) -> None:
        salt = rng(SALT_LEN)
        self._prefix = rng(NONCE_PREFIX_LEN)
        self._aead = _segment_key(cek, salt, aad)
        self.header = bytes([HEADER_LEN]) + salt + self._prefix
        self._buffer = bytearray()
        self._index = 0
        self._header_sent = False
        self._done = False

    def _segment_pt_len(self) -> int:
        return FIRST_PT if self._index == 0 else PT_SEG

    def _take_header(self) -> bytes:
        if self._header_sent:
            return b""
        self._header_sent = True
        return self.header

    def update(self, data: bytes) -> bytes:
        if self._done:
            raise BodyError("stream already finalized")
        self._buffer += data
        out = [self._take_header()]
        # Strictly greater: the segment is non-last only if at least one more byte follows.
        while len(self._buffer) > self._segment_pt_len():
            n = self._segment_pt_len()
            chunk = bytes(self._buffer[:n])
            del self._buffer[:n]
            out.append(
                self._aead.encrypt(_nonce(self._prefix, self._index, last=False), chunk, None)
            )
            self._index += 1
        return b"".join(out)

    def finalize(self) -> bytes:
        if self._done:
            raise BodyError("stream already finalized")
        self._done = True
        last = self._aead.encrypt(
            _nonce(self._prefix, self._index, last=True), bytes(self._buffer), None
        )
        self._buffer.clear()
        return self._take_header() + last


class StreamDecryptor:
    """Feed ciphertext with :meth:`update`; :meth:`finalize` checks the last segment.

    Plaintext returned by ``update`` is provisional: it MUST NOT be released as final (preview,
    save) until ``finalize`` returns and the caller has checked the signature's body hash (§7.6).
    """

    def __init__(self, cek: bytes, aad: bytes) -> None:
        self._cek = cek
        self._aad = aad
        self._aead: AESGCM | None = None
        self._prefix = b""
        self._buffer = bytearray()
        self._index = 0
        self._done = False

    def _segment_ct_len(self) -> int:
        return SEGMENT_SIZE - HEADER_LEN if self._index == 0 else SEGMENT_SIZE

    def _read_header(self) -> bool:
        if self._aead is not None:
            return True
        if len(self._buffer) < HEADER_LEN:
            return False
        if self._buffer[0] != HEADER_LEN:
            raise BodyError("stream header length byte is not 0x28")
        salt = bytes(self._buffer[1 : 1 + SALT_LEN])
        self._prefix = bytes(self._buffer[1 + SALT_LEN : HEADER_LEN])
        self._aead = _segment_key(self._cek, salt, self._aad)
        del self._buffer[:HEADER_LEN]
        return True

    def _open(self, segment: bytes, last: bool) -> bytes:
        assert self._aead is not None  # noqa: S101 - _read_header ran before any segment
        try:
            return self._aead.decrypt(_nonce(self._prefix, self._index, last=last), segment, None)
        except InvalidTag:
            pass
        # Tell the failure apart for the user: a segment that opens with the opposite flag means
        # the stream was cut short (or extended); its plaintext is never returned.
        try:
            self._aead.decrypt(_nonce(self._prefix, self._index, last=not last), segment, None)
        except InvalidTag:
            raise BodyError(f"segment {self._index} failed authentication") from None
        if last:
            raise TruncatedError("stream ends before its last segment")
        raise BodyError("data follows the last segment")

    def update(self, data: bytes) -> bytes:
        if self._done:
            raise BodyError("stream already finalized")
        self._buffer += data
        if not self._read_header():
            return b""
        out = []
        # Strictly greater: one byte of read-ahead proves this segment is not the last.
        while len(self._buffer) > self._segment_ct_len():
            n = self._segment_ct_len()
            segment = bytes(self._buffer[:n])
            del self._buffer[:n]
            out.append(self._open(segment, last=False))
            self._index += 1
        return b"".join(out)

    def finalize(self) -> bytes:
        if self._done:
            raise BodyError("stream already finalized")
        self._done = True
        if self._aead is None:
            raise TruncatedError("stream shorter than its header")
        if len(self._buffer) < TAG_LEN:
            raise TruncatedError("final segment shorter than a tag")
        segment = bytes(self._buffer)
        self._buffer.clear()
        return self._open(segment, last=True)


def encrypt_stream(
    cek: bytes, aad: bytes, source: BinaryIO, sink: BinaryIO, *, rng: Rng = random_bytes
) -> int:
    """Encrypts ``source`` into ``sink`` in bounded memory; returns the plaintext length."""
    encryptor = StreamEncryptor(cek, aad, rng=rng)
    total = 0
    while chunk := source.read(CHUNK):
        total += len(chunk)
        sink.write(encryptor.update(chunk))
    sink.write(encryptor.finalize())
    return total


def decrypt_stream(cek: bytes, aad: bytes, source: BinaryIO, sink: BinaryIO) -> int:
    """Decrypts ``source`` into ``sink``; the output is provisional until this returns."""
    decryptor = StreamDecryptor(cek, aad)
    total = 0
    while chunk := source.read(CHUNK):
        out = decryptor.update(chunk)
        total += len(out)
        sink.write(out)
    out = decryptor.finalize()
    sink.write(out)
    return total + len(out)


def encrypt_bytes(cek: bytes, aad: bytes, plaintext: bytes, *, rng: Rng = random_bytes) -> bytes:
    encryptor = StreamEncryptor(cek, aad, rng=rng)
    return encryptor.update(plaintext) + encryptor.finalize()


def decrypt_bytes(cek: bytes, aad: bytes, ciphertext: bytes) -> bytes:
    decryptor = StreamDecryptor(cek, aad)
    return decryptor.update(ciphertext) + decryptor.finalize()


def iter_pattern(length: int, chunk: int = CHUNK) -> Iterator[bytes]:
    """Test byte pattern ``byte[i] = i mod 251``; vectors store no large plaintexts."""
    base = bytes(range(251))
    pos = 0
    while pos < length:
        n = min(chunk, length - pos)
        start = pos % 251
        reps = (start + n) // 251 + 1
        yield (base * reps)[start : start + n]
        pos += n


def pattern(length: int) -> bytes:
    return b"".join(iter_pattern(length))


# -- file metadata inside the stream (§8) -------------------------------------------------------


def file_prefix(meta_json: bytes) -> bytes:
    """``LE32(len(meta)) ‖ meta``; the file bytes follow in the same stream."""
    if len(meta_json) > META_MAX:
        raise EncodingError("file metadata over 4 KiB")
    return len(meta_json).to_bytes(4, "little") + meta_json


def split_file_prefix(plaintext_head: bytes) -> tuple[bytes, int]:
    """Returns ``(meta, offset of the file bytes)`` from the start of a decrypted stream."""
    if len(plaintext_head) < 4:
        raise BodyError("stream too short for its metadata")
    n = int.from_bytes(plaintext_head[:4], "little")
    if n > META_MAX or len(plaintext_head) < 4 + n:
        raise BodyError("malformed file metadata")
    return plaintext_head[4 : 4 + n], 4 + n
