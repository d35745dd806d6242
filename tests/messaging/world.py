"""A keyed practice for messaging tests, crash tests and the benchmark (docs/api/messaging.md).

    world = messaging_world(personas)      # tests.directory.world.World: personas keyed, certified
    data = seal_message(world, "therapist", "Hello")   # canonical upload JSON, to `client`'s team
    client_id = conversation_id(world)      # the client's membership id (the conversation address)
    t, c = add_pair(world, 7)               # one more therapist + client pair, keyed and certified

The personas' care teams hold: `therapist` cares for `client` (and `removed_member` was removed
from it), `other_therapist` for `other_client`. Every member has a TOTP authenticator, so the
MFA gate lets staff through. Items are sealed with `quietroom.crypto.items.seal_inline`, exactly
as a browser seals them: to the client, the client's current care team and the practice's PRK.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from django.test import Client

from quietroom.accounts.models import User
from quietroom.crypto import envelope
from quietroom.crypto.items import Item, RecipientKey, SealedItem, seal_inline
from quietroom.practices.models import CareTeamMember, Membership, Role
from tests.directory.world import (
    KeyedMember,
    World,
    give_keys,
    give_second_factor,
    keyed_world,
    make_cert,
    now_ms,
    store_cert,
    uuid7,
)
from tests.harness.personas import Personas

__all__ = [
    "World",
    "add_pair",
    "api",
    "conversation_id",
    "messaging_world",
    "post_item",
    "recipients_for",
    "seal_item",
    "seal_message",
    "upload_bytes",
]


def messaging_world(personas: Personas) -> World:
    """Practice A of the personas, every member keyed and certified (see keyed_world)."""
    return keyed_world(personas)


def conversation_id(world: World, client: str = "client") -> uuid.UUID:
    """The conversation's address: the client's membership id."""
    return world.member(client).membership.pk


def _member(world: World, who: str | KeyedMember) -> KeyedMember:
    return world.member(who) if isinstance(who, str) else who


def recipients_for(world: World, client: str = "client") -> list[RecipientKey]:
    """The client and the therapists currently on their care team, with their current AEKs."""
    client_member = world.member(client)
    team_user_ids = set(
        CareTeamMember.objects.filter(
            client=client_member.membership, removed_at__isnull=True
        ).values_list("therapist__user_id", flat=True)
    )
    keyed = [client_member] + [m for m in world.members.values() if m.user.pk in team_user_ids]
    return [RecipientKey(m.user.pk, m.keys.aek_pub) for m in keyed]


def seal_item(
    world: World,
    author: str | KeyedMember,
    text: str,
    *,
    item_id: uuid.UUID | None = None,
    client: str = "client",
    recipients: Sequence[RecipientKey] | None = None,
    item_type: str = "message",
    practice_id: uuid.UUID | None = None,
    chart_id: uuid.UUID | None = None,
    prk_pub: bytes | None = None,
    created_at: int | None = None,
) -> SealedItem:
    """A sealed message item; the keyword arguments let negative tests bend one rule at a time."""
    writer = _member(world, author)
    payload = json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")
    return seal_inline(
        payload,
        item_id=item_id or uuid7(),
        practice_id=practice_id or world.practice.id,
        item_type=item_type,
        author_user_id=writer.user.pk,
        author=writer.keys,
        created_at=now_ms() if created_at is None else created_at,
        recipients=list(recipients) if recipients is not None else recipients_for(world, client),
        prk_pub=prk_pub or world.keys.prk_pub,
        chart_id=chart_id or conversation_id(world, client),
    )


def upload_bytes(item: Item | dict[str, Any]) -> bytes:
    """The canonical upload JSON of an item (or of an already encoded item object)."""
    obj = item if isinstance(item, dict) else envelope.encode_item(item)
    return envelope.dumps(obj)


def seal_message(
    world: World,
    author: str | KeyedMember,
    text: str,
    *,
    item_id: uuid.UUID | None = None,
    client: str = "client",
) -> bytes:
    """The upload body of a message from `author` in `client`'s conversation."""
    sealed = seal_item(world, author, text, item_id=item_id, client=client)
    return upload_bytes(sealed.item)


def add_pair(world: World, n: int) -> tuple[str, str]:
    """A new therapist and client in the world's practice, keyed, certified (the client by the
    therapist), the therapist on the client's care team. Returns their keys in `world.members`:
    (`therapist-<n>`, `client-<n>`)."""
    practice = world.practice
    names = (f"therapist-{n}", f"client-{n}")
    memberships = []
    for key, role in zip(names, (Role.THERAPIST, Role.CLIENT), strict=True):
        user = User.objects.create_user(
            email=f"{key}@pairs.quietroom.test", display_name=key.replace("-", " ").title()
        )
        memberships.append(Membership.objects.create(practice=practice, user=user, role=role))
    therapist_m, client_m = memberships
    CareTeamMember.objects.create(client=client_m, therapist=therapist_m)
    therapist = give_keys(world, therapist_m)
    client = give_keys(world, client_m)
    world.members[names[0]] = therapist
    world.members[names[1]] = client
    give_second_factor(therapist.user)
    store_cert(world, therapist)
    store_cert(world, client, make_cert(world, client, issuer=therapist))
    return names


def api(user: User | None) -> Client:
    """A Django test client signed in as `user` (anonymous for None)."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def post_item(client: Client, client_id: uuid.UUID, data: bytes) -> Any:
    return client.post(
        f"/api/conversations/{client_id}/items", data=data, content_type="application/json"
    )
