"""Pushing conversation events to open sockets, after the transaction that made them committed.

Each user recipient who is still a participant gets the item with only their own wraps, on every
socket of theirs (their user group). A frame that would pass the socket limit carries no item:
the browser fetches it with `GET …/items?after=`. Consumers turn these group messages into the
frames of docs/api/messaging.md (`quietroom.realtime.consumers`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Final
from uuid import UUID

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from quietroom.crypto import envelope
from quietroom.crypto.items import Item
from quietroom.messaging.access import participants
from quietroom.messaging.models import Conversation
from quietroom.realtime.sessions import user_group

logger = logging.getLogger("quietroom.messaging")

# Frames are at most 64 KiB; leave room for the frame's own fields.
PUSH_ITEM_MAX: Final = 60 * 1024


# The batched item writer (quietroom.messaging.writer) collects the pushes of each item's commit
# hooks instead of sending them from its thread; its callers send them.
_collect = threading.local()


@contextmanager
def collecting() -> Iterator[None]:
    """While active in this thread, pushes are appended to the list named by the latest
    `collect_into` instead of being sent (and dropped if none was named)."""
    _collect.active, _collect.target = True, None
    try:
        yield
    finally:
        _collect.active, _collect.target = False, None


def collect_into(target: list[tuple[str, dict[str, Any]]]) -> None:
    _collect.target = target


def _send(group: str, message: dict[str, Any]) -> None:
    send_all([(group, message)])


def send_all(messages: list[tuple[str, dict[str, Any]]]) -> None:
    """Every message in one hop to the event loop (each hop costs a thread handoff)."""
    if getattr(_collect, "active", False):
        target = getattr(_collect, "target", None)
        if target is not None:
            target.extend(messages)
        return
    layer = get_channel_layer()
    if layer is None or not messages:
        return

    async def send() -> None:
        for group, message in messages:
            try:
                await layer.group_send(group, message)
            except Exception as exc:  # noqa: BLE001 - best effort: the item is stored
                logger.warning("push failed", extra={"error": type(exc).__name__})

    try:
        async_to_sync(send)()
    except Exception as exc:  # noqa: BLE001 - delivery is best effort: the item is stored
        logger.warning("push failed", extra={"error": type(exc).__name__})


def push_item(
    conversation: Conversation, seq: int, item: Item, *, members: set[UUID] | None = None
) -> None:
    """`messaging.item` to every user recipient who is a participant now. The item store
    passes the participants it loaded under the conversation's lock (`members`): the same
    set, so not read again."""
    if members is None:
        members = participants(conversation)
    client_id = str(conversation.client_id)
    messages: list[tuple[str, dict[str, Any]]] = []
    for wrap in item.hdr.recipients:
        if wrap.kind != "user" or wrap.id not in members:
            continue
        text: str | None = item_push_text(item, wrap.id)
        if text is not None and len(text.encode("utf-8")) > PUSH_ITEM_MAX:
            text = None
        messages.append(
            (
                user_group(wrap.id),
                {"type": "messaging.item", "client_id": client_id, "seq": seq, "item": text},
            )
        )
    send_all(messages)


def item_push_text(item: Item, user_id: UUID) -> str:
    """The upload of `item` with only `user_id`'s wraps, as JSON text."""
    own = tuple(w for w in item.wraps if w.kind == "user" and w.id == user_id)
    return envelope.dumps(envelope.encode_item(replace(item, wraps=own))).decode("utf-8")


def push_read(user_id: UUID, client_id: UUID, seq: int) -> None:
    """`messaging.read` to the reader's own sockets (their other devices and tabs)."""
    _send(user_group(user_id), {"type": "messaging.read", "client_id": str(client_id), "seq": seq})


def push_closed(user_id: UUID, client_id: UUID) -> None:
    """`messaging.closed`: the user left the conversation (removed from the care team)."""
    _send(user_group(user_id), {"type": "messaging.closed", "client_id": str(client_id)})
