"""Messaging over the WebSocket (docs/api/messaging.md, "WebSocket frames"): pushed items reach
every socket of every recipient who is a participant, with only that person's wraps; `send` is
the same store as `POST …/items`, answered with `ack` or `refused`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from quietroom.accounts.models import User
from quietroom.asgi import application
from quietroom.audit.models import AuditEvent, Outcome
from quietroom.messaging.models import ConversationItem
from quietroom.messaging.realtime import push_closed
from tests.directory.world import World
from tests.harness.personas import Personas
from tests.messaging.world import api, conversation_id, messaging_world, post_item, seal_message

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = settings.CONFIG.public_url.encode("ascii")


def cookie_of(user: User) -> bytes:
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


async def connect(user: User) -> WebsocketCommunicator:
    ws = WebsocketCommunicator(
        application, "/ws/events", headers=[(b"origin", ORIGIN), (b"cookie", cookie_of(user))]
    )
    connected, _ = await ws.connect(timeout=5)
    assert connected
    hello = json.loads(await ws.receive_from(timeout=5))
    assert hello["type"] == "hello"
    return ws


async def frame(ws: WebsocketCommunicator) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await ws.receive_from(timeout=5))
    return message


def run(body: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(body())


@pytest.fixture
def world(personas: Personas) -> World:
    return messaging_world(personas)


def test_each_recipient_gets_the_item_and_a_removed_member_does_not(
    world: World, personas: Personas
) -> None:
    cid = conversation_id(world)
    data = seal_message(world, "therapist", "Hello")
    therapist_api = api(personas.therapist.user)

    async def body() -> None:
        client_ws = await connect(personas.client.user)
        therapist_ws = await connect(personas.therapist.user)
        removed_ws = await connect(personas.removed_member.user)
        owner_ws = await connect(personas.owner.user)
        response = await sync_to_async(post_item)(therapist_api, cid, data)
        assert response.status_code == 201
        for ws, user in (
            (client_ws, personas.client.user),
            (therapist_ws, personas.therapist.user),
        ):
            got = await frame(ws)
            assert got["type"] == "item"
            assert got["client_id"] == str(cid)
            assert got["seq"] == 1
            assert [w["id"] for w in got["item"]["wraps"]] == [str(user.pk)]
            assert got["item"]["sig"] == json.loads(data)["sig"]
        assert await removed_ws.receive_nothing(timeout=0.3)
        assert await owner_ws.receive_nothing(timeout=0.1)
        for ws in (client_ws, therapist_ws, removed_ws, owner_ws):
            await ws.disconnect()

    run(body)


def test_send_frame_acks_and_delivers(world: World, personas: Personas) -> None:
    cid = conversation_id(world)
    item = json.loads(seal_message(world, "client", "From the socket"))

    async def body() -> None:
        client_ws = await connect(personas.client.user)
        therapist_ws = await connect(personas.therapist.user)
        send = {"type": "send", "ref": 7, "client_id": str(cid), "item": item}
        await client_ws.send_to(text_data=json.dumps(send))
        answers = [await frame(client_ws), await frame(client_ws)]
        ack = next(a for a in answers if a["type"] == "ack")
        assert ack["ref"] == 7
        assert ack["seq"] == 1
        assert ack["item_id"] == item["hdr"]["item_id"]
        assert any(a["type"] == "item" for a in answers)  # the author's own other tabs
        pushed = await frame(therapist_ws)
        assert (pushed["type"], pushed["seq"]) == ("item", 1)
        # A retry over the socket answers the first ack.
        await client_ws.send_to(text_data=json.dumps({**send, "ref": 8}))
        again = await frame(client_ws)
        assert again == {**ack, "ref": 8}
        await client_ws.disconnect()
        await therapist_ws.disconnect()

    run(body)
    assert ConversationItem.objects.count() == 1


def test_staff_without_a_second_factor_cannot_send(world: World, personas: Personas) -> None:
    """The HTTP API's staff two-step gate (AU-01) holds on the socket too."""
    cid = conversation_id(world)
    item = json.loads(seal_message(world, "therapist", "x"))
    Authenticator.objects.filter(user=personas.therapist.user).delete()

    async def body() -> dict[str, Any]:
        ws = await connect(personas.therapist.user)
        send = {"type": "send", "ref": 3, "client_id": str(cid), "item": item}
        await ws.send_to(text_data=json.dumps(send))
        answer = await frame(ws)
        await ws.disconnect()
        return answer

    answer = run(body)
    assert (answer["type"], answer["ref"], answer["code"]) == ("refused", 3, "mfa_required")
    assert not ConversationItem.objects.exists()


