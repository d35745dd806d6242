"""Signed DTLS fingerprint statements for 1:1 calls (crypto-protocol.md §12.1).

Each side signs its fresh DTLS certificate's SHA-256 fingerprint with its device signing key. The
peer accepts the call as end-to-end verified only when that device is in the signer's current
signed device list and every fingerprint in the SDP (and, once connected, the actual remote
certificate) equals the signed value; a TURN relay or the signalling server cannot then sit in
the middle of the DTLS handshake.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives import constant_time
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from quietroom.crypto.devices import DeviceList
from quietroom.crypto.encoding import B, I, T, label, pae, sha256
from quietroom.crypto.errors import FingerprintError
from quietroom.crypto.keys import sign, verify

ROLES: Final[tuple[str, ...]] = ("offerer", "answerer")
HASH_NAME: Final = "sha-256"
_FP_LINE: Final = re.compile(r"^a=fingerprint:(\S+) (\S+)\s*$", re.MULTILINE)
_FP_HEX: Final = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){31}")


@dataclass(frozen=True, slots=True)
class FingerprintStatement:
    call_id: uuid.UUID
    role: str
    user_id: uuid.UUID
    device_id: uuid.UUID
    fingerprint: bytes  # 32 raw bytes of the sha-256 certificate fingerprint
    hash_name: str = HASH_NAME
    sig: bytes = b""

    def message(self) -> bytes:
        return pae(
            label("webrtc-fp"),
            I(self.call_id),
            T(self.role),
            I(self.user_id),
            I(self.device_id),
            T(self.hash_name),
            B(self.fingerprint),
        )


def sign_statement(
    dk_sig: Ed25519PrivateKey,
    *,
    call_id: uuid.UUID,
    role: str,
    user_id: uuid.UUID,
    device_id: uuid.UUID,
    fingerprint: bytes,
) -> FingerprintStatement:
    if role not in ROLES or len(fingerprint) != 32:
        raise FingerprintError("role must be offerer or answerer and the fingerprint 32 bytes")
    unsigned = FingerprintStatement(call_id, role, user_id, device_id, fingerprint)
    return FingerprintStatement(
        call_id, role, user_id, device_id, fingerprint, HASH_NAME, sign(dk_sig, unsigned.message())
    )


def sdp_fingerprints(sdp: str) -> list[tuple[str, bytes]]:
    """Every ``a=fingerprint`` line as ``(algorithm, raw bytes)``; malformed values are refused."""
    out = []
    for algorithm, value in _FP_LINE.findall(sdp):
        if algorithm.lower() != HASH_NAME:
            out.append((algorithm.lower(), b""))
            continue
        if _FP_HEX.fullmatch(value) is None:
            raise FingerprintError("malformed sha-256 fingerprint in the SDP")
        out.append((HASH_NAME, bytes.fromhex(value.replace(":", ""))))
    return out


def format_fingerprint(fingerprint: bytes) -> str:
    return ":".join(f"{b:02X}" for b in fingerprint)


def verify_statement(
    statement: FingerprintStatement,
    *,
    call_id: uuid.UUID,
    role: str,
    peer_user_id: uuid.UUID,
    peer_devices: DeviceList,
    remote_sdp: str,
    remote_certificate_der: bytes | None = None,
) -> None:
    """All checks of §12.1; any failure is ``E_FINGERPRINT`` (the call shows as not verified).

    ``peer_devices`` must already be the peer's current list, accepted through
    :func:`quietroom.crypto.devices.accept_device_list` under a certified, pinned AIK.
    """
    if statement.call_id != call_id or statement.role != role:
        raise FingerprintError("statement is for another call or role")
    if statement.user_id != peer_user_id or peer_devices.user_id != peer_user_id:
        raise FingerprintError("statement is from another user")
    if statement.hash_name != HASH_NAME:
        raise FingerprintError("only sha-256 fingerprints are accepted")
    entry = peer_devices.entry(statement.device_id)
    if entry is None or entry.revoked:
        raise FingerprintError("device is not in the peer's current device list")
    verify(entry.dk_sig_pub, statement.sig, statement.message(), FingerprintError)
    found = sdp_fingerprints(remote_sdp)
    if not found:
        raise FingerprintError("the SDP carries no fingerprint")
    for algorithm, value in found:
        # Reject other algorithms and several distinct values: either could smuggle in a second
        # certificate that the signature does not cover.
        if algorithm != HASH_NAME or not constant_time.bytes_eq(value, statement.fingerprint):
            raise FingerprintError("SDP fingerprint differs from the signed one")
    if remote_certificate_der is not None and not constant_time.bytes_eq(
        sha256(remote_certificate_der), statement.fingerprint
    ):
        raise FingerprintError("the connected DTLS certificate is not the signed one")
