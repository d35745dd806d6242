"""An ASGI guard on request body size, for bodies sent without Content-Length, and the one
table of which paths may carry a larger body than the default (`body_limit`).

Django's ASGI handler reads a whole request body (spooling to disk) before any middleware runs,
so a chunked upload with no declared length could fill the disk. This counts the bytes as they
arrive and answers 413 as soon as the limit is passed, without reading the rest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

MIB = 1024 * 1024
# One attachment chunk (docs/api/messaging.md, `chunk_max`).
BLOB_CHUNK_MAX = 8 * MIB
# A sealed item upload is at most 1.5 MiB; its JSON envelope gets some room on top.
ITEM_BODY_MAX = 2 * MIB
# The only paths allowed more than the default, by method. Everything else keeps the default,
# so a large body cannot be sent where nothing expects one.
_LARGER: tuple[tuple[str, re.Pattern[str], int], ...] = (
    # A chunk plus slack, so a client sending exactly chunk_max bytes is never cut off here and
    # gets the endpoint's own answer instead.
    ("PUT", re.compile(r"/api/blobs/[0-9a-fA-F-]{36}"), BLOB_CHUNK_MAX + 64 * 1024),
    ("POST", re.compile(r"/api/conversations/[0-9a-fA-F-]{36}/items"), ITEM_BODY_MAX),
)


def body_limit(method: str, path: str, default: int) -> int:
    """The largest request body accepted for this method and path."""
    for wanted, pattern, limit in _LARGER:
        if method == wanted and pattern.fullmatch(path):
            return max(default, limit)
    return default


TOO_LARGE = json.dumps(
    {
        "error": {
            "code": "too_large",
            "message": "The request body is larger than this server accepts.",
        }
    }
).encode()


class BodySizeLimit:
    def __init__(self, app: App, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope.get("method", ""), scope.get("path", ""), self.limit)
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    # To the app this looks like the client went away: nothing is processed.
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # the 413 below is the only answer
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, tracking_send)
        if exceeded and not started:
            await send(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(TOO_LARGE)).encode()),
                        (b"cache-control", b"no-store"),
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": TOO_LARGE})
