"""The WebSocket endpoint. Every message type is declared with its schema and a size limit;
anything else gets an error frame and changes nothing (WS-01). Messaging adds its types here."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from importlib import import_module
from typing import Any
from uuid import UUID

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from quietroom.accounts.middleware import expiry_reason
from quietroom.audit.services import Origin, coarse_address
from quietroom.crypto import envelope
from quietroom.messaging import writer
from quietroom.realtime.sessions import session_group, user_group

logger = logging.getLogger("quietroom.realtime")

MAX_FRAME_BYTES = 64 * 1024
RATE_LIMIT_PER_SECOND = 20
RATE_BURST = 40
CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_RATE_LIMITED = 4429
# Open sockets one account may hold on one server process: a person has a few devices with a
# few tabs each. Without a cap, one account could open thousands of sockets, each with its own
# frame allowance into the process's one item writer queue (threat model T33).
MAX_SOCKETS_PER_USER = 20
# Sockets open per user on this process. Only the event loop's thread touches it.
_open_sockets: Counter[UUID] = Counter()
# How often an open socket re-reads its session. Idle logoff is decided by HTTP requests; without
# this, a tab left open past the limit would keep receiving (and showing) pushed items.
SESSION_CHECK_SECONDS = 30.0


def _expired(session: Any) -> bool:
    return expiry_reason(session, time.time()) is not None


def _session_over(session_key: str) -> bool:
    """Whether the session behind an open socket has ended: deleted (signed out, revoked) or past
    its idle or absolute limit. Read afresh: HTTP requests move its idle clock, not the socket."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not store().exists(session_key):
        return True
    return _expired(store(session_key=session_key).load())


def _uuid(value: object) -> UUID | None:
    if not isinstance(value, str) or len(value) != 36:
        return None
    try:
        return UUID(value)
    except ValueError:
        return None


