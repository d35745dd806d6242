"""Talking to a real server subprocess (tests/harness/server.py) as a signed-in browser would:
the session cookie, the CSRF cookie and header, and the public `Origin` on HTTP and WebSocket.

    cookie = session_for(user)                       # a stored, signed-in session for `user`
    caller = LiveCaller(server.url, origin, cookie)  # requests with cookie + CSRF + Origin
    caller.post_item(client_id, upload_bytes)        # -> requests.Response
    async with ws_connect(server.url, origin, cookie) as ws: ...

Sessions live in the database, so a session made here works on every server process that shares
it. Staff must hold a second factor (tests.directory.world gives one) or the API answers 403.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import requests
from django.conf import settings
from django.test import Client
from websockets.asyncio.client import ClientConnection, connect

from quietroom.accounts.models import User
from tests.harness.browser import record_sign_in

# The CSRF secret every live caller presents as cookie and header: Django accepts the unmasked
# 32-character secret in the header when it equals the cookie's.
CSRF_SECRET = "livecallerlivecallerlivecaller32"  # noqa: S105 - a test fixture


def session_for(user: User) -> str:
    """The session cookie value of a fresh, signed-in session for `user`."""
    client = Client()
    client.force_login(user)
    record_sign_in(client, user)
    value: str = client.cookies[settings.SESSION_COOKIE_NAME].value
    return value


def cookie_header(session: str) -> str:
    return f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={CSRF_SECRET}"


class LiveCaller:
    """HTTP as the web client makes it (one keep-alive connection per caller)."""

    def __init__(self, base_url: str, origin: str, session: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.http.headers.update(
            {
                "Cookie": cookie_header(session),
                "X-CSRFToken": CSRF_SECRET,
                "Origin": origin,
                "Content-Type": "application/json",
            }
        )

    def get(self, path: str, timeout: float = 30) -> requests.Response:
        return self.http.get(self.base_url + path, timeout=timeout)

    def post(
        self, path: str, body: bytes | dict[str, Any], timeout: float = 30
    ) -> requests.Response:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.http.post(self.base_url + path, data=data, timeout=timeout)

    def delete(self, path: str, timeout: float = 30) -> requests.Response:
        return self.http.delete(self.base_url + path, timeout=timeout)

    def post_item(self, client_id: uuid.UUID, upload: bytes) -> requests.Response:
        return self.post(f"/api/conversations/{client_id}/items", upload)

    def items(self, client_id: uuid.UUID, after: int = 0, limit: int = 200) -> dict[str, Any]:
        response = self.get(f"/api/conversations/{client_id}/items?after={after}&limit={limit}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def all_items(self, client_id: uuid.UUID) -> list[dict[str, Any]]:
        """Every item of the conversation, paging with `after` as a reconnecting client does."""
        found: list[dict[str, Any]] = []
        after = 0
        while True:
            page = self.items(client_id, after)["items"]
            if not page:
                return found
            found += page
            after = page[-1]["seq"]

    def close(self) -> None:
        self.http.close()


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/ws/events"


def ws_connect(base_url: str, origin: str, session: str) -> connect:
    """An async context manager for the events socket of `session` (frames are ≤ 64 KiB)."""
    return connect(
        ws_url(base_url),
        origin=origin,  # type: ignore[arg-type]
        additional_headers={"Cookie": cookie_header(session)},
        max_size=2**20,
        open_timeout=30,
    )


async def next_frame(ws: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    raw = await asyncio.wait_for(ws.recv(), timeout)
    frame: dict[str, Any] = json.loads(raw)
    return frame


async def frame_of_type(ws: ClientConnection, kind: str, timeout: float = 10) -> dict[str, Any]:
    """The next frame of type `kind`, skipping others (e.g. `hello`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await next_frame(ws, max(0.01, deadline - loop.time()))
        if frame.get("type") == kind:
            return frame