@pytest.mark.parametrize(
    "who",
    ["other_client", "other_therapist", "owner", "removed_member", "other_practice_therapist"],
)
def test_send_by_a_non_participant_is_refused_as_not_found(
    world: World, personas: Personas, who: str
) -> None:
    cid = conversation_id(world)
    item = json.loads(seal_message(world, "client", "x"))
    user = getattr(personas, who).user

    async def body() -> dict[str, Any]:
        ws = await connect(user)
        send = {"type": "send", "ref": 1, "client_id": str(cid), "item": item}
        await ws.send_to(text_data=json.dumps(send))
        answer = await frame(ws)
        await ws.disconnect()
        return answer

    answer = run(body)
    assert answer == {
        "type": "refused", "ref": 1, "code": "not_found", "message": "Nothing was found here."
    }  # fmt: skip
    assert not ConversationItem.objects.exists()
    event = AuditEvent.objects.get(action="conversation.item.created")
    assert event.outcome == Outcome.DENIED
    assert event.actor_id == user.pk
    assert event.client_id == personas.client.membership.pk


BAD_FRAMES: list[dict[str, Any]] = [
    {"type": "send", "ref": 1, "client_id": "CID"},
    {"type": "send", "ref": "1", "client_id": "CID", "item": {}},
    {"type": "send", "ref": True, "client_id": "CID", "item": {}},
    {"type": "send", "ref": 1, "client_id": "not-a-uuid", "item": {}},
    {"type": "send", "ref": 1, "client_id": "CID", "item": []},
    {"type": "send", "ref": 1, "client_id": "CID", "item": {}, "extra": 1},
]


def test_malformed_send_frames_are_invalid(world: World, personas: Personas) -> None:
    cid = str(conversation_id(world))

    async def body() -> list[dict[str, Any]]:
        ws = await connect(personas.client.user)
        answers = []
        for bad in BAD_FRAMES:
            fixed = {k: (cid if v == "CID" else v) for k, v in bad.items()}
            await ws.send_to(text_data=json.dumps(fixed))
            answers.append(await frame(ws))
        await ws.disconnect()
        return answers

    answers = run(body)
    assert answers == [{"type": "error", "code": "invalid", "for": "send"}] * len(BAD_FRAMES)
    assert not ConversationItem.objects.exists()


def test_a_refused_item_names_the_protocol_error(world: World, personas: Personas) -> None:
    cid = conversation_id(world)
    item = json.loads(seal_message(world, "therapist", "x"))  # the client is not its author

    async def body() -> dict[str, Any]:
        ws = await connect(personas.client.user)
        await ws.send_to(
            text_data=json.dumps({"type": "send", "ref": 3, "client_id": str(cid), "item": item})
        )
        answer = await frame(ws)
        await ws.disconnect()
        return answer

    answer = run(body)
    assert answer["type"] == "refused"
    assert answer["ref"] == 3
    assert answer["code"] == "E_CERT"
    assert not ConversationItem.objects.exists()


def test_read_reaches_the_readers_other_sockets(world: World, personas: Personas) -> None:
    cid = conversation_id(world)
    post_item(api(personas.therapist.user), cid, seal_message(world, "therapist", "x"))
    client_api = api(personas.client.user)

    async def body() -> dict[str, Any]:
        ws = await connect(personas.client.user)
        therapist_ws = await connect(personas.therapist.user)
        response = await sync_to_async(client_api.post)(
            f"/api/conversations/{cid}/read", {"seq": 1}, content_type="application/json"
        )
        assert response.status_code == 204
        answer = await frame(ws)
        assert await therapist_ws.receive_nothing(timeout=0.2)
        await ws.disconnect()
        await therapist_ws.disconnect()
        return answer

    assert run(body) == {"type": "read", "client_id": str(cid), "seq": 1}


def test_closed_conversation_frame(world: World, personas: Personas) -> None:
    cid = conversation_id(world)

    async def body() -> dict[str, Any]:
        ws = await connect(personas.therapist.user)
        await sync_to_async(push_closed)(personas.therapist.user.pk, cid)
        answer = await frame(ws)
        await ws.disconnect()
        return answer

    assert run(body) == {"type": "conversation.closed", "client_id": str(cid)}
    assert get_channel_layer() is not None


def test_an_item_too_large_for_a_frame_is_pushed_without_it(
    world: World, personas: Personas
) -> None:
    cid = conversation_id(world)
    data = seal_message(world, "therapist", "y" * 70_000)
    therapist_api = api(personas.therapist.user)

    async def body() -> dict[str, Any]:
        ws = await connect(personas.client.user)
        response = await sync_to_async(post_item)(therapist_api, cid, data)
        assert response.status_code == 201
        answer = await frame(ws)
        await ws.disconnect()
        return answer

    assert run(body) == {"type": "item", "client_id": str(cid), "seq": 1, "item": None}
