"""Device lists, practice configs, certificates, revocations, safety numbers (§5.3, §6)."""

from __future__ import annotations

import dataclasses
import os
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quietroom.crypto import devices, practice, verification
from quietroom.crypto.chain import ChainHead
from quietroom.crypto.encoding import sha256
from quietroom.crypto.errors import (
    CertError,
    ChainError,
    CryptoError,
    RollbackError,
    SignatureError,
)
from quietroom.crypto.keys import ed25519_from_seed, raw_public, x25519_from_seed
from quietroom.crypto.vectors import T0, World, configs, device_lists


def _entry(at: int) -> devices.DeviceEntry:
    return devices.DeviceEntry(
        uuid.uuid4(),
        raw_public(ed25519_from_seed(os.urandom(32))),
        raw_public(x25519_from_seed(os.urandom(32))),
        at,
    )


def test_device_list_chain_accepts_in_steps_and_jumps(world: World) -> None:
    lists, _ = device_lists(world)
    user = world.user("client")
    kw: dict[str, Any] = {"user_id": user.user_id, "aik_pubs": [user.keys.aik_pub]}
    head = devices.accept_device_list(None, lists[:1], **kw)
    head = devices.accept_device_list(head, lists[1:2], **kw)
    assert devices.accept_device_list(head, lists[1:], **kw) == ChainHead.of(lists[2])
    assert devices.accept_device_list(ChainHead.of(lists[0]), lists[1:], **kw) == ChainHead.of(
        lists[2]
    )
    with pytest.raises(RollbackError):
        devices.accept_device_list(ChainHead.of(lists[2]), lists[:1], **kw)
    with pytest.raises(ChainError):
        devices.accept_device_list(ChainHead.of(lists[0]), lists[2:], **kw)


def test_new_aik_continues_the_numbering(world: World) -> None:
    lists, _entries = device_lists(world)
    user = world.user("client")
    new_aik = ed25519_from_seed(os.urandom(32))
    v4 = devices.sign_device_list(
        new_aik,
        user_id=user.user_id,
        seq=4,
        prev_hash=sha256(lists[2].message()),
        created_at=T0 + 10_000,
        entries=lists[2].entries,
    )
    head = devices.accept_device_list(
        ChainHead.of(lists[2]),
        [v4],
        user_id=user.user_id,
        aik_pubs=[user.keys.aik_pub, raw_public(new_aik)],
    )
    assert head.seq == 4
    with pytest.raises(SignatureError):
        devices.accept_device_list(
            ChainHead.of(lists[2]), [v4], user_id=user.user_id, aik_pubs=[user.keys.aik_pub]
        )
    devices.check_successor(lists[2], v4, [raw_public(new_aik)])


def test_server_refuses_bad_successors(world: World) -> None:
    lists, entries = device_lists(world)
    user = world.user("client")
    aik = [user.keys.aik_pub]
    devices.check_successor(None, lists[0], aik)
    with pytest.raises(ChainError):
        devices.check_successor(None, lists[1], aik)
    for bad_entries in (
        [entries[1]],
        [dataclasses.replace(entries[0], dk_enc_pub=entries[2].dk_enc_pub), entries[1]],
    ):
        bad = devices.sign_device_list(
            user.keys.aik,
            user_id=user.user_id,
            seq=3,
            prev_hash=sha256(lists[1].message()),
            created_at=T0,
            entries=bad_entries,
        )
        with pytest.raises(ChainError):
            devices.check_successor(lists[1], bad, aik)
    skip = devices.sign_device_list(
        user.keys.aik,
        user_id=user.user_id,
        seq=4,
        prev_hash=sha256(lists[1].message()),
        created_at=T0,
        entries=entries[:2],
    )
    with pytest.raises(ChainError):
        devices.check_successor(lists[1], skip, aik)


@given(st.lists(st.integers(min_value=1, max_value=2**40), min_size=1, max_size=6))
def test_device_list_message_is_order_independent_after_sorting(times: list[int]) -> None:
    aik = ed25519_from_seed(b"a" * 32)
    entries = [_entry(t) for t in times]
    a = devices.sign_device_list(
        aik, user_id=uuid.UUID(int=1), seq=1, prev_hash=bytes(32), created_at=1, entries=entries
    )
    b = devices.sign_device_list(
        aik,
        user_id=uuid.UUID(int=1),
        seq=1,
        prev_hash=bytes(32),
        created_at=1,
        entries=list(reversed(entries)),
    )
    assert a.message() == b.message()
    with pytest.raises(CryptoError):
        devices.check_entries_sorted(
            list(reversed(a.entries)) if len(a.entries) > 1 else [*a.entries, *a.entries]
        )


