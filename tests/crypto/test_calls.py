"""WebRTC fingerprint statements (§12.1) and TURN REST credentials (§12.2)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import uuid
from typing import Any

import pytest

from quietroom.crypto import turn, webrtc
from quietroom.crypto.errors import CryptoError, FingerprintError
from quietroom.crypto.keys import ed25519_from_seed
from quietroom.crypto.vectors import World, det, device_lists


def _setup(world: World) -> tuple[webrtc.FingerprintStatement, bytes, str, uuid.UUID]:
    lists, _ = device_lists(world)
    cert_der = os.urandom(300)
    fp = hashlib.sha256(cert_der).digest()
    call_id = uuid.uuid4()
    st = webrtc.sign_statement(
        ed25519_from_seed(det("device/client/laptop/sig")),
        call_id=call_id,
        role="offerer",
        user_id=world.user("client").user_id,
        device_id=lists[2].entries[1].device_id,
        fingerprint=fp,
    )
    text = webrtc.format_fingerprint(fp)
    # Two media sections, the second spelled in lower case: both must equal the signed value.
    sdp = (
        f"v=0\r\na=fingerprint:sha-256 {text}\r\n"
        f"m=audio\r\na=fingerprint:SHA-256 {text.lower()}\r\n"
    )
    return st, cert_der, sdp, call_id


def test_verified_call(world: World) -> None:
    st, cert_der, sdp, call_id = _setup(world)
    lists, _ = device_lists(world)
    webrtc.verify_statement(
        st,
        call_id=call_id,
        role="offerer",
        peer_user_id=world.user("client").user_id,
        peer_devices=lists[2],
        remote_sdp=sdp,
        remote_certificate_der=cert_der,
    )


def test_every_mismatch_is_not_verified(world: World) -> None:
    st, _cert_der, sdp, call_id = _setup(world)
    lists, _ = device_lists(world)
    kw: dict[str, Any] = {
        "call_id": call_id,
        "role": "offerer",
        "peer_user_id": world.user("client").user_id,
        "peer_devices": lists[2],
        "remote_sdp": sdp,
    }
    cases: list[dict[str, Any]] = [
        {"role": "answerer"},
        {"peer_user_id": world.user("therapist").user_id},
        {"remote_sdp": "v=0\r\n"},
        {"remote_sdp": sdp.replace("sha-256", "sha-1", 1)},
        {"remote_certificate_der": os.urandom(300)},
        {"peer_devices": lists[0]},
    ]
    for change in cases:
        with pytest.raises(FingerprintError):
            webrtc.verify_statement(st, **{**kw, **change})
    revoked = webrtc.sign_statement(
        ed25519_from_seed(det("device/client/phone/sig")),
        call_id=call_id,
        role="offerer",
        user_id=world.user("client").user_id,
        device_id=lists[2].entries[0].device_id,
        fingerprint=st.fingerprint,
    )
    with pytest.raises(FingerprintError):
        webrtc.verify_statement(revoked, **kw)


def test_turn_credentials_match_coturn() -> None:
    secret = os.urandom(32)
    creds = turn.turn_credentials(secret, ("turns:turn.example:5349",), now=1_000_000)
    expiry, opaque = creds.username.split(":")
    assert int(expiry) == 1_000_000 + 3 * 3600
    assert len(base64.urlsafe_b64decode(opaque + "==")) == 16
    expected = base64.b64encode(
        hmac.new(secret, creds.username.encode(), hashlib.sha1).digest()
    ).decode()
    assert creds.credential == expected
    assert creds.as_json()["ttl"] == 3 * 3600
    with pytest.raises(CryptoError):
        turn.turn_credentials(secret, (), now=0, ttl=4 * 3600 + 1)
    other = turn.turn_credentials(secret, (), now=1_000_000)
    assert other.username != creds.username  # opaque ids are random, never the user id
