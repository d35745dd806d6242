"""Two server processes behind one public origin, sharing the database and a Redis channel layer
(QUIETROOM_REDIS_URL), as a multi-worker deployment runs: what one worker commits or ends must
reach sockets held by the other (docs/api/messaging.md "WebSocket frames", websocket.md "When
access ends"). Redis is a real throwaway redis-server; without it these tests fail, never skip.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from tests.harness.personas import Personas
from tests.harness.redis import RedisServer, redis_server, start_redis  # noqa: F401 - fixture
from tests.harness.server import AppServer, start_app_server
from tests.messaging.live import LiveCaller, frame_of_type, session_for, ws_connect
from tests.messaging.world import World, conversation_id, messaging_world, seal_message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def workers(redis_server: RedisServer, data_dir: Path) -> Iterator[tuple[AppServer, AppServer]]:  # noqa: F811
    """Worker A and worker B; both take A's URL as the public origin (one site, two processes)."""
    env = {"QUIETROOM_REDIS_URL": redis_server.url}
    a = start_app_server(data_dir, env)
    try:
        b = start_app_server(data_dir, {**env, "QUIETROOM_PUBLIC_URL": a.url})
    except BaseException:
        a.stop()
        raise
    yield a, b
    b.stop()
    a.stop()


@pytest.fixture
def world(personas: Personas) -> World:
    return messaging_world(personas)


def test_an_item_posted_on_one_worker_reaches_a_socket_on_the_other(
    workers: tuple[AppServer, AppServer], world: World
) -> None:
    a, b = workers
    origin = a.url
    client_id = conversation_id(world)
    recipient = session_for(world.member("client").user)
    sender = LiveCaller(b.url, origin, session_for(world.member("therapist").user))

    async def main() -> tuple[int, dict[str, object]]:
        async with ws_connect(a.url, origin, recipient) as ws:
            await frame_of_type(ws, "hello")
            # The POST is blocking I/O: run it off the loop so the socket keeps reading.
            response = await asyncio.to_thread(
                sender.post_item, client_id, seal_message(world, "therapist", "across workers")
            )
            assert response.status_code == 201, response.text
            seq: int = response.json()["seq"]
            return seq, await frame_of_type(ws, "item", timeout=10)

    try:
        seq, frame = asyncio.run(main())
    finally:
        sender.close()
    assert frame["client_id"] == str(client_id)
    assert frame["seq"] == seq
    item = frame["item"]
    assert isinstance(item, dict)
    # Pushed items carry only the recipient's own wraps.
    user_wraps = [w for w in item["wraps"] if w["kind"] == "user"]
    assert [w["id"] for w in user_wraps] == [str(world.member("client").user.pk)]


def test_a_send_frame_on_one_worker_is_acked_and_delivered_on_the_other(
    workers: tuple[AppServer, AppServer], world: World
) -> None:
    a, b = workers
    origin = a.url
    client_id = conversation_id(world)
    recipient = session_for(world.member("client").user)
    sender = session_for(world.member("therapist").user)
    upload = seal_message(world, "therapist", "a frame across workers")

    async def main() -> tuple[dict[str, object], dict[str, object]]:
        async with (
            ws_connect(a.url, origin, recipient) as ws_a,
            ws_connect(b.url, origin, sender) as ws_b,
        ):
            await frame_of_type(ws_a, "hello")
            await frame_of_type(ws_b, "hello")
            item = json.loads(upload)
            await ws_b.send(
                json.dumps({"type": "send", "ref": 1, "client_id": str(client_id), "item": item})
            )
            ack = await frame_of_type(ws_b, "ack")
            return ack, await frame_of_type(ws_a, "item")

    ack, frame = asyncio.run(main())
    assert ack["ref"] == 1
    assert frame["seq"] == ack["seq"]
    assert frame["client_id"] == str(client_id)


def test_signing_out_on_one_worker_closes_the_sessions_socket_on_the_other(
    workers: tuple[AppServer, AppServer], personas: Personas
) -> None:
    a, b = workers
    session = session_for(personas.client.user)
    caller = LiveCaller(b.url, a.url, session)

    async def main() -> int | None:
        async with ws_connect(a.url, a.url, session) as ws:
            await frame_of_type(ws, "hello")
            response = await asyncio.to_thread(caller.delete, "/_allauth/browser/v1/auth/session")
            # allauth answers 401 to a sign-out: the session is gone.
            assert response.status_code in (200, 401), response.text
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None
            return None

    try:
        code = asyncio.run(main())
    finally:
        caller.close()
    assert code == 4401


def test_a_missing_redis_server_fails_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The fixture turns this into a test failure (pytest.fail), never a skip."""
    monkeypatch.setattr("tests.harness.redis.shutil.which", lambda _name: None)
    with pytest.raises(RuntimeError, match="apt-get install redis-server"):
        start_redis(tmp_path)
