"""Conversations, read marks and the persona matrix of every conversation endpoint
(docs/api/messaging.md): participants are the client and their current care team; anyone else,
and an unknown id, gets the same 404 and a `denied` audit row naming the client."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from quietroom.audit.models import AuditEvent, Outcome
from quietroom.messaging.models import Conversation, ConversationItem, MessagingSettings
from quietroom.practices.models import CareTeamMember
from tests.directory.world import World
from tests.harness.personas import Personas
from tests.messaging.world import (
    add_pair,
    api,
    conversation_id,
    messaging_world,
    post_item,
    seal_message,
)

pytestmark = pytest.mark.django_db

NOT_FOUND = {"error": {"code": "not_found", "message": "Nothing was found here."}}
OUTSIDERS = [
    "other_client",
    "other_therapist",
    "owner",
    "removed_member",
    "other_practice_therapist",
]


@pytest.fixture
def world(personas: Personas) -> World:
    return messaging_world(personas)


def read(client: Client, cid: uuid.UUID, seq: int) -> Any:
    return client.post(f"/api/conversations/{cid}/read", {"seq": seq}, "application/json")


def test_the_list_shows_each_persona_their_own(world: World, personas: Personas) -> None:
    def listed(who: str) -> list[str]:
        body = api(getattr(personas, who).user).get("/api/conversations").json()
        return [c["client_id"] for c in body["conversations"]]

    assert listed("client") == [str(personas.client.membership.pk)]  # before any message
    assert listed("therapist") == [str(personas.client.membership.pk)]
    assert listed("other_therapist") == [str(personas.other_client.membership.pk)]
    for who in ("owner", "removed_member", "other_practice_therapist"):
        assert listed(who) == []
    assert api(None).get("/api/conversations").status_code == 401
    assert not AuditEvent.objects.exists()  # not audited: no item is read


def test_unread_counts_and_read_marks(world: World, personas: Personas) -> None:
    cid = conversation_id(world)
    therapist, client = api(personas.therapist.user), api(personas.client.user)
    for n in range(3):
        assert (
            post_item(therapist, cid, seal_message(world, "therapist", f"t{n}")).status_code == 201
        )
    assert post_item(client, cid, seal_message(world, "client", "c")).status_code == 201

    [mine] = client.get("/api/conversations").json()["conversations"]
    assert mine["unread"] == 3  # items by others after the read mark
    assert mine["last_seq"] == 4
    assert mine["client_name"] == personas.client.user.display_name
    assert mine["last_activity_at"] is not None
    [theirs] = therapist.get("/api/conversations").json()["conversations"]
    assert theirs["unread"] == 1

    assert read(client, cid, 2).status_code == 204
    assert client.get("/api/conversations").json()["conversations"][0]["unread"] == 1
    assert read(client, cid, 1).status_code == 204  # never moves back
    assert client.get(f"/api/conversations/{cid}").json()["read_seq"] == 2
    past = read(client, cid, 5)
    assert past.status_code == 400
    assert past.json()["error"]["code"] == "bad_request"
    assert read(client, cid, 4).status_code == 204
    assert client.get("/api/conversations").json()["conversations"][0]["unread"] == 0
    invalid = client.post(f"/api/conversations/{cid}/read", {"seq": 1, "x": 1}, "application/json")
    assert invalid.status_code == 400
    assert invalid.json()["error"]["code"] == "invalid"


def test_the_list_takes_the_same_queries_for_many_conversations(
    world: World, personas: Personas
) -> None:
    therapist = personas.therapist.membership
    counts = []
    for n in range(3):
        _, client_key = add_pair(world, n)
        CareTeamMember.objects.create(
            client=world.member(client_key).membership, therapist=therapist
        )
        post_item(
            api(personas.therapist.user),
            conversation_id(world, client_key),
            seal_message(world, "therapist", "x", client=client_key),
        )
        caller = api(personas.therapist.user)
        with CaptureQueriesContext(connection) as ctx:
            body = caller.get("/api/conversations").json()
        counts.append(len(ctx.captured_queries))
        assert len(body["conversations"]) == n + 2
    assert len(set(counts)) == 1, counts
    # Most recent activity first.
    first = body["conversations"][0]
    assert first["client_id"] == str(conversation_id(world, "client-2"))


def test_conversation_info(world: World, personas: Personas) -> None:
    cid = conversation_id(world)
    MessagingSettings.objects.create(practice=personas.practice, crisis_resources="Call 988.")
    body = api(personas.client.user).get(f"/api/conversations/{cid}").json()
    assert body == {
        "client_id": str(cid),
        "practice_id": str(personas.practice.pk),
        "client": {
            "user_id": str(personas.client.user.pk),
            "display_name": personas.client.user.display_name,
            "role": "client",
        },
        "team": [
            {
                "user_id": str(personas.therapist.user.pk),
                "display_name": personas.therapist.user.display_name,
                "role": "therapist",
            }
        ],
        "last_seq": 0,
        "read_seq": 0,
        "crisis_resources": "Call 988.",
        "attachment_max_bytes": 100 * 1024 * 1024,
    }
    event = AuditEvent.objects.get(action="conversation.open")
    assert event.outcome == Outcome.ALLOWED
    assert event.client_id == personas.client.membership.pk
    other = api(personas.other_therapist.user)
    assert (
        other.get(f"/api/conversations/{conversation_id(world, 'other_client')}").json()[
            "crisis_resources"
        ]
        == "Call 988."
    )


def _requests(world: World, cid: uuid.UUID) -> dict[str, tuple[str, str, Any]]:
    data = seal_message(world, "client", "x")
    return {
        "open": ("get", f"/api/conversations/{cid}", None),
        "items": ("get", f"/api/conversations/{cid}/items", None),
        "post item": ("post", f"/api/conversations/{cid}/items", data),
        "read": ("post", f"/api/conversations/{cid}/read", {"seq": 0}),
        "grants": ("post", f"/api/conversations/{cid}/grants", {"grants": [{}]}),
        "needed": ("get", f"/api/conversations/{cid}/grants/needed", None),
    }


ACTIONS = {
    "open": "conversation.open",
    "items": "conversation.items.read",
    "post item": "conversation.item.created",
    "read": "conversation.read",
    "grants": "conversation.grant.created",
    "needed": "conversation.grants.needed",
}


def _call(client: Client, method: str, path: str, body: Any) -> Any:
    if method == "get":
        return client.get(path)
    return client.post(path, body, "application/json")


@pytest.mark.parametrize("endpoint", list(ACTIONS))
@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_404_and_a_denied_row(
    world: World, personas: Personas, endpoint: str, who: str
) -> None:
    cid = conversation_id(world)
    method, path, body = _requests(world, cid)[endpoint]
    persona = getattr(personas, who)
    response = _call(api(persona.user), method, path, body)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome) == (ACTIONS[endpoint], Outcome.DENIED)
    assert event.actor_id == persona.user.pk
    assert event.client_id == personas.client.membership.pk
    assert event.practice_id == personas.practice.pk
    assert not ConversationItem.objects.exists()
    assert not Conversation.objects.exists()  # not even made on first use


@pytest.mark.parametrize("endpoint", list(ACTIONS))
def test_anonymous_gets_401(world: World, endpoint: str) -> None:
    method, path, body = _requests(world, conversation_id(world))[endpoint]
    assert _call(api(None), method, path, body).status_code == 401
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("endpoint", list(ACTIONS))
def test_an_unknown_id_looks_like_someone_elses(
    world: World, personas: Personas, endpoint: str
) -> None:
    for target in (uuid.uuid4(), personas.therapist.membership.pk):  # no one / not a client
        method, path, body = _requests(world, target)[endpoint]
        response = _call(api(personas.therapist.user), method, path, body)
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
    events = AuditEvent.objects.filter(outcome=Outcome.DENIED)
    assert events.count() == 2
    assert all(e.client_id is None for e in events)


def test_a_removed_client_has_no_conversation(world: World, personas: Personas) -> None:
    cid = conversation_id(world)
    personas.client.membership.removed_at = timezone.now()
    personas.client.membership.save()
    assert api(personas.client.user).get(f"/api/conversations/{cid}").status_code == 404
    assert api(personas.therapist.user).get(f"/api/conversations/{cid}").status_code == 404
    assert api(personas.client.user).get("/api/conversations").json() == {"conversations": []}
