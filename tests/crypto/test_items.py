"""Items: seal, open in the §7.6 order, tampering, grants, revisions, streams, re-wraps."""

from __future__ import annotations

import dataclasses
import io
import os
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quietroom.crypto import account, envelope, items, practice
from quietroom.crypto.encoding import NIL_UUID, sha256
from quietroom.crypto.errors import CryptoError
from quietroom.crypto.keys import hpke_seal, kid, raw_public, sign, verify, x25519_from_seed
from quietroom.crypto.vectors import T0, World
from tests.crypto.helpers import reader, seal, seal_file

READERS = ("client", "therapist", "prk")


@pytest.mark.parametrize("name", READERS)
def test_every_recipient_and_the_prk_open(world: World, name: str) -> None:
    sealed = seal(world, b'{"text":"see you"}')
    opened = items.open_item([sealed.item], reader=reader(world, name), trust=world.trust())
    assert opened.payload == b'{"text":"see you"}'
    assert opened.cek == sealed.cek


def test_every_item_has_exactly_one_prk_wrap(world: World) -> None:
    sealed = seal(world)
    prk = [w for w in sealed.item.wraps if w.kind == "prk"]
    assert len(prk) == 1
    assert prk[0].key_id == world.keys.prk_id
    assert {(w.kind, w.id, w.key_id) for w in sealed.item.wraps} == {
        (r.kind, r.id, r.key_id) for r in sealed.item.hdr.recipients
    }
    assert all(len(w.ct) == 80 for w in sealed.item.wraps)


@given(st.binary(max_size=2048))
def test_round_trip_any_payload(payload: bytes) -> None:
    world = World()
    sealed = seal(world, payload)
    decoded = envelope.decode(envelope.dumps(envelope.encode_item(sealed.item)))
    assert decoded == sealed.item
    opened = items.open_item([decoded], reader=reader(world, "client"), trust=world.trust())
    assert opened.payload == payload


