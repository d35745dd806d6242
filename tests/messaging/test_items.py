"""POST/GET /api/conversations/{client_id}/items (docs/api/messaging.md): every upload is
checked (crypto-protocol §7.7 plus the conversation's rules) before anything is written; a
refusal answers 400 with the protocol code and leaves no row; retries are idempotent."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from quietroom.audit.models import AuditEvent, Outcome
from quietroom.crypto import envelope, practice
from quietroom.crypto.encoding import b64url_decode, b64url_encode
from quietroom.crypto.items import RecipientKey, revise_inline, seal_stream
from quietroom.crypto.practice import PracticeKeys
from quietroom.directory.models import MemberRevocationRecord
from quietroom.messaging import services
from quietroom.messaging.models import Blob, Conversation, ConversationItem, ItemWrap
from tests.directory.world import World, give_keys, now_ms, uuid7
from tests.harness.personas import Personas
from tests.messaging.world import (
    api,
    conversation_id,
    messaging_world,
    post_item,
    recipients_for,
    seal_item,
    seal_message,
    upload_bytes,
)

pytestmark = pytest.mark.django_db

Json = dict[str, Any]


@pytest.fixture
def world(personas: Personas) -> World:
    return messaging_world(personas)


def nothing_stored() -> bool:
    return not ConversationItem.objects.exists() and not ItemWrap.objects.exists()


def test_therapist_sends_and_client_reads(world: World, personas: Personas) -> None:
    cid = conversation_id(world)
    data = seal_message(world, "therapist", "Hello Sam")
    response = post_item(api(personas.therapist.user), cid, data)
    assert response.status_code == 201, response.json()
    ack = response.json()
    item_id = json.loads(data)["hdr"]["item_id"]
    assert ack["seq"] == 1
    assert ack["item_id"] == item_id
    assert isinstance(ack["received_at"], int)
    [event] = AuditEvent.objects.filter(action="conversation.item.created")
    assert (event.actor_id, event.client_id, event.object_id) == (
        personas.therapist.user.pk, personas.client.membership.pk, item_id
    )  # fmt: skip
    assert event.outcome == Outcome.ALLOWED

    got = api(personas.client.user).get(f"/api/conversations/{cid}/items")
    assert got.status_code == 200
    body = got.json()
    assert body["last_seq"] == 1
    [stored] = body["items"]
    assert stored["seq"] == 1
    assert stored["received_at"] == ack["received_at"]
    # Only the caller's own wrap comes back, and the item still checks out byte for byte.
    assert [w["id"] for w in stored["item"]["wraps"]] == [str(personas.client.user.pk)]
    sent = json.loads(data)
    assert stored["item"]["hdr"] == sent["hdr"]
    assert stored["item"]["body"] == sent["body"]
    assert stored["item"]["sig"] == sent["sig"]
    assert stored["grants"] == []
    read = AuditEvent.objects.get(action="conversation.items.read")
    assert read.reason == "after=0 count=1"
    assert read.actor_id == personas.client.user.pk


def test_client_sends_too(world: World, personas: Personas) -> None:
    cid = conversation_id(world)
    response = post_item(api(personas.client.user), cid, seal_message(world, "client", "Hi"))
    assert response.status_code == 201, response.json()


def test_retry_is_idempotent_and_other_bytes_conflict(world: World, personas: Personas) -> None:
    cid = conversation_id(world)
    therapist = api(personas.therapist.user)
    item_id = uuid7()
    data = seal_message(world, "therapist", "Once", item_id=item_id)
    first = post_item(therapist, cid, data)
    assert first.status_code == 201
    # Same upload, other spacing and key order: the same item, the first answer.
    respaced = json.dumps(dict(reversed(list(json.loads(data).items()))), indent=1).encode()
    again = post_item(therapist, cid, respaced)
    assert again.status_code == 200
    assert again.json() == first.json()
    other = seal_message(world, "therapist", "Twice", item_id=item_id)
    conflict = post_item(therapist, cid, other)
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "conflict"
    assert ConversationItem.objects.count() == 1
    assert AuditEvent.objects.filter(action="conversation.item.created").count() == 1


def test_catch_up_in_order_without_duplicates(world: World, personas: Personas) -> None:
    cid = conversation_id(world)
    therapist, client = api(personas.therapist.user), api(personas.client.user)
    for n in range(5):
        who, sender = (("therapist", therapist), ("client", client))[n % 2]
        assert post_item(sender, cid, seal_message(world, who, f"m{n}")).status_code == 201
    page = client.get(f"/api/conversations/{cid}/items", {"after": 1, "limit": 2}).json()
    assert [i["seq"] for i in page["items"]] == [2, 3]
    assert page["last_seq"] == 5
    rest = client.get(f"/api/conversations/{cid}/items", {"after": 3}).json()
    assert [i["seq"] for i in rest["items"]] == [4, 5]
    assert client.get(f"/api/conversations/{cid}/items", {"after": 5}).json()["items"] == []
    bad = client.get(f"/api/conversations/{cid}/items", {"limit": 0})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid"
    assert Conversation.objects.get().last_seq == 5


def _mutated(data: bytes, change: Callable[[Json], None]) -> bytes:
    obj = json.loads(data)
    change(obj)
    return envelope.dumps(obj)


def _flip_sig(obj: Json) -> None:
    sig = bytearray(b64url_decode(obj["sig"], 64))
    sig[0] ^= 1
    obj["sig"] = b64url_encode(bytes(sig))


def _short_body(obj: Json) -> None:
    ct = b64url_decode(obj["body"]["ct"])
    obj["body"]["ct"] = b64url_encode(ct[:-3])  # well encoded, three bytes short


Case = Callable[[World, Personas], bytes]


def _no_prk(w: World, _p: Personas) -> bytes:
    return _mutated(
        seal_message(w, "therapist", "x"),
        lambda o: o["hdr"]["recipients"].pop(
            next(i for i, r in enumerate(o["hdr"]["recipients"]) if r["kind"] == "prk")
        ),
    )


def _old_prk(w: World, _p: Personas) -> bytes:
    stale = PracticeKeys.generate(w.practice.id)
    return upload_bytes(seal_item(w, "therapist", "x", prk_pub=stale.prk_pub).item)


def _with_recipient(who: str) -> Case:
    def case(w: World, _p: Personas) -> bytes:
        extra = w.member(who)
        recipients = [*recipients_for(w), RecipientKey(extra.user.pk, extra.keys.aek_pub)]
        return upload_bytes(seal_item(w, "therapist", "x", recipients=recipients).item)

    return case


def _without(who: str) -> Case:
    def case(w: World, _p: Personas) -> bytes:
        drop = w.member(who).user.pk
        recipients = [r for r in recipients_for(w) if r.user_id != drop]
        return upload_bytes(seal_item(w, "therapist", "x", recipients=recipients).item)

    return case


def _stale_key(w: World, p: Personas) -> bytes:
    old = w.member("client").keys
    recipients = recipients_for(w)
    # The client has since rotated: their newest aek_bind names another AEK.
    w.members["client"] = give_keys(w, p.client.membership, ver=2)
    return upload_bytes(
        seal_item(
            w,
            "therapist",
            "x",
            recipients=[
                RecipientKey(r.user_id, old.aek_pub) if r.user_id == p.client.user.pk else r
                for r in recipients
            ],
        ).item
    )


REFUSALS: dict[str, tuple[Case, str]] = {
    "wrong practice": (
        lambda w, _p: upload_bytes(seal_item(w, "therapist", "x", practice_id=uuid.uuid4()).item),
        "E_CERT",
    ),
    "author is not the uploader": (lambda w, _p: seal_message(w, "client", "x"), "E_CERT"),
    "no prk recipient": (_no_prk, "E_SCHEMA"),
    "old prk": (_old_prk, "E_SCHEMA"),
    "non-participant recipient": (_with_recipient("other_therapist"), "E_NOT_RECIPIENT"),
    "removed member as recipient": (_with_recipient("removed_member"), "E_NOT_RECIPIENT"),
    "owner as recipient": (_with_recipient("owner"), "E_NOT_RECIPIENT"),
    "client missing": (_without("client"), "E_NOT_RECIPIENT"),
    "author missing": (_without("therapist"), "E_NOT_RECIPIENT"),
    "stale key_id": (_stale_key, "E_SCHEMA"),
    "bad signature": (
        lambda w, _p: _mutated(seal_message(w, "therapist", "x"), _flip_sig),
        "E_SIG",
    ),
    "bad body length": (
        lambda w, _p: _mutated(seal_message(w, "therapist", "x"), _short_body),
        "E_SCHEMA",
    ),
    "type not allowed": (
        lambda w, _p: upload_bytes(seal_item(w, "therapist", "x", item_type="note").item),
        "E_SCHEMA",
    ),
    "message in another chart": (
        lambda w, p: upload_bytes(
            seal_item(w, "therapist", "x", chart_id=p.other_client.membership.pk).item
        ),
        "E_SCHEMA",
    ),
    "not json": (lambda _w, _p: b"{nope", "E_SCHEMA"),
    "unknown field": (
        lambda w, _p: _mutated(seal_message(w, "therapist", "x"), lambda o: o.update(extra=1)),
        "E_SCHEMA",
    ),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_refusals_answer_400_and_write_nothing(world: World, personas: Personas, case: str) -> None:
    make, code = REFUSALS[case]
    data = make(world, personas)
    response = post_item(api(personas.therapist.user), conversation_id(world), data)
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == code, error
    assert "x" not in error["message"].split()  # never echoes content
    assert nothing_stored()
    assert not AuditEvent.objects.filter(action="conversation.item.created").exists()
    assert not Conversation.objects.filter(last_seq__gt=0).exists()  # no seq used up


def test_revision_above_zero_is_refused(world: World, personas: Personas) -> None:
    sealed = seal_item(world, "therapist", "x")
    revised = revise_inline(
        sealed.item,
        sealed.cek,
        b'{"text":"y"}',
        reviser_user_id=personas.therapist.user.pk,
        reviser=world.member("therapist").keys,
        created_at=sealed.item.hdr.created_at + 1,
    )
    therapist = api(personas.therapist.user)
    response = post_item(therapist, conversation_id(world), upload_bytes(revised))
    assert response.status_code == 400
    assert response.json()["error"]["code"].startswith("E_")
    assert nothing_stored()


def test_oversized_upload_is_413(world: World, personas: Personas) -> None:
    response = post_item(
        api(personas.therapist.user), conversation_id(world), b" " * (1536 * 1024 + 1)
    )
    assert response.status_code == 413
    assert nothing_stored()


def test_store_does_not_grow_queries_with_history(world: World, personas: Personas) -> None:
    cid = conversation_id(world)
    therapist = api(personas.therapist.user)
    post_item(therapist, cid, seal_message(world, "therapist", "warm up"))
    counts = []
    for n in range(3):
        data = seal_message(world, "therapist", f"n{n}")
        with CaptureQueriesContext(connection) as ctx:
            assert post_item(therapist, cid, data).status_code == 201
        counts.append(len(ctx.captured_queries))
    assert len(set(counts)) == 1, counts
    assert counts[0] < 40, counts


def _seal_file(world: World, blob_id: uuid.UUID, size: int) -> tuple[bytes, bytes]:
    """A `file` item (stream body, §8) and its ciphertext, sealed to the client's team."""
    writer = world.member("therapist")
    sink = io.BytesIO()
    sealed = seal_stream(
        io.BytesIO(b"f" * size),
        sink,
        size=size,
        blob_id=blob_id,
        item_id=uuid7(),
        practice_id=world.practice.id,
        item_type="file",
        author_user_id=writer.user.pk,
        author=writer.keys,
        created_at=now_ms(),
        recipients=recipients_for(world),
        prk_pub=world.keys.prk_pub,
        chart_id=conversation_id(world),
    )
    return upload_bytes(sealed.item), sink.getvalue()


