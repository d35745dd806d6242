"""Durability under load (INT-05, docs/api/messaging.md "Ack"): concurrent senders post sealed
messages to a real server process as fast as they can, the server is killed with SIGKILL mid-load
and started again on the same database. Every item that was acknowledged (201/200, or an `ack`
frame) must be there with the seq it was acknowledged with; each conversation's seqs run 1..n
with no gap and no duplicate; each stored item has its audit row and the audit chain verifies.
Then every send that got no answer is retried, as a reconnecting client does, and is stored
exactly once. Runs on the suite's database: SQLite (WAL, synchronous=FULL) or PostgreSQL.

Counts are asserted, never timings.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from websockets.exceptions import ConnectionClosed

from quietroom.audit import verification
from quietroom.audit.models import AuditEvent
from tests.harness.personas import Personas
from tests.harness.server import AppServer, start_app_server
from tests.messaging.live import LiveCaller, frame_of_type, session_for, ws_connect
from tests.messaging.world import (
    World,
    add_pair,
    conversation_id,
    messaging_world,
    seal_message,
)

pytestmark = pytest.mark.django_db(transaction=True)
log = logging.getLogger(__name__)

HTTP_ITEMS_PER_SENDER = 150
WS_ITEMS_PER_SENDER = 60
# The socket allows 20 frames/s with bursts of 40 (websocket.md); stay under it.
WS_FRAMES_PER_SECOND = 15
KILL_AFTER_ACKS = 120
# Socket stores queue behind HTTP ones under load: wait for a few `ack` frames too, so both
# acknowledgment paths are checked.
KILL_AFTER_WS_ACKS = 5
KILL_AT_THE_LATEST_S = 30.0


@dataclass
class Sender:
    """One sender's pre-sealed uploads and what became of them."""

    name: str
    client_id: uuid.UUID
    session: str
    uploads: list[bytes]
    acked: dict[uuid.UUID, int] = field(default_factory=dict)  # item_id -> acknowledged seq
    unanswered: list[bytes] = field(default_factory=list)  # sent, no answer before the kill
    sent: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)  # refused frames


def item_id_of(upload: bytes) -> uuid.UUID:
    return uuid.UUID(json.loads(upload)["hdr"]["item_id"])


@dataclass
class Load:
    server: AppServer
    origin: str
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    acks: int = 0
    ws_acks: int = 0

    def count_ack(self, *, ws: bool = False) -> None:
        with self.lock:
            self.acks += 1
            self.ws_acks += ws


def http_sender(load: Load, sender: Sender) -> None:
    caller = LiveCaller(load.server.url, load.origin, sender.session)
    try:
        for upload in sender.uploads:
            if load.stop.is_set():
                return
            sender.sent += 1
            try:
                response = caller.post_item(sender.client_id, upload)
            except requests.RequestException:
                sender.unanswered.append(upload)  # the server died under this request
                return
            assert response.status_code in (200, 201), response.text
            sender.acked[item_id_of(upload)] = response.json()["seq"]
            load.count_ack()
    finally:
        caller.close()


async def ws_sender(load: Load, sender: Sender) -> None:
    """`send` frames paced under the rate limit, without waiting for each `ack`."""
    pending: dict[int, bytes] = {}
    all_sent = asyncio.Event()

    async def read_acks(ws: Any) -> None:
        try:
            async for raw in ws:
                frame = json.loads(raw)
                if frame["type"] == "ack":
                    upload = pending.pop(frame["ref"])
                    sender.acked[item_id_of(upload)] = frame["seq"]
                    load.count_ack(ws=True)
                    if all_sent.is_set() and not pending:
                        return
                elif frame["type"] in ("refused", "error"):
                    sender.errors.append(frame)
        except ConnectionClosed:
            return  # the server died: what is pending got no answer

    try:
        async with ws_connect(load.server.url, load.origin, sender.session) as ws:
            await frame_of_type(ws, "hello")
            reader = asyncio.create_task(read_acks(ws))
            for ref, upload in enumerate(sender.uploads, start=1):
                if load.stop.is_set() or reader.done():
                    break
                pending[ref] = upload
                sender.sent += 1
                frame = {
                    "type": "send",
                    "ref": ref,
                    "client_id": str(sender.client_id),
                    "item": json.loads(upload),
                }
                try:
                    await ws.send(json.dumps(frame))
                except ConnectionClosed:
                    break
                await asyncio.sleep(1 / WS_FRAMES_PER_SECOND)
            all_sent.set()
            if pending:
                await asyncio.wait_for(reader, timeout=KILL_AT_THE_LATEST_S)
            reader.cancel()
    except (ConnectionClosed, OSError):
        pass
    sender.unanswered += list(pending.values())


@pytest.fixture
def world(personas: Personas) -> World:
    world = messaging_world(personas)
    add_pair(world, 1)
    add_pair(world, 2)
    return world


@pytest.fixture
def server(data_dir: Path) -> Iterator[list[AppServer]]:
    """The servers this test starts (the first is killed); all stopped at the end."""
    started: list[AppServer] = []
    yield started
    for each in started:
        if each.process.poll() is None:
            each.stop()


def make_senders(world: World) -> list[Sender]:
    senders = []
    for therapist, client in (("therapist", "client"), ("therapist-1", "client-1"),
                              ("therapist-2", "client-2")):  # fmt: skip
        client_id = conversation_id(world, client)

        def uploads(author: str, n: int, tag: str, client: str = client) -> list[bytes]:
            return [seal_message(world, author, f"{tag} {i}", client=client) for i in range(n)]

        for author, kind, n in (
            (therapist, "http", HTTP_ITEMS_PER_SENDER),
            (client, "http", HTTP_ITEMS_PER_SENDER),
            (client, "ws", WS_ITEMS_PER_SENDER),
        ):
            senders.append(
                Sender(
                    f"{kind}:{author}",
                    client_id,
                    session_for(world.member(author).user),
                    uploads(author, n, f"{kind} {author}"),
                )
            )
    return senders