class EventsConsumer(AsyncWebsocketConsumer):
    """One connection per signed-in tab: `ping`, and messaging's `send` and pushed frames
    (docs/api/messaging.md); call signalling comes later."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch without its `close_old_connections` hop before every frame and
        every pushed event: a thread handoff per message, which at 50 busy conversations was
        a tenth of the server's time. Nothing here touches the database on the event loop:
        database work runs through `database_sync_to_async` (which closes old connections
        before and after) or in the item writer's thread, which keeps its own."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # However the connection ended (closed, disconnected, cancelled at shutdown): one
            # socket fewer for its account.
            counted: UUID | None = getattr(self, "counted_user", None)
            if counted is not None:
                _open_sockets[counted] -= 1
                if _open_sockets[counted] <= 0:
                    del _open_sockets[counted]

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            # Refuse before accepting: the handshake itself fails for anonymous callers.
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        session = self.scope.get("session")
        if session is not None and await database_sync_to_async(_expired)(session):
            # Idle logoff and the 12-hour limit are checked on HTTP requests; a session past
            # either may not open a socket in the meantime.
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        if _open_sockets[user.id] >= MAX_SOCKETS_PER_USER:
            # Accepted, so the browser sees why in the close code and backs off, then closed.
            await self.accept()
            await self.send_json({"type": "error", "code": "too_many_sockets"})
            await self.close(code=CLOSE_RATE_LIMITED)
            return
        _open_sockets[user.id] += 1  # no await since the check: no other connect in between
        self.counted_user: UUID = user.id
        self.tokens = float(RATE_BURST)
        self.last_refill = time.monotonic()
        self.groups_joined = [user_group(user.id)]
        if session is not None and session.session_key:
            self.groups_joined.append(session_group(session.session_key))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "version": 1})
        if session is not None and session.session_key:
            self.session_watch = asyncio.create_task(self._watch_session(session.session_key))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self._take_token():
            await self.send_json({"type": "error", "code": "rate_limited"})
            await self.close(code=CLOSE_RATE_LIMITED)
            return
        if text_data is None:
            await self.send_json({"type": "error", "code": "text_only"})
            return
        if len(text_data.encode("utf-8")) > MAX_FRAME_BYTES:
            await self.send_json({"type": "error", "code": "too_large"})
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            await self.send_json({"type": "error", "code": "malformed"})
            return
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.send_json({"type": "error", "code": "malformed"})
            return
        if message["type"] == "ping":
            if set(message) - {"type", "id"} or not isinstance(message.get("id", 0), int):
                await self.send_json({"type": "error", "code": "invalid", "for": "ping"})
                return
            await self.send_json({"type": "pong", "id": message.get("id", 0)})
            return
        if message["type"] == "send":
            await self._send_item(message)
            return
        await self.send_json({"type": "error", "code": "unknown_type"})

    async def _send_item(self, message: dict[str, Any]) -> None:
        """`send` (docs/api/messaging.md): the same store as `POST …/items`, answered with
        `ack` or `refused` for its `ref`."""
        ref = message.get("ref")
        client_id = _uuid(message.get("client_id"))
        if (
            set(message) != {"type", "ref", "client_id", "item"}
            or not isinstance(ref, int)
            or isinstance(ref, bool)
            or not 0 <= ref < 2**53
            or client_id is None
            or not isinstance(message["item"], dict)
        ):
            await self.send_json({"type": "error", "code": "invalid", "for": "send"})
            return
        # Stored by the batching writer thread (quietroom.messaging.writer), not through
        # Channels' one shared thread; answered once the batch has committed.
        future = writer.submit(
            self.scope["user"], client_id, envelope.dumps(message["item"]), self._origin()
        )
        try:
            written = await asyncio.wait_for(asyncio.wrap_future(future), writer.WAIT_SECONDS)
        except TimeoutError:
            written = writer.Written.refused(503, *writer.UNAVAILABLE)
        # The item's pushes go out from this event loop, where the channel layer lives.
        for group, push in written.pushes:
            try:
                await self.channel_layer.group_send(group, push)
            except Exception as exc:  # noqa: BLE001 - best effort: the item is stored
                logger.warning("push failed", extra={"error": type(exc).__name__})
        if written.ack is not None:
            await self.send_json({"type": "ack", **written.ack.as_json(), "ref": ref})
        else:
            await self.send_json(
                {"type": "refused", "code": written.code, "message": written.message, "ref": ref}
            )

    def _origin(self) -> Origin:
        client = self.scope.get("client") or ("", 0)
        headers = dict(self.scope.get("headers") or [])
        agent = headers.get(b"user-agent", b"").decode("latin-1")[:200]
        return Origin(address=coarse_address(str(client[0])), user_agent=agent)

    async def messaging_item(self, event: dict[str, Any]) -> None:
        """A new item for this user, already reduced to their wraps (JSON text or None)."""
        item = event.get("item")
        head = json.dumps(
            {"type": "item", "client_id": event["client_id"], "seq": event["seq"]},
            separators=(",", ":"),
        )
        # The item is JSON text already: splice it in rather than parse and re-dump it.
        await self.send(text_data=f'{head[:-1]},"item":{item if item is not None else "null"}}}')

    async def messaging_read(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "read", "client_id": event["client_id"], "seq": event["seq"]})

    async def messaging_closed(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "conversation.closed", "client_id": event["client_id"]})

    async def _watch_session(self, session_key: str) -> None:
        while True:
            await asyncio.sleep(SESSION_CHECK_SECONDS)
            if await database_sync_to_async(_session_over)(session_key):
                await self.close(code=CLOSE_NOT_AUTHENTICATED)
                return

    async def disconnect(self, code: int) -> None:
        watch: asyncio.Task[None] | None = getattr(self, "session_watch", None)
        if watch is not None:
            watch.cancel()
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def session_end(self, event: dict[str, Any]) -> None:
        """The session or account behind this socket ended: close at once (AC-07)."""
        await self.close(code=CLOSE_NOT_AUTHENTICATED)

    def _take_token(self) -> bool:
        now = time.monotonic()
        self.tokens = min(
            RATE_BURST, self.tokens + (now - self.last_refill) * RATE_LIMIT_PER_SECOND
        )
        self.last_refill = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(message, separators=(",", ":")))
