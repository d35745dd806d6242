"""HPKE against independent oracles: pyhpke for our suite, RFC 9180 A.1.1 through pyhpke.

The upstream CFRG JSON entry for AES-256-GCM (0x0002) was not obtainable offline (see
testdata/vectors/README.md), so our suite is cross-checked against pyhpke both ways instead.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from hypothesis import given
from hypothesis import strategies as st
from pyhpke import AEADId, CipherSuite, KDFId, KEMId, KEMKey, KEMKeyPair

from quietroom.crypto.errors import WrapError
from quietroom.crypto.keys import hpke_open, hpke_seal, raw_public

RFC_FILE = (
    Path(__file__).resolve().parents[2]
    / "testdata"
    / "vectors"
    / "rfc9180-a1-1-base-x25519-sha256-aes128gcm.json"
)
OURS = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES256_GCM)


def _pyhpke_key(key: X25519PrivateKey) -> KEMKeyPair:
    return KEMKeyPair(
        KEMKey.from_pyca_cryptography_key(key), KEMKey.from_pyca_cryptography_key(key.public_key())
    )


@given(st.binary(max_size=300), st.binary(max_size=300))
def test_pyhpke_seals_cryptography_opens(plaintext: bytes, info: bytes) -> None:
    recipient = X25519PrivateKey.generate()
    pkr = KEMKey.from_pyca_cryptography_key(recipient.public_key())
    enc, ctx = OURS.create_sender_context(pkr, info)
    blob = bytes(enc) + ctx.seal(plaintext)
    assert hpke_open(recipient, info, blob) == plaintext


@given(st.binary(max_size=300), st.binary(max_size=300))
def test_cryptography_seals_pyhpke_opens(plaintext: bytes, info: bytes) -> None:
    recipient = X25519PrivateKey.generate()
    blob = hpke_seal(raw_public(recipient), info, plaintext)
    ctx = OURS.create_recipient_context(blob[:32], _pyhpke_key(recipient).private_key, info)
    assert ctx.open(blob[32:]) == plaintext


def test_fixed_ephemeral_seal_opens_with_cryptography() -> None:
    # What vectors.py does: pyhpke with a DeriveKeyPair ephemeral, opened by our code.
    recipient = X25519PrivateKey.generate()
    eks = OURS.kem.derive_key_pair(b"\x01" * 32)
    pkr = KEMKey.from_pyca_cryptography_key(recipient.public_key())
    enc, ctx = OURS.create_sender_context(pkr, b"info", eks=eks)
    assert hpke_open(recipient, b"info", bytes(enc) + ctx.seal(b"cek" * 10)) == b"cek" * 10
    with pytest.raises(WrapError):
        hpke_open(recipient, b"other info", bytes(enc) + ctx.seal(b"x"))


def test_hpke_refuses_wrong_key_and_short_input() -> None:
    recipient = X25519PrivateKey.generate()
    blob = hpke_seal(raw_public(recipient), b"i", os.urandom(32))
    assert len(blob) == 80
    for bad_key, bad_blob in ((X25519PrivateKey.generate(), blob), (recipient, blob[:47])):
        with pytest.raises(WrapError):
            hpke_open(bad_key, b"i", bad_blob)


def test_rfc9180_a1_1_through_pyhpke() -> None:
    entries: list[dict[str, Any]] = json.loads(RFC_FILE.read_text(encoding="utf-8"))
    for v in entries:
        suite = CipherSuite.new(KEMId(v["kem_id"]), KDFId(v["kdf_id"]), AEADId(v["aead_id"]))
        skr = suite.kem.derive_key_pair(bytes.fromhex(v["ikmR"]))
        eks = suite.kem.derive_key_pair(bytes.fromhex(v["ikmE"]))
        assert skr.public_key.to_public_bytes().hex() == v["pkRm"]
        enc, sender = suite.create_sender_context(skr.public_key, bytes.fromhex(v["info"]), eks=eks)
        assert enc.hex() == v["enc"]
        receiver = suite.create_recipient_context(enc, skr.private_key, bytes.fromhex(v["info"]))
        wanted = {e["seq"]: e for e in v["encryptions"]}
        for seq in range(max(wanted) + 1):
            e = wanted.get(seq)
            aad = bytes.fromhex(e["aad"]) if e else b"Count-%d" % seq
            pt = bytes.fromhex(v["encryptions"][0]["pt"])
            ct = sender.seal(pt, aad)
            assert receiver.open(ct, aad) == pt
            if e:
                assert ct.hex() == e["ct"], seq
        for x in v["exports"]:
            assert (
                sender.export(bytes.fromhex(x["exporter_context"]), x["L"]).hex()
                == x["exported_value"]
            )
        # And the KEM half through cryptography: the same key pair from the RFC's private key.
        sk = X25519PrivateKey.from_private_bytes(bytes.fromhex(v["skRm"]))
        assert raw_public(sk).hex() == v["pkRm"]
        assert X25519PublicKey.from_public_bytes(bytes.fromhex(v["pkEm"]))
