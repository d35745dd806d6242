"""PAE, typed pieces and the strict decoders (§2.2, §2.4, §2.6)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quietroom.crypto import encoding
from quietroom.crypto.encoding import B, I, L, T, U, pae
from quietroom.crypto.errors import EncodingError


def typed(piece: list[Any]) -> bytes:
    kind, value = piece
    if kind == "T":
        return T(value)
    if kind == "U":
        return U(value)
    if kind == "I":
        return I(uuid.UUID(value))
    if kind == "B":
        return B(bytes.fromhex(value))
    return L(*(typed(p) for p in value))


def test_pae_vectors(qr1: dict[str, Any]) -> None:
    for case in qr1["pae"]["raw"]:
        pieces = [bytes.fromhex(p) for p in case["pieces_hex"]]
        assert pae(*pieces).hex() == case["pae_hex"]
    for case in qr1["pae"]["typed"]:
        assert pae(*(typed(p) for p in case["pieces"])).hex() == case["pae_hex"], case["name"]


def test_b64url_vectors(qr1: dict[str, Any]) -> None:
    for case in qr1["b64url"]["valid"]:
        assert encoding.b64url_encode(bytes.fromhex(case["hex"])) == case["text"]
        assert encoding.b64url_decode(case["text"]).hex() == case["hex"]
    for text in qr1["b64url"]["invalid"]:
        with pytest.raises(EncodingError):
            encoding.b64url_decode(text)


def test_uuid_vectors(qr1: dict[str, Any]) -> None:
    for text in qr1["uuid"]["valid"]:
        assert str(encoding.parse_uuid(text)) == text
    for text in qr1["uuid"]["invalid"]:
        with pytest.raises(EncodingError):
            encoding.parse_uuid(text)
    for case in qr1["uuid"]["v7"]:
        assert encoding.is_uuid7(encoding.parse_uuid(case["text"])) is case["is_v7"]


@given(st.binary(max_size=200))
def test_b64url_round_trip(data: bytes) -> None:
    assert encoding.b64url_decode(encoding.b64url_encode(data)) == data


@given(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ \n",
        max_size=40,
    )
)
def test_b64url_decode_is_canonical_or_refuses(text: str) -> None:
    # Whatever decodes must re-encode to exactly the same text: one byte string, one spelling.
    try:
        data = encoding.b64url_decode(text)
    except EncodingError:
        return
    assert encoding.b64url_encode(data) == text


def test_b64url_length_check() -> None:
    with pytest.raises(EncodingError):
        encoding.b64url_decode("AAAA", 4)
    assert encoding.b64url_decode("AAAA", 3) == b"\x00\x00\x00"


@given(st.lists(st.binary(max_size=20), max_size=6))
def test_pae_is_injective_on_splits(pieces: list[bytes]) -> None:
    # Moving a byte from one piece to the next must change the encoding (no ambiguity).
    if len(pieces) >= 2 and pieces[0]:
        moved = [pieces[0][:-1], pieces[0][-1:] + pieces[1], *pieces[2:]]
        assert pae(*pieces) != pae(*moved)
    assert pae(*pieces) != pae(*pieces, b"")


@pytest.mark.parametrize("value", [-1, 2**53, True, 1.0, "1"])
def test_uint_refuses_out_of_range(value: object) -> None:
    with pytest.raises(EncodingError):
        encoding.check_uint(value)


def test_uint_bounds() -> None:
    assert U(0) == bytes(8)
    assert U(2**53 - 1) == (2**53 - 1).to_bytes(8, "little")


def test_text_refuses_lone_surrogate() -> None:
    with pytest.raises(EncodingError):
        T("\ud800")


@given(st.uuids())
def test_uuid_text_round_trip(value: uuid.UUID) -> None:
    assert encoding.parse_uuid(encoding.uuid_text(value)) == value
    with pytest.raises(EncodingError):
        encoding.parse_uuid(str(value).upper()) if any(c.isalpha() for c in str(value)) else (
            encoding.parse_uuid(str(value).replace("-", ""))
        )


def test_check_uuid7() -> None:
    assert encoding.check_uuid7(uuid.UUID("0192f0c1-2b3c-7d4e-8f50-6a7b8c9d0e1f"))
    with pytest.raises(EncodingError):
        encoding.check_uuid7(uuid.uuid4())
