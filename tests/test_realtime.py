"""The WebSocket endpoint: authenticated from the session, Origin-checked, every message type
validated, with size and rate limits per connection (WS-01)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.utils import timezone

from quietroom.accounts.services import disable_user
from quietroom.asgi import application
from quietroom.realtime import consumers
from quietroom.realtime.consumers import MAX_FRAME_BYTES, RATE_BURST
from tests.harness.personas import Personas

# The configured public URL is the one origin the socket accepts.
GOOD_ORIGIN = settings.CONFIG.public_url.encode("ascii")

pytestmark = pytest.mark.django_db(transaction=True)


def session_cookie(personas: Personas) -> bytes:
    client = Client()
    client.force_login(personas.client.user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


def run(
    cookie: bytes | None,
    body: Callable[[WebsocketCommunicator], Awaitable[Any]],
    origin: bytes = GOOD_ORIGIN,
) -> Any:
    async def main() -> Any:
        headers = [(b"origin", origin)]
        if cookie is not None:
            headers.append((b"cookie", cookie))
        communicator = WebsocketCommunicator(application, "/ws/events", headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        try:
            if not connected:
                return "refused"
            return await body(communicator)
        finally:
            await communicator.disconnect()

    return asyncio.run(main())


async def receive(communicator: WebsocketCommunicator) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await communicator.receive_from(timeout=5))
    return message


def test_signed_in_user_gets_hello_and_pong(personas: Personas) -> None:
    async def body(ws: WebsocketCommunicator) -> list[dict[str, Any]]:
        hello = await receive(ws)
        await ws.send_to(text_data=json.dumps({"type": "ping", "id": 7}))
        return [hello, await receive(ws)]

    hello, pong = run(session_cookie(personas), body)
    assert hello == {"type": "hello", "version": 1}
    assert pong == {"type": "pong", "id": 7}


def test_anonymous_is_refused() -> None:
    assert run(None, lambda _ws: asyncio.sleep(0)) == "refused"


def test_foreign_origin_is_refused(personas: Personas) -> None:
    result = run(
        session_cookie(personas), lambda _ws: asyncio.sleep(0), origin=b"https://evil.test"
    )
    assert result == "refused"


def test_other_local_origin_is_refused(personas: Personas) -> None:
    result = run(
        session_cookie(personas), lambda _ws: asyncio.sleep(0), origin=b"http://127.0.0.1:9999"
    )
    assert result == "refused"


def test_disabled_user_is_refused(personas: Personas) -> None:
    cookie = session_cookie(personas)
    personas.client.user.is_active = False
    personas.client.user.save()
    assert run(cookie, lambda _ws: asyncio.sleep(0)) == "refused"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "malformed"),
        ("[1, 2]", "malformed"),
        ('{"type": 5}', "malformed"),
        ('{"type": "launch"}', "unknown_type"),
        ('{"type": "ping", "id": "x"}', "invalid"),
        ('{"type": "ping", "extra": true}', "invalid"),
        ("x" * (MAX_FRAME_BYTES + 1), "too_large"),
    ],
)
def test_bad_frames_get_an_error_frame_and_the_connection_stays(
    personas: Personas, frame: str, code: str
) -> None:
    async def body(ws: WebsocketCommunicator) -> list[dict[str, Any]]:
        await receive(ws)
        await ws.send_to(text_data=frame)
        error = await receive(ws)
        await ws.send_to(text_data=json.dumps({"type": "ping", "id": 1}))
        return [error, await receive(ws)]

    error, pong = run(session_cookie(personas), body)
    assert error["type"] == "error"
    assert error["code"] == code
    assert pong == {"type": "pong", "id": 1}


def test_binary_frames_are_refused(personas: Personas) -> None:
    async def body(ws: WebsocketCommunicator) -> dict[str, Any]:
        await receive(ws)
        await ws.send_to(bytes_data=b"\x00\x01")
        return await receive(ws)

    assert run(session_cookie(personas), body)["code"] == "text_only"


def test_flooding_connection_is_closed(personas: Personas) -> None:
    async def body(ws: WebsocketCommunicator) -> tuple[int, dict[str, Any]]:
        await receive(ws)
        for i in range(RATE_BURST + 5):
            await ws.send_to(text_data=json.dumps({"type": "ping", "id": i}))
        answers = 0
        while True:
            message = await receive(ws)
            if message["type"] == "error":
                return answers, message
            answers += 1

    answered, error = run(session_cookie(personas), body)
    assert error["code"] == "rate_limited"
    assert RATE_BURST - 1 <= answered <= RATE_BURST + 4


# --- Revocation ends open sockets at once (AC-07) --------------------------------------------


async def _closed_by(cookie: bytes, action: Callable[[], Any]) -> dict[str, Any]:
    communicator = WebsocketCommunicator(
        application, "/ws/events", headers=[(b"origin", GOOD_ORIGIN), (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    await communicator.receive_from(timeout=5)  # hello
    await sync_to_async(action)()
    closed: dict[str, Any] = await communicator.receive_output(timeout=5)
    await communicator.wait()
    return closed


def test_disabling_an_account_closes_its_sockets(personas: Personas) -> None:
    cookie = session_cookie(personas)
    closed = asyncio.run(
        _closed_by(cookie, lambda: disable_user(personas.client.user, by=personas.owner.user))
    )
    assert closed == {"type": "websocket.close", "code": 4401}
    rest = Client()
    rest.cookies[settings.SESSION_COOKIE_NAME] = cookie.decode().split("=", 1)[1]
    assert rest.get("/api/session").status_code == 401
    assert run(cookie, lambda _ws: asyncio.sleep(0)) == "refused"


def test_signing_out_closes_that_sessions_sockets(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.client.user)
    name = settings.SESSION_COOKIE_NAME
    cookie = f"{name}={client.cookies[name].value}".encode()
    closed = asyncio.run(
        _closed_by(cookie, lambda: client.delete("/_allauth/browser/v1/auth/session"))
    )
    assert closed == {"type": "websocket.close", "code": 4401}


def test_a_session_past_its_idle_limit_cannot_open_a_socket(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.therapist.user)
    client.get("/api/session")  # a request through the middleware starts the session's clocks
    name = settings.SESSION_COOKIE_NAME
    cookie = f"{name}={client.cookies[name].value}".encode()
    assert run(cookie, receive) == {"type": "hello", "version": 1}
    with time_machine.travel(timezone.now() + timedelta(minutes=15, seconds=1)):
        assert run(cookie, lambda _ws: asyncio.sleep(0)) == "refused"


def test_an_open_socket_closes_once_its_session_is_past_the_idle_limit(
    personas: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Idle logoff is decided by HTTP requests; an open socket re-reads its session, so a tab
    left open past the limit stops receiving pushed items (AU-08)."""
    monkeypatch.setattr(consumers, "SESSION_CHECK_SECONDS", 0.05)
    client = Client()
    client.force_login(personas.therapist.user)
    client.get("/api/session")  # starts the session's clocks
    name = settings.SESSION_COOKIE_NAME
    cookie = f"{name}={client.cookies[name].value}".encode()

    async def body(ws: WebsocketCommunicator) -> tuple[bool, dict[str, Any]]:
        await receive(ws)  # hello
        stayed_open = await ws.receive_nothing(timeout=0.3)  # several checks of a live session
        with time_machine.travel(timezone.now() + timedelta(minutes=15, seconds=1)):
            closed: dict[str, Any] = await ws.receive_output(timeout=5)
        return stayed_open, closed

    stayed_open, closed = run(cookie, body)
    assert stayed_open
    assert closed == {"type": "websocket.close", "code": 4401}


