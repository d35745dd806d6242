"""Tink AES-GCM-HKDF streaming (§8): layout, incremental API, damage, and Tink as the oracle."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest
import tink
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st
from tink import secret_key_access, streaming_aead
from tink.proto import aes_gcm_hkdf_streaming_pb2, common_pb2, tink_pb2

from quietroom.crypto import stream
from quietroom.crypto.errors import BodyError, CryptoError, TruncatedError
from quietroom.crypto.keys import hkdf

SPEC_SIZES = (0, 1, 1048519, 1048520, 1048521, 2097080, 2097081, 2_500_000)


class _KeepOpen(io.BytesIO):
    """Tink closes its destination; keep the bytes readable afterwards."""

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def tink_for() -> TinkFactory:
    streaming_aead.register()
    return TinkFactory()


class TinkFactory:
    def __call__(self, cek: bytes) -> streaming_aead.StreamingAead:
        # A keyset whose AesGcmHkdfStreamingKey has key_value = CEK and the parameters of §8.
        key = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingKey(version=0, key_value=cek)
        key.params.ciphertext_segment_size = stream.SEGMENT_SIZE
        key.params.derived_key_size = 32
        key.params.hkdf_hash_type = common_pb2.SHA256
        keyset = tink_pb2.Keyset(primary_key_id=1)
        entry = keyset.key.add()
        entry.key_data.type_url = "type.googleapis.com/google.crypto.tink.AesGcmHkdfStreamingKey"
        entry.key_data.value = key.SerializeToString()
        entry.key_data.key_material_type = tink_pb2.KeyData.SYMMETRIC
        entry.status = tink_pb2.ENABLED
        entry.key_id = 1
        entry.output_prefix_type = tink_pb2.RAW
        handle = tink.proto_keyset_format.parse(keyset.SerializeToString(), secret_key_access.TOKEN)
        primitive: streaming_aead.StreamingAead = handle.primitive(streaming_aead.StreamingAead)
        return primitive


@pytest.mark.parametrize("size", SPEC_SIZES)
def test_tink_decrypts_ours(tink_for: TinkFactory, size: int) -> None:
    cek, aad = os.urandom(32), os.urandom(32)
    plaintext = stream.pattern(size)
    ct = stream.encrypt_bytes(cek, aad, plaintext)
    assert len(ct) == stream.ciphertext_length(size)
    with tink_for(cek).new_decrypting_stream(io.BytesIO(ct), aad) as dec:
        assert dec.read() == plaintext


@pytest.mark.parametrize("size", SPEC_SIZES)
def test_we_decrypt_tinks(tink_for: TinkFactory, size: int) -> None:
    cek, aad = os.urandom(32), os.urandom(32)
    plaintext = stream.pattern(size)
    sink = _KeepOpen()
    with tink_for(cek).new_encrypting_stream(sink, aad) as enc:
        enc.write(plaintext)
    ct = sink.getvalue()
    assert len(ct) == stream.ciphertext_length(size)
    out = io.BytesIO()
    assert stream.decrypt_stream(cek, aad, io.BytesIO(ct), out) == size
    assert out.getvalue() == plaintext


def test_tink_refuses_our_damaged_streams(tink_for: TinkFactory) -> None:
    cek, aad = os.urandom(32), os.urandom(32)
    ct = stream.encrypt_bytes(cek, aad, stream.pattern(2_097_081))
    for damaged in (ct[: stream.SEGMENT_SIZE], ct + b"\x00" * 16, _swap(ct, 0, 1)):
        with (
            pytest.raises(tink.TinkError),
            tink_for(cek).new_decrypting_stream(io.BytesIO(damaged), aad) as dec,
        ):
            dec.read()


def test_empty_last_segment_after_a_full_one_is_accepted() -> None:
    # Tink may write a full segment followed by an empty last one; we must read it (§8).
    cek, aad = os.urandom(32), os.urandom(32)
    plaintext = stream.pattern(stream.FIRST_PT)
    salt, prefix = os.urandom(32), os.urandom(7)
    aead = AESGCM(hkdf(cek, salt, aad, 32))
    ct = (
        bytes([40])
        + salt
        + prefix
        + aead.encrypt(prefix + (0).to_bytes(4, "big") + b"\x00", plaintext, None)
        + aead.encrypt(prefix + (1).to_bytes(4, "big") + b"\x01", b"", None)
    )
    assert stream.decrypt_bytes(cek, aad, ct) == plaintext


def _segments(ct: bytes) -> list[bytes]:
    body = ct[stream.HEADER_LEN :]
    first = stream.SEGMENT_SIZE - stream.HEADER_LEN
    out = [body[:first]]
    out += [body[i : i + stream.SEGMENT_SIZE] for i in range(first, len(body), stream.SEGMENT_SIZE)]
    return out


def _swap(ct: bytes, a: int, b: int) -> bytes:
    segs = _segments(ct)
    segs[a], segs[b] = segs[b], segs[a]
    return ct[: stream.HEADER_LEN] + b"".join(segs)


@pytest.fixture(scope="module")
def three_segments() -> tuple[bytes, bytes, bytes]:
    cek, aad = os.urandom(32), os.urandom(32)
    return cek, aad, stream.encrypt_bytes(cek, aad, stream.pattern(2_097_081))


def test_truncated_at_a_segment_boundary(three_segments: tuple[bytes, bytes, bytes]) -> None:
    cek, aad, ct = three_segments
    for cut in (stream.SEGMENT_SIZE, 2 * stream.SEGMENT_SIZE):
        with pytest.raises(TruncatedError):
            stream.decrypt_bytes(cek, aad, ct[:cut])


def test_reordered_and_extended(three_segments: tuple[bytes, bytes, bytes]) -> None:
    cek, aad, ct = three_segments
    for damaged in (_swap(ct, 0, 1), _swap(ct, 1, 2), ct + b"\x00" * 16, ct + ct[-17:]):
        with pytest.raises(BodyError):
            stream.decrypt_bytes(cek, aad, damaged)


@pytest.mark.parametrize("length", [0, 39, 40, 55])
def test_too_short(length: int) -> None:
    cek, aad = os.urandom(32), b""
    ct = stream.encrypt_bytes(cek, aad, b"abc")
    with pytest.raises(TruncatedError):
        stream.decrypt_bytes(cek, aad, ct[:length])


def test_bad_header_byte() -> None:
    cek = os.urandom(32)
    ct = bytearray(stream.encrypt_bytes(cek, b"", b"abc"))
    ct[0] = 0x29
    with pytest.raises(BodyError):
        stream.decrypt_bytes(cek, b"", bytes(ct))


@given(
    st.integers(min_value=0, max_value=8 * 100 - 1),
    st.binary(min_size=0, max_size=60),
)
def test_any_flipped_bit_fails(bit: int, plaintext: bytes) -> None:
    cek, aad = b"k" * 32, b"h" * 32
    ct = bytearray(stream.encrypt_bytes(cek, aad, plaintext))
    ct[bit // 8 % len(ct)] ^= 1 << (bit % 8)
    with pytest.raises(CryptoError):
        stream.decrypt_bytes(cek, aad, bytes(ct))


def _chunks(data: bytes, sizes: list[int]) -> Iterator[bytes]:
    pos = 0
    for size in sizes:
        yield data[pos : pos + size]
        pos += size
    yield data[pos:]


@given(
    st.lists(st.integers(min_value=0, max_value=300_000), max_size=12), st.integers(0, 2_200_000)
)
def test_incremental_api_is_chunking_independent(sizes: list[int], length: int) -> None:
    cek, aad = b"k" * 32, b"h" * 32
    plaintext = stream.pattern(length)
    fixed = [b"s" * 32, b"p" * 7]
    enc = stream.StreamEncryptor(cek, aad, rng=lambda _n: fixed.pop(0))
    ct = b"".join(enc.update(c) for c in _chunks(plaintext, sizes)) + enc.finalize()
    assert ct == stream.encrypt_bytes(
        cek, aad, plaintext, rng=lambda n: (b"s" * 32, b"p" * 7)[n == 7]
    )
    dec = stream.StreamDecryptor(cek, aad)
    out = b"".join(dec.update(c) for c in _chunks(ct, sizes)) + dec.finalize()
    assert out == plaintext


def test_memory_stays_at_about_one_segment() -> None:
    cek, aad = os.urandom(32), b""
    enc = stream.StreamEncryptor(cek, aad)
    dec = stream.StreamDecryptor(cek, aad)
    for chunk in stream.iter_pattern(5 * stream.SEGMENT_SIZE):
        dec.update(enc.update(chunk))
        assert len(enc._buffer) <= stream.PT_SEG
        assert len(dec._buffer) <= stream.SEGMENT_SIZE + stream.CHUNK + stream.TAG_LEN * 2
    dec.update(enc.finalize())
    dec.finalize()


@pytest.mark.parametrize("size", SPEC_SIZES)
def test_length_formula(size: int) -> None:
    n = stream.segment_count(size)
    assert stream.ciphertext_length(size) == 40 + size + 16 * n
    assert n == (1 if size <= 1048520 else 1 + -(-(size - 1048520) // 1048560))


def test_file_prefix() -> None:
    meta = b'{"name":"a.txt","mime":"text/plain","size":3}'
    head = stream.file_prefix(meta) + b"abc"
    got, offset = stream.split_file_prefix(head)
    assert got == meta
    assert head[offset:] == b"abc"
    with pytest.raises(CryptoError):
        stream.file_prefix(b"x" * 5000)


def test_pattern_chunks_agree() -> None:
    assert b"".join(stream.iter_pattern(100_000, 777)) == bytes(i % 251 for i in range(100_000))