def test_a_file_item_attaches_its_uploaded_blob(world: World, personas: Personas) -> None:
    cid = conversation_id(world)
    therapist = api(personas.therapist.user)
    size = 3000
    started = therapist.post(f"/api/conversations/{cid}/blobs", {"size": size}, "application/json")
    assert started.status_code == 201, started.json()
    blob_id = uuid.UUID(started.json()["blob_id"])
    data, ciphertext = _seal_file(world, blob_id, size)
    assert len(ciphertext) == started.json()["length"]
    put = therapist.put(
        f"/api/blobs/{blob_id}?offset=0", ciphertext, content_type="application/octet-stream"
    )
    assert put.status_code == 200, put.json()
    response = post_item(therapist, cid, data)
    assert response.status_code == 201, response.json()
    row = ConversationItem.objects.get()
    assert row.blob_id == blob_id
    assert row.type == "file"
    assert Blob.objects.get(pk=blob_id).attached_at is not None
    [stored] = api(personas.client.user).get(f"/api/conversations/{cid}/items").json()["items"]
    assert stored["item"]["body"] == {"blob_id": str(blob_id)}
    # The blob now belongs to that item: a second item cannot attach it.
    again, _ = _seal_file(world, blob_id, size)
    refused = post_item(therapist, cid, again)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "E_SCHEMA"
    assert ConversationItem.objects.count() == 1


