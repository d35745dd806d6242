"""The server's structural checks (§7.7, ENC-05): what it refuses, it refuses before storing."""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from typing import Any

import pytest

from quietroom.crypto import account, envelope, items, practice, server_checks
from quietroom.crypto.encoding import sha256
from quietroom.crypto.errors import CryptoError
from quietroom.crypto.keys import kid, raw_public, x25519_from_seed
from quietroom.crypto.vectors import T0, World, configs, device_lists
from tests.crypto.helpers import seal, seal_file


def ctx(world: World, uploader: str = "therapist", **kw: Any) -> server_checks.UploadContext:
    base: dict[str, Any] = {
        "practice_id": world.practice_id,
        "uploader_user_id": world.user(uploader).user_id,
        "directory": world.directory(),
        "current_prk_id": world.keys.prk_id,
        "now": T0 + 10_000,
    }
    return server_checks.UploadContext(**{**base, **kw})


def upload(item: items.Item) -> bytes:
    return envelope.dumps(envelope.encode_item(item))


def test_accepts_a_good_item(world: World) -> None:
    sealed = seal(world)
    assert server_checks.check_item_upload(upload(sealed.item), ctx(world)) == sealed.item


def _code(world: World, data: bytes, **kw: Any) -> str:
    with pytest.raises(CryptoError) as info:
        server_checks.check_item_upload(data, ctx(world, **kw))
    return info.value.code


def test_refuses_missing_or_wrong_prk_wrap(world: World) -> None:
    sealed = seal(world)
    no_prk_wrap = dataclasses.replace(
        sealed.item, wraps=tuple(w for w in sealed.item.wraps if w.kind != "prk")
    )
    assert _code(world, upload(no_prk_wrap)) == "E_SCHEMA"
    # Sealed to an old PRK after a rotation: refused.
    old = seal(world)
    assert (
        _code(world, upload(old.item), current_prk_id=kid("x25519", raw_public(world.prk2)))
        == "E_SCHEMA"
    )


def test_refuses_recipients_that_differ_from_wraps(world: World) -> None:
    sealed = seal(world)
    other = seal(world, recipients=("other_client", "therapist"))
    swapped = dataclasses.replace(sealed.item, wraps=other.item.wraps)
    assert _code(world, upload(swapped)) == "E_SCHEMA"
    doubled = dataclasses.replace(sealed.item, wraps=(*sealed.item.wraps, sealed.item.wraps[0]))
    assert _code(world, upload(doubled)) == "E_SCHEMA"


def test_refuses_bad_signature_and_foreign_author(world: World) -> None:
    sealed = seal(world)
    bad_sig = dataclasses.replace(sealed.item, sig=bytes(64))
    assert _code(world, upload(bad_sig)) == "E_SIG"
    assert _code(world, upload(sealed.item), uploader="client") == "E_CERT"
    other_practice = dataclasses.replace(
        sealed.item, hdr=dataclasses.replace(sealed.item.hdr, practice_id=uuid.uuid4())
    )
    assert _code(world, upload(other_practice)) == "E_CERT"


def test_refuses_revoked_uploader(world: World) -> None:
    therapist = world.user("therapist")
    c = ctx(world)
    c.directory.revocations.append(
        practice.revoke(
            world.keys.prsk,
            practice_id=world.practice_id,
            user_id=therapist.user_id,
            aik_id=therapist.keys.aik_id,
            revoked_at=T0 + 5000,
            reason="left",
        )
    )
    with pytest.raises(CryptoError) as info:
        server_checks.check_item_upload(upload(seal(world).item), c)
    assert info.value.code == "E_CERT"


def test_item_ids_are_uuid7_and_new(world: World) -> None:
    sealed = seal(world)
    v4 = dataclasses.replace(
        sealed.item, hdr=dataclasses.replace(sealed.item.hdr, item_id=uuid.uuid4())
    )
    assert _code(world, upload(v4)) in {"E_ENCODING", "E_SIG"}
    assert _code(world, upload(sealed.item), item_exists=True) == "E_CHAIN"


def test_policy_keeps_clients_off_psychotherapy_notes(world: World) -> None:
    note = seal(world, item_type="psychotherapy-note", recipients=("therapist", "client"))
    policy = server_checks.no_client_on_psychotherapy_notes(
        frozenset({world.user("client").user_id})
    )
    assert _code(world, upload(note.item), recipient_policy=policy) == "E_NOT_RECIPIENT"
    ok = seal(world, item_type="psychotherapy-note", recipients=("therapist",))
    server_checks.check_item_upload(upload(ok.item), ctx(world, recipient_policy=policy))


def test_revisions_follow_the_stored_chain(world: World) -> None:
    sealed = seal(world, item_type="note", recipients=("therapist",))
    rev1 = items.revise_inline(
        sealed.item,
        sealed.cek,
        b"v1",
        reviser_user_id=world.user("therapist").user_id,
        reviser=world.user("therapist").keys,
        created_at=T0 + 10_001,
    )
    server_checks.check_item_upload(upload(rev1), ctx(world, chain=[sealed.item]))
    assert _code(world, upload(rev1), chain=[]) == "E_CHAIN"
    with_wraps = dataclasses.replace(rev1, wraps=sealed.item.wraps)
    assert _code(world, upload(with_wraps), chain=[sealed.item]) == "E_SCHEMA"