def test_configs_and_prk_rotation(world: World) -> None:
    cfgs = configs(world)
    head = practice.accept_configs(
        None, cfgs, practice_id=world.practice_id, pinned_prsk_pub=world.keys.prsk_pub
    )
    assert head.seq == 2
    with pytest.raises(CertError):
        practice.accept_configs(
            None,
            cfgs,
            practice_id=world.practice_id,
            pinned_prsk_pub=raw_public(ed25519_from_seed(os.urandom(32))),
        )
    with pytest.raises(CertError):
        world.keys.check_against(cfgs[1])  # the sheet still holds the old PRK
    world.keys.check_against(cfgs[0])


def test_sheet_round_trip() -> None:
    keys = practice.PracticeKeys.generate(uuid.uuid4())
    back = practice.parse_sheet_payload(keys.sheet_payload())
    assert back.prk_pub == keys.prk_pub
    assert back.prsk_pub == keys.prsk_pub
    assert back.practice_id == keys.practice_id
    with pytest.raises(CryptoError):
        practice.parse_sheet_payload(keys.sheet_payload()[:-2])
    with pytest.raises(CryptoError):
        practice.parse_sheet_payload("qr2-sheet:" + keys.sheet_payload()[10:])


def test_certificate_chain_rules(world: World) -> None:
    directory = world.directory()
    therapist, client = world.user("therapist"), world.user("client")
    for cert in directory.certs:
        directory.verify_cert(cert)
    # A client cannot certify anyone; a member cannot certify staff; chains are two deep.
    by_client = practice.issue_cert(
        client.keys.aik,
        issuer_kind="member",
        practice_id=world.practice_id,
        user_id=uuid.uuid4(),
        role="client",
        aik_pub=os.urandom(32),
        valid_from=T0,
        reason="enrolled",
    )
    with pytest.raises(CertError):
        directory.verify_cert(by_client)
    with pytest.raises(CertError):
        practice.issue_cert(
            therapist.keys.aik,
            issuer_kind="member",
            practice_id=world.practice_id,
            user_id=uuid.uuid4(),
            role="therapist",
            aik_pub=os.urandom(32),
            valid_from=T0,
            reason="enrolled",
        )
    # A revocation forged by someone else does not revoke.
    forged = practice.revoke(
        client.keys.aik,
        practice_id=world.practice_id,
        user_id=therapist.user_id,
        aik_id=therapist.keys.aik_id,
        revoked_at=T0,
        reason="x",
    )
    directory.revocations.append(forged)
    directory.certified_aik(therapist.user_id, therapist.keys.aik_id, at=T0 + 5000)
    with pytest.raises(CertError):
        practice.verify_revocation(forged, directory)
    # The issuing therapist may revoke the clients they certified.
    by_issuer = practice.revoke(
        therapist.keys.aik,
        practice_id=world.practice_id,
        user_id=client.user_id,
        aik_id=client.keys.aik_id,
        revoked_at=T0 + 9000,
        reason="ended",
    )
    practice.verify_revocation(by_issuer, directory)
    directory.revocations.append(by_issuer)
    with pytest.raises(CertError):
        directory.certified_aik(client.user_id, client.keys.aik_id, at=T0 + 9000)
    directory.certified_aik(client.user_id, client.keys.aik_id, at=T0 + 8999)


def test_fp30_and_safety_numbers(world: World) -> None:
    a, b = world.user("therapist"), world.user("client")
    number = verification.safety_number(a.keys.aik_pub, a.user_id, b.keys.aik_pub, b.user_id)
    assert len(number) == 60
    assert number.isdigit()
    assert len(verification.groups(number)) == 12
    other = verification.safety_number(
        raw_public(ed25519_from_seed(os.urandom(32))), a.user_id, b.keys.aik_pub, b.user_id
    )
    assert other != number
    code = verification.practice_code(world.keys.prsk_pub, world.practice_id)
    assert len(code) == 30
    assert code != verification.fp30(0, world.keys.prsk_pub, world.practice_id.bytes)


def test_history_before_the_pin_may_come_along(world: World) -> None:
    lists, _ = device_lists(world)
    user = world.user("client")
    kw: dict[str, Any] = {"user_id": user.user_id, "aik_pubs": [user.keys.aik_pub]}
    head = devices.accept_device_list(ChainHead.of(lists[1]), lists, **kw)
    assert head == ChainHead.of(lists[2])
    fork = devices.sign_device_list(
        user.keys.aik,
        user_id=user.user_id,
        seq=2,
        prev_hash=sha256(lists[0].message()),
        created_at=T0 + 1,
        entries=lists[1].entries,
    )
    with pytest.raises(ChainError):
        devices.accept_device_list(ChainHead.of(fork), lists, **kw)