def test_a_file_item_without_its_blob_is_refused(world: World, personas: Personas) -> None:
    data, _ = _seal_file(world, uuid.uuid4(), 10)
    response = post_item(api(personas.therapist.user), conversation_id(world), data)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "E_SCHEMA"
    assert nothing_stored()


def test_the_audit_row_shares_the_items_transaction(
    world: World, personas: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**_: Any) -> None:
        raise RuntimeError("audit unavailable")

    monkeypatch.setattr(services, "record_event", broken)
    client = Client(raise_request_exception=False)
    client.force_login(personas.therapist.user)
    response = post_item(client, conversation_id(world), seal_message(world, "therapist", "x"))
    assert response.status_code == 500
    assert nothing_stored()
    # The conversation is created on first use, in the same transaction: rolled back too.
    assert not Conversation.objects.filter(last_seq__gt=0).exists()


def test_a_revocation_takes_effect_on_the_next_upload(world: World, personas: Personas) -> None:
    """The verified directory is cached per practice, but never across a change."""
    cid = conversation_id(world)
    therapist = api(personas.therapist.user)
    assert post_item(therapist, cid, seal_message(world, "therapist", "a")).status_code == 201
    member = world.member("therapist")
    rev = practice.revoke(
        world.prsk,
        practice_id=world.practice.id,
        user_id=member.user.pk,
        aik_id=member.keys.aik_id,
        revoked_at=now_ms() - 1,
        reason="compromised",
    )
    MemberRevocationRecord.objects.create(
        practice=world.practice,
        user=member.user,
        aik_id=b64url_encode(rev.aik_id),
        revoked_at=rev.revoked_at,
        reason=rev.reason,
        envelope=envelope.dumps(envelope.encode_revocation(rev)).decode(),
        uploaded_by=personas.owner.user,
    )
    refused = post_item(therapist, cid, seal_message(world, "therapist", "b"))
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "E_CERT"
    assert ConversationItem.objects.count() == 1
