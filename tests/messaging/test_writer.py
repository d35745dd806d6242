"""The batching item writer (quietroom.messaging.writer): each item of a batch is decided on its
own, nothing is answered before the batch commits, and a failed commit answers every item of
the batch "try again" with nothing stored, so the sender's retry of the same bytes stores it."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import wait
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.db import DatabaseError, OperationalError, connection, transaction

from quietroom.audit.models import AuditEvent, Outcome
from quietroom.audit.services import Origin, record_event
from quietroom.core import background
from quietroom.messaging import services, writer
from quietroom.messaging.models import ConversationItem, ItemWrap
from quietroom.realtime.sessions import user_group
from tests.directory.world import World
from tests.harness.personas import Persona, Personas
from tests.messaging.world import conversation_id, messaging_world, seal_message

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = Origin(address="192.0.2.0/24", user_agent="test")


@pytest.fixture
def world(personas: Personas) -> World:
    return messaging_world(personas)


def job(world: World, who: Persona, data: bytes) -> writer.Job:
    return writer.Job(who.user, conversation_id(world), data, ORIGIN, second_factor_checked=False)


def answers(jobs: list[writer.Job]) -> list[int]:
    return [j.future.result(timeout=0).status for j in jobs]


def stored_seqs() -> list[int]:
    return list(ConversationItem.objects.order_by("seq").values_list("seq", flat=True))


def test_each_item_of_a_batch_is_decided_on_its_own(world: World, personas: Personas) -> None:
    batch = [
        job(world, personas.therapist, seal_message(world, "therapist", "first")),
        job(world, personas.therapist, b'{"hdr": "not an item"}'),
        job(world, personas.other_practice_therapist, seal_message(world, "therapist", "x")),
        job(world, personas.client, seal_message(world, "client", "second")),
    ]
    writer.ItemWriter().write_batch(batch)

    assert answers(batch) == [201, 400, 404, 201]
    assert batch[1].future.result().code == "E_SCHEMA"
    assert stored_seqs() == [1, 2]
    created = AuditEvent.objects.filter(action="conversation.item.created")
    assert [e.outcome for e in created.order_by("seq")] == [
        Outcome.ALLOWED,
        Outcome.DENIED,  # the other practice's therapist, recorded with the batch
        Outcome.ALLOWED,
    ]
    # Each stored item carries the pushes for its recipients; a refusal carries none.
    first, refused, denied, second = (j.future.result() for j in batch)
    groups = {group for group, _ in first.pushes}
    assert groups == {user_group(personas.therapist.user.pk), user_group(personas.client.user.pk)}
    assert [p["seq"] for _, p in second.pushes] == [2, 2]
    assert refused.pushes == denied.pushes == []


def test_a_database_error_in_one_item_rolls_back_that_item_alone(
    world: World, personas: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = record_event
    calls = 0

    def fails_second_time(**kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OperationalError("disk I/O error")
        return real(**kwargs)

    monkeypatch.setattr(services, "record_event", fails_second_time)
    batch = [
        job(world, personas.therapist, seal_message(world, "therapist", str(n))) for n in range(3)
    ]
    writer.ItemWriter().write_batch(batch)

    assert answers(batch) == [201, 503, 201]
    # The failed item's seq was given back with its savepoint: still gap-free.
    assert stored_seqs() == [1, 2]
    assert ItemWrap.objects.count() == 2 * 3  # therapist, client, PRK for each stored item


def test_a_failed_commit_answers_every_item_unavailable_and_a_retry_stores_it(
    world: World, personas: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    uploads = [seal_message(world, "therapist", str(n)) for n in range(2)]

    def commit_fails() -> None:
        raise DatabaseError("the disk is full")

    monkeypatch.setattr(connection, "commit", commit_fails)
    batch = [job(world, personas.therapist, data) for data in uploads]
    writer.ItemWriter().write_batch(batch)
    monkeypatch.undo()

    assert answers(batch) == [503, 503]
    assert batch[0].future.result().pushes == []
    assert stored_seqs() == []
    assert not AuditEvent.objects.filter(action="conversation.item.created").exists()

    again = [job(world, personas.therapist, data) for data in uploads]
    writer.ItemWriter().write_batch(again)
    assert answers(again) == [201, 201]
    assert stored_seqs() == [1, 2]


def test_a_failing_commit_hook_does_not_unsay_a_committed_batch(
    world: World, personas: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = record_event

    def then_a_broken_hook(**kwargs: Any) -> Any:
        event = real(**kwargs)
        transaction.on_commit(lambda: (_ for _ in ()).throw(OSError("syslog down")))
        return event

    monkeypatch.setattr(services, "record_event", then_a_broken_hook)
    batch = [job(world, personas.therapist, seal_message(world, "therapist", "x"))]
    writer.ItemWriter().write_batch(batch)

    assert answers(batch) == [201]  # stored, so acknowledged
    assert stored_seqs() == [1]


def test_the_writer_thread_answers_each_sender_once_its_item_is_committed(
    world: World, personas: Personas
) -> None:
    uploads = [seal_message(world, "therapist", str(n)) for n in range(20)]
    item_ids = [uuid.UUID(json.loads(data)["hdr"]["item_id"]) for data in uploads]
    futures = [
        writer.submit(personas.therapist.user, conversation_id(world), data, ORIGIN)
        for data in uploads
    ]
    done, _ = wait(futures, timeout=30)
    assert len(done) == len(futures)
    for future, item_id in zip(futures, item_ids, strict=True):
        written = future.result()
        assert written.status == 201
        assert written.ack is not None
        # Visible to another connection as soon as it is answered: it was committed.
        assert ConversationItem.objects.get(item_id=item_id).seq == written.ack.seq
    assert stored_seqs() == list(range(1, 21))


def test_a_slow_mail_server_holds_up_no_sender(
    world: World, personas: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    sending, release, sent = threading.Event(), threading.Event(), threading.Event()
    real_send = EmailMessage.send

    def slow_send(message: EmailMessage, fail_silently: bool = False) -> int:
        sending.set()
        release.wait(timeout=5)
        result = real_send(message, fail_silently)
        sent.set()
        return result

    monkeypatch.setattr(EmailMessage, "send", slow_send)
    first = [job(world, personas.therapist, seal_message(world, "therapist", "a"))]
    writer.ItemWriter().write_batch(first)
    # Answered while the notification email is still being sent, on the background thread.
    assert not sent.is_set()
    assert answers(first) == [201]
    assert sending.wait(timeout=10)
    second = [job(world, personas.therapist, seal_message(world, "therapist", "b"))]
    writer.ItemWriter().write_batch(second)
    assert answers(second) == [201]

    release.set()
    background.worker.stop()  # lets the queued work finish
    assert [m.to for m in mail.outbox] == [[personas.client.user.email]]  # one per unread stretch