def test_inline_length_must_match_size(world: World) -> None:
    sealed = seal(world)
    longer = dataclasses.replace(sealed.item, body_ct=(sealed.item.body_ct or b"") + b"\x00")
    assert _code(world, upload(longer)) == "E_SCHEMA"


def test_stream_blob_checks(world: World) -> None:
    sealed, blob = seal_file(world, os.urandom(3000), author="client")
    good = server_checks.StoredBlob(
        sealed.item.blob_id or uuid.uuid4(), world.user("client").user_id, len(blob), sha256(blob)
    )
    server_checks.check_item_upload(upload(sealed.item), ctx(world, uploader="client", blob=good))
    for bad in (
        dataclasses.replace(good, length=len(blob) + 1),
        dataclasses.replace(good, attached=True),
        dataclasses.replace(good, uploader_user_id=world.user("therapist").user_id),
        dataclasses.replace(good, blob_id=uuid.uuid4()),
    ):
        assert _code(world, upload(sealed.item), uploader="client", blob=bad) == "E_SCHEMA"
    assert (
        _code(
            world,
            upload(sealed.item),
            uploader="client",
            blob=dataclasses.replace(good, sha256=bytes(32)),
        )
        == "E_SIG"
    )
    server_checks.check_blob_length(3000, len(blob))
    with pytest.raises(CryptoError):
        server_checks.check_blob_length(3000, len(blob) - 1)


def test_header_and_recipient_limits(world: World) -> None:
    sealed = seal(world)
    obj = envelope.encode_item(sealed.item)
    obj["hdr"]["recipients"] = obj["hdr"]["recipients"] + [
        {"kind": "user", "id": str(uuid.UUID(int=i + 1)), "key_id": "AAAAAAAAAAAAAAAAAAAAAA"}
        for i in range(70)
    ]
    obj["hdr"]["recipients"].sort(key=lambda r: (r["kind"].encode(), uuid.UUID(r["id"]).bytes))
    assert _code(world, json.dumps(obj).encode()) == "E_SCHEMA"


def test_grant_rewrap_and_directory_uploads(world: World) -> None:
    sealed = seal(world, item_type="note", recipients=("therapist",))
    root = sealed.item.hdr
    client, therapist = world.user("client"), world.user("therapist")
    grant = items.make_grant(
        sealed.cek,
        item_id=root.item_id,
        root_h=root.hash(),
        grantee_user_id=client.user_id,
        grantee_aek_pub=client.keys.aek_pub,
        granted_at=T0 + 20_000,
        granter_user_id=therapist.user_id,
        granter=therapist.keys,
    )
    kw: dict[str, Any] = {
        "root": root,
        "directory": world.directory(),
        "grantee_aek_id": client.keys.aek_id,
    }
    server_checks.check_grant_upload(
        grant, uploader_user_id=therapist.user_id, granter_is_principal=True, **kw
    )
    with pytest.raises(CryptoError):
        server_checks.check_grant_upload(
            grant, uploader_user_id=client.user_id, granter_is_principal=True, **kw
        )
    with pytest.raises(CryptoError):
        server_checks.check_grant_upload(
            dataclasses.replace(grant, sig=bytes(64)),
            uploader_user_id=therapist.user_id,
            granter_is_principal=True,
            **kw,
        )
    new_aek = x25519_from_seed(os.urandom(32))
    wrap = items.rewrap(
        sealed.cek,
        item_id=root.item_id,
        root_h=root.hash(),
        kind="user",
        principal_id=therapist.user_id,
        new_pub=raw_public(new_aek),
    )
    server_checks.check_rewrap_upload(
        wrap,
        uploader_user_id=therapist.user_id,
        uploader_is_principal=True,
        current_aek_pub=raw_public(new_aek),
    )
    with pytest.raises(CryptoError):
        server_checks.check_rewrap_upload(
            wrap,
            uploader_user_id=therapist.user_id,
            uploader_is_principal=True,
            current_aek_pub=therapist.keys.aek_pub,
        )
    lists, _ = device_lists(world)
    server_checks.check_device_list_upload(None, lists[0], client.keys.aik_pub)
    server_checks.check_device_list_upload(lists[0], lists[1], client.keys.aik_pub)
    with pytest.raises(CryptoError):
        server_checks.check_device_list_upload(lists[1], lists[0], client.keys.aik_pub)
    cfgs = configs(world)
    server_checks.check_config_upload(None, cfgs[0], world.keys.prsk_pub)
    server_checks.check_config_upload(cfgs[0], cfgs[1], world.keys.prsk_pub)
    with pytest.raises(CryptoError):
        server_checks.check_config_upload(cfgs[1], cfgs[0], world.keys.prsk_pub)
    directory = world.directory()
    for cert in world.certs:
        server_checks.check_cert_upload(cert, directory)
    bind = account.sign_aek_bind(
        client.keys.aik, user_id=client.user_id, aek_pub=client.keys.aek_pub, ver=2, created_at=T0
    )
    server_checks.check_aek_bind_upload(
        bind, user_id=client.user_id, aik_pub=client.keys.aik_pub, previous_ver=1
    )
    with pytest.raises(CryptoError):
        server_checks.check_aek_bind_upload(
            bind, user_id=client.user_id, aik_pub=client.keys.aik_pub, previous_ver=2
        )
