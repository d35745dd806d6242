"""Grants (crypto-protocol §7.9, docs/api/messaging.md): a participant who can read an item
gives a later care-team member its CEK; the server checks each grant and lists what is needed."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client

from quietroom.audit.models import AuditEvent
from quietroom.crypto import envelope
from quietroom.crypto.encoding import b64url_decode, b64url_encode
from quietroom.crypto.items import SealedItem, make_grant
from quietroom.messaging.models import ItemGrant
from quietroom.practices.models import CareTeamMember
from tests.directory.world import KeyedMember, World, now_ms
from tests.harness.personas import Personas
from tests.messaging.world import (
    api,
    conversation_id,
    messaging_world,
    post_item,
    seal_item,
    upload_bytes,
)

pytestmark = pytest.mark.django_db

Json = dict[str, Any]


@pytest.fixture
def world(personas: Personas) -> World:
    return messaging_world(personas)


def _grant(sealed: SealedItem, granter: KeyedMember, grantee: KeyedMember) -> Json:
    grant = make_grant(
        sealed.cek,
        item_id=sealed.item.hdr.item_id,
        root_h=sealed.item.hdr.hash(),
        grantee_user_id=grantee.user.pk,
        grantee_aek_pub=grantee.keys.aek_pub,
        granted_at=now_ms(),
        granter_user_id=granter.user.pk,
        granter=granter.keys,
    )
    return envelope.encode_grant(grant)


def _post(client: Client, cid: uuid.UUID, grants: list[Json]) -> Any:
    return client.post(f"/api/conversations/{cid}/grants", {"grants": grants}, "application/json")


def _setup(world: World, personas: Personas) -> tuple[uuid.UUID, list[SealedItem]]:
    """Two items sealed before `other_therapist` joins the client's care team."""
    cid = conversation_id(world)
    sealed = [seal_item(world, "therapist", f"m{n}") for n in range(2)]
    for s in sealed:
        assert post_item(api(personas.therapist.user), cid, upload_bytes(s.item)).status_code == 201
    CareTeamMember.objects.create(
        client=personas.client.membership, therapist=personas.other_therapist.membership
    )
    return cid, sealed


def test_needed_then_granted_then_readable(world: World, personas: Personas) -> None:
    cid, sealed = _setup(world, personas)
    newcomer = personas.other_therapist.user
    needed = api(personas.therapist.user).get(f"/api/conversations/{cid}/grants/needed").json()
    assert needed == {
        "needed": [
            {"seq": 1, "item_id": str(sealed[0].item.hdr.item_id), "user_id": str(newcomer.pk)},
            {"seq": 2, "item_id": str(sealed[1].item.hdr.item_id), "user_id": str(newcomer.pk)},
        ]
    }
    # The newcomer holds nothing, so their browser has nothing to grant.
    assert api(newcomer).get(f"/api/conversations/{cid}/grants/needed").json() == {"needed": []}

    therapist, grantee = world.member("therapist"), world.member("other_therapist")
    grants = [_grant(s, therapist, grantee) for s in sealed]
    response = _post(api(personas.therapist.user), cid, grants)
    assert response.status_code == 201, response.json()
    assert response.json() == {"stored": 2}
    assert AuditEvent.objects.filter(action="conversation.grant.created").count() == 2
    again = _post(api(personas.therapist.user), cid, grants)
    assert again.json() == {"stored": 0}  # already held: not stored twice
    assert api(personas.therapist.user).get(f"/api/conversations/{cid}/grants/needed").json() == {
        "needed": []
    }
    items = api(newcomer).get(f"/api/conversations/{cid}/items").json()["items"]
    assert [i["grants"] for i in items] == [[g] for g in grants]
    assert all(i["item"]["wraps"] == [] for i in items)
    # The client sees only their own wraps, never someone else's grant.
    client_items = api(personas.client.user).get(f"/api/conversations/{cid}/items").json()
    assert all(i["grants"] == [] for i in client_items["items"])


def _bad_sig(grant: Json) -> Json:
    sig = bytearray(b64url_decode(grant["sig"], 64))
    sig[0] ^= 1
    return {**grant, "sig": b64url_encode(bytes(sig))}


def test_refused_grants_write_nothing(world: World, personas: Personas) -> None:
    cid, sealed = _setup(world, personas)
    therapist, grantee = world.member("therapist"), world.member("other_therapist")
    good = _grant(sealed[0], therapist, grantee)
    outsider = _grant(sealed[0], therapist, world.member("owner"))
    by_newcomer = _grant(sealed[0], grantee, world.member("client"))
    cases: list[tuple[Client, list[Json], str]] = [
        (api(personas.therapist.user), [_bad_sig(good)], "E_SIG"),
        (api(personas.therapist.user), [good, outsider], "E_NOT_RECIPIENT"),
        (api(personas.therapist.user), [{**good, "item_id": str(uuid.uuid4())}], "bad_request"),
        (api(personas.therapist.user), [{**good, "extra": 1}], "E_SCHEMA"),
        (api(personas.other_therapist.user), [by_newcomer], "E_NOT_RECIPIENT"),  # holds nothing
    ]
    for client, grants, code in cases:
        response = _post(client, cid, grants)
        assert response.status_code == 400, response.json()
        assert response.json()["error"]["code"] == code
    assert not ItemGrant.objects.exists()
    assert not AuditEvent.objects.filter(action="conversation.grant.created").exists()
    empty = _post(api(personas.therapist.user), cid, [])
    assert empty.status_code == 400
    assert empty.json()["error"]["code"] == "invalid"