def test_one_account_may_hold_only_so_many_sockets(personas: Personas) -> None:
    """T33: past MAX_SOCKETS_PER_USER open sockets on a process, the next is closed with 4429
    and says why; closing one makes room again, and other accounts are not affected."""
    cookie = session_cookie(personas)
    therapist = Client()
    therapist.force_login(personas.therapist.user)
    name = settings.SESSION_COOKIE_NAME
    other_cookie = f"{name}={therapist.cookies[name].value}".encode()

    def socket(with_cookie: bytes) -> WebsocketCommunicator:
        return WebsocketCommunicator(
            application, "/ws/events", headers=[(b"origin", GOOD_ORIGIN), (b"cookie", with_cookie)]
        )

    async def opened(with_cookie: bytes) -> WebsocketCommunicator:
        ws = socket(with_cookie)
        connected, _ = await ws.connect(timeout=5)
        assert connected
        assert await receive(ws) == {"type": "hello", "version": 1}
        return ws

    async def main() -> tuple[dict[str, Any], dict[str, Any]]:
        held = [await opened(cookie) for _ in range(consumers.MAX_SOCKETS_PER_USER)]
        try:
            over = socket(cookie)
            connected, _ = await over.connect(timeout=5)
            assert connected
            refusal = await receive(over)
            closed: dict[str, Any] = await over.receive_output(timeout=5)
            await over.wait()
            other = await opened(other_cookie)
            await other.disconnect()
            await held.pop().disconnect()
            again = await opened(cookie)
            held.append(again)
            return refusal, closed
        finally:
            for ws in held:
                await ws.disconnect()

    refusal, closed = asyncio.run(main())
    assert refusal == {"type": "error", "code": "too_many_sockets"}
    assert closed == {"type": "websocket.close", "code": 4429}
    # Every socket that ended was counted back.
    assert personas.client.user.id not in consumers._open_sockets
    assert personas.therapist.user.id not in consumers._open_sockets
