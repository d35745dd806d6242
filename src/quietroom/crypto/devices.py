"""Device keys: ``dev_wrap`` and the signed, append-only device list (crypto-protocol.md §5).

A malicious server could otherwise add a device it controls to someone's list (and so receive
their calls' trust), or serve an old list that still shows a revoked device. The list is signed by
the account's AIK and chained with ``seq``/``prev_hash`` so both are detected.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from quietroom.crypto.chain import ChainHead, check_advance, check_genesis, check_link
from quietroom.crypto.encoding import B, I, L, U, label, pae
from quietroom.crypto.errors import ChainError, SchemaError, SignatureError, UnlockError
from quietroom.crypto.keys import HpkeSealer, hpke_open, hpke_seal, kid, raw_public, sign, verify

# -- dev_wrap (§5.2) -----------------------------------------------------------------------------


def dev_wrap_info(user_id: uuid.UUID, device_id: uuid.UUID, dk_enc_id: bytes) -> bytes:
    return pae(label("dev-wrap"), I(user_id), I(device_id), B(dk_enc_id))


def seal_dev_wrap(
    dk_enc_pub: bytes,
    uk: bytes,
    *,
    user_id: uuid.UUID,
    device_id: uuid.UUID,
    hpke: HpkeSealer = hpke_seal,
) -> bytes:
    return hpke(dk_enc_pub, dev_wrap_info(user_id, device_id, kid("x25519", dk_enc_pub)), uk)


def open_dev_wrap(
    dk_enc: X25519PrivateKey, dev_wrap: bytes, *, user_id: uuid.UUID, device_id: uuid.UUID
) -> bytes:
    """Returns the UK; a wrap for another user, device or key fails with ``E_WRAP``."""
    info = dev_wrap_info(user_id, device_id, kid("x25519", raw_public(dk_enc)))
    uk = hpke_open(dk_enc, info, dev_wrap)
    if len(uk) != 32:
        raise UnlockError("dev_wrap does not hold a 32-byte UK")
    return uk


# -- signed device list (§5.3) -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceEntry:
    device_id: uuid.UUID
    dk_sig_pub: bytes
    dk_enc_pub: bytes
    added_at: int
    revoked_at: int = 0  # 0 = not revoked

    def piece(self) -> bytes:
        return L(
            I(self.device_id),
            B(self.dk_sig_pub),
            B(self.dk_enc_pub),
            U(self.added_at),
            U(self.revoked_at),
        )

    @property
    def revoked(self) -> bool:
        return self.revoked_at != 0


@dataclass(frozen=True, slots=True)
class DeviceList:
    user_id: uuid.UUID
    aik_id: bytes
    seq: int
    prev_hash: bytes
    created_at: int
    entries: tuple[DeviceEntry, ...]
    sig: bytes = b""

    def message(self) -> bytes:
        return device_list_message(
            self.user_id,
            self.aik_id,
            seq=self.seq,
            prev_hash=self.prev_hash,
            created_at=self.created_at,
            entries=self.entries,
        )

    def entry(self, device_id: uuid.UUID) -> DeviceEntry | None:
        for entry in self.entries:
            if entry.device_id == device_id:
                return entry
        return None


def check_entries_sorted(entries: Sequence[DeviceEntry]) -> None:
    ids = [entry.device_id.bytes for entry in entries]
    if any(a >= b for a, b in pairwise(ids)):
        raise SchemaError("device entries must be sorted by device_id bytes, without duplicates")


def device_list_message(
    user_id: uuid.UUID,
    aik_id: bytes,
    *,
    seq: int,
    prev_hash: bytes,
    created_at: int,
    entries: Sequence[DeviceEntry],
) -> bytes:
    check_entries_sorted(entries)
    return pae(
        label("device-list"),
        I(user_id),
        B(aik_id),
        U(seq),
        B(prev_hash),
        U(created_at),
        L(*(entry.piece() for entry in entries)),
    )


def sign_device_list(
    aik: Ed25519PrivateKey,
    *,
    user_id: uuid.UUID,
    seq: int,
    prev_hash: bytes,
    created_at: int,
    entries: Iterable[DeviceEntry],
) -> DeviceList:
    ordered = tuple(sorted(entries, key=lambda e: e.device_id.bytes))
    unsigned = DeviceList(
        user_id, kid("ed25519", raw_public(aik)), seq, prev_hash, created_at, ordered
    )
    return DeviceList(
        unsigned.user_id,
        unsigned.aik_id,
        seq,
        prev_hash,
        created_at,
        ordered,
        sign(aik, unsigned.message()),
    )


def verify_device_list_sig(device_list: DeviceList, aik_pubs: Iterable[bytes]) -> None:
    """Signed by the AIK named in ``aik_id``, which must be one of the user's certified AIKs."""
    for aik_pub in aik_pubs:
        if kid("ed25519", aik_pub) == device_list.aik_id:
            verify(aik_pub, device_list.sig, device_list.message())
            return
    raise SignatureError("device list signed by an unknown AIK")


def check_entry_rules(previous: DeviceList, new: DeviceList) -> None:
    """Entries are never removed or changed; a revoked entry stays revoked (§5.3)."""
    for old in previous.entries:
        current = new.entry(old.device_id)
        if current is None:
            raise ChainError("a device entry was removed")
        same_keys = (
            current.dk_sig_pub == old.dk_sig_pub
            and current.dk_enc_pub == old.dk_enc_pub
            and current.added_at == old.added_at
        )
        if not same_keys:
            raise ChainError("a device entry was changed")
        if old.revoked and current.revoked_at != old.revoked_at:
            raise ChainError("a revoked device entry was un-revoked or changed")


def check_successor(
    previous: DeviceList | None, new: DeviceList, aik_pubs: Iterable[bytes]
) -> None:
    """Server side, before storing a new list: signature, chain and entry rules (§5.3)."""
    if previous is not None and new.user_id != previous.user_id:
        raise ChainError("device list for another user")
    verify_device_list_sig(new, aik_pubs)
    if previous is None:
        check_genesis(new)
        return
    check_link(previous, new)
    check_entry_rules(previous, new)


def accept_device_list(
    pinned: ChainHead | None,
    versions: Sequence[DeviceList],
    *,
    user_id: uuid.UUID,
    aik_pubs: Iterable[bytes],
) -> ChainHead:
    """Client side: verify every version, then the chain against the pin (§5.3).

    ``versions`` are oldest first; when the newest jumps ahead of the pin, all intermediates must
    be present. Returns the head to pin. ``E_SIG``, ``E_ROLLBACK`` or ``E_CHAIN`` otherwise.
    """
    keys = tuple(aik_pubs)
    for version in versions:
        if version.user_id != user_id:
            raise ChainError("device list for another user")
        verify_device_list_sig(version, keys)
    for older, newer in pairwise(versions):
        check_entry_rules(older, newer)
    if pinned is None and versions and versions[0].seq == 1:
        check_genesis(versions[0])
    return check_advance(pinned, versions)