def _flip(data: bytes, bit: int) -> bytes:
    raw = bytearray(data)
    raw[bit // 8 % len(raw)] ^= 1 << (bit % 8)
    return bytes(raw)


_WORLD = World()
_SEALED = seal(_WORLD, b'{"text":"tamper target"}')


@given(
    part=st.sampled_from(["body", "sig", "client_wrap", "prk_wrap"]),
    bit=st.integers(min_value=0, max_value=8 * 200),
    who=st.sampled_from(READERS),
)
def test_any_flipped_bit_is_a_typed_error_never_plaintext(part: str, bit: int, who: str) -> None:
    item = _SEALED.item
    wraps = list(item.wraps)
    if part == "body":
        item = dataclasses.replace(item, body_ct=_flip(item.body_ct or b"", bit))
    elif part == "sig":
        item = dataclasses.replace(item, sig=_flip(item.sig, bit))
    else:
        kind = "prk" if part == "prk_wrap" else "user"
        index = next(
            i
            for i, w in enumerate(wraps)
            if w.kind == kind and (kind == "prk" or w.id == _WORLD.user("client").user_id)
        )
        wraps[index] = dataclasses.replace(wraps[index], ct=_flip(wraps[index].ct, bit))
        item = dataclasses.replace(item, wraps=tuple(wraps))
    expected = {"body": "E_SIG", "sig": "E_SIG", "client_wrap": "E_WRAP", "prk_wrap": "E_WRAP"}
    affected = (
        part in {"body", "sig"}
        or (part == "client_wrap" and who == "client")
        or (part == "prk_wrap" and who == "prk")
    )
    if affected:
        with pytest.raises(CryptoError) as info:
            items.open_item([item], reader=reader(_WORLD, who), trust=_WORLD.trust())
        assert info.value.code == expected[part]
        return
    opened = items.open_item([item], reader=reader(_WORLD, who), trust=_WORLD.trust())
    assert opened.payload == b'{"text":"tamper target"}'


@given(
    field=st.sampled_from(
        ["item_id", "chart_id", "thread_id", "created_at", "type", "cek_commit", "body_size"]
    ),
)
def test_any_header_change_breaks_the_signature(field: str) -> None:
    hdr = _SEALED.item.hdr
    changes: dict[str, Any] = {
        "item_id": NIL_UUID if hdr.item_id != NIL_UUID else hdr.practice_id,
        "chart_id": hdr.practice_id,
        "thread_id": hdr.practice_id,
        "created_at": hdr.created_at + 1,
        "type": "note",
        "cek_commit": bytes(32),
        "body_size": None,
    }
    if field == "body_size":
        new = dataclasses.replace(hdr, body=items.BodyInfo("inline", hdr.body.size + 1, 0))
    else:
        new = dataclasses.replace(hdr, **{field: changes[field]})
    item = dataclasses.replace(_SEALED.item, hdr=new)
    with pytest.raises(CryptoError) as info:
        items.open_item([item], reader=reader(_WORLD, "client"), trust=_WORLD.trust())
    assert info.value.code == "E_SIG"


def test_wrong_recipient(world: World) -> None:
    sealed = seal(world)
    with pytest.raises(CryptoError) as info:
        items.open_item([sealed.item], reader=reader(world, "other_client"), trust=world.trust())
    assert info.value.code == "E_NOT_RECIPIENT"


def test_swapped_wrap_from_another_item(world: World) -> None:
    a, b = seal(world), seal(world)
    client_id = world.user("client").user_id
    b_wrap = next(w for w in b.item.wraps if w.id == client_id)
    wraps = tuple(b_wrap if w.id == client_id else w for w in a.item.wraps)
    with pytest.raises(CryptoError) as info:
        items.open_item([a.item], reader=reader(world, "client"), trust=world.trust(), wraps=wraps)
    assert info.value.code == "E_WRAP"


def test_forged_wrap_with_the_right_info_fails_the_commitment(world: World) -> None:
    # Anyone may HPKE-seal to the reader's public key; only cek_commit tells the CEKs apart.
    sealed = seal(world)
    client = world.user("client")
    root_h = sealed.item.hdr.hash()
    info = items.wrap_info(sealed.item.hdr.item_id, client.keys.aek_id, root_h)
    forged = items.Wrap(
        "user",
        client.user_id,
        client.keys.aek_id,
        hpke_seal(client.keys.aek_pub, info, os.urandom(32)),
    )
    wraps = tuple(forged if w.id == client.user_id else w for w in sealed.item.wraps)
    with pytest.raises(CryptoError) as info_exc:
        items.open_item(
            [sealed.item], reader=reader(world, "client"), trust=world.trust(), wraps=wraps
        )
    assert info_exc.value.code == "E_COMMIT"


def test_pins_change_blocks_until_acknowledged(world: World) -> None:
    sealed = seal(world)
    trust = world.trust()
    therapist = world.user("therapist")
    trust.pins.aiks[therapist.user_id] = [b"\x00" * 16]
    with pytest.raises(CryptoError) as info:
        items.open_item([sealed.item], reader=reader(world, "client"), trust=trust)
    assert info.value.code == "E_PIN_CHANGED"
    trust.pins.acknowledge(therapist.user_id, therapist.keys.aik_id)
    items.open_item([sealed.item], reader=reader(world, "client"), trust=trust)


def test_first_contact_pins_the_aik(world: World) -> None:
    trust = world.trust()
    items.open_item([seal(world).item], reader=reader(world, "client"), trust=trust)
    assert trust.pins.aiks[world.user("therapist").user_id] == [world.user("therapist").keys.aik_id]


def test_revocation_only_affects_items_created_after_it(world: World) -> None:
    therapist = world.user("therapist")
    before = seal(world, created_at=T0 + 10_000)
    after = seal(world, created_at=T0 + 30_000)
    trust = world.trust()
    trust.directory.revocations.append(
        practice.revoke(
            world.keys.prsk,
            practice_id=world.practice_id,
            user_id=therapist.user_id,
            aik_id=therapist.keys.aik_id,
            revoked_at=T0 + 20_000,
            reason="left",
        )
    )
    items.open_item([before.item], reader=reader(world, "client"), trust=trust)
    with pytest.raises(CryptoError) as info:
        items.open_item([after.item], reader=reader(world, "client"), trust=trust)
    assert info.value.code == "E_CERT"


def test_client_cert_survives_its_issuer_leaving(world: World) -> None:
    # The therapist who certified the client leaves later: the client's certificate stays valid.
    therapist = world.user("therapist")
    directory = world.directory()
    directory.revocations.append(
        practice.revoke(
            world.keys.prsk,
            practice_id=world.practice_id,
            user_id=therapist.user_id,
            aik_id=therapist.keys.aik_id,
            revoked_at=T0 + 50_000,
            reason="left",
        )
    )
    client_cert = next(c for c in directory.certs if c.user_id == world.user("client").user_id)
    directory.verify_cert(client_cert, at=T0 + 60_000)


def test_revisions_chain_and_open(world: World) -> None:
    sealed = seal(world, b"v0", item_type="note", recipients=("therapist", "supervisor"))
    chain = [sealed.item]
    for i in range(1, 4):
        reviser = "supervisor" if i == 2 else "therapist"
        chain.append(
            items.revise_inline(
                chain[-1],
                sealed.cek,
                f"v{i}".encode(),
                reviser_user_id=world.user(reviser).user_id,
                reviser=world.user(reviser).keys,
                created_at=T0 + 10_000 + i,
            )
        )
    assert all(not r.wraps for r in chain[1:])
    for who in ("therapist", "supervisor", "prk"):
        opened = items.open_item(chain, reader=reader(world, who), trust=world.trust())
        assert opened.payload == b"v3"
    # Dropping a middle revision, reordering or changing an old one breaks the chain.
    for broken in (chain[:1] + chain[2:], [chain[0], chain[2], chain[1], chain[3]]):
        with pytest.raises(CryptoError) as info:
            items.open_item(broken, reader=reader(world, "therapist"), trust=world.trust())
        assert info.value.code == "E_CHAIN"
    tampered = dataclasses.replace(chain[1], body_ct=_flip(chain[1].body_ct or b"", 99))
    with pytest.raises(CryptoError) as info:
        items.open_item(
            [chain[0], tampered, *chain[2:]], reader=reader(world, "therapist"), trust=world.trust()
        )
    assert info.value.code == "E_SIG"


def test_grants_chain_from_a_recipient(world: World) -> None:
    sealed = seal(world, b"note", item_type="note", recipients=("therapist",))
    root = sealed.item.hdr
    g1 = items.make_grant(
        sealed.cek,
        item_id=root.item_id,
        root_h=root.hash(),
        grantee_user_id=world.user("supervisor").user_id,
        grantee_aek_pub=world.user("supervisor").keys.aek_pub,
        granted_at=T0 + 20_000,
        granter_user_id=world.user("therapist").user_id,
        granter=world.user("therapist").keys,
    )
    # The supervisor, a principal through g1, may grant on.
    g2 = items.make_grant(
        sealed.cek,
        item_id=root.item_id,
        root_h=root.hash(),
        grantee_user_id=world.user("client").user_id,
        grantee_aek_pub=world.user("client").keys.aek_pub,
        granted_at=T0 + 21_000,
        granter_user_id=world.user("supervisor").user_id,
        granter=world.user("supervisor").keys,
    )
    opened = items.open_item(
        [sealed.item], reader=reader(world, "client"), trust=world.trust(), grants=[g1, g2]
    )
    assert opened.payload == b"note"
    # Without g1 the supervisor was never a principal, so g2 is worthless.
    with pytest.raises(CryptoError) as info:
        items.open_item(
            [sealed.item], reader=reader(world, "client"), trust=world.trust(), grants=[g2]
        )
    assert info.value.code == "E_NOT_RECIPIENT"
    encoded = envelope.decode_grant_obj(envelope.encode_grant(g1))
    assert encoded == g1


def test_rewrap_after_aek_rotation(world: World) -> None:
    sealed = seal(world)
    client = world.user("client")
    new_aek = x25519_from_seed(os.urandom(32))
    root_h = sealed.item.hdr.hash()
    new_wrap = items.rewrap(
        sealed.cek,
        item_id=sealed.item.hdr.item_id,
        root_h=root_h,
        kind="user",
        principal_id=client.user_id,
        new_pub=raw_public(new_aek),
    )
    wraps = (*tuple(w for w in sealed.item.wraps if w.id != client.user_id), new_wrap)
    rotated = items.Reader.user(client.user_id, new_aek)
    assert items.open_item([sealed.item], reader=rotated, trust=world.trust(), wraps=wraps).payload
    with pytest.raises(CryptoError) as info:
        items.open_item(
            [sealed.item], reader=reader(world, "client"), trust=world.trust(), wraps=wraps
        )
    assert info.value.code == "E_WRAP"


@pytest.mark.parametrize("size", [0, 1, 100, 1048520 - 4, 1048521, 2_500_000])
def test_stream_item_round_trip(world: World, size: int) -> None:
    payload = os.urandom(size)
    sealed, blob = seal_file(world, payload)
    opened = items.open_item(
        [sealed.item], reader=reader(world, "therapist"), trust=world.trust(), blob=blob
    )
    assert opened.payload == payload
    sink = io.BytesIO()
    hdr = items.open_stream(
        [sealed.item], io.BytesIO(blob), sink, reader=reader(world, "prk"), trust=world.trust()
    )
    assert sink.getvalue() == payload
    assert hdr.body.size == size


def test_open_stream_checks_the_signature_at_the_end(world: World) -> None:
    sealed, blob = seal_file(world, b"x" * 5000)
    other, other_blob = seal_file(world, b"y" * 5000)
    # The other item's blob under this header: decrypting fails first (wrong key).
    with pytest.raises(CryptoError):
        items.open_stream(
            [sealed.item],
            io.BytesIO(other_blob),
            io.BytesIO(),
            reader=reader(world, "client"),
            trust=world.trust(),
        )
    # A re-signed header with a mismatched body hash: decrypts, then the signature fails.
    bad = dataclasses.replace(
        sealed.item,
        sig=sign(
            world.user("client").keys.aik, items.sig_message(sealed.item.hdr.hash(), b"\x00" * 32)
        ),
    )
    with pytest.raises(CryptoError) as info:
        items.open_stream(
            [bad],
            io.BytesIO(blob),
            io.BytesIO(),
            reader=reader(world, "client"),
            trust=world.trust(),
        )
    assert info.value.code == "E_SIG"
    assert other.item.blob_id != sealed.item.blob_id


def test_destroy_statement(world: World) -> None:
    therapist = world.user("therapist")
    ids = [seal(world).item.hdr.item_id for _ in range(3)]
    sig = items.sign_destroy(
        therapist.keys.aik,
        practice_id=world.practice_id,
        chart_id=world.practice_id,
        item_ids=ids,
        at=T0,
        reason="retention",
    )
    message = items.destroy_message(
        world.practice_id, world.practice_id, reversed(ids), T0, "retention"
    )
    verify(therapist.keys.aik_pub, sig, message)


def test_pad_payload() -> None:
    assert len(items.pad_payload(b"x")) == 256
    assert len(items.pad_payload(b"x" * 256)) == 256
    assert items.pad_payload(b"ab").rstrip(b" ") == b"ab"


def test_verify_recipient_before_sealing(world: World) -> None:
    client = world.user("client")
    bind = account.sign_aek_bind(
        client.keys.aik, user_id=client.user_id, aek_pub=client.keys.aek_pub, ver=1, created_at=T0
    )
    trust = world.trust()
    key = items.verify_recipient(
        trust, user_id=client.user_id, aik_id=client.keys.aik_id, aek_binds=[bind], now=T0 + 10_000
    )
    assert kid("x25519", key.aek_pub) == client.keys.aek_id
    with pytest.raises(CryptoError) as info:
        items.verify_recipient(
            trust,
            user_id=client.user_id,
            aik_id=world.user("other_client").keys.aik_id,
            aek_binds=[bind],
            now=T0 + 10_000,
        )
    assert info.value.code == "E_CERT"


def test_earlier_stream_revision_without_its_hash_is_refused(world: World) -> None:
    # Never skip a signature silently: a stream revision whose blob hash is unknown cannot pass.
    sealed, blob = seal_file(world, b"data")
    with pytest.raises(CryptoError) as info:
        items.verify_revisions([sealed.item], world.trust())
    assert info.value.code == "E_SCHEMA"
    items.verify_revisions([sealed.item], world.trust(), body_hashes={0: sha256(blob)})