def run_load_and_kill(load: Load, senders: list[Sender]) -> float:
    """Start every sender, SIGKILL the server once enough items are acknowledged; returns the
    seconds of load before the kill."""

    async def main() -> float:
        tasks = []
        for sender in senders:
            if sender.name.startswith("http:"):
                tasks.append(asyncio.create_task(asyncio.to_thread(http_sender, load, sender)))
            else:
                tasks.append(asyncio.create_task(ws_sender(load, sender)))
        started = time.monotonic()
        while (
            load.acks < KILL_AFTER_ACKS or load.ws_acks < KILL_AFTER_WS_ACKS
        ) and time.monotonic() - started < KILL_AT_THE_LATEST_S:
            await asyncio.sleep(0.01)
        load.server.process.kill()  # SIGKILL: no shutdown, no flush, nothing graceful
        load.server.process.wait()
        elapsed = time.monotonic() - started
        load.stop.set()
        await asyncio.gather(*tasks)
        return elapsed

    return asyncio.run(main())


def test_acknowledged_items_survive_kill_9_with_gap_free_seqs(
    world: World, server: list[AppServer], data_dir: Path
) -> None:
    senders = make_senders(world)  # sealed before the server starts: sealing is the browser's
    first = start_app_server(data_dir)
    server.append(first)
    load = Load(first, first.url)

    seconds = run_load_and_kill(load, senders)

    acked = {item_id: seq for s in senders for item_id, seq in s.acked.items()}
    total_uploads = sum(len(s.uploads) for s in senders)
    sent = sum(s.sent for s in senders)
    log.info(
        "killed after %.1f s: %d acknowledged, %d sent, %d unanswered, of %d sealed",
        seconds, len(acked), sent, sum(len(s.unanswered) for s in senders), total_uploads,
    )  # fmt: skip
    assert [e for s in senders for e in s.errors] == []
    assert len(acked) >= KILL_AFTER_ACKS > 0
    by_path = {
        k: sum(len(s.acked) for s in senders if s.name.startswith(k)) for k in ("http", "ws")
    }
    log.info("acknowledged by path: %s", by_path)
    assert by_path["http"] > 0, "no HTTP send was acknowledged: the 201/200 path is untested"
    assert by_path["ws"] > 0, "no socket send was acknowledged: the ack-frame path is untested"
    assert sent < total_uploads, "the kill came after the load ended: nothing was in flight"

    second = start_app_server(data_dir, {"QUIETROOM_PUBLIC_URL": first.url})
    server.append(second)
    conversations = sorted({s.client_id for s in senders})
    readers = {
        conversation_id(world, c): LiveCaller(
            second.url, first.url, session_for(world.member(c).user)
        )
        for c in ("client", "client-1", "client-2")
    }
    try:
        # 1. Every acknowledged item is there with its seq; seqs are 1..n, no gap, no duplicate.
        stored: dict[uuid.UUID, int] = {}
        for client_id in conversations:
            items = readers[client_id].all_items(client_id)
            seqs = [i["seq"] for i in items]
            assert seqs == list(range(1, len(items) + 1)), f"gap or duplicate in {client_id}"
            ids = [uuid.UUID(i["item"]["hdr"]["item_id"]) for i in items]
            assert len(set(ids)) == len(ids)
            stored.update(zip(ids, seqs, strict=True))
        missing = {i: s for i, s in acked.items() if stored.get(i) != s}
        assert missing == {}, f"acknowledged items lost or moved: {missing}"
        # 2. Each stored item committed with its audit row, and the chain is whole.
        audited = set(
            AuditEvent.objects.filter(action="conversation.item.created").values_list(
                "object_id", flat=True
            )
        )
        assert {str(i) for i in stored} <= audited
        assert verification.verify_database(record=False).ok

        # 3. A client retries what got no answer: each is stored once (200 if it had been).
        retried = 0
        for sender in senders:
            caller = LiveCaller(second.url, first.url, sender.session)
            try:
                for upload in sender.unanswered:
                    response = caller.post_item(sender.client_id, upload)
                    assert response.status_code in (200, 201), response.text
                    retried += 1
                # An acknowledged item sent again answers its first seq and adds nothing.
                if sender.acked:
                    item_id, seq = next(iter(sender.acked.items()))
                    upload = next(u for u in sender.uploads if item_id_of(u) == item_id)
                    again = caller.post_item(sender.client_id, upload)
                    assert again.status_code == 200, again.text
                    assert again.json()["seq"] == seq
            finally:
                caller.close()
        final: dict[uuid.UUID, int] = {}
        for client_id in conversations:
            items = readers[client_id].all_items(client_id)
            assert [i["seq"] for i in items] == list(range(1, len(items) + 1))
            final.update((uuid.UUID(i["item"]["hdr"]["item_id"]), i["seq"]) for i in items)
        unanswered_ids = {item_id_of(u) for s in senders for u in s.unanswered}
        assert unanswered_ids <= set(final)
        assert all(final[i] == s for i, s in acked.items())
        log.info("after restart: %d stored, %d unanswered sends retried", len(stored), retried)
    finally:
        for each in readers.values():
            each.close()
