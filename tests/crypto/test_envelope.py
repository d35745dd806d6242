"""Closed-schema JSON decoding (§2.6): strict, typed failures only, stable round trips."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quietroom.crypto import envelope
from quietroom.crypto.errors import EnvelopeError
from quietroom.crypto.vectors import World
from tests.crypto.helpers import seal

_WORLD = World()
_ITEM = envelope.encode_item(seal(_WORLD).item)
_TEXT = envelope.dumps(_ITEM)


def test_round_trip_is_stable() -> None:
    item = envelope.decode(_TEXT)
    assert envelope.dumps(envelope.encode_item(item)) == _TEXT


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (b"", "E_SCHEMA"),
        (b"\xef\xbb\xbf{}", "E_SCHEMA"),
        (b"\xff", "E_ENCODING"),
        (b"[" * 100_000, "E_SCHEMA"),
        (b'{"a":1e999}', "E_ENCODING"),
        (b'{"a":Infinity}', "E_ENCODING"),
        (b'{"a":1, "a":2}', "E_SCHEMA"),
        (b'{"a":' + b"9" * 5000 + b"}", "E_SCHEMA"),
        (b"x" * (3 * 1024 * 1024), "E_SCHEMA"),
    ],
)
def test_hostile_json(text: bytes, code: str) -> None:
    with pytest.raises(EnvelopeError) as info:
        envelope.decode(text)
    assert info.value.code == code


def _mutate(path: list[Any], value: Any) -> bytes:
    obj = json.loads(_TEXT)
    target = obj
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(obj).encode()


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        (["hdr", "suite"], "qr2", "E_SUITE"),
        (["hdr", "suite"], 1, "E_SCHEMA"),
        (["hdr", "extra"], "x", "E_SCHEMA"),
        (["extra"], "x", "E_SCHEMA"),
        (["hdr", "body", "extra"], 1, "E_SCHEMA"),
        (["wraps", 0, "extra"], 1, "E_SCHEMA"),
        (["hdr", "revision"], -1, "E_ENCODING"),
        (["hdr", "revision"], True, "E_SCHEMA"),
        (["hdr", "revision"], 1, "E_SCHEMA"),
        (["hdr", "created_at"], "1", "E_SCHEMA"),
        (["hdr", "item_id"], "not-a-uuid", "E_ENCODING"),
        (["hdr", "author_aik_id"], "AAAA", "E_ENCODING"),
        (["hdr", "body", "kind"], "stream", "E_SCHEMA"),
        (["hdr", "body", "seg"], 1, "E_SCHEMA"),
        (["hdr", "body", "size"], 1048577, "E_SCHEMA"),
        (["hdr", "type"], "call-key", "E_SCHEMA"),
        (["hdr", "recipients"], [], "E_SCHEMA"),
        (["wraps", 0, "ct"], "AAAA", "E_ENCODING"),
        (["wraps"], {}, "E_SCHEMA"),
        (["sig"], _DELETE, "E_SCHEMA"),
        (["hdr"], _DELETE, "E_SCHEMA"),
        (["body", "ct"], "A", "E_ENCODING"),
        (["hdr", "chart_id"], "\ud800", "E_ENCODING"),
    ],
)
def test_schema_rules(path: list[Any], value: Any, code: str) -> None:
    with pytest.raises(EnvelopeError) as info:
        envelope.decode(_mutate(path, value))
    assert info.value.code == code


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


@given(_json, st.sampled_from(sorted(envelope.DECODERS)))
def test_random_json_only_raises_envelope_errors(value: Any, kind: str) -> None:
    with contextlib.suppress(EnvelopeError):
        envelope.DECODERS[kind](json.dumps(value).encode())


@given(st.binary(max_size=400), st.sampled_from(sorted(envelope.DECODERS)))
def test_random_bytes_only_raise_envelope_errors(data: bytes, kind: str) -> None:
    with contextlib.suppress(EnvelopeError):
        envelope.DECODERS[kind](data)


@given(st.integers(min_value=0, max_value=len(_TEXT) - 1), st.integers(0, 255))
def test_mutated_item_bytes_only_raise_envelope_errors(pos: int, byte: int) -> None:
    data = bytearray(_TEXT)
    data[pos] = byte
    with contextlib.suppress(EnvelopeError):
        envelope.decode(bytes(data))


def test_every_decoder_round_trips(qr1: dict[str, Any]) -> None:
    v = qr1
    pairs = [
        ("device_list", v["device_list"]["versions"][0]["envelope"]),
        ("practice_config", v["practice_config"]["versions"][0]["envelope"]),
        ("member_cert", v["member_cert"]["certs"][0]["envelope"]),
        ("member_revoke", v["member_cert"]["revocation"]["envelope"]),
        ("aek_bind", v["bundle"]["aek_bind"]["envelope"]),
        ("bundle", v["bundle"]["envelope"]),
        ("webrtc_fp", v["webrtc_fp"]["statement"]),
        ("grant", v["item"]["cases"][2]["grants"][0]),
        ("item", v["item"]["cases"][3]["revisions"][0]),
    ]
    encoders: dict[str, Callable[[Any], dict[str, Any]]] = {
        "device_list": envelope.encode_device_list,
        "practice_config": envelope.encode_config,
        "member_cert": envelope.encode_cert,
        "member_revoke": envelope.encode_revocation,
        "aek_bind": envelope.encode_aek_bind,
        "bundle": envelope.encode_bundle,
        "webrtc_fp": envelope.encode_fingerprint,
        "grant": envelope.encode_grant,
        "item": envelope.encode_item,
    }
    for kind, obj in pairs:
        decoded = envelope.DECODERS[kind](json.dumps(obj).encode())
        assert encoders[kind](decoded) == obj, kind
        with pytest.raises(EnvelopeError):
            envelope.DECODERS[kind](json.dumps({**obj, "unknown": 1}).encode())
