"""Small builders shared by the protocol tests (on top of the vector world)."""

from __future__ import annotations

import io
import os
import uuid

from quietroom.crypto import items, stream
from quietroom.crypto.vectors import T0, World


def uuid7(ms: int = T0) -> uuid.UUID:
    raw = bytearray(ms.to_bytes(6, "big") + os.urandom(10))
    raw[6] = 0x70 | (raw[6] & 0x0F)
    raw[8] = 0x80 | (raw[8] & 0x3F)
    return uuid.UUID(bytes=bytes(raw))


def seal(
    world: World,
    payload: bytes = b'{"text":"hello"}',
    *,
    author: str = "therapist",
    recipients: tuple[str, ...] = ("client", "therapist"),
    item_type: str = "message",
    created_at: int = T0 + 10_000,
) -> items.SealedItem:
    return items.seal_inline(
        payload,
        item_id=uuid7(created_at),
        practice_id=world.practice_id,
        item_type=item_type,
        author_user_id=world.user(author).user_id,
        author=world.user(author).keys,
        created_at=created_at,
        recipients=[
            items.RecipientKey(world.user(r).user_id, world.user(r).keys.aek_pub)
            for r in recipients
        ],
        prk_pub=world.keys.prk_pub,
    )


def seal_file(
    world: World,
    payload: bytes,
    *,
    author: str = "client",
    recipients: tuple[str, ...] = ("client", "therapist"),
) -> tuple[items.SealedItem, bytes]:
    sink = io.BytesIO()
    sealed = items.seal_stream(
        io.BytesIO(payload),
        sink,
        size=len(payload),
        blob_id=uuid.uuid4(),
        item_id=uuid7(T0 + 40_000),
        practice_id=world.practice_id,
        item_type="file",
        author_user_id=world.user(author).user_id,
        author=world.user(author).keys,
        created_at=T0 + 40_000,
        recipients=[
            items.RecipientKey(world.user(r).user_id, world.user(r).keys.aek_pub)
            for r in recipients
        ],
        prk_pub=world.keys.prk_pub,
    )
    return sealed, sink.getvalue()


def reader(world: World, name: str) -> items.Reader:
    if name == "prk":
        return items.Reader.practice(world.practice_id, world.keys.prk)
    return items.Reader.user(world.user(name).user_id, world.user(name).keys.aek)


def segment_of(offset: int) -> int:
    """Which stream segment a ciphertext byte offset falls in (after the header)."""
    if offset < stream.SEGMENT_SIZE:
        return 0
    return 1 + (offset - stream.SEGMENT_SIZE) // stream.SEGMENT_SIZE
